#include "lib/cluster/sandbox/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::sandbox {

absl::Status ErrnoStatus(int err, std::string_view what) {
  std::string msg = absl::StrCat(AbslView(what), ": ", strerror(err));
  switch (err) {
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOENT:
    case ENODEV:
    case ESRCH:
      return absl::NotFoundError(msg);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(msg);
    case EINVAL:
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(msg);
    case EAGAIN:
    case ETIMEDOUT:
      return absl::DeadlineExceededError(msg);
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
  auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  SetLength();
}

void NetlinkMessage::Pad() { buf_.resize(NLMSG_ALIGN(buf_.size()), 0); }

void NetlinkMessage::SetLength() {
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = static_cast<uint32_t>(buf_.size());
}

void NetlinkMessage::AppendRaw(const void* data, size_t len) {
  Pad();
  const char* p = static_cast<const char*>(data);
  buf_.insert(buf_.end(), p, p + len);
  Pad();
  SetLength();
}

void NetlinkMessage::AddAttr(uint16_t type, const void* data, size_t len) {
  Pad();
  rtattr rta{};
  rta.rta_type = type;
  rta.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  const char* h = reinterpret_cast<const char*>(&rta);
  buf_.insert(buf_.end(), h, h + sizeof(rta));
  const char* p = static_cast<const char*>(data);
  buf_.insert(buf_.end(), p, p + len);
  Pad();
  SetLength();
}

void NetlinkMessage::AddString(uint16_t type, std::string_view s) {
  std::string z(s);
  AddAttr(type, z.c_str(), z.size() + 1);
}

void NetlinkMessage::AddU32(uint16_t type, uint32_t v) { AddAttr(type, &v, sizeof(v)); }

size_t NetlinkMessage::BeginNested(uint16_t type) {
  Pad();
  const size_t offset = buf_.size();
  AddAttr(type, nullptr, 0);
  return offset;
}

void NetlinkMessage::EndNested(size_t offset) {
  Pad();
  reinterpret_cast<rtattr*>(buf_.data() + offset)->rta_len =
      static_cast<unsigned short>(buf_.size() - offset);
  SetLength();
}

absl::StatusOr<Netlink> Netlink::Open() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return ErrnoStatus(errno, "netlink socket");
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus(err, "netlink bind");
  }
  return Netlink(fd);
}

Netlink::Netlink(Netlink&& other) noexcept : fd_(std::exchange(other.fd_, -1)), seq_(other.seq_) {}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    seq_ = other.seq_;
  }
  return *this;
}

Netlink::~Netlink() {
  if (fd_ >= 0) close(fd_);
}

absl::Status Netlink::Send(NetlinkMessage& msg, uint32_t* seq, std::string_view what) {
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  h->nlmsg_seq = *seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, what);
  return absl::OkStatus();
}

absl::Status Netlink::Request(NetlinkMessage& msg, std::string_view what) {
  reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  uint32_t seq = 0;
  if (absl::Status s = Send(msg, &seq, what); !s.ok()) return s;
  alignas(nlmsghdr) char buf[8192];
  // Bounded: each recv waits at most SO_RCVTIMEO, and stale replies of
  // earlier sequence numbers are few.
  for (int reads = 0; reads < 64; ++reads) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat(AbslView(what), " (waiting for netlink ack)"));
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      if (e->error == 0) return absl::OkStatus();
      return ErrnoStatus(-e->error, what);
    }
  }
  return absl::InternalError(absl::StrCat(AbslView(what), ": no netlink acknowledgement"));
}

absl::StatusOr<int> Netlink::LinkIndex(std::string_view name) {
  NetlinkMessage msg(RTM_GETLINK, NLM_F_REQUEST);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  msg.AppendRaw(&ifi, sizeof(ifi));
  msg.AddString(IFLA_IFNAME, name);
  const std::string what = absl::StrCat("look up link ", AbslView(name));
  uint32_t seq = 0;
  if (absl::Status s = Send(msg, &seq, what); !s.ok()) return s;
  alignas(nlmsghdr) char buf[16384];
  for (int reads = 0; reads < 64; ++reads) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, what);
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        return ErrnoStatus(e->error == 0 ? ENODEV : -e->error, what);
      }
      if (h->nlmsg_type == RTM_NEWLINK) {
        return static_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
      }
    }
  }
  return absl::InternalError(absl::StrCat(what, ": no netlink reply"));
}

absl::StatusOr<std::vector<std::string>> Netlink::ListLinks(std::string_view prefix) {
  NetlinkMessage msg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  msg.AppendRaw(&ifi, sizeof(ifi));
  uint32_t seq = 0;
  if (absl::Status s = Send(msg, &seq, "list links"); !s.ok()) return s;
  std::vector<std::string> names;
  alignas(nlmsghdr) static thread_local char buf[32768];
  // A dump of a host with thousands of links takes a few hundred reads; the
  // cap keeps a misbehaving kernel from spinning us forever.
  for (int reads = 0; reads < 100000; ++reads) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "list links");
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return names;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        return ErrnoStatus(-e->error, "list links");
      }
      if (h->nlmsg_type != RTM_NEWLINK) continue;
      auto* info = static_cast<ifinfomsg*>(NLMSG_DATA(h));
      int alen = static_cast<int>(IFLA_PAYLOAD(h));
      for (auto* a = IFLA_RTA(info); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type != IFLA_IFNAME) continue;
        std::string name(static_cast<const char*>(RTA_DATA(a)),
                         strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
        if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(std::move(name));
      }
    }
  }
  return absl::InternalError("list links: dump did not finish");
}

absl::Status Netlink::CreateBridge(std::string_view name) {
  NetlinkMessage msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  msg.AppendRaw(&ifi, sizeof(ifi));
  msg.AddString(IFLA_IFNAME, name);
  const size_t info = msg.BeginNested(IFLA_LINKINFO);
  msg.AddString(IFLA_INFO_KIND, "bridge");
  msg.EndNested(info);
  return Request(msg, absl::StrCat("create bridge ", AbslView(name)));
}

absl::Status Netlink::CreateVethIntoNamespace(std::string_view host_name, int master_index,
                                              std::string_view peer_name, int peer_netns_fd) {
  NetlinkMessage msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  // Created up: saves a separate link-set round trip on the host end.
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  msg.AppendRaw(&ifi, sizeof(ifi));
  msg.AddString(IFLA_IFNAME, host_name);
  msg.AddU32(IFLA_MASTER, static_cast<uint32_t>(master_index));
  const size_t info = msg.BeginNested(IFLA_LINKINFO);
  msg.AddString(IFLA_INFO_KIND, "veth");
  const size_t data = msg.BeginNested(IFLA_INFO_DATA);
  const size_t peer = msg.BeginNested(VETH_INFO_PEER);
  ifinfomsg peer_ifi{};
  peer_ifi.ifi_family = AF_UNSPEC;
  msg.AppendRaw(&peer_ifi, sizeof(peer_ifi));
  msg.AddString(IFLA_IFNAME, peer_name);
  msg.AddU32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  msg.EndNested(peer);
  msg.EndNested(data);
  msg.EndNested(info);
  return Request(msg, absl::StrCat("create veth ", AbslView(host_name)));
}

absl::Status Netlink::DeleteLink(std::string_view name) {
  NetlinkMessage msg(RTM_DELLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  msg.AppendRaw(&ifi, sizeof(ifi));
  msg.AddString(IFLA_IFNAME, name);
  return Request(msg, absl::StrCat("delete link ", AbslView(name)));
}

absl::Status Netlink::SetLinkUp(int index, std::string_view name) {
  NetlinkMessage msg(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  msg.AppendRaw(&ifi, sizeof(ifi));
  return Request(msg, absl::StrCat("set link ", AbslView(name), " up"));
}

absl::Status Netlink::AddIpv4Address(int index, uint32_t addr, int prefix_len,
                                     std::string_view name) {
  NetlinkMessage msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefix_len);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(index);
  msg.AppendRaw(&ifa, sizeof(ifa));
  const uint32_t be = htonl(addr);
  msg.AddAttr(IFA_LOCAL, &be, sizeof(be));
  msg.AddAttr(IFA_ADDRESS, &be, sizeof(be));
  const uint32_t mask = prefix_len == 0 ? 0 : ~((1u << (32 - prefix_len)) - 1);
  const uint32_t brd = htonl(addr | ~mask);
  msg.AddAttr(IFA_BROADCAST, &brd, sizeof(brd));
  return Request(msg, absl::StrCat("add address to ", AbslView(name)));
}

absl::Status Netlink::AddDefaultRoute(int index, uint32_t gateway) {
  NetlinkMessage msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  msg.AppendRaw(&rt, sizeof(rt));
  const uint32_t gw = htonl(gateway);
  msg.AddAttr(RTA_GATEWAY, &gw, sizeof(gw));
  msg.AddU32(RTA_OIF, static_cast<uint32_t>(index));
  return Request(msg, "add default route");
}

}  // namespace argonaut::cluster::sandbox
