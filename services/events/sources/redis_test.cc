// The redis (pub/sub) and redisStream sources against a real redis-server on
// a loopback port.
#include "services/events/sources/redis.h"

#include <hiredis/hiredis.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "services/events/sources/broker_test_util.h"
#include "services/events/sources/source.h"
#include "services/events/sources/test_util.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    dir_ = TestDir("redis");
    auto kinds = resource::KindsOfService("cluster");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds,
                                                   cluster::KubernetesValidator());
    cluster_ = std::make_unique<cluster::ApiCluster>(api_.get());
    ctx_.cluster = cluster_.get();
  }
  void TearDown() override { DropClient(); }

  bool StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    password_ = "";
    for (size_t i = 0; i + 1 < extra.size(); ++i) {
      if (extra[i] == "--requirepass") password_ = extra[i + 1];
    }
    return server_.Start(argv, {}, port_, dir_ + "/server.log");
  }
  json Config(json extra = json::object()) {
    json c = {{"hostAddress", absl::StrCat("127.0.0.1:", port_)},
              {"connectionBackoff", {{"duration", "100ms"}, {"factor", 1.5}}}};
    c.update(extra);
    return c;
  }
  absl::StatusOr<std::unique_ptr<EventSourceRunner>> Start(const std::string& type,
                                                           const json& events) {
    return EventSourceRunner::Start(MakeEventSource("broker", type, events), collector_.publish(),
                                    ctx_);
  }
  // A command on the test's own connection (AUTH and SELECT `db` first).
  json Run(std::vector<std::string> args, int db = 0) {
    if (c_ == nullptr || db != db_) {
      DropClient();
      c_ = redisConnect("127.0.0.1", port_);
      if (c_ == nullptr || c_->err != 0) return "connect failed";
      if (!password_.empty()) Run({"AUTH", password_}, db);
      db_ = db;
      if (db != 0) Run({"SELECT", std::to_string(db)}, db);
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) return "no reply";
    json out;
    if (r->type == REDIS_REPLY_INTEGER) out = r->integer;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
        r->type == REDIS_REPLY_ERROR) {
      out = std::string(r->str, r->len);
    }
    freeReplyObject(r);
    return out;
  }
  void DropClient() {
    if (c_ != nullptr) redisFree(c_);
    c_ = nullptr;
  }
  void AddSecret(const std::string& name, const std::string& key, const std::string& value) {
    ASSERT_OK(cluster_
                  ->Create({{"apiVersion", "v1"},
                            {"kind", "Secret"},
                            {"metadata", {{"name", name}, {"namespace", "default"}}},
                            {"data", {{key, absl::Base64Escape(value)}}}})
                  .status());
  }

  int port_ = 0;
  std::string dir_, password_;
  ServerProcess server_;
  redisContext* c_ = nullptr;
  int db_ = 0;
  Collector collector_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<cluster::ApiCluster> cluster_;
  SourceContext ctx_;
};

TEST_F(RedisTest, PubSubPatternsJsonBodyAndDb) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start("redis", {{"orders", Config({{"channels", {"orders.*", "audit"}}, {"jsonBody", true}})},
                      {"db2", Config({{"channels", {"x"}}, {"db", 2}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  EXPECT_EQ(Run({"PUBLISH", "orders.new", R"({"id": 1})"}), 1);
  EXPECT_EQ(Run({"PUBLISH", "audit", "plain text"}), 1);
  EXPECT_EQ(Run({"PUBLISH", "other", "{}"}), 0);
  // Pub/sub ignores the db (Redis's channels are global); db only selects.
  EXPECT_EQ(Run({"PUBLISH", "x", "raw"}, 2), 1);
  std::vector<CloudEvent> events = collector_.WaitFor(3);
  ASSERT_EQ(events.size(), 3u);
  std::map<std::string, json> by_channel;
  for (const CloudEvent& e : events) {
    EXPECT_EQ(e.type, "redis");
    by_channel[e.data["channel"]] = e.data;
  }
  EXPECT_EQ(by_channel["orders.new"]["pattern"], "orders.*");
  EXPECT_EQ(by_channel["orders.new"]["body"], json({{"id", 1}}));
  EXPECT_EQ(by_channel["audit"]["body"], "plain text");
  // Without jsonBody a redis body is the string itself (not base64).
  EXPECT_EQ(by_channel["x"]["body"], "raw");
}

TEST_F(RedisTest, PasswordFromASecretAndReconnect) {
  ASSERT_TRUE(StartServer({"--requirepass", "hush"}));
  AddSecret("redis", "password", "hush");
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start("redis", {{"c", Config({{"channels", {"c"}},
                                    {"password", {{"name", "redis"}, {"key", "password"}}}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  EXPECT_EQ(Run({"PUBLISH", "c", "one"}), 1);
  ASSERT_EQ(collector_.WaitFor(1).size(), 1u);
  DropClient();
  server_.Stop();
  ASSERT_TRUE(WaitForState(*runner, "error")) << runner->Status().dump();
  ASSERT_TRUE(StartServer({"--requirepass", "hush"}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  EXPECT_EQ(Run({"PUBLISH", "c", "two"}), 1);
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data["body"], "two");
  EXPECT_THAT(runner->Status().dump(), ::testing::Not(HasSubstr("hush")));
}

TEST_F(RedisTest, WrongPasswordIsAnErrorState) {
  ASSERT_TRUE(StartServer({"--requirepass", "hush"}));
  AddSecret("redis", "password", "wrong");
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start("redis", {{"c", Config({{"channels", {"c"}},
                                    {"password", {{"name", "redis"}, {"key", "password"}}}})}}));
  absl::SleepFor(absl::Milliseconds(500));
  const json l = runner->Status()["listeners"][0];
  EXPECT_EQ(l["state"], "error");
  EXPECT_THAT(l.value("message", ""), HasSubstr("AUTH"));
}

TEST_F(RedisTest, StreamsReadInAGroupAndAcked) {
  ASSERT_TRUE(StartServer());
  ASSERT_OK_AND_ASSIGN(
      auto runner, Start("redisStream",
                         {{"s", Config({{"streams", {"s1", "s2"}}, {"maxMsgCountPerRead", 2}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  for (int i = 0; i < 5; ++i) Run({"XADD", "s1", "*", "n", std::to_string(i)});
  Run({"XADD", "s2", "*", "k", "v", "k2", "v2"});
  std::vector<CloudEvent> events = collector_.WaitFor(6);
  ASSERT_EQ(events.size(), 6u);
  int s1 = 0;
  for (const CloudEvent& e : events) {
    EXPECT_EQ(e.type, "redisStream");
    if (e.data["stream"] == "s1") {
      EXPECT_EQ(e.data["values"], json({{"n", std::to_string(s1)}}));
      ++s1;
    } else {
      EXPECT_EQ(e.data["values"], json({{"k", "v"}, {"k2", "v2"}}));
    }
    EXPECT_TRUE(e.data["message_id"].is_string());
  }
  EXPECT_EQ(s1, 5);
  // All acknowledged in the default group.
  absl::SleepFor(absl::Milliseconds(200));
  redisReply* r = static_cast<redisReply*>(redisCommand(c_, "XPENDING s1 argo-events-cg"));
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(r->element[0]->integer, 0);
  freeReplyObject(r);
}

TEST_F(RedisTest, StreamMessagesNotMadeDurableAreReadAgainAfterAReconnect) {
  ASSERT_TRUE(StartServer({"--appendonly", "yes"}));
  ASSERT_OK_AND_ASSIGN(
      auto runner,
      Start("redisStream", {{"s", Config({{"streams", {"jobs"}}, {"consumerGroup", "cg"}})}}));
  ASSERT_TRUE(WaitForState(*runner, "listening"));
  collector_.SetFailure(absl::UnavailableError("bus down"));
  Run({"XADD", "jobs", "*", "job", "1"});
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (runner->Status()["listeners"][0]["eventsFailed"] == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(runner->Status()["listeners"][0]["eventsFailed"], 1);
  collector_.SetFailure(absl::OkStatus());
  // The broker restarts (from its append-only file): the listener reconnects,
  // reads its pending message again, then the new one.
  DropClient();
  server_.Stop();
  ASSERT_TRUE(WaitForState(*runner, "error"));
  ASSERT_TRUE(StartServer({"--appendonly", "yes"}));
  ASSERT_TRUE(WaitForState(*runner, "listening")) << runner->Status().dump();
  Run({"XADD", "jobs", "*", "job", "2"});
  std::vector<CloudEvent> events = collector_.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["values"]["job"], "1");
  EXPECT_EQ(events[1].data["values"]["job"], "2");
}

TEST_F(RedisTest, BadConfigNamesTheField) {
  EXPECT_THAT(Start("redis", {{"x", Config()}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.redis.x.channels")));
  EXPECT_THAT(Start("redis", {{"x", {{"channels", {"c"}}}}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.redis.x.hostAddress")));
  EXPECT_THAT(Start("redisStream", {{"x", Config({{"streams", {"s"}}, {"maxMsgCountPerRead", 0}})}})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.redisStream.x.maxMsgCountPerRead")));
  EXPECT_THAT(Start("redis", {{"x", Config({{"channels", {"c"}}, {"db", "one"}})}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.redis.x.db")));
}

}  // namespace
}  // namespace argonaut::events::sources
