#include "services/cd/engine/tracking.h"

#include <gtest/gtest.h>

#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

TEST(ResourceKey, FromObjects) {
  struct Case {
    json obj;
    ResourceKey want;
    std::string version;
  } cases[] = {
      {{{"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", "web"}, {"namespace", "ns"}}}},
       {"apps", "Deployment", "ns", "web"},
       "v1"},
      {{{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "svc"}}}},
       {"", "Service", "", "svc"},
       "v1"},
      {{{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Rollout"}, {"metadata", 5}},
       {"argoproj.io", "Rollout", "", ""},
       "v1alpha1"},
      {json::array(), {}, ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(KeyOf(c.obj), c.want) << c.obj.dump();
    EXPECT_EQ(VersionOf(c.obj.is_object() ? c.obj.value("apiVersion", "") : ""), c.version);
  }
  EXPECT_EQ((ResourceKey{"apps", "Deployment", "ns", "web"}).ToString(), "apps/Deployment/ns/web");
  EXPECT_LT((ResourceKey{"", "A", "", ""}), (ResourceKey{"", "B", "", ""}));
}

TEST(ResourceKey, Scope) {
  EXPECT_FALSE(IsNamespacedKind("", "Namespace"));
  EXPECT_FALSE(IsNamespacedKind("rbac.authorization.k8s.io", "ClusterRole"));
  EXPECT_FALSE(IsNamespacedKind("apiextensions.k8s.io", "CustomResourceDefinition"));
  EXPECT_FALSE(IsNamespacedKind("argoproj.io", "ClusterWorkflowTemplate"));
  EXPECT_TRUE(IsNamespacedKind("", "Service"));
  EXPECT_TRUE(IsNamespacedKind("apps", "Deployment"));
  EXPECT_TRUE(IsNamespacedKind("example.com", "Widget"));
}

TEST(PrepareTarget, DefaultsNamespaceAndTracks) {
  json dep = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", "web"}}}};
  json got = PrepareTarget(dep, "guestbook", "dev");
  EXPECT_EQ(got["metadata"]["namespace"], "dev");
  EXPECT_EQ(got["metadata"]["labels"][kInstanceLabel], "guestbook");
  EXPECT_EQ(got["metadata"]["annotations"][kTrackingAnnotation],
            "guestbook:apps/Deployment:dev/web");

  dep["metadata"]["namespace"] = "other";
  dep["metadata"]["labels"] = {{"app", "web"}};
  got = PrepareTarget(dep, "guestbook", "dev");
  EXPECT_EQ(got["metadata"]["namespace"], "other");
  EXPECT_EQ(got["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(got["metadata"]["annotations"][kTrackingAnnotation],
            "guestbook:apps/Deployment:other/web");

  json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "x"}}}};
  got = PrepareTarget(ns, "a", "dev");
  EXPECT_FALSE(got["metadata"].contains("namespace"));
  EXPECT_EQ(got["metadata"]["annotations"][kTrackingAnnotation], "a:/Namespace:/x");
}

TEST(BelongsTo, AnnotationThenLabel) {
  json target = PrepareTarget(
      {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "svc"}}}}, "app", "ns");
  EXPECT_TRUE(BelongsTo(target, "app"));
  EXPECT_FALSE(BelongsTo(target, "other"));

  // A copy of the object under another name keeps the annotation: not ours.
  json copy = target;
  copy["metadata"]["name"] = "svc-copy";
  EXPECT_FALSE(BelongsTo(copy, "app"));

  json labelled = {{"metadata", {{"labels", {{kInstanceLabel, "app"}}}}}};
  EXPECT_TRUE(BelongsTo(labelled, "app"));
  EXPECT_FALSE(BelongsTo(labelled, "ap"));
  EXPECT_FALSE(BelongsTo(json{{"metadata", {{"name", "x"}}}}, "app"));
  EXPECT_FALSE(BelongsTo(json("junk"), "app"));
}

}  // namespace
}  // namespace argonaut::cd::engine
