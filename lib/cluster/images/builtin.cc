#include "lib/cluster/images/builtin.h"

#include <cstdio>
#include <string>
#include <vector>

#include "lib/cluster/images/argosay.h"
#include "lib/cluster/images/demo_http_server.h"
#include "lib/cluster/images/nginx_image.h"
#include "lib/cluster/images/rollouts_demo.h"

namespace argonaut::cluster {

int RunBuiltinImage(int argc, char** argv, const ExtraBuiltins& extra) {
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) {
    fprintf(stderr,
            "builtin image: missing image name (known: argosay, kubernetes-bootcamp, "
            "rollouts-demo, nginx)\n");
    return 127;
  }
  std::string name = argv[0];
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i] != nullptr ? argv[i] : "");
  if (name == "argosay") return RunArgosay(args);
  if (name == "kubernetes-bootcamp") return RunKubernetesBootcamp(args);
  if (name == "rollouts-demo") return RunRolloutsDemo(args);
  if (name == "nginx") return RunNginxImage(args);
  if (auto it = extra.find(name); it != extra.end()) return it->second(args);
  fprintf(stderr,
          "builtin image: unknown image program \"%s\" (known: argosay, kubernetes-bootcamp, "
          "rollouts-demo, nginx)\n",
          name.c_str());
  return 127;
}

}  // namespace argonaut::cluster
