// argoexec-artifacts: see remote.h.
#include <string>
#include <vector>

#include "services/workflow/executor/remote.h"

int main(int argc, char** argv) {
  return argonaut::workflow::executor::RunArtifactHelper(
      std::vector<std::string>(argv + 1, argv + argc));
}
