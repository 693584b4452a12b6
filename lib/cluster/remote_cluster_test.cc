// RemoteCluster against a real cluster service on a loopback port: the
// cluster store, the LocalCluster runtime running real pods, and the
// ResourceService + ClusterService a standalone cluster binary serves.
#include "lib/cluster/remote_cluster.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/grpc_service.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/service_bundle.h"
#include "lib/server/server.h"

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

#define RC_CONCAT_INNER(a, b) a##b
#define RC_CONCAT(a, b) RC_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(RC_CONCAT(_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, expr) \
  auto result = (expr);                              \
  ASSERT_TRUE(result.ok()) << result.status();       \
  lhs = std::move(*result)

class RemoteClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/rc-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto bundle =
        resource::ServiceBundle::Open("cluster", dir_ + "/store", nullptr, KubernetesValidator());
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = std::move(*bundle);
    auto local = LocalCluster::Start(
        &bundle_->api(),
        {.data_dir = dir_ + "/runtime", .builtin_binary = BuiltinBinary(), .builtin_prefix = {}});
    ASSERT_TRUE(local.ok()) << local.status();
    local_ = std::move(*local);
    logs_ = std::make_unique<ClusterGrpcService>(local_.get());
    StartServer(0);
    remote_ = RemoteCluster::Connect(
        absl::StrCat("127.0.0.1:", port_),
        {.reconnect_initial = absl::Milliseconds(50), .reconnect_max = absl::Milliseconds(200)});
  }

  void TearDown() override {
    remote_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (local_) local_->Stop(absl::Seconds(2));
  }

  // The cluster service's gRPC face; port 0 picks one, else that port again.
  void StartServer(int port) {
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "cluster", .grpc_port = port, .http_port = -1});
    server_->AddService(&bundle_->grpc_service());
    server_->AddService(logs_.get());
    ASSERT_OK(server_->Start());
    port_ = server_->BoundGrpcPort();
  }

  static std::string BuiltinBinary() {
    const char* src = std::getenv("TEST_SRCDIR");
    const char* ws = std::getenv("TEST_WORKSPACE");
    if (src == nullptr || ws == nullptr) return "";
    return absl::StrCat(src, "/", ws, "/lib/cluster/images/builtin_images");
  }

  static Object ConfigMap(const std::string& name, const std::string& value) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", name}, {"labels", {{"app", "rc"}}}}},
            {"data", {{"k", value}}}};
  }

  // Collects events until `pred` holds for one of them, for at most `timeout`.
  static std::vector<WatchEvent> WaitFor(Watch& w,
                                         const std::function<bool(const WatchEvent&)>& pred,
                                         absl::Duration timeout = absl::Seconds(20)) {
    std::vector<WatchEvent> seen;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      absl::StatusOr<std::vector<WatchEvent>> events = w.Next(absl::Now() + absl::Seconds(1));
      if (!events.ok()) {
        ADD_FAILURE() << events.status();
        return seen;
      }
      for (WatchEvent& e : *events) {
        seen.push_back(std::move(e));
        if (pred(seen.back())) return seen;
      }
    }
    ADD_FAILURE() << "timed out after " << seen.size() << " events";
    return seen;
  }

  std::string dir_;
  std::unique_ptr<resource::ServiceBundle> bundle_;
  std::unique_ptr<LocalCluster> local_;
  std::unique_ptr<ClusterGrpcService> logs_;
  std::unique_ptr<server::Server> server_;
  int port_ = 0;
  std::unique_ptr<RemoteCluster> remote_;
};

TEST_F(RemoteClusterTest, PodRunsToSucceededWithLogsAndIsDeleted) {
  ASSERT_OK_AND_ASSIGN(auto watch, remote_->WatchObjects("Pod", "default", "app=hi", ""));
  const Object pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "hi"}, {"labels", {{"app", "hi"}}}}},
      {"spec",
       {{"restartPolicy", "Never"},
        {"containers",
         {{{"name", "main"}, {"image", "alpine:3.18"}, {"command", {"echo", "hi"}}}}}}}};
  ASSERT_OK_AND_ASSIGN(Object created, remote_->Create(pod));
  EXPECT_EQ(NameOf(created), "hi");
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());

  std::vector<WatchEvent> seen = WaitFor(*watch, [](const WatchEvent& e) {
    return e.object.value("status", Object::object()).value("phase", "") == "Succeeded";
  });
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().type, "ADDED");
  EXPECT_EQ(seen.back().type, "MODIFIED");
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i].resource_version, seen[i - 1].resource_version);
  }

  std::string log;
  ASSERT_OK(remote_->Logs("default", "hi", {}, [&](std::string_view c) {
    log.append(c);
    return true;
  }));
  EXPECT_EQ(log, "hi\n");
  // Following a finished container returns its whole log and ends.
  std::string followed;
  ASSERT_OK(remote_->Logs("default", "hi",
                          {.follow = true, .deadline = absl::Now() + absl::Seconds(10)},
                          [&](std::string_view c) {
                            followed.append(c);
                            return true;
                          }));
  EXPECT_EQ(followed, "hi\n");

  ASSERT_OK(remote_->Delete("Pod", "default", "hi"));
  WaitFor(*watch, [](const WatchEvent& e) { return e.type == "DELETED"; });
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status gone;
  while (absl::Now() < deadline) {
    gone = remote_->Get("Pod", "default", "hi").status();
    if (absl::IsNotFound(gone)) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(gone, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(remote_->Logs("default", "nope", {}, [](std::string_view) { return true; }),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RemoteClusterTest, FollowingARunningPodStreamsAndHeartbeats) {
  const Object pod = {{"apiVersion", "v1"},
                      {"kind", "Pod"},
                      {"metadata", {{"name", "slow"}}},
                      {"spec",
                       {{"restartPolicy", "Never"},
                        {"containers",
                         {{{"name", "main"},
                           {"image", "alpine:3.18"},
                           {"command", {"sh", "-c", "echo one; sleep 2; echo two"}}}}}}}};
  ASSERT_OK(remote_->Create(pod).status());
  // Following starts once the container runs (before, there is no log yet).
  ASSERT_OK_AND_ASSIGN(auto watch, remote_->WatchObjects("Pod", "default", "", ""));
  WaitFor(*watch, [](const WatchEvent& e) {
    return NameOf(e.object) == "slow" &&
           e.object.value("status", Object::object()).value("phase", "") == "Running";
  });
  std::string log;
  int heartbeats = 0;
  ASSERT_OK(remote_->Logs("default", "slow",
                          {.follow = true, .deadline = absl::Now() + absl::Seconds(20)},
                          [&](std::string_view c) {
                            if (c.empty()) ++heartbeats;
                            log.append(c);
                            return true;
                          }));
  EXPECT_EQ(log, "one\ntwo\n");
  EXPECT_GE(heartbeats, 1);
  // A sink that says stop ends the call at once, successfully.
  int calls = 0;
  const Object sleeper = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "sleeper"}}},
      {"spec",
       {{"restartPolicy", "Never"},
        {"containers",
         {{{"name", "main"}, {"image", "alpine:3.18"}, {"command", {"sleep", "30"}}}}}}}};
  ASSERT_OK(remote_->Create(sleeper).status());
  const absl::Time start = absl::Now();
  ASSERT_OK(remote_->Logs("default", "sleeper",
                          {.follow = true, .deadline = absl::Now() + absl::Seconds(20)},
                          [&](std::string_view) { return ++calls < 2; }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_OK(remote_->Delete("Pod", "default", "sleeper"));
}

TEST_F(RemoteClusterTest, StatusCodesComeBackAsTheServiceReturnedThem) {
  ASSERT_OK_AND_ASSIGN(Object cm, remote_->Create(ConfigMap("a", "1")));
  EXPECT_THAT(remote_->Create(ConfigMap("a", "2")).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(remote_->Get("ConfigMap", "default", "missing").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(remote_->Delete("ConfigMap", "default", "missing"),
              StatusIs(absl::StatusCode::kNotFound));

  Object stale = cm;
  cm["data"]["k"] = "2";
  ASSERT_OK_AND_ASSIGN(Object updated, remote_->Update(cm));
  EXPECT_EQ(updated["data"]["k"], "2");
  stale["data"]["k"] = "3";
  EXPECT_THAT(remote_->Update(stale).status(), StatusIs(absl::StatusCode::kAborted));

  // Apply creates, then replaces.
  ASSERT_OK_AND_ASSIGN(Object applied, remote_->Apply(ConfigMap("b", "x")));
  ASSERT_OK_AND_ASSIGN(applied, remote_->Apply(ConfigMap("b", "y")));
  EXPECT_EQ(applied["data"]["k"], "y");
  ASSERT_OK_AND_ASSIGN(std::vector<Object> listed, remote_->List("ConfigMap", "", "app=rc"));
  EXPECT_EQ(listed.size(), 2u);
  // Invalid UTF-8 in a value is replaced, not a crash or a failed write.
  ASSERT_OK_AND_ASSIGN(Object utf, remote_->Create(ConfigMap("utf", "ok\xff")));
  EXPECT_EQ(utf["data"]["k"], "ok\xEF\xBF\xBD");

  // Invalid input names the problem and never reaches the wire as garbage.
  EXPECT_THAT(remote_->Create(Object::array()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(remote_->Create(Object{{"kind", "Nope"}, {"metadata", {{"name", "x"}}}}).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown kind")));
  EXPECT_THAT(remote_->WatchObjects("Nope", "", "", "").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown kind")));
  // Only the status subresource exists.
  {
    auto stub = api::v1::ResourceService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    api::v1::UpdateRequest req;
    req.set_kind("ConfigMap");
    req.set_json(updated.dump());
    req.set_subresource("scale");
    api::v1::Object reply;
    const grpc::Status s = stub->Update(&ctx, req, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("subresource"));
  }
  // ConfigMaps have no status subresource.
  EXPECT_THAT(remote_->UpdateStatus(updated).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("status subresource")));
}

TEST_F(RemoteClusterTest, UpdateStatusWritesOnlyTheStatus) {
  const Object svc = {{"apiVersion", "v1"},
                      {"kind", "Service"},
                      {"metadata", {{"name", "web"}}},
                      {"spec", {{"selector", {{"app", "web"}}}, {"ports", {{{"port", 80}}}}}}};
  ASSERT_OK_AND_ASSIGN(Object created, remote_->Create(svc));
  Object changed = created;
  changed["spec"]["selector"]["app"] = "other";
  changed["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "10.1.2.3"}}}}}}};
  changed["metadata"].erase("resourceVersion");
  // The service controller writes the same status concurrently: retry a
  // conflict as every writer does.
  absl::StatusOr<Object> written;
  for (int i = 0; i < 20; ++i) {
    written = remote_->UpdateStatus(changed);
    if (!absl::IsAborted(written.status())) break;
  }
  ASSERT_OK_AND_ASSIGN(Object out, written);
  EXPECT_EQ(out["spec"]["selector"]["app"], "web");
  EXPECT_EQ(out["status"]["loadBalancer"]["ingress"][0]["ip"], "10.1.2.3");

  ASSERT_OK(remote_->SetTrafficSplit("default", "web",
                                     {.group_label = "track", .weights = {{"a", 80}, {"b", 20}}}));
  ASSERT_OK_AND_ASSIGN(Object got, remote_->Get("Service", "default", "web"));
  ASSERT_TRUE(got["metadata"]["annotations"].contains(kTrafficSplitAnnotation)) << got.dump();
  EXPECT_THAT(got["metadata"]["annotations"][kTrafficSplitAnnotation].get<std::string>(),
              HasSubstr("\"a\":80"));
  EXPECT_THAT(remote_->SetTrafficSplit("default", "missing", {.weights = {{"a", 1}}}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RemoteClusterTest, WatchResumesAfterTheServiceRestarts) {
  ASSERT_OK(remote_->Create(ConfigMap("before", "0")).status());
  ASSERT_OK_AND_ASSIGN(auto watch, remote_->WatchObjects("ConfigMap", "default", "app=rc", ""));
  std::vector<WatchEvent> seen =
      WaitFor(*watch, [](const WatchEvent& e) { return NameOf(e.object) == "before"; });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, "ADDED");

  ASSERT_OK(remote_->Create(ConfigMap("one", "1")).status());
  WaitFor(*watch, [](const WatchEvent& e) { return NameOf(e.object) == "one"; });

  // Drop every stream: the server goes away, writes happen meanwhile, then
  // it comes back on the same port.
  const int port = port_;
  server_->Shutdown(absl::Milliseconds(100));
  ApiCluster direct(&bundle_->api());
  ASSERT_OK(direct.Create(ConfigMap("while-down", "2")).status());
  ASSERT_OK_AND_ASSIGN(auto empty, watch->Next(absl::Now() + absl::Milliseconds(300)));
  EXPECT_TRUE(empty.empty());
  StartServer(port);
  // The channel reconnects on its own backoff (at most 2 s); calls made
  // before that fail fast as UNAVAILABLE.
  absl::Status created;
  for (int i = 0; i < 100; ++i) {
    created = remote_->Create(ConfigMap("after", "3")).status();
    if (!absl::IsUnavailable(created)) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_OK(created);

  seen = WaitFor(*watch, [](const WatchEvent& e) { return NameOf(e.object) == "after"; });
  std::vector<std::string> names;
  for (const WatchEvent& e : seen) names.push_back(NameOf(e.object));
  // No gap and no repeat of what was delivered before the drop.
  EXPECT_EQ(names, (std::vector<std::string>{"while-down", "after"}));
  watch->Cancel();
  EXPECT_THAT(watch->Next(absl::Now() + absl::Seconds(1)).status(),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(RemoteClusterTest, AnUnreachableServiceIsUnavailable) {
  auto nowhere = RemoteCluster::Connect("127.0.0.1:1", {.call_timeout = absl::Seconds(5)});
  EXPECT_THAT(nowhere->Get("Pod", "default", "x").status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(nowhere->WatchObjects("Pod", "", "", "").status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace argonaut::cluster
