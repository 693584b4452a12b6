#include "services/cd/api/tree.h"

#include "gtest/gtest.h"

namespace argonaut::cd::api {
namespace {

using ::nlohmann::json;

TEST(ResourceTreeTest, ManagedLiveAndOwned) {
  const json app = json::parse(R"({"status":{"resources":[
    {"group":"apps","version":"v1","kind":"Deployment","namespace":"demo","name":"web",
     "status":"Synced","health":{"status":"Healthy"}},
    {"version":"v1","kind":"Service","namespace":"demo","name":"web","status":"OutOfSync"}]}})");
  const std::vector<json> live = {json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"demo","uid":"d1","resourceVersion":"7",
      "creationTimestamp":"2024-01-01T00:00:00Z"},
    "spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}}})")};
  const std::vector<json> owned = {
      json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-abc-1",
        "namespace":"demo","uid":"p1","ownerReferences":[{"kind":"ReplicaSet","uid":"r1"}]},
        "spec":{"containers":[{"name":"c","image":"nginx:1"}]},
        "status":{"phase":"Running","containerStatuses":[{"ready":true}],
          "conditions":[{"type":"Ready","status":"True"}]}})"),
      json::parse(R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-abc",
        "namespace":"demo","uid":"r1","ownerReferences":[{"kind":"Deployment","uid":"d1"}]}})"),
      json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"stray",
        "namespace":"demo","uid":"p9","ownerReferences":[{"kind":"ReplicaSet","uid":"zz"}]}})")};
  const json tree = BuildResourceTree(app, live, owned);
  ASSERT_EQ(tree["nodes"].size(), 4u);
  // Sorted by group, kind, namespace, name: "" < "apps".
  EXPECT_EQ(tree["nodes"][0]["kind"], "Pod");
  EXPECT_EQ(tree["nodes"][0]["parentRefs"][0]["uid"], "r1");
  EXPECT_EQ(tree["nodes"][0]["health"]["status"], "Healthy");
  EXPECT_EQ(tree["nodes"][0]["info"][1]["value"], "1/1");
  EXPECT_EQ(tree["nodes"][1]["kind"], "Service");
  EXPECT_FALSE(tree["nodes"][1].contains("uid"));
  EXPECT_EQ(tree["nodes"][2]["kind"], "Deployment");
  EXPECT_EQ(tree["nodes"][2]["uid"], "d1");
  EXPECT_EQ(tree["nodes"][2]["images"][0], "nginx:1");
  EXPECT_EQ(tree["nodes"][2]["createdAt"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(tree["nodes"][3]["kind"], "ReplicaSet");
  EXPECT_EQ(tree["nodes"][3]["parentRefs"][0]["name"], "web");
}

// A pod that is not a managed resource still gets the engine's health, with
// its reason, as Argo CD's tree shows it.
TEST(ResourceTreeTest, FailedPodShowsReason) {
  const json app = json::parse(R"({"status":{"resources":[
    {"group":"apps","version":"v1","kind":"ReplicaSet","namespace":"demo","name":"web"}]}})");
  const std::vector<json> live = {json::parse(R"({"apiVersion":"apps/v1","kind":"ReplicaSet",
    "metadata":{"name":"web","namespace":"demo","uid":"r1"}})")};
  const std::vector<json> owned = {json::parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"web-1","namespace":"demo","uid":"p1",
      "ownerReferences":[{"kind":"ReplicaSet","uid":"r1"}]},
    "spec":{"restartPolicy":"Always","containers":[{"name":"c","image":"mongo"}]},
    "status":{"phase":"Failed","reason":"ImageNotRunnableLocally",
      "message":"image mongo is not in the image table"}})")};
  const json tree = BuildResourceTree(app, live, owned);
  ASSERT_EQ(tree["nodes"].size(), 2u);
  const json& pod = tree["nodes"][0];
  ASSERT_EQ(pod["kind"], "Pod");
  EXPECT_EQ(pod["health"]["status"], "Degraded");
  EXPECT_NE(pod["health"].value("message", "").find("not in the image table"), std::string::npos)
      << pod.dump();
  EXPECT_EQ(pod["info"][0]["value"], "ImageNotRunnableLocally");
}

TEST(ResourceTreeTest, EmptyApp) {
  EXPECT_EQ(BuildResourceTree(json::object(), {}, {}), json::parse(R"({"nodes":[]})"));
}

}  // namespace
}  // namespace argonaut::cd::api
