// The k8s trigger against the cluster interface over a real resource API
// (in-memory store, Kubernetes validation).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(K8sTrigger, CreateUpdatePatchDelete) {
  auto kinds = resource::KindsOfService("cluster");
  auto store =
      *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  resource::ResourceApi api(store.get(), kinds, cluster::KubernetesValidator());
  cluster::ApiCluster cluster(&api);
  TriggerContext ctx;
  ctx.cluster = &cluster;
  controller::FakeClock clock(absl::FromUnixMillis(1700000000123));
  ctx.clock = &clock;

  CloudEvent e;
  e.id = "1";
  e.source = "webhook";
  e.subject = "example";
  e.data = {{"body", {{"color", "blue"}}}};
  EventsByDependency events = {{"dep", e}};
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "from-event"}}},
             {"data", {{"color", "red"}, {"size", "L"}}}};
  json trigger = {
      {"template",
       {{"name", "make-cm"},
        {"k8s",
         {{"source", {{"resource", cm}}},
          {"parameters", json::parse(R"([{"src":{"dependencyName":"dep","dataKey":"body.color"},
             "dest":"data.color"}])")}}}}}};
  auto r = ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx);
  ASSERT_OK(r);
  EXPECT_EQ(*r, "ConfigMap default/from-event created");
  auto live = cluster.Get("ConfigMap", "default", "from-event");
  ASSERT_OK(live);
  EXPECT_EQ((*live)["data"]["color"], "blue");
  EXPECT_EQ((*live)["metadata"]["labels"]["events.argoproj.io/sensor"], "my-sensor");
  EXPECT_EQ((*live)["metadata"]["labels"]["events.argoproj.io/trigger"], "make-cm");
  EXPECT_EQ((*live)["metadata"]["labels"]["events.argoproj.io/action-timestamp"], "1700000000123");
  // A second create of the same name fails.
  EXPECT_FALSE(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx).ok());

  // patch merges onto the live object.
  trigger["template"]["k8s"]["operation"] = "patch";
  trigger["template"]["k8s"]["source"]["resource"]["data"] = {{"extra", "x"}};
  ASSERT_OK(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx));
  live = cluster.Get("ConfigMap", "default", "from-event");
  EXPECT_EQ((*live)["data"], json({{"color", "blue"}, {"size", "L"}, {"extra", "x"}}));
  // update replaces the content.
  trigger["template"]["k8s"]["operation"] = "update";
  ASSERT_OK(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx));
  live = cluster.Get("ConfigMap", "default", "from-event");
  EXPECT_EQ((*live)["data"], json({{"color", "blue"}, {"extra", "x"}}));
  // update creates a missing object.
  trigger["template"]["k8s"]["source"]["resource"]["metadata"]["name"] = "fresh";
  ASSERT_OK(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx));
  EXPECT_OK(cluster.Get("ConfigMap", "default", "fresh"));
  // delete, twice (a missing object is a no-op).
  trigger["template"]["k8s"]["operation"] = "delete";
  ASSERT_OK(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx));
  ASSERT_OK(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx));
  EXPECT_TRUE(absl::IsNotFound(cluster.Get("ConfigMap", "default", "fresh").status()));

  // Other Argo kinds are not supported yet.
  trigger["template"]["k8s"]["source"]["resource"] = {
      {"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Sensor"}, {"metadata", {{"name", "s"}}}};
  trigger["template"]["k8s"]["operation"] = "create";
  EXPECT_THAT(ExecuteTrigger({"my-sensor", "default", trigger, events}, ctx).status().message(),
              HasSubstr("not supported"));
}

}  // namespace
}  // namespace argonaut::events::sensors
