// The official `nginx` image run with Debian's nginx (/usr/sbin/nginx, package
// `nginx`): a foreground nginx serving the default page, configured like the
// image (its nginx.conf and conf.d/default.conf) but with every path it writes
// (pid, temp dirs) in a private directory under $TMPDIR, so that it never
// touches the host's /var/log/nginx or /run, and the listen port taken from
// $PORT (default 80, the image's port).
#pragma once

#include <string>
#include <vector>

namespace argonaut::cluster {

inline constexpr char kNginxBinary[] = "/usr/sbin/nginx";

struct NginxImageConfig {
  std::string dir;  // private directory: pid file, temp paths
  int port = 80;
  std::string root;  // document root of the default server
  // A mounted /etc/nginx/conf.d/default.conf replaces the built-in default
  // server, as it does in the image.
  bool conf_d_default = false;
  bool mime_types = true;  // /etc/nginx/mime.types exists
  std::string user;        // `user` directive; empty: none (not root)
};

// The nginx.conf text for `config`.
std::string NginxImageConf(const NginxImageConfig& config);

// Runs the image with the container's arguments, like its docker-entrypoint.sh:
// `nginx`/`nginx-debug` (optionally after the entrypoint script's name) or bare
// options run nginx in the foreground (`-g 'daemon off;'` is implied; other
// `-g` directives and options are passed on; `-c FILE` uses that file instead of
// the generated one); any other command is executed as given. Execs, so only
// returns on failure (127: nginx not installed, 2: bad arguments).
int RunNginxImage(const std::vector<std::string>& args);

}  // namespace argonaut::cluster
