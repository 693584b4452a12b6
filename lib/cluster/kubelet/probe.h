// Network probes as the kubelet runs them: httpGet succeeds on a status in
// [200, 400), tcpSocket on an accepted connection. Both are bounded by the
// probe's timeout. Exec probes run inside the pod (see PodWorker).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace argonaut::cluster::kubelet {

// OK when healthy; otherwise the reason, as Kubernetes records it in events.
absl::Status ProbeTcp(const std::string& ip, int port, absl::Duration timeout);
absl::Status ProbeHttpGet(const std::string& ip, int port, const std::string& path,
                          absl::Duration timeout);

}  // namespace argonaut::cluster::kubelet
