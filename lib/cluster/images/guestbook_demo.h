// The guestbook front ends of Argo CD's example apps, re-implemented:
// gcr.io/google-samples/gb-frontend (Kubernetes' PHP guestbook, tags v4, v5)
// and gcr.io/heptio-images/ks-guestbook-demo (the ksonnet variant Argo CD's
// own tests deploy, tags 0.1, 0.2). Both listen on port 80 (or $PORT):
//   GET /               the guestbook page (HTML, names image and version; 200)
//   GET /guestbook.php  ?cmd=get&key=K   -> {"data": "<value>"}
//                       ?cmd=set&key=K&value=V -> {"message": "Updated"}
// The upstream page keeps the messages in Redis (a separate Deployment); here
// they are kept in the process, per pod, so the app runs without Redis.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/images/demo_http_server.h"

namespace argonaut::cluster {

struct GuestbookDemoConfig {
  std::string image;    // "gb-frontend" or "ks-guestbook-demo"
  std::string version;  // the image tag: "v5", "0.2"
  std::string pod_name;
};

// INVALID_ARGUMENT for an unknown image name or a tag outside [A-Za-z0-9._-].
absl::StatusOr<GuestbookDemoConfig> GuestbookDemoConfigFor(std::string_view image,
                                                           std::string_view tag);

// Request handling, independent of the socket server (thread-safe).
class GuestbookDemoApp {
 public:
  // Bounds on what visitors can store: keys, key length, value length.
  static constexpr size_t kMaxKeys = 64;
  static constexpr size_t kMaxKeyBytes = 64;
  static constexpr size_t kMaxValueBytes = 64 * 1024;

  explicit GuestbookDemoApp(GuestbookDemoConfig config);
  DemoHttpResponse Handle(const DemoHttpRequest& request);

 private:
  DemoHttpResponse Php(std::string_view query);

  const GuestbookDemoConfig config_;
  absl::Mutex mu_;
  std::map<std::string, std::string> store_ ABSL_GUARDED_BY(mu_);
};

// The image: `guestbook IMAGE TAG` (the table passes both). Listens on $PORT
// (default 80; 0 picks one), prints `Guestbook IMAGE:TAG listening on port N`
// to stdout once listening, exits 0 on SIGTERM/SIGINT.
int RunGuestbookDemo(const std::vector<std::string>& args);

}  // namespace argonaut::cluster
