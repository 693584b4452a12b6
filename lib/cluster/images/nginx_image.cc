#include "lib/cluster/images/nginx_image.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace argonaut::cluster {
namespace {

bool Exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int Exec(const std::string& binary, const std::vector<std::string>& argv, bool search) {
  std::vector<char*> cargv;
  std::vector<std::string> copy = argv;
  for (std::string& a : copy) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  if (search) {
    execvp(binary.c_str(), cargv.data());
  } else {
    execv(binary.c_str(), cargv.data());
  }
  int err = errno;
  fprintf(stderr, "nginx image: exec %s: %s\n", binary.c_str(), strerror(err));
  return err == ENOENT ? 127 : 126;
}

}  // namespace

std::string NginxImageConf(const NginxImageConfig& c) {
  std::string out = absl::StrCat(
      "# Generated for the nginx image: its nginx.conf and default server, with the\n"
      "# files nginx writes kept in ",
      c.dir, ".\n");
  if (!c.user.empty()) absl::StrAppend(&out, "user ", c.user, ";\n");
  absl::StrAppend(&out, "worker_processes 1;\nerror_log stderr notice;\npid ", c.dir,
                  "/nginx.pid;\n\nevents {\n  worker_connections 1024;\n}\n\nhttp {\n");
  if (c.mime_types) absl::StrAppend(&out, "  include /etc/nginx/mime.types;\n");
  // The image links its log files to the container's stdout and stderr.
  absl::StrAppend(&out,
                  "  default_type application/octet-stream;\n"
                  "  log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
                  "                  '$status $body_bytes_sent \"$http_referer\" '\n"
                  "                  '\"$http_user_agent\" \"$http_x_forwarded_for\"';\n"
                  "  access_log /proc/self/fd/1 main;\n"
                  "  sendfile on;\n"
                  "  keepalive_timeout 65;\n");
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    absl::StrAppend(&out, "  ", temp, "_temp_path ", c.dir, "/", temp, ";\n");
  }
  if (c.conf_d_default) {
    absl::StrAppend(&out, "  include /etc/nginx/conf.d/*.conf;\n");
  } else {
    absl::StrAppend(&out, "  server {\n    listen ", c.port,
                    ";\n    server_name localhost;\n    location / {\n      root ", c.root,
                    ";\n      index index.html index.htm;\n    }\n"
                    "    error_page 500 502 503 504 /50x.html;\n    location = /50x.html {\n"
                    "      root ",
                    c.root, ";\n    }\n  }\n");
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

int RunNginxImage(const std::vector<std::string>& args_in) {
  std::vector<std::string> args = args_in;
  // The image's entrypoint script runs its setup only for nginx itself and
  // executes any other command as given.
  if (!args.empty() && (args[0] == "/docker-entrypoint.sh" || args[0] == "docker-entrypoint.sh")) {
    args.erase(args.begin());
  }
  if (!args.empty() &&
      (args[0] == "nginx" || args[0] == "nginx-debug" || args[0] == kNginxBinary)) {
    args.erase(args.begin());
  } else if (!args.empty() && !absl::StartsWith(args[0], "-")) {
    return Exec(args[0], args, /*search=*/true);
  }
  if (!Exists(kNginxBinary)) {
    fprintf(stderr,
            "ImageNotRunnableLocally: the nginx image runs Debian's nginx (%s), which is not "
            "installed (apt-get install nginx)\n",
            kNginxBinary);
    return 127;
  }
  std::string globals = "daemon off;";
  std::string user_conf;
  std::vector<std::string> pass;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-g" || a == "-c" || a == "-p" || a == "-e" || a == "-s") && i + 1 >= args.size()) {
      fprintf(stderr, "nginx: option \"%s\" requires a parameter\n", a.c_str());
      return 2;
    }
    if (a == "-g") {
      // Foreground is how a container runs; the image's cmd says so itself.
      std::string g = absl::StrReplaceAll(args[++i], {{"daemon off;", ""}});
      if (!absl::StripAsciiWhitespace(g).empty()) absl::StrAppend(&globals, " ", g);
    } else if (a == "-c") {
      user_conf = args[++i];
    } else if (a == "-p" || a == "-e") {
      ++i;  // the private directory and stderr are where this image writes
    } else {
      pass.push_back(a);
    }
  }

  int port = 80;
  if (const char* p = std::getenv("PORT"); p != nullptr && *p != '\0') {
    if (!absl::SimpleAtoi(p, &port) || port <= 0 || port > 65535) {
      fprintf(stderr, "nginx image: PORT=%s is not a port number\n", p);
      return 2;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/nginx-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    fprintf(stderr, "nginx image: mkdtemp %s: %s\n", templ.c_str(), strerror(errno));
    return 1;
  }
  // Workers run as an unprivileged user and must reach their temp paths.
  chmod(templ.c_str(), 0755);

  NginxImageConfig config;
  config.dir = templ;
  config.port = port;
  config.root =
      Exists("/usr/share/nginx/html/index.html") ? "/usr/share/nginx/html" : "/var/www/html";
  config.conf_d_default = Exists("/etc/nginx/conf.d/default.conf");
  config.mime_types = Exists("/etc/nginx/mime.types");
  if (geteuid() == 0) config.user = getpwnam("www-data") != nullptr ? "www-data" : "root";
  std::string conf = user_conf;
  if (conf.empty()) {
    conf = templ + "/nginx.conf";
    std::ofstream out(conf);
    out << NginxImageConf(config);
    out.close();
    if (!out) {
      fprintf(stderr, "nginx image: cannot write %s\n", conf.c_str());
      return 1;
    }
  }
  std::vector<std::string> argv = {"nginx", "-p", templ + "/", "-e",   "stderr",
                                   "-c",    conf, "-g",        globals};
  argv.insert(argv.end(), pass.begin(), pass.end());
  fflush(stdout);
  fflush(stderr);
  return Exec(kNginxBinary, argv, /*search=*/false);
}

}  // namespace argonaut::cluster
