#include "lib/cluster/sandbox/network_plan.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::sandbox {

uint32_t Ipv4Subnet::Mask() const {
  if (prefix_len <= 0) return 0;
  if (prefix_len >= 32) return 0xffffffffu;
  return ~((1u << (32 - prefix_len)) - 1);
}

bool Ipv4Subnet::Overlaps(const Ipv4Subnet& other) const {
  const uint32_t mask = prefix_len < other.prefix_len ? Mask() : other.Mask();
  return (base & mask) == (other.base & mask);
}

std::string Ipv4Subnet::ToString() const { return absl::StrCat(FormatIpv4(base), "/", prefix_len); }

std::string FormatIpv4(uint32_t addr) {
  return absl::StrFormat("%d.%d.%d.%d", (addr >> 24) & 0xff, (addr >> 16) & 0xff,
                         (addr >> 8) & 0xff, addr & 0xff);
}

absl::StatusOr<uint32_t> ParseIpv4(std::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(AbslView(text), '.');
  if (parts.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 address: \"", AbslView(text), "\""));
  }
  uint32_t addr = 0;
  for (size_t i = 0; i < 4; ++i) {
    uint32_t octet = 0;
    if (parts[i].empty() || parts[i].size() > 3 || !absl::SimpleAtoi(parts[i], &octet) ||
        octet > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("not an IPv4 address: \"", AbslView(text), "\" (octet ", i + 1, ")"));
    }
    addr = (addr << 8) | octet;
  }
  return addr;
}

uint64_t StableHash(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

NetworkNames DeriveNetworkNames(std::string_view seed) {
  const std::string hex = absl::StrFormat("%06x", StableHash(seed) & 0xffffff);
  return NetworkNames{absl::StrCat("argn", hex), absl::StrCat("ag", hex, "v")};
}

std::string VethName(const NetworkNames& names, const Ipv4Subnet& subnet, uint32_t addr) {
  return absl::StrCat(names.veth_prefix, absl::StrFormat("%04x", addr & ~subnet.Mask() & 0xffff));
}

absl::StatusOr<Ipv4Subnet> ChooseSubnet(std::string_view seed, int prefix_len,
                                        const std::vector<Ipv4Subnet>& taken) {
  if (prefix_len != 24 && prefix_len != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix_len: ", prefix_len, " is not supported (use 24 or 16)"));
  }
  // 256 salted candidates: enough to get past any realistic set of host
  // subnets, and bounded so a host that owns all of 10/8 fails clearly.
  for (int attempt = 0; attempt < 256; ++attempt) {
    const uint64_t h = StableHash(absl::StrCat(AbslView(seed), "#subnet#", attempt));
    const uint32_t a = (h >> 24) & 0xff;
    const uint32_t b = (h >> 32) & 0xff;
    Ipv4Subnet candidate{(10u << 24) | (a << 16) | (prefix_len == 24 ? (b << 8) : 0), prefix_len};
    bool clash = false;
    for (const Ipv4Subnet& t : taken) {
      if (candidate.Overlaps(t)) {
        clash = true;
        break;
      }
    }
    if (!clash) return candidate;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free 10.0.0.0/8 subnet of /", prefix_len, " after 256 candidates"));
}

IpPool::IpPool(Ipv4Subnet subnet) : subnet_(subnet) {
  // Excludes network address, gateway (.1) and broadcast.
  const uint32_t hosts = ~subnet.Mask();
  used_.assign(hosts >= 3 ? hosts - 2 : 0, false);
}

absl::StatusOr<uint32_t> IpPool::Allocate() {
  for (size_t n = 0; n < used_.size(); ++n) {
    const size_t i = (next_ + n) % used_.size();
    if (!used_[i]) {
      used_[i] = true;
      ++in_use_;
      next_ = (i + 1) % used_.size();
      return subnet_.base + 2 + static_cast<uint32_t>(i);
    }
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "pod subnet ", subnet_.ToString(), " has no free address (", used_.size(), " in use)"));
}

absl::Status IpPool::Release(uint32_t addr) {
  if (!subnet_.Contains(addr) || addr < subnet_.base + 2 ||
      addr - subnet_.base - 2 >= used_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(FormatIpv4(addr), " is not a pod address of ", subnet_.ToString()));
  }
  const size_t i = addr - subnet_.base - 2;
  if (!used_[i]) {
    return absl::FailedPreconditionError(absl::StrCat(FormatIpv4(addr), " is not allocated"));
  }
  used_[i] = false;
  --in_use_;
  return absl::OkStatus();
}

}  // namespace argonaut::cluster::sandbox
