// argonaut: the command-line client, and `argonaut up`, the whole platform
// in one process.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "lib/cluster/images/builtin.h"
#include "lib/server/server.h"
#include "services/workflow/executor/executor.h"

namespace {

constexpr char kUsage[] = R"(argonaut: workflows, rollouts, events and GitOps, compatible with Argo.

Usage:
  argonaut up [--data DIR] [--port 2746] [--isolation auto|namespaces|plain] [--images FILE]
                                              run the platform here (gRPC + REST on one port)
  argonaut apply -f FILE|-  [-n NS]                             create or update objects
  argonaut get KIND [NAME] [-n NS|-A] [-l SELECTOR] [-o yaml|json|wide|name]
  argonaut delete KIND NAME [-n NS]
  argonaut logs pod/NAME [-c CONTAINER] [-f] [-n NS]              a pod's log
  argonaut version

The server address comes from --server or ARGONAUT_SERVER (default localhost:2746).
)";

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so `up` alone receives SIGTERM/SIGINT.
  argonaut::server::BlockShutdownSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 1 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "up") return argonaut::cli::RunUp(args, std::cout, std::cerr);
  if (cmd == "apply") return argonaut::cli::RunApply(args, std::cout, std::cerr);
  if (cmd == "get") return argonaut::cli::RunGet(args, std::cout, std::cerr);
  if (cmd == "delete") return argonaut::cli::RunDelete(args, std::cout, std::cerr);
  if (cmd == "logs") return argonaut::cli::RunLogs(args, std::cout, std::cerr);
  // Built-in images run as `argonaut __image NAME ...` in pods (see the image table).
  if (cmd == "__image") {
    return argonaut::cluster::RunBuiltinImage(
        argc - 2, argv + 2, {{"argoexec", [](const std::vector<std::string>& a) {
                                return argonaut::workflow::executor::RunArgoexec(a, {});
                              }}});
  }
  if (cmd == "version") return argonaut::cli::RunVersion(args, std::cout, std::cerr);
  std::cerr << "error: unknown command \"" << cmd << "\" (see `argonaut help`)\n";
  return 1;
}
