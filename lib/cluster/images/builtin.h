// Built-in images: programs that stand in for container images which cannot
// be pulled here (argoproj/argosay, jocatalin/kubernetes-bootcamp,
// argoproj/rollouts-demo, nginx, the guestbook front ends). The image
// table runs them as `<binary> [__image] NAME args...`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace argonaut::cluster {

// Runs built-in image argv[0] ("argosay", "kubernetes-bootcamp", "rollouts-demo", "nginx",
// "guestbook") with
// argv[1..] as its arguments and returns the process exit code. An unknown
// name prints the known ones to stderr and returns 127, like a missing command.
// `extra` adds programs that live above this library (the workflow
// executor, argoexec), by name. The program starts as a container's would:
// no signal blocked, SIGPIPE at its default action, whatever the caller set.
using ExtraBuiltins =
    std::map<std::string, std::function<int(const std::vector<std::string>& args)>>;
int RunBuiltinImage(int argc, char** argv, const ExtraBuiltins& extra = {});

}  // namespace argonaut::cluster
