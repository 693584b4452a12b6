#include "lib/cluster/sandbox/network_plan.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

TEST(NetworkPlanTest, NamesAreStableShortAndSeedSpecific) {
  NetworkNames a = DeriveNetworkNames("/var/lib/argonaut");
  NetworkNames b = DeriveNetworkNames("/var/lib/argonaut");
  NetworkNames c = DeriveNetworkNames("/home/dev/.argonaut");
  EXPECT_EQ(a.bridge, b.bridge);
  EXPECT_NE(a.bridge, c.bridge);
  EXPECT_EQ(a.bridge.substr(0, 4), "argn");
  EXPECT_EQ(a.bridge.size(), 10u);
  EXPECT_EQ(a.veth_prefix.substr(2, 6), a.bridge.substr(4, 6));
  Ipv4Subnet s16{(10u << 24), 16};
  EXPECT_LE(VethName(a, s16, s16.base + 65000).size(), 15u);
}

TEST(NetworkPlanTest, SubnetIsDeterministicAndAvoidsTaken) {
  absl::StatusOr<Ipv4Subnet> first = ChooseSubnet("seed-1", 24, {});
  ASSERT_OK(first);
  EXPECT_EQ((first->base >> 24), 10u);
  EXPECT_EQ(first->prefix_len, 24);
  EXPECT_EQ(first->base & 0xff, 0u);
  absl::StatusOr<Ipv4Subnet> again = ChooseSubnet("seed-1", 24, {});
  ASSERT_OK(again);
  EXPECT_EQ(again->base, first->base);
  // The host already uses it (even as part of a wider prefix): pick another.
  Ipv4Subnet wide{first->base & 0xffff0000u, 16};
  absl::StatusOr<Ipv4Subnet> other = ChooseSubnet("seed-1", 24, {wide});
  ASSERT_OK(other);
  EXPECT_FALSE(other->Overlaps(wide));
  absl::StatusOr<Ipv4Subnet> s16 = ChooseSubnet("seed-1", 16, {});
  ASSERT_OK(s16);
  EXPECT_EQ(s16->base & 0xffff, 0u);
}

TEST(NetworkPlanTest, SubnetErrors) {
  EXPECT_THAT(ChooseSubnet("x", 20, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix_len")));
  EXPECT_THAT(ChooseSubnet("x", 24, {Ipv4Subnet{10u << 24, 8}}),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(NetworkPlanTest, ParseAndFormat) {
  absl::StatusOr<uint32_t> a = ParseIpv4("10.1.2.3");
  ASSERT_OK(a);
  EXPECT_EQ(*a, (10u << 24) | (1u << 16) | (2u << 8) | 3u);
  EXPECT_EQ(FormatIpv4(*a), "10.1.2.3");
  EXPECT_THAT(ParseIpv4("10.1.2"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseIpv4("10.1.2.256"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("octet 4")));
  EXPECT_THAT(ParseIpv4("10..2.3"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ((Ipv4Subnet{(10u << 24) | (5u << 8), 24}).ToString(), "10.0.5.0/24");
}

TEST(NetworkPlanTest, PoolAllocatesRoundRobinAndExhausts) {
  Ipv4Subnet s{(10u << 24) | (7u << 8), 24};
  IpPool pool(s);
  EXPECT_EQ(pool.capacity(), 253u);
  std::set<uint32_t> seen;
  for (int i = 0; i < 253; ++i) {
    absl::StatusOr<uint32_t> a = pool.Allocate();
    ASSERT_OK(a);
    EXPECT_TRUE(s.Contains(*a));
    EXPECT_NE(*a, s.Gateway());
    EXPECT_NE(*a, s.Broadcast());
    seen.insert(*a);
  }
  EXPECT_EQ(seen.size(), 253u);
  EXPECT_THAT(pool.Allocate(), StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK(pool.Release(s.base + 10));
  absl::StatusOr<uint32_t> again = pool.Allocate();
  ASSERT_OK(again);
  EXPECT_EQ(*again, s.base + 10);
  EXPECT_THAT(pool.Release(s.Gateway()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pool.Release((11u << 24) + 5), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NetworkPlanTest, PoolDoesNotReuseJustReleasedAddress) {
  IpPool pool(Ipv4Subnet{(10u << 24), 24});
  absl::StatusOr<uint32_t> a = pool.Allocate();
  ASSERT_OK(a);
  ASSERT_OK(pool.Release(*a));
  absl::StatusOr<uint32_t> b = pool.Allocate();
  ASSERT_OK(b);
  EXPECT_NE(*a, *b);
  EXPECT_THAT(pool.Release(*a), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
