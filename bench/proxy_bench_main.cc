// A ServiceProxy in front of one endpoint, for bench/service_proxy.sh:
//   proxy_bench --target=127.0.0.1:8080 [--threads=1]
// Prints `proxy listening on port N`, runs until SIGTERM or SIGINT, then
// prints the proxy's counters.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "lib/cluster/proxy/service_proxy.h"

int main(int argc, char** argv) {
  std::string ip;
  int port = 0;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--target=", 0) == 0) {
      std::string t = a.substr(9);
      size_t colon = t.rfind(':');
      if (colon == std::string::npos || !absl::SimpleAtoi(t.substr(colon + 1), &port)) {
        fprintf(stderr, "--target: want IP:PORT, got %s\n", t.c_str());
        return 2;
      }
      ip = t.substr(0, colon);
    } else if (a.rfind("--threads=", 0) == 0) {
      if (!absl::SimpleAtoi(a.substr(10), &threads)) {
        fprintf(stderr, "--threads: not a number\n");
        return 2;
      }
    } else {
      fprintf(stderr, "usage: %s --target=IP:PORT [--threads=N]\n", argv[0]);
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  argonaut::cluster::ProxyOptions options;
  options.name = "bench";
  options.threads = threads;
  auto proxy = argonaut::cluster::ServiceProxy::Start(options);
  if (!proxy.ok()) {
    fprintf(stderr, "%s\n", std::string(proxy.status().message()).c_str());
    return 1;
  }
  absl::Status set_status = (*proxy)->SetEndpoints({{"", ip, port}});
  if (!set_status.ok()) {
    fprintf(stderr, "%s\n", std::string(set_status.message()).c_str());
    return 2;
  }
  printf("proxy listening on port %d\n", (*proxy)->port());
  fflush(stdout);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  argonaut::cluster::ProxyStats s = (*proxy)->stats();
  (*proxy)->Stop();
  printf("proxy stats: accepted=%lu failed_connects=%lu rejected=%lu bytes_in=%lu bytes_out=%lu\n",
         static_cast<unsigned long>(s.accepted), static_cast<unsigned long>(s.failed_connects),
         static_cast<unsigned long>(s.rejected_no_endpoint + s.rejected_over_limit),
         static_cast<unsigned long>(s.bytes_to_backends),
         static_cast<unsigned long>(s.bytes_to_clients));
  return 0;
}
