// A minimal rtnetlink client: enough to create bridges and veths, set
// addresses, links and routes. Raw sockets rather than libnl keep each change
// one syscall pair and let a socket be opened inside another network namespace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace argonaut::cluster::sandbox {

// Maps an errno to a status whose message names the operation.
absl::Status ErrnoStatus(int err, std::string_view what);

class NetlinkMessage {
 public:
  NetlinkMessage(uint16_t type, uint16_t flags);

  // The family header (ifinfomsg, ifaddrmsg, rtmsg) right after nlmsghdr.
  void AppendRaw(const void* data, size_t len);
  void AddAttr(uint16_t type, const void* data, size_t len);
  void AddString(uint16_t type, std::string_view s);
  void AddU32(uint16_t type, uint32_t v);
  // Nesting: attributes added between Begin and End go inside `type`.
  size_t BeginNested(uint16_t type);
  void EndNested(size_t offset);

  char* data() { return buf_.data(); }
  size_t size() const { return buf_.size(); }

 private:
  void Pad();
  void SetLength();
  std::vector<char> buf_;
};

class Netlink {
 public:
  // Bound to the network namespace of the calling thread at this moment.
  static absl::StatusOr<Netlink> Open();
  Netlink(Netlink&& other) noexcept;
  Netlink& operator=(Netlink&& other) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  // Sends one request with NLM_F_ACK and waits (bounded by a 5 s receive
  // timeout) for its acknowledgement.
  absl::Status Request(NetlinkMessage& msg, std::string_view what);

  // Interface operations. `what` strings in errors name the interface.
  absl::StatusOr<int> LinkIndex(std::string_view name);
  absl::Status CreateBridge(std::string_view name);
  // Host end `host_name` (enslaved to `master_index`, up) and peer `peer_name`
  // created directly inside the namespace `peer_netns_fd`.
  absl::Status CreateVethIntoNamespace(std::string_view host_name, int master_index,
                                       std::string_view peer_name, int peer_netns_fd);
  absl::Status DeleteLink(std::string_view name);
  absl::Status SetLinkUp(int index, std::string_view name);
  absl::Status AddIpv4Address(int index, uint32_t addr, int prefix_len, std::string_view name);
  absl::Status AddDefaultRoute(int index, uint32_t gateway);
  // Names of all links whose name starts with `prefix`.
  absl::StatusOr<std::vector<std::string>> ListLinks(std::string_view prefix);

 private:
  explicit Netlink(int fd) : fd_(fd) {}
  absl::Status Send(NetlinkMessage& msg, uint32_t* seq, std::string_view what);
  int fd_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace argonaut::cluster::sandbox
