#include "lib/cluster/images/builtin.h"

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "lib/cluster/images/argosay.h"
#include "lib/cluster/images/demo_http_server.h"
#include "lib/cluster/images/guestbook_demo.h"
#include "lib/cluster/images/nginx_image.h"
#include "lib/cluster/images/rollouts_demo.h"

namespace argonaut::cluster {
namespace {

// A container's process starts with no signal blocked (the sandbox launcher
// clears the mask before exec). Built-in images can run as `argonaut __image
// NAME`, whose main() has by then blocked SIGTERM/SIGINT and ignored SIGPIPE
// for `up`; a mask and SIG_IGN survive exec, so the program and everything it
// starts would inherit them: the pod's SIGTERM would never arrive, and busybox's
// ash (which, unlike dash, keeps the mask it is given) could not `kill` its own
// jobs. Only SIGPIPE is reset among the ignored signals: others may have been
// ignored on purpose by a parent inside the pod (nohup).
void ResetSignalsAsAContainer() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

int RunBuiltinImage(int argc, char** argv, const ExtraBuiltins& extra) {
  ResetSignalsAsAContainer();
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) {
    fprintf(stderr,
            "builtin image: missing image name (known: argosay, kubernetes-bootcamp, "
            "rollouts-demo, nginx, guestbook)\n");
    return 127;
  }
  std::string name = argv[0];
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i] != nullptr ? argv[i] : "");
  if (name == "argosay") return RunArgosay(args);
  if (name == "kubernetes-bootcamp") return RunKubernetesBootcamp(args);
  if (name == "rollouts-demo") return RunRolloutsDemo(args);
  if (name == "nginx") return RunNginxImage(args);
  if (name == "guestbook") return RunGuestbookDemo(args);
  if (auto it = extra.find(name); it != extra.end()) return it->second(args);
  fprintf(stderr,
          "builtin image: unknown image program \"%s\" (known: argosay, kubernetes-bootcamp, "
          "rollouts-demo, nginx, guestbook)\n",
          name.c_str());
  return 127;
}

}  // namespace argonaut::cluster
