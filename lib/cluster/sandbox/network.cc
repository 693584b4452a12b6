#include "lib/cluster/sandbox/network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::sandbox {
namespace {

constexpr char kComponent[] = "sandbox.network";

std::vector<Ipv4Subnet> HostSubnets() {
  std::vector<Ipv4Subnet> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_netmask == nullptr) continue;
    if (i->ifa_addr->sa_family != AF_INET) continue;
    const uint32_t addr = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    const uint32_t mask = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr);
    out.push_back(Ipv4Subnet{addr & mask, __builtin_popcount(mask)});
  }
  freeifaddrs(list);
  return out;
}

absl::Status IgnoreNotFound(absl::Status s) { return absl::IsNotFound(s) ? absl::OkStatus() : s; }

absl::Status RemoveLinks(Netlink& nl, const NetworkNames& names) {
  ASSIGN_OR_RETURN(std::vector<std::string> veths, nl.ListLinks(names.veth_prefix));
  absl::Status result = absl::OkStatus();
  for (const std::string& v : veths) {
    absl::Status s = IgnoreNotFound(nl.DeleteLink(v));
    if (!s.ok() && result.ok()) result = s;
  }
  absl::Status s = IgnoreNotFound(nl.DeleteLink(names.bridge));
  if (!s.ok() && result.ok()) result = s;
  return result;
}

// Opens a netlink socket bound to the namespace `netns_fd`: a socket keeps the
// namespace it was created in, so the calling thread visits the namespace only
// for the socket() call. Network setns is per thread and allowed in a
// multithreaded process.
absl::StatusOr<Netlink> OpenNetlinkIn(int netns_fd) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return ErrnoStatus(errno, "open /proc/thread-self/ns/net");
  if (setns(netns_fd, CLONE_NEWNET) != 0) {
    const int err = errno;
    close(self);
    return ErrnoStatus(err, "enter pod network namespace");
  }
  absl::StatusOr<Netlink> nl = Netlink::Open();
  if (setns(self, CLONE_NEWNET) != 0) {
    // The thread would keep running in the pod's namespace: no safe way on.
    const int err = errno;
    close(self);
    LogError(kComponent, "cannot return to the host network namespace", {{"error", strerror(err)}});
    abort();
  }
  close(self);
  return nl;
}

}  // namespace

PodNetwork::PodNetwork(NetworkNames names, Ipv4Subnet subnet, Netlink host, int bridge_index)
    : names_(std::move(names)),
      subnet_(subnet),
      bridge_index_(bridge_index),
      host_(std::move(host)),
      pool_(subnet) {}

absl::StatusOr<std::unique_ptr<PodNetwork>> PodNetwork::Create(const PodNetworkOptions& options) {
  if (options.seed.empty()) return absl::InvalidArgumentError("seed: must not be empty");
  NetworkNames names = DeriveNetworkNames(options.seed);
  ASSIGN_OR_RETURN(Netlink nl, Netlink::Open());
  RETURN_IF_ERROR(RemoveLinks(nl, names));
  ASSIGN_OR_RETURN(Ipv4Subnet subnet,
                   ChooseSubnet(options.seed, options.prefix_len, HostSubnets()));
  RETURN_IF_ERROR(nl.CreateBridge(names.bridge));
  auto cleanup_on_error = [&](absl::Status s) {
    (void)nl.DeleteLink(names.bridge);
    return s;
  };
  absl::StatusOr<int> index = nl.LinkIndex(names.bridge);
  if (!index.ok()) return cleanup_on_error(index.status());
  if (absl::Status s = nl.AddIpv4Address(*index, subnet.Gateway(), subnet.prefix_len, names.bridge);
      !s.ok()) {
    return cleanup_on_error(s);
  }
  if (absl::Status s = nl.SetLinkUp(*index, names.bridge); !s.ok()) return cleanup_on_error(s);
  LogInfo(kComponent, "bridge ready",
          {{"bridge", names.bridge},
           {"subnet", subnet.ToString()},
           {"gateway", FormatIpv4(subnet.Gateway())}});
  return std::unique_ptr<PodNetwork>(
      new PodNetwork(std::move(names), subnet, std::move(nl), *index));
}

absl::Status PodNetwork::CleanupStale(std::string_view seed) {
  if (seed.empty()) return absl::InvalidArgumentError("seed: must not be empty");
  ASSIGN_OR_RETURN(Netlink nl, Netlink::Open());
  return RemoveLinks(nl, DeriveNetworkNames(seed));
}

PodNetwork::~PodNetwork() {
  if (absl::Status s = Destroy(); !s.ok()) {
    LogWarn(kComponent, "destroy failed", {{"bridge", names_.bridge}, {"error", s.ToString()}});
  }
}

size_t PodNetwork::attached() const {
  absl::MutexLock lock(&mu_);
  return pool_.in_use();
}

absl::StatusOr<PodAttachment> PodNetwork::Attach(int netns_fd) {
  PodAttachment att;
  {
    absl::MutexLock lock(&mu_);
    if (destroyed_) return absl::FailedPreconditionError("pod network was destroyed");
    ASSIGN_OR_RETURN(att.addr, pool_.Allocate());
    att.ip = FormatIpv4(att.addr);
    att.host_veth = VethName(names_, subnet_, att.addr);
    // A veth of this name can only be a leftover of a pod whose namespace
    // is still held somewhere; it would block this address forever.
    (void)host_.DeleteLink(att.host_veth);
    absl::Status s = host_.CreateVethIntoNamespace(att.host_veth, bridge_index_, "eth0", netns_fd);
    if (!s.ok()) {
      (void)pool_.Release(att.addr);
      return s;
    }
  }
  auto configure = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Netlink pod, OpenNetlinkIn(netns_fd));
    ASSIGN_OR_RETURN(int eth0, pod.LinkIndex("eth0"));
    RETURN_IF_ERROR(pod.AddIpv4Address(eth0, att.addr, subnet_.prefix_len, "eth0"));
    RETURN_IF_ERROR(pod.SetLinkUp(eth0, "eth0"));
    ASSIGN_OR_RETURN(int lo, pod.LinkIndex("lo"));
    RETURN_IF_ERROR(pod.SetLinkUp(lo, "lo"));
    return pod.AddDefaultRoute(eth0, subnet_.Gateway());
  };
  if (absl::Status s = configure(); !s.ok()) {
    (void)Detach(att);
    return absl::Status(s.code(),
                        absl::StrCat("configure pod network ", att.ip, ": ", s.message()));
  }
  return att;
}

absl::Status PodNetwork::Detach(const PodAttachment& attachment) {
  absl::MutexLock lock(&mu_);
  absl::Status s = IgnoreNotFound(host_.DeleteLink(attachment.host_veth));
  absl::Status r = pool_.Release(attachment.addr);
  return s.ok() ? r : s;
}

absl::Status PodNetwork::Release(const PodAttachment& attachment) {
  absl::MutexLock lock(&mu_);
  return pool_.Release(attachment.addr);
}

absl::Status PodNetwork::Destroy() {
  absl::MutexLock lock(&mu_);
  if (destroyed_) return absl::OkStatus();
  destroyed_ = true;
  return RemoveLinks(host_, names_);
}

}  // namespace argonaut::cluster::sandbox
