// LocalCluster against a real store and real processes: pods, init
// containers, environment, restarts, deadlines, deletion, Jobs and the
// isolation between pods. Runs isolated when root (as CI), plain otherwise.
#include "lib/cluster/local_cluster.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/sandbox/sandbox.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"

namespace argonaut::cluster {
namespace {

using ::testing::HasSubstr;

class LocalClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/lc-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds, KubernetesValidator());
    auto c = LocalCluster::Start(
        api_.get(), {.data_dir = dir_, .builtin_binary = BuiltinBinary(), .builtin_prefix = {}});
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
  }
  void TearDown() override {
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  static std::string BuiltinBinary() {
    const char* src = std::getenv("TEST_SRCDIR");
    const char* ws = std::getenv("TEST_WORKSPACE");
    if (src == nullptr || ws == nullptr) return "";
    return absl::StrCat(src, "/", ws, "/lib/cluster/images/builtin_images");
  }

  Object Pod(const std::string& name, const Object& spec) {
    return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}}, {"spec", spec}};
  }

  // Waits up to `timeout` for `pred` on the named pod.
  Object WaitPod(const std::string& name, const std::function<bool(const Object&)>& pred,
                 absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    Object last;
    while (absl::Now() < deadline) {
      absl::StatusOr<Object> p = cluster_->Get("Pod", "default", name);
      if (p.ok()) {
        last = *p;
        if (pred(last)) return last;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "timed out waiting on pod " << name << ": " << last.dump();
    return last;
  }

  static bool Phase(const Object& p, const char* phase) {
    return p.value("status", Object::object()).value("phase", "") == phase;
  }
  static bool Done(const Object& p) { return Phase(p, "Succeeded") || Phase(p, "Failed"); }

  std::string Logs(const std::string& pod, const std::string& container = "") {
    std::string out;
    EXPECT_OK(cluster_->Logs("default", pod, {.container = container}, [&](std::string_view c) {
      out.append(c);
      return true;
    }));
    return out;
  }

  std::string dir_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(LocalClusterTest, RunsContainerAndKeepsLogsAndExitCode) {
  ASSERT_OK(cluster_
                ->Create(Pod("ok", {{"restartPolicy", "Never"},
                                    {"containers",
                                     {{{"name", "main"},
                                       {"image", "alpine:3.18"},
                                       {"command", {"sh", "-c"}},
                                       {"args", {"echo hello from $(hostname); exit 3"}}}}}}))
                .status());
  Object p = WaitPod("ok", Done);
  EXPECT_TRUE(Phase(p, "Failed"));
  const Object& term = p["status"]["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(term["exitCode"], 3);
  EXPECT_EQ(term["reason"], "Error");
  if (cluster_->isolated()) {
    EXPECT_EQ(Logs("ok"), "hello from ok\n");
  } else {
    EXPECT_THAT(Logs("ok"), HasSubstr("hello from"));
  }
}

TEST_F(LocalClusterTest, TerminationMessageComesFromTheFileOrTheLogTail) {
  ASSERT_OK(cluster_
                ->Create(Pod("msg", {{"restartPolicy", "Never"},
                                     {"containers",
                                      {{{"name", "file"},
                                        {"image", "busybox"},
                                        {"command",
                                         {"sh", "-c",
                                          "printf '{\"result\":\"42\"}' > "
                                          "$ARGONAUT_TERMINATION_MESSAGE_PATH"}}},
                                       {{"name", "logs"},
                                        {"image", "busybox"},
                                        {"terminationMessagePolicy", "FallbackToLogsOnError"},
                                        {"command", {"sh", "-c", "echo boom; exit 2"}}}}}}))
                .status());
  Object p = WaitPod("msg", Done);
  std::map<std::string, std::string> messages;
  for (const Object& cs : p["status"]["containerStatuses"]) {
    messages[cs["name"]] = cs["state"]["terminated"].value("message", "");
  }
  EXPECT_EQ(messages["file"], "{\"result\":\"42\"}");
  EXPECT_EQ(messages["logs"], "boom\n");
}

TEST_F(LocalClusterTest, InitContainersRunFirstInOrderAndEnvResolves) {
  ASSERT_OK(cluster_
                ->Create(Object{{"apiVersion", "v1"},
                                {"kind", "ConfigMap"},
                                {"metadata", {{"name", "cfg"}}},
                                {"data", {{"greeting", "hi"}}}})
                .status());
  Object spec = {
      {"restartPolicy", "Never"},
      {"volumes", {{{"name", "work"}, {"emptyDir", Object::object()}}}},
      {"initContainers",
       {{{"name", "one"},
         {"image", "busybox"},
         {"command", {"sh", "-c", "echo one >> /work/order"}},
         {"volumeMounts", {{{"name", "work"}, {"mountPath", "/work"}}}}},
        {{"name", "two"},
         {"image", "busybox"},
         {"command", {"sh", "-c", "echo two >> /work/order"}},
         {"volumeMounts", {{{"name", "work"}, {"mountPath", "/work"}}}}}}},
      {"containers",
       {{{"name", "main"},
         {"image", "busybox"},
         {"env",
          {{{"name", "GREETING"},
            {"valueFrom", {{"configMapKeyRef", {{"name", "cfg"}, {"key", "greeting"}}}}}},
           {{"name", "MSG"}, {"value", "$(GREETING) from $(POD)"}},
           {{"name", "POD"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}}},
         {"command", {"sh", "-c", "cat /work/order; echo \"$MSG\" $(GREETING)"}},
         {"volumeMounts", {{{"name", "work"}, {"mountPath", "/work"}}}}}}}};
  if (!cluster_->isolated()) GTEST_SKIP() << "volumes at mount paths need namespaces (root)";
  ASSERT_OK(cluster_->Create(Pod("init", spec)).status());
  Object p = WaitPod("init", Done);
  EXPECT_TRUE(Phase(p, "Succeeded")) << p.dump();
  // $(POD) is defined after MSG, so Kubernetes leaves it as written.
  EXPECT_EQ(Logs("init"), "one\ntwo\nhi from $(POD) hi\n");
}

TEST_F(LocalClusterTest, FailingInitContainerFailsThePod) {
  ASSERT_OK(cluster_
                ->Create(Pod("badinit",
                             {{"restartPolicy", "Never"},
                              {"initContainers",
                               {{{"name", "init"}, {"image", "busybox"}, {"command", {"false"}}}}},
                              {"containers",
                               {{{"name", "main"}, {"image", "busybox"}, {"command", {"true"}}}}}}))
                .status());
  Object p = WaitPod("badinit", Done);
  EXPECT_TRUE(Phase(p, "Failed"));
  EXPECT_FALSE(p["status"]["containerStatuses"][0]["state"].contains("terminated"))
      << "the main container must never have run";
}

TEST_F(LocalClusterTest, UnknownImageWithoutCommandFailsNamingTheTable) {
  ASSERT_OK(cluster_
                ->Create(Pod("noimg",
                             {{"restartPolicy", "Never"},
                              {"containers", {{{"name", "main"}, {"image", "acme/unknown:1"}}}}}))
                .status());
  Object p = WaitPod("noimg", Done);
  EXPECT_EQ(p["status"]["reason"], "ImageNotRunnableLocally");
  EXPECT_THAT(p["status"]["message"].get<std::string>(), HasSubstr("default_images.yaml"));
}

TEST_F(LocalClusterTest, OnFailureRestartsUntilSuccess) {
  // Fails on the first run, succeeds on the second: a marker survives in the
  // pod's emptyDir volume.
  Object spec = {{"restartPolicy", "OnFailure"},
                 {"containers",
                  {{{"name", "main"},
                    {"image", "busybox"},
                    {"command",
                     {"sh", "-c",
                      "if [ -e $TMPDIR/m ] || [ -e /tmp/m ]; then exit 0; "
                      "fi; touch ${TMPDIR:-/tmp}/m; exit 1"}}}}}};
  ASSERT_OK(cluster_->Create(Pod("retry", spec)).status());
  Object p = WaitPod("retry", Done);
  EXPECT_TRUE(Phase(p, "Succeeded")) << p.dump();
  EXPECT_EQ(p["status"]["containerStatuses"][0]["restartCount"], 1);
  EXPECT_EQ(p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
}

TEST_F(LocalClusterTest, ActiveDeadlineKillsThePod) {
  ASSERT_OK(
      cluster_
          ->Create(Pod(
              "slow", {{"restartPolicy", "Never"},
                       {"activeDeadlineSeconds", 1},
                       {"terminationGracePeriodSeconds", 1},
                       {"containers",
                        {{{"name", "main"}, {"image", "busybox"}, {"command", {"sleep", "30"}}}}}}))
          .status());
  const absl::Time start = absl::Now();
  Object p = WaitPod("slow", Done);
  EXPECT_EQ(p["status"]["reason"], "DeadlineExceeded");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(LocalClusterTest, DeleteStopsTheProcessWithinTheGracePeriod) {
  ASSERT_OK(cluster_
                ->Create(Pod("victim", {{"terminationGracePeriodSeconds", 1},
                                        {"containers",
                                         {{{"name", "main"},
                                           {"image", "busybox"},
                                           // Ignores SIGTERM: only SIGKILL ends it.
                                           {"command", {"sh", "-c", "trap '' TERM; sleep 60"}}}}}}))
                .status());
  Object p = WaitPod("victim", [](const Object& o) { return Phase(o, "Running"); });
  const std::string id = p["status"]["containerStatuses"][0].value("containerID", "");
  ASSERT_TRUE(absl::StartsWith(id, "argonaut://")) << id;
  const pid_t pid = std::stoi(id.substr(11));
  ASSERT_EQ(kill(pid, 0), 0);
  ASSERT_OK(cluster_->Delete("Pod", "default", "victim"));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (kill(pid, 0) == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_NE(kill(pid, 0), 0) << "process " << pid << " survived its pod";
}

TEST_F(LocalClusterTest, ParallelPodsHavePrivateTmp) {
  if (!cluster_->isolated()) GTEST_SKIP() << "needs namespaces (root)";
  for (const char* name : {"a", "b"}) {
    ASSERT_OK(
        cluster_
            ->Create(
                Pod(name,
                    {{"restartPolicy", "Never"},
                     {"containers",
                      {{{"name", "main"},
                        {"image", "busybox"},
                        {"command",
                         {"sh", "-c",
                          absl::StrCat("echo ", name, " > /tmp/out; sleep 1; cat /tmp/out")}}}}}}))
            .status());
  }
  WaitPod("a", Done);
  WaitPod("b", Done);
  EXPECT_EQ(Logs("a"), "a\n");
  EXPECT_EQ(Logs("b"), "b\n");
}

TEST_F(LocalClusterTest, JobRunsCompletionsAndReportsComplete) {
  Object job = {
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", {{"name", "batch"}}},
      {"spec",
       {{"completions", 3},
        {"parallelism", 2},
        {"template",
         {{"spec",
           {{"restartPolicy", "Never"},
            {"containers", {{{"name", "w"}, {"image", "busybox"}, {"command", {"true"}}}}}}}}}}}};
  ASSERT_OK(cluster_->Create(job).status());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  Object got;
  while (absl::Now() < deadline) {
    got = *cluster_->Get("Job", "default", "batch");
    if (got.value("status", Object::object()).value("succeeded", 0) == 3) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(got["status"]["succeeded"], 3) << got.dump();
  bool complete = false;
  for (const Object& c : got["status"].value("conditions", Object::array())) {
    complete = complete || (c["type"] == "Complete" && c["status"] == "True");
  }
  EXPECT_TRUE(complete) << got.dump();
  // Deleting the Job takes its pods with it.
  ASSERT_OK(cluster_->Delete("Job", "default", "batch"));
  const absl::Time gc_deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < gc_deadline &&
         !cluster_->List("Pod", "default", "job-name=batch")->empty()) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(cluster_->List("Pod", "default", "job-name=batch")->empty());
}

TEST_F(LocalClusterTest, InvalidSpecIsRefusedWithItsFieldPath) {
  absl::StatusOr<Object> out =
      cluster_->Create(Pod("bad", {{"containers", {{{"image", "busybox"}}}}}));
  EXPECT_THAT(out.status(), ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                                          HasSubstr("spec.containers[0].name")));
}

}  // namespace
}  // namespace argonaut::cluster

namespace argonaut::cluster {
namespace {

// GET http://127.0.0.1:port/ over a fresh connection; the body, or "".
std::string HttpGet(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(2);
  auto res = client.Get("/");
  return res && res->status == 200 ? res->body : "";
}

TEST_F(LocalClusterTest, ServiceBalancesAndFollowsTheTrafficSplit) {
  if (BuiltinBinary().empty()) GTEST_SKIP() << "needs the built-in images binary (bazel test)";
  for (const char* track : {"stable", "canary"}) {
    Object pod =
        Pod(absl::StrCat("web-", track),
            {{"containers",
              {{{"name", "web"},
                {"image", "jocatalin/kubernetes-bootcamp:v1"},
                {"ports", {{{"containerPort", 8080}}}},
                {"readinessProbe", {{"tcpSocket", {{"port", 8080}}}, {"periodSeconds", 1}}}}}}});
    pod["metadata"]["labels"] = {{"app", "web"}, {"track", track}};
    ASSERT_OK(cluster_->Create(pod).status());
  }
  if (!cluster_->isolated()) GTEST_SKIP() << "two pods on port 8080 need network namespaces";
  ASSERT_OK(cluster_
                ->Create(Object{{"apiVersion", "v1"},
                                {"kind", "Service"},
                                {"metadata", {{"name", "web"}}},
                                {"spec",
                                 {{"selector", {{"app", "web"}}},
                                  {"ports", {{{"port", 80}, {"targetPort", 8080}}}}}}})
                .status());
  auto ready = [](const Object& p) {
    const Object statuses =
        p.value("status", Object::object()).value("containerStatuses", Object::array());
    return !statuses.empty() && statuses[0].value("ready", false);
  };
  WaitPod("web-stable", ready);
  WaitPod("web-canary", ready);
  // The local port appears in the status once the proxy listens.
  int port = 0;
  std::map<std::string, int> answers;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && answers.size() < 2) {
    Object svc = *cluster_->Get("Service", "default", "web");
    const Object lb = svc.value("status", Object::object()).value("loadBalancer", Object::object());
    if (lb.contains("ingress")) port = lb["ingress"][0]["ports"][0]["port"].get<int>();
    if (port > 0) {
      const std::string body = HttpGet(port);
      if (absl::StrContains(body, "web-stable")) answers["stable"]++;
      if (absl::StrContains(body, "web-canary")) answers["canary"]++;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(answers.size(), 2u) << "round-robin should reach both pods";

  ASSERT_OK(cluster_->SetTrafficSplit(
      "default", "web", {.group_label = "track", .weights = {{"stable", 0}, {"canary", 100}}}));
  // The proxy picks the split up from the Service; afterwards every new
  // connection goes to the canary.
  const absl::Time split_deadline = absl::Now() + absl::Seconds(10);
  int consecutive = 0;
  while (absl::Now() < split_deadline && consecutive < 20) {
    consecutive = absl::StrContains(HttpGet(port), "web-canary") ? consecutive + 1 : 0;
  }
  EXPECT_EQ(consecutive, 20);
  for (int i = 0; i < 20; ++i) EXPECT_THAT(HttpGet(port), HasSubstr("web-canary"));
}

}  // namespace
}  // namespace argonaut::cluster
