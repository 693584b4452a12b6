#include "lib/cluster/proxy/endpoint_picker.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace argonaut::cluster {
namespace {

std::map<std::string, int> Count(EndpointPicker& p, int n, bool by_group) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    auto e = p.Pick({});
    if (!e) {
      out["<none>"]++;
      continue;
    }
    out[by_group ? e->group : e->ip]++;
  }
  return out;
}

TEST(EndpointPickerTest, EmptyPicksNothing) {
  EndpointPicker p;
  EXPECT_FALSE(p.Pick({}).has_value());
}

TEST(EndpointPickerTest, RoundRobinInOrder) {
  EndpointPicker p;
  p.SetEndpoints({{"", "10.0.0.1", 80}, {"", "10.0.0.2", 80}, {"", "10.0.0.3", 80}});
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += p.Pick({})->ip.back();
  EXPECT_EQ(seq, "123123");
}

TEST(EndpointPickerTest, SkipsTried) {
  EndpointPicker p;
  p.SetEndpoints({{"", "10.0.0.1", 80}, {"", "10.0.0.2", 80}});
  EXPECT_EQ(p.Pick({{"", "10.0.0.1", 80}})->ip, "10.0.0.2");
  EXPECT_EQ(p.Pick({{"", "10.0.0.1", 80}})->ip, "10.0.0.2");
  EXPECT_FALSE(p.Pick({{"", "10.0.0.1", 80}, {"x", "10.0.0.2", 80}}).has_value());
}

TEST(EndpointPickerTest, WeightedSplitIsExactAndInterleaved) {
  EndpointPicker p;
  p.SetEndpoints(
      {{"stable", "10.0.0.1", 80}, {"stable", "10.0.0.2", 80}, {"canary", "10.0.1.1", 80}});
  p.SetWeights({{"stable", 80}, {"canary", 20}});
  auto counts = Count(p, 1000, true);
  EXPECT_EQ(counts["stable"], 800);
  EXPECT_EQ(counts["canary"], 200);
  // Within a group, round-robin.
  auto ips = Count(p, 1000, false);
  EXPECT_EQ(ips["10.0.0.1"], 400);
  EXPECT_EQ(ips["10.0.0.2"], 400);
  // Smooth: never more than 4 stable picks in a row at 80/20.
  int run = 0, max_run = 0;
  for (int i = 0; i < 100; ++i) {
    run = p.Pick({})->group == "stable" ? run + 1 : 0;
    max_run = std::max(max_run, run);
  }
  EXPECT_LE(max_run, 4);
}

TEST(EndpointPickerTest, ZeroAndUnnamedGroupsGetNothing) {
  EndpointPicker p;
  p.SetEndpoints(
      {{"stable", "10.0.0.1", 80}, {"canary", "10.0.1.1", 80}, {"other", "10.0.2.1", 80}});
  p.SetWeights({{"stable", 100}, {"canary", 0}});
  auto counts = Count(p, 100, true);
  EXPECT_EQ(counts["stable"], 100);
  EXPECT_EQ(counts.count("canary"), 0u);
  EXPECT_EQ(counts.count("other"), 0u);
  p.SetWeights({{"canary", 0}});
  EXPECT_FALSE(p.Pick({}).has_value());
  p.SetWeights({});
  EXPECT_EQ(Count(p, 99, true)["other"], 33);
}

TEST(EndpointPickerTest, GroupWithoutEndpointsGivesUpItsShare) {
  EndpointPicker p;
  p.SetEndpoints({{"stable", "10.0.0.1", 80}});
  p.SetWeights({{"stable", 50}, {"canary", 50}});
  EXPECT_EQ(Count(p, 10, true)["stable"], 10);
  // A tried endpoint's group gives way to the others.
  p.SetEndpoints({{"stable", "10.0.0.1", 80}, {"canary", "10.0.1.1", 80}});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.Pick({{"", "10.0.1.1", 80}})->group, "stable");
}

}  // namespace
}  // namespace argonaut::cluster
