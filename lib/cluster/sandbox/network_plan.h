// Pure decisions behind PodNetwork: names and subnet derived from a seed, and
// the pod address pool. No I/O here so that collisions and exhaustion are
// testable without root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cluster::sandbox {

// An IPv4 prefix; addresses are in host byte order.
struct Ipv4Subnet {
  uint32_t base = 0;
  int prefix_len = 0;

  uint32_t Mask() const;
  uint32_t Gateway() const { return base + 1; }
  uint32_t Broadcast() const { return base | ~Mask(); }
  bool Contains(uint32_t addr) const { return (addr & Mask()) == base; }
  bool Overlaps(const Ipv4Subnet& other) const;
  std::string ToString() const;  // "10.1.2.0/24"
};

std::string FormatIpv4(uint32_t addr);
absl::StatusOr<uint32_t> ParseIpv4(std::string_view text);

// Interface names for one runtime. Both stay within IFNAMSIZ-1 (15) bytes.
struct NetworkNames {
  std::string bridge;       // "argn" + 6 hex digits
  std::string veth_prefix;  // "ag" + the same 6 hex digits + "v"
};

// Stable across processes and builds (FNV-1a), unlike std::hash.
uint64_t StableHash(std::string_view text);

NetworkNames DeriveNetworkNames(std::string_view seed);

// Host-side veth name of the pod holding `addr`; unique within the subnet.
std::string VethName(const NetworkNames& names, const Ipv4Subnet& subnet, uint32_t addr);

// A 10.x.y.0/24 (or 10.x.0.0/16) subnet derived from the seed, skipping any
// candidate that overlaps `taken` (subnets already on host interfaces).
absl::StatusOr<Ipv4Subnet> ChooseSubnet(std::string_view seed, int prefix_len,
                                        const std::vector<Ipv4Subnet>& taken);

// Pod addresses of a subnet: .1 is the bridge, the rest go to pods. Allocation
// walks round-robin so a just-released address is not handed out at once (a
// peer's ARP cache may still point at the old veth).
class IpPool {
 public:
  explicit IpPool(Ipv4Subnet subnet);

  absl::StatusOr<uint32_t> Allocate();
  absl::Status Release(uint32_t addr);
  size_t in_use() const { return in_use_; }
  size_t capacity() const { return used_.size(); }

 private:
  Ipv4Subnet subnet_;
  std::vector<bool> used_;  // index i <-> address base + 2 + i
  size_t next_ = 0;
  size_t in_use_ = 0;
};

}  // namespace argonaut::cluster::sandbox
