// Resource listeners over a LocalCluster (plain processes): the seed's Pod
// example (app=my-pod fires, another label does not) and the filters.
#include "services/events/sources/resource.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

class ResourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/rs-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds,
                                                   cluster::KubernetesValidator());
    const char* src = std::getenv("TEST_SRCDIR");
    const char* ws = std::getenv("TEST_WORKSPACE");
    auto c = cluster::LocalCluster::Start(
        api_.get(),
        {.data_dir = dir_,
         .builtin_binary = src != nullptr && ws != nullptr
                               ? absl::StrCat(src, "/", ws, "/lib/cluster/images/builtin_images")
                               : "",
         .builtin_prefix = {},
         .isolation = cluster::LocalClusterOptions::Isolation::kPlain,
         .pod_network = false});
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
  }
  void TearDown() override {
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const json& config) {
    return EventSourceRunner::Start(MakeEventSource("pods", "resource", {{"example", config}}),
                                    collector_.publish(), {.cluster = cluster_.get()});
  }
  json Pod(const std::string& name, const std::string& app) {
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}}},
            {"spec",
             {{"restartPolicy", "Never"},
              {"containers",
               {{{"name", "main"}, {"image", "busybox"}, {"command", {"sleep", "30"}}}}}}}};
  }

  std::string dir_;
  Collector collector_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<cluster::LocalCluster> cluster_;
};

TEST_F(ResourceTest, SeedPodExampleFiresOnlyForTheLabelledPod) {
  // The seed's resource EventSource: pods in default, ADD, app=my-pod.
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start({{"namespace", "default"},
             {"group", ""},
             {"version", "v1"},
             {"resource", "pods"},
             {"eventTypes", {"ADD"}},
             {"filter",
              {{"afterStart", true},
               {"labels", {{{"key", "app"}, {"operation", "=="}, {"value", "my-pod"}}}}}}}));
  ASSERT_OK(cluster_->Create(Pod("other", "not-mine")).status());
  ASSERT_OK(cluster_->Create(Pod("mine", "my-pod")).status());
  std::vector<CloudEvent> events = collector_.WaitFor(1);
  // Give the other pod's events (and the pods' status updates) time to show up.
  absl::SleepFor(absl::Milliseconds(500));
  events = collector_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "resource");
  EXPECT_EQ(events[0].data["type"], "ADD");
  EXPECT_EQ(events[0].data["body"]["metadata"]["name"], "mine");
  EXPECT_EQ(events[0].data["version"], "v1");
  EXPECT_EQ(events[0].data["resource"], "pods");
  EXPECT_EQ(runner->Status()["listeners"][0]["state"], "listening");
}

TEST_F(ResourceTest, UpdateAndDeleteWithOldBody) {
  ASSERT_OK(cluster_
                ->Create({{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"metadata", {{"name", "before"}, {"namespace", "default"}}},
                          {"data", {{"k", "0"}}}})
                .status());
  ASSERT_OK_AND_ASSIGN(auto runner, Start({{"version", "v1"},
                                           {"resource", "configmaps"},
                                           {"eventTypes", {"UPDATE", "DELETE"}},
                                           {"filter", {{"prefix", "cm-"}}}}));
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "cm-a"}, {"namespace", "default"}}},
             {"data", {{"k", "1"}}}};
  ASSERT_OK(cluster_->Create(cm).status());
  cm["data"]["k"] = "2";
  ASSERT_OK(cluster_->Apply(cm).status());
  ASSERT_OK(cluster_->Delete("ConfigMap", "default", "cm-a"));
  ASSERT_OK(cluster_->Delete("ConfigMap", "default", "before"));
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  absl::SleepFor(absl::Milliseconds(300));
  events = collector_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["type"], "UPDATE");
  EXPECT_EQ(events[0].data["body"]["data"]["k"], "2");
  EXPECT_EQ(events[0].data["oldBody"]["data"]["k"], "1");
  EXPECT_EQ(events[1].data["type"], "DELETE");
}

TEST(ResourceFilterTest, LabelsFieldsPrefixAndTimes) {
  const absl::Time start = absl::FromUnixSeconds(1'800'000'000);
  json pod = {{"metadata",
               {{"name", "web-1"},
                {"creationTimestamp", "2027-01-15T08:00:00Z"},
                {"labels", {{"app", "web"}, {"tier", "3"}}}}},
              {"spec", {{"serviceAccountName", "builder"}}}};
  auto pass = [&](const json& filter) {
    absl::StatusOr<bool> r = ResourcePassesFilter(filter, pod, start);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r;
  };
  EXPECT_TRUE(pass({{"prefix", "web"}}));
  EXPECT_FALSE(pass({{"prefix", "db"}}));
  EXPECT_TRUE(pass({{"labels", {{{"key", "app"}, {"operation", "in"}, {"value", "api,web"}}}}}));
  EXPECT_FALSE(pass({{"labels", {{{"key", "app"}, {"operation", "notin"}, {"value", "web"}}}}}));
  EXPECT_TRUE(pass({{"labels", {{{"key", "tier"}, {"operation", "gt"}, {"value", "2"}}}}}));
  EXPECT_FALSE(pass({{"labels", {{{"key", "tier"}, {"operation", "lt"}, {"value", "2"}}}}}));
  EXPECT_TRUE(pass({{"labels", {{{"key", "app"}, {"operation", "exists"}}}}}));
  EXPECT_FALSE(pass({{"labels", {{{"key", "app"}, {"operation", "!"}}}}}));
  EXPECT_TRUE(pass({{"fields", {{{"key", "spec.serviceAccountName"}, {"value", "build.*"}}}}}));
  EXPECT_FALSE(
      pass({{"fields",
             {{{"key", "spec.serviceAccountName"}, {"operation", "!="}, {"value", "builder"}}}}}));
  EXPECT_TRUE(pass({{"createdBy", "2027-01-01T00:00:00Z"}}));
  EXPECT_FALSE(pass({{"createdBy", "2027-02-01T00:00:00Z"}}));
  // start is 2027-01-15T08:00:00Z exactly.
  EXPECT_TRUE(pass({{"afterStart", true}}));
  EXPECT_FALSE(ResourcePassesFilter({{"afterStart", true}}, pod, start + absl::Seconds(1)).value());
  EXPECT_THAT(
      ResourcePassesFilter({{"labels", {{{"key", "a"}, {"operation", "~"}}}}}, pod, start).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("filter.labels[0].operation")));
}

TEST_F(ResourceTest, BadSpecs) {
  EXPECT_THAT(Start({{"version", "v1"}, {"resource", "widgets"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.resource.example.resource: unknown resource")));
  EXPECT_THAT(Start({{"version", "v1"}, {"resource", "pods"}, {"eventTypes", {"CREATE"}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.resource.example.eventTypes[0]")));
}

}  // namespace
}  // namespace argonaut::events::sources
