#include "lib/resource/resource_api.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"

namespace argonaut::resource {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

class ResourceApiTest : public ::testing::Test {
 protected:
  ResourceApiTest()
      : store_(*store::InMemoryStore::Create(
            {.kinds = ResourceApi::ColumnFamilies(KindsOfService("workflow"))})),
        api_(store_.get(), KindsOfService("workflow")) {}

  json MustCreate(const json& obj, bool upsert = false) {
    auto out = api_.Create("Workflow", obj.dump(), upsert);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? json::parse(*out) : json();
  }

  std::unique_ptr<store::InMemoryStore> store_;
  ResourceApi api_;
};

// The types of the next `n` events, waiting at most 5 s in all.
std::vector<std::string> ReadTypes(ObjectWatcher& watcher, size_t n) {
  std::vector<std::string> types;
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (types.size() < n && absl::Now() < deadline) {
    auto events = watcher.Next(deadline);
    if (!events.ok()) break;
    for (const auto& e : *events) types.push_back(e.type);
  }
  return types;
}

const json kHello = json::parse(R"({
  "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
  "metadata": {"name": "hello", "labels": {"app": "demo"}},
  "spec": {"entrypoint": "main",
           "templates": [{"name": "main", "container": {"image": "alpine", "command": ["echo"]}}]}
})");

TEST_F(ResourceApiTest, CreateFillsDefaults) {
  json out = MustCreate(kHello);
  EXPECT_EQ(out["metadata"]["namespace"], "default");
  EXPECT_EQ(out["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_FALSE(out["metadata"]["creationTimestamp"].get<std::string>().empty());
  EXPECT_FALSE(out["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(out["spec"]["templates"][0]["container"]["image"], "alpine");
}

TEST_F(ResourceApiTest, GenerateNameAddsSuffix) {
  json obj = kHello;
  obj["metadata"].erase("name");
  obj["metadata"]["generateName"] = "hello-";
  json a = MustCreate(obj);
  json b = MustCreate(obj);
  std::string name = a["metadata"]["name"];
  EXPECT_TRUE(absl::StartsWith(name, "hello-"));
  EXPECT_EQ(name.size(), 11u);
  EXPECT_NE(a["metadata"]["name"], b["metadata"]["name"]);
  // A long prefix is cut (Kubernetes): the name still fits a 63-character label value.
  const std::string prefix = "global-parameter-from-configmap-referenced-as-local-variable-";
  obj["metadata"]["generateName"] = prefix;
  std::string long_name = MustCreate(obj)["metadata"]["name"];
  EXPECT_EQ(long_name.size(), 63u);
  EXPECT_EQ(long_name.substr(0, 58), prefix.substr(0, 58));
}

TEST_F(ResourceApiTest, RejectsUnknownFieldsWithPath) {
  json obj = kHello;
  obj["spec"]["templates"][0]["contaner"] = json::object();
  EXPECT_THAT(
      api_.Create("wf", obj.dump(), false),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.templates[0].contaner")));
  EXPECT_THAT(api_.Get("wf", "default", "hello"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ResourceApiTest, RejectsWrongKindApiVersionAndName) {
  json obj = kHello;
  obj["kind"] = "Rollout";
  EXPECT_THAT(api_.Create("wf", obj.dump(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  obj = kHello;
  obj["apiVersion"] = "v1";
  EXPECT_THAT(api_.Create("wf", obj.dump(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("apiVersion")));
  obj = kHello;
  obj["metadata"]["name"] = "Not_Valid";
  EXPECT_THAT(api_.Create("wf", obj.dump(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.name")));
  obj["metadata"].erase("name");
  EXPECT_THAT(api_.Create("wf", obj.dump(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.name: required")));
  EXPECT_THAT(api_.Create("wf", "{not json", false), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ResourceApiTest, HostileJsonIsRefusedNotCrashed) {
  // 1,000,000 nested arrays: parsing is fine for nlohmann, copying and
  // dumping would overflow the stack; the depth check comes first.
  std::string deep = R"({"kind":)" + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  EXPECT_THAT(api_.Create("wf", deep, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deeper than")));
  std::string wrong_kind = R"({"kind":[1,2,3]})";
  EXPECT_THAT(api_.Create("wf", wrong_kind, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got array")));
  json with_rv = kHello;
  with_rv["metadata"]["resourceVersion"] = "7";
  EXPECT_THAT(api_.Create("wf", with_rv.dump(), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resourceVersion")));
}

TEST_F(ResourceApiTest, KindOfAnotherServiceIsRefused) {
  EXPECT_THAT(api_.Create("Rollout", "{}", false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("rollout service")));
  EXPECT_THAT(api_.Create("nosuchkind", "{}", false), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ResourceApiTest, CreateTwiceIsAlreadyExistsButUpsertReplaces) {
  json first = MustCreate(kHello);
  EXPECT_THAT(api_.Create("wf", kHello.dump(), false), StatusIs(absl::StatusCode::kAlreadyExists));
  json changed = kHello;
  changed["spec"]["entrypoint"] = "other";
  json second = MustCreate(changed, /*upsert=*/true);
  EXPECT_EQ(second["spec"]["entrypoint"], "other");
  EXPECT_EQ(second["metadata"]["uid"], first["metadata"]["uid"]);
  EXPECT_EQ(second["metadata"]["creationTimestamp"], first["metadata"]["creationTimestamp"]);
  EXPECT_GT(std::stoull(second["metadata"]["resourceVersion"].get<std::string>()),
            std::stoull(first["metadata"]["resourceVersion"].get<std::string>()));
}

// Apply (create with upsert) of a manifest without a status keeps the status
// a controller wrote, as kubectl apply's patch does; one with a status sets it.
TEST_F(ResourceApiTest, ApplyWithoutStatusKeepsStatus) {
  json wf = MustCreate(kHello);
  wf["metadata"].erase("resourceVersion");
  wf["status"] = {{"phase", "Running"}};
  ASSERT_OK(api_.UpdateObject("Workflow", wf));
  json again = MustCreate(kHello, /*upsert=*/true);
  EXPECT_EQ(again["status"]["phase"], "Running");
  json with_status = kHello;
  with_status["status"] = {{"phase", "Failed"}};
  EXPECT_EQ(MustCreate(with_status, /*upsert=*/true)["status"]["phase"], "Failed");
}

TEST_F(ResourceApiTest, UpdateWithStaleVersionIsAborted) {
  json v1 = MustCreate(kHello);
  json a = v1;
  a["spec"]["entrypoint"] = "a";
  ASSERT_OK(api_.Update("wf", a.dump()));
  json b = v1;  // still names v1's resourceVersion
  b["spec"]["entrypoint"] = "b";
  EXPECT_THAT(api_.Update("wf", b.dump()), StatusIs(absl::StatusCode::kAborted));
  json missing = kHello;
  missing["metadata"]["name"] = "nope";
  EXPECT_THAT(api_.Update("wf", missing.dump()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ResourceApiTest, ListFiltersByNamespaceAndLabels) {
  MustCreate(kHello);
  json other = kHello;
  other["metadata"]["name"] = "other";
  other["metadata"]["labels"]["app"] = "else";
  MustCreate(other);
  json elsewhere = kHello;
  elsewhere["metadata"]["namespace"] = "team-a";
  MustCreate(elsewhere);
  auto all = api_.List("workflows", "", "");
  ASSERT_OK(all);
  EXPECT_EQ(all->first.size(), 3u);
  auto in_default = api_.List("workflows", "default", "");
  ASSERT_OK(in_default);
  EXPECT_EQ(in_default->first.size(), 2u);
  auto demo = api_.List("wf", "", "app=demo");
  ASSERT_OK(demo);
  EXPECT_EQ(demo->first.size(), 2u);
  EXPECT_THAT(api_.List("wf", "", "app in (x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ResourceApiTest, ClusterScopedKindsIgnoreNamespace) {
  json t = {{"apiVersion", "argoproj.io/v1alpha1"},
            {"kind", "ClusterWorkflowTemplate"},
            {"metadata", {{"name", "shared"}, {"namespace", "ignored"}}},
            {"spec", {{"entrypoint", "main"}}}};
  auto out = api_.Create("cwftmpl", t.dump(), false);
  ASSERT_OK(out);
  EXPECT_FALSE(json::parse(*out)["metadata"].contains("namespace"));
  EXPECT_OK(api_.Get("clusterworkflowtemplates", "", "shared"));
  EXPECT_OK(api_.Delete("cwft", "", "shared", ""));
  EXPECT_THAT(api_.Get("cwft", "", "shared"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ResourceApiTest, DeleteHonoursVersion) {
  json v1 = MustCreate(kHello);
  EXPECT_THAT(api_.Delete("wf", "default", "hello", "999999"),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_OK(
      api_.Delete("wf", "default", "hello", v1["metadata"]["resourceVersion"].get<std::string>()));
  EXPECT_THAT(api_.Delete("wf", "default", "hello", ""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ResourceApiTest, WatchReplaysThenFollows) {
  MustCreate(kHello);
  auto watcher = api_.Watch("wf", "default", "", "");
  ASSERT_OK(watcher);
  auto first = (*watcher)->Next(absl::Now() + absl::Seconds(1));
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].type, "ADDED");
  json other = kHello;
  other["metadata"]["name"] = "second";
  MustCreate(other);
  other["spec"]["entrypoint"] = "x";
  MustCreate(other, /*upsert=*/true);
  ASSERT_OK(api_.Delete("wf", "default", "second", ""));
  EXPECT_EQ(ReadTypes(**watcher, 3), (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
}

TEST_F(ResourceApiTest, SelectorWatchSeesObjectsEnterAndLeave) {
  auto watcher = api_.Watch("wf", "default", "app=demo", "");
  ASSERT_OK(watcher);
  json obj = kHello;
  obj["metadata"]["labels"]["app"] = "other";
  MustCreate(obj);  // outside the selection: nothing
  obj["metadata"]["labels"]["app"] = "demo";
  MustCreate(obj, /*upsert=*/true);  // enters: ADDED
  obj["spec"]["entrypoint"] = "x";
  MustCreate(obj, /*upsert=*/true);  // stays: MODIFIED
  obj["metadata"]["labels"]["app"] = "gone";
  MustCreate(obj, /*upsert=*/true);  // leaves: DELETED
  EXPECT_EQ(ReadTypes(**watcher, 3), (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
}

TEST_F(ResourceApiTest, WatchFromVersionResumes) {
  json a = MustCreate(kHello);
  json other = kHello;
  other["metadata"]["name"] = "b";
  MustCreate(other);
  auto watcher = api_.Watch("wf", "", "", a["metadata"]["resourceVersion"].get<std::string>());
  ASSERT_OK(watcher);
  auto events = (*watcher)->Next(absl::Now() + absl::Seconds(2));
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].object["metadata"]["name"], "b");
}

}  // namespace
}  // namespace argonaut::resource

namespace argonaut::resource {
namespace {

// Kubernetes' status subresource on the cluster kinds: an apply of the spec
// keeps what the controllers reported and bumps generation only on change.
TEST(StatusSubresourceTest, SpecWritesKeepStatusAndCountGenerations) {
  auto store = *store::InMemoryStore::Create(
      {.kinds = ResourceApi::ColumnFamilies(KindsOfService("cluster"))});
  ResourceApi api(store.get(), KindsOfService("cluster"));
  json deploy = json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": {"name": "web"}, "spec": {"replicas": 3}})");
  auto created = api.Create("deploy", deploy.dump(), /*upsert=*/true);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(json::parse(*created)["metadata"]["generation"], 1);

  json with_status = json::parse(*created);
  with_status["status"] = {{"replicas", 3}, {"readyReplicas", 2}};
  with_status["spec"]["replicas"] = 99;  // ignored by a status write
  auto status_out = api.UpdateStatus("Deployment", with_status.dump());
  ASSERT_TRUE(status_out.ok()) << status_out.status();
  EXPECT_EQ(json::parse(*status_out)["spec"]["replicas"], 3);
  EXPECT_EQ(json::parse(*status_out)["status"]["readyReplicas"], 2);

  // Same spec again: generation stays; status stays.
  auto same = api.Create("deploy", deploy.dump(), /*upsert=*/true);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(json::parse(*same)["metadata"]["generation"], 1);
  EXPECT_EQ(json::parse(*same)["status"]["readyReplicas"], 2);

  deploy["spec"]["replicas"] = 5;
  auto changed = api.Create("deploy", deploy.dump(), /*upsert=*/true);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(json::parse(*changed)["metadata"]["generation"], 2);
  EXPECT_EQ(json::parse(*changed)["status"]["readyReplicas"], 2);

  // A stale version on a status write is refused like any other write.
  with_status["metadata"]["resourceVersion"] = json::parse(*created)["metadata"]["resourceVersion"];
  EXPECT_THAT(api.UpdateStatus("Deployment", with_status.dump()).status(),
              StatusIs(absl::StatusCode::kAborted));
  // ConfigMaps keep their data fields and have no status subresource.
  auto cm = api.Create(
      "cm", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}})",
      false);
  ASSERT_TRUE(cm.ok()) << cm.status();
  EXPECT_EQ(json::parse(*cm)["data"]["k"], "v");
  EXPECT_THAT(api.UpdateStatus("cm", *cm).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

// The object calls share the text calls' semantics; readers see each write's
// version whether it was decoded by them or remembered by the writer.
TEST(ObjectApiTest, WritesAndReadsAgreeAcrossVersions) {
  auto store = *store::InMemoryStore::Create(
      {.kinds = ResourceApi::ColumnFamilies(KindsOfService("cluster"))});
  ResourceApi api(store.get(), KindsOfService("cluster"));
  absl::StatusOr<std::unique_ptr<ObjectWatcher>> watch = api.Watch("Pod", "", "app=web", "");
  ASSERT_OK(watch);
  json pod = json::parse(R"({"apiVersion": "v1", "kind": "Pod",
      "metadata": {"name": "p", "labels": {"app": "web"}},
      "spec": {"containers": [{"name": "main", "image": "alpine"}]}})");
  absl::StatusOr<json> created = api.CreateObject("Pod", pod, /*upsert=*/false);
  ASSERT_OK(created);
  EXPECT_THAT(api.CreateObject("Pod", pod, false).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  json status = *created;
  status["status"] = {{"phase", "Running"}};
  absl::StatusOr<json> running = api.UpdateStatusObject("Pod", status);
  ASSERT_OK(running);
  EXPECT_EQ((*running)["status"]["phase"], "Running");
  EXPECT_NE((*running)["metadata"]["resourceVersion"], (*created)["metadata"]["resourceVersion"]);
  // A label change moves the pod out of the selection; Get and List follow.
  json relabelled = *running;
  relabelled["metadata"]["labels"]["app"] = "db";
  ASSERT_OK(api.UpdateObject("Pod", relabelled));
  absl::StatusOr<json> got = api.GetObject("Pod", "default", "p");
  ASSERT_OK(got);
  EXPECT_EQ((*got)["metadata"]["labels"]["app"], "db");
  EXPECT_EQ((*got)["status"]["phase"], "Running");
  EXPECT_TRUE(api.ListObjects("Pod", "", "app=web")->empty());
  EXPECT_EQ(api.ListObjects("Pod", "", "app=db")->size(), 1u);
  std::vector<std::string> phases;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (phases.size() < 3 && absl::Now() < deadline) {
    absl::StatusOr<std::vector<WatchEventOut>> events = (*watch)->Next(deadline);
    ASSERT_OK(events);
    for (const WatchEventOut& e : *events) {
      phases.push_back(e.type + ":" + e.object.value("status", json::object()).value("phase", ""));
    }
  }
  EXPECT_EQ(phases, (std::vector<std::string>{"ADDED:", "MODIFIED:Running", "DELETED:Running"}));
}

// Validation runs on create and on any change outside status; a write that
// changes only the status (a controller's progress report) is not validated
// again.
TEST(ObjectApiTest, StatusOnlyWritesSkipValidation) {
  auto store = *store::InMemoryStore::Create(
      {.kinds = ResourceApi::ColumnFamilies(KindsOfService("workflow"))});
  int validations = 0;
  ResourceApi api(store.get(), KindsOfService("workflow"),
                  [&](const KindInfo&, google::protobuf::Message&) {
                    ++validations;
                    return absl::OkStatus();
                  });
  absl::StatusOr<json> wf = api.CreateObject("Workflow", kHello, false);
  ASSERT_OK(wf);
  EXPECT_EQ(validations, 1);
  json next = *wf;
  next["metadata"].erase("resourceVersion");  // last writer wins
  next["status"] = {{"phase", "Running"}};
  ASSERT_OK(api.UpdateObject("Workflow", next));
  EXPECT_EQ(validations, 1);
  next["metadata"]["labels"]["phase"] = "Running";
  ASSERT_OK(api.UpdateObject("Workflow", next));
  EXPECT_EQ(validations, 2);
  next["spec"]["entrypoint"] = "other";
  ASSERT_OK(api.UpdateObject("Workflow", next));
  EXPECT_EQ(validations, 3);
}

// Writes without a resourceVersion are "last writer wins": racing writers of
// the status and of the spec all succeed, and neither loses the other's part.
TEST(ObjectApiTest, UnconditionalWritesRetryRaces) {
  auto store = *store::InMemoryStore::Create(
      {.kinds = ResourceApi::ColumnFamilies(KindsOfService("cluster"))});
  ResourceApi api(store.get(), KindsOfService("cluster"));
  json deploy = json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": {"name": "web"}, "spec": {"replicas": 0}})");
  ASSERT_OK(api.CreateObject("Deployment", deploy, false));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        json status = {{"apiVersion", "apps/v1"},
                       {"kind", "Deployment"},
                       {"metadata", {{"name", "web"}}},
                       {"status", {{"observedGeneration", t * 100 + i}}}};
        if (!api.UpdateStatusObject("Deployment", status).ok()) ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 1; i <= 50; ++i) {
      json spec = deploy;
      spec["spec"]["replicas"] = i;
      if (!api.UpdateObject("Deployment", spec).ok()) ++failures;
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<json> got = api.GetObject("Deployment", "default", "web");
  ASSERT_OK(got);
  EXPECT_EQ((*got)["spec"]["replicas"], 50);
  EXPECT_TRUE((*got)["status"].contains("observedGeneration"));
}

TEST_F(ResourceApiTest, DeleteOfAnObjectWithFinalizersOnlyMarksIt) {
  json wf = kHello;
  wf["metadata"]["finalizers"] = {"example.com/hold"};
  MustCreate(wf);
  ASSERT_OK(api_.Delete("wf", "default", "hello", ""));
  absl::StatusOr<json> marked = api_.GetObject("Workflow", "default", "hello");
  ASSERT_OK(marked.status());
  const std::string when = (*marked)["metadata"].value("deletionTimestamp", "");
  EXPECT_FALSE(when.empty());
  // Deleting again keeps the first mark.
  ASSERT_OK(api_.Delete("wf", "default", "hello", ""));
  EXPECT_EQ((*api_.GetObject("Workflow", "default", "hello"))["metadata"]["deletionTimestamp"],
            when);
  // Once the update that takes the last finalizer off is stored, the object
  // goes (as in Kubernetes), whoever removed it; a later delete finds nothing.
  json released = *marked;
  released["metadata"].erase("finalizers");
  ASSERT_OK(api_.UpdateObject("Workflow", released).status());
  EXPECT_THAT(api_.GetObject("Workflow", "default", "hello").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(api_.Delete("wf", "default", "hello", ""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ResourceApiTest, AnObjectMarkedForDeletionStaysWhileAFinalizerRemains) {
  json wf = kHello;
  wf["metadata"]["finalizers"] = {"example.com/a", "example.com/b"};
  MustCreate(wf);
  ASSERT_OK(api_.Delete("wf", "default", "hello", ""));
  json one = *api_.GetObject("Workflow", "default", "hello");
  one["metadata"]["finalizers"] = {"example.com/b"};
  ASSERT_OK(api_.UpdateObject("Workflow", one).status());
  ASSERT_OK(api_.GetObject("Workflow", "default", "hello").status());
  // Finalizers on an object not being deleted change nothing either.
  json other = kHello;
  other["metadata"]["name"] = "other";
  other["metadata"]["finalizers"] = {"example.com/a"};
  MustCreate(other);
  other = *api_.GetObject("Workflow", "default", "other");
  other["metadata"].erase("finalizers");
  ASSERT_OK(api_.UpdateObject("Workflow", other).status());
  ASSERT_OK(api_.GetObject("Workflow", "default", "other").status());
}

}  // namespace
}  // namespace argonaut::resource
