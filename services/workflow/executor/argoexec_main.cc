// `argoexec emissary`: see executor.h. Built-in images the step itself uses
// (argosay, ...) are started the way the kubelet starts them, which it passes
// in ARGONAUT_BUILTIN_BINARY and ARGONAUT_BUILTIN_PREFIX.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "services/workflow/executor/executor.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  argonaut::workflow::executor::ExecutorOptions options;
  if (const char* bin = std::getenv("ARGONAUT_BUILTIN_BINARY"); bin != nullptr && *bin != '\0') {
    options.builtin_binary = bin;
    const char* prefix = std::getenv("ARGONAUT_BUILTIN_PREFIX");
    options.builtin_prefix = prefix == nullptr ? std::vector<std::string>{}
                                               : absl::StrSplit(prefix, ' ', absl::SkipEmpty());
  }
  return argonaut::workflow::executor::RunArgoexec(args, options);
}
