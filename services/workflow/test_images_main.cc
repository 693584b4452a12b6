// Built-in image programs for tests: the lib/cluster ones plus the workflow
// executor, run as `test_images NAME args...` (no `__image` word).
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "lib/cluster/images/builtin.h"
#include "services/workflow/executor/executor.h"

int main(int argc, char** argv) {
  return argonaut::cluster::RunBuiltinImage(argc - 1, argv + 1,
                                            {{"argoexec", [](const std::vector<std::string>& args) {
                                                return argonaut::workflow::executor::RunArgoexec(
                                                    args, {.builtin_prefix = {}});
                                              }}});
}
