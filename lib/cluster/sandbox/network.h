// PodNetwork: one Linux bridge per runtime and a veth per pod, configured over
// rtnetlink. Pods get an address in a private 10.x subnet reachable from the
// host through the bridge; nothing is forwarded or NATed off the machine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/sandbox/netlink.h"
#include "lib/cluster/sandbox/network_plan.h"

namespace argonaut::cluster::sandbox {

struct PodNetworkOptions {
  // Usually the runtime's data directory: bridge name and subnet derive from
  // it, so two runtimes on one machine never share either.
  std::string seed;
  int prefix_len = 24;  // 24 or 16
};

struct PodAttachment {
  uint32_t addr = 0;
  std::string ip;         // dotted form of addr
  std::string host_veth;  // host end; the pod end is "eth0"
};

class PodNetwork {
 public:
  // Removes a stale bridge and veths of the same seed first. Needs CAP_NET_ADMIN.
  static absl::StatusOr<std::unique_ptr<PodNetwork>> Create(const PodNetworkOptions& options);

  // Deletes the bridge and host veths a crashed runtime with this seed left.
  static absl::Status CleanupStale(std::string_view seed);

  PodNetwork(const PodNetwork&) = delete;
  PodNetwork& operator=(const PodNetwork&) = delete;
  ~PodNetwork();  // Destroy(), errors logged

  // Gives the network namespace `netns_fd` an eth0 with the next free address,
  // brings up eth0 and lo, and routes by default via the bridge address.
  absl::StatusOr<PodAttachment> Attach(int netns_fd);
  // Releases the address and deletes the host veth (gone already if the pod's
  // namespace died, which is fine).
  absl::Status Detach(const PodAttachment& attachment);
  // Returns the address of a pod whose network namespace is gone (its last
  // process died, no fd holds it). The kernel deletes the veth with the
  // namespace, batched across namespaces; an explicit delete instead waits for
  // an RCU grace period (~25 ms here). A veth the kernel has not removed yet
  // when its address comes round again is deleted by Attach.
  absl::Status Release(const PodAttachment& attachment);
  // Deletes the bridge and any host veth still present. Idempotent.
  absl::Status Destroy();

  const std::string& bridge_name() const { return names_.bridge; }
  const std::string& veth_prefix() const { return names_.veth_prefix; }
  Ipv4Subnet subnet() const { return subnet_; }
  std::string gateway_ip() const { return FormatIpv4(subnet_.Gateway()); }
  size_t attached() const;

 private:
  PodNetwork(NetworkNames names, Ipv4Subnet subnet, Netlink host, int bridge_index);

  const NetworkNames names_;
  const Ipv4Subnet subnet_;
  const int bridge_index_;
  mutable absl::Mutex mu_;
  Netlink host_ ABSL_GUARDED_BY(mu_);
  IpPool pool_ ABSL_GUARDED_BY(mu_);
  bool destroyed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace argonaut::cluster::sandbox
