#include "lib/cluster/workloads/pod_template.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

RandomSource Counter() {
  auto n = std::make_shared<uint32_t>(0);
  return [n]() { return (*n)++ * 2654435761u; };
}

const Json kOwner = {{"apiVersion", "apps/v1"},
                     {"kind", "ReplicaSet"},
                     {"metadata", {{"name", "web-abc"}, {"namespace", "ns1"}, {"uid", "u-1"}}}};
const Json kTemplate = {{"metadata", {{"labels", {{"app", "web"}}}, {"annotations", {{"a", "b"}}}}},
                        {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};

TEST(PodTemplateTest, PodFromTemplate) {
  auto pod = PodFromTemplate(kOwner, kTemplate, Counter());
  ASSERT_TRUE(pod.ok()) << pod.status();
  const Json& m = (*pod)["metadata"];
  EXPECT_THAT(m["name"].get<std::string>(),
              MatchesRegex("web-abc-[bcdfghjklmnpqrstvwxz2456789]{5}"));
  EXPECT_EQ(m["generateName"], "web-abc-");
  EXPECT_EQ(m["namespace"], "ns1");
  EXPECT_EQ(m["labels"]["app"], "web");
  EXPECT_EQ(m["annotations"]["a"], "b");
  const Json& ref = m["ownerReferences"][0];
  EXPECT_EQ(ref["kind"], "ReplicaSet");
  EXPECT_EQ(ref["apiVersion"], "apps/v1");
  EXPECT_EQ(ref["name"], "web-abc");
  EXPECT_EQ(ref["uid"], "u-1");
  EXPECT_EQ(ref["controller"], true);
  EXPECT_EQ(ref["blockOwnerDeletion"], true);
  EXPECT_EQ((*pod)["spec"], kTemplate["spec"]);
  EXPECT_EQ((*pod)["kind"], "Pod");
}

TEST(PodTemplateTest, NamesDifferAndLongOwnersAreTruncated) {
  RandomSource rand = Counter();
  std::set<std::string> names;
  for (int i = 0; i < 20; ++i)
    names.insert((*PodFromTemplate(kOwner, kTemplate, rand))["metadata"]["name"]);
  EXPECT_EQ(names.size(), 20u);
  Json owner = kOwner;
  owner["metadata"]["name"] = std::string(80, 'a');
  auto pod = PodFromTemplate(owner, kTemplate, rand);
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ((*pod)["metadata"]["name"].get<std::string>().size(), 63u);
}

TEST(PodTemplateTest, MissingFieldsAreNamed) {
  Json owner = kOwner;
  owner["metadata"].erase("uid");
  EXPECT_THAT(PodFromTemplate(owner, kTemplate, Counter()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.uid")));
  EXPECT_THAT(PodFromTemplate(kOwner, Json{{"metadata", Json::object()}}, Counter()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.template.spec")));
  Json bad = kTemplate;
  bad["metadata"]["labels"] = "x";
  EXPECT_THAT(
      PodFromTemplate(kOwner, bad, Counter()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.template.metadata.labels")));
}

TEST(PodTemplateTest, HashIsStableAndIgnoresHashLabel) {
  const std::string h1 = *ComputeTemplateHash(kTemplate, std::nullopt);
  EXPECT_EQ(h1, *ComputeTemplateHash(Json::parse(kTemplate.dump()), std::nullopt));
  EXPECT_THAT(h1, MatchesRegex("[bcdfghjklmnpqrstvwxz2456789]+"));
  EXPECT_LE(h1.size(), 10u);
  Json labelled = kTemplate;
  labelled["metadata"]["labels"][kPodTemplateHashLabel] = h1;
  EXPECT_EQ(*ComputeTemplateHash(labelled, std::nullopt), h1);
  EXPECT_TRUE(TemplatesEqualIgnoringHash(labelled, kTemplate));
  Json changed = kTemplate;
  changed["spec"]["containers"][0]["image"] = "busybox:2";
  EXPECT_NE(*ComputeTemplateHash(changed, std::nullopt), h1);
  EXPECT_FALSE(TemplatesEqualIgnoringHash(changed, kTemplate));
  EXPECT_NE(*ComputeTemplateHash(kTemplate, 1), h1);
  EXPECT_NE(*ComputeTemplateHash(kTemplate, 1), *ComputeTemplateHash(kTemplate, 2));
  EXPECT_EQ(ReplicaSetName("web", h1), "web-" + h1);
}

TEST(PodTemplateTest, SafeEncodeMatchesKubernetesAlphabet) {
  // Each byte maps to alphabet[byte % 27]: '0' (48) -> 48 % 27 = 21 -> '4'.
  EXPECT_EQ(SafeEncode("0"), "4");
  EXPECT_EQ(SafeEncode("01"), "45");
}

TEST(PodTemplateTest, DeepTemplateRejected) {
  Json deep = Json::object();
  for (int i = 0; i < 200; ++i) deep = Json{{"x", deep}};
  EXPECT_THAT(ComputeTemplateHash(Json{{"spec", deep}}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.template")));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
