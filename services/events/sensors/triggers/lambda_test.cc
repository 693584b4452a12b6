// The awsLambda trigger against a loopback Invoke server (testdata/lambda_server.py)
// that recomputes the SigV4 signature with botocore and refuses a wrong one.
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "services/events/sensors/triggers/trigger.h"
#include "services/events/sources/broker_test_util.h"

namespace argonaut::events::sensors {
namespace {

using nlohmann::json;
using sources::FreePort;
using sources::ServerProcess;
using sources::TestDir;
using ::testing::HasSubstr;

constexpr char kScript[] = "services/events/sensors/triggers/testdata/lambda_server.py";

EventsByDependency Events(std::string message) {
  CloudEvent e;
  e.id = "id1";
  e.source = "webhook";
  e.subject = "example";
  e.type = "webhook";
  e.data = {{"body", {{"message", message}}}};
  return {{"dep", e}};
}

TriggerContext Secrets(std::string secret_key) {
  TriggerContext ctx;
  ctx.secret = [secret_key](std::string_view ns, std::string_view name,
                            std::string_view key) -> absl::StatusOr<std::string> {
    if (ns == "default" && name == "aws" && key == "accesskey") return std::string("AKIDTEST");
    if (ns == "default" && name == "aws" && key == "secretkey") return secret_key;
    return absl::NotFoundError("no such secret");
  };
  return ctx;
}

json Trigger(int port, json extra = json::object()) {
  json lambda = {
      {"functionName", "hello"},
      {"region", "us-east-1"},
      {"endpoint", absl::StrCat("http://127.0.0.1:", port)},
      {"accessKey", {{"name", "aws"}, {"key", "accesskey"}}},
      {"secretKey", {{"name", "aws"}, {"key", "secretkey"}}},
      {"payload", json::array({{{"src", {{"dependencyName", "dep"}, {"dataKey", "body.message"}}},
                                {"dest", "message"}}})}};
  lambda.update(extra);
  return {{"template", {{"name", "t"}, {"awsLambda", lambda}}},
          {"policy", {{"status", {{"allow", {200, 201}}}}}}};
}

std::vector<json> Records(const std::string& file) {
  std::ifstream in(file);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

class LambdaTrigger : public ::testing::Test {
 protected:
  // Starts the verifying server answering `status` to correctly signed calls.
  void Start(int status) {
    port_ = FreePort();
    dir_ = TestDir(absl::StrCat("lambda-", status));
    record_ = dir_ + "/calls.jsonl";
    ASSERT_TRUE(server_.Start({"python3", kScript, std::to_string(port_), record_, "AKIDTEST",
                               "s3cr3t/KEY+x", "us-east-1", std::to_string(status)},
                              {}, port_, dir_ + "/server.log", absl::Seconds(60)))
        << "lambda_server.py did not start (python3-botocore installed?); see " << dir_
        << "/server.log";
  }
  int port_ = 0;
  std::string dir_, record_;
  ServerProcess server_;
};

TEST_F(LambdaTrigger, SignedInvokeCarriesPayloadAndInvocationType) {
  Start(200);
  auto r =
      ExecuteTrigger({"s", "default", Trigger(port_), Events("hello")}, Secrets("s3cr3t/KEY+x"));
  ASSERT_OK(r);
  EXPECT_THAT(*r, HasSubstr("RequestResponse"));
  EXPECT_THAT(*r, HasSubstr(" 200"));

  r = ExecuteTrigger(
      {"s", "default", Trigger(port_, {{"invocationType", "Event"}}), Events("async")},
      Secrets("s3cr3t/KEY+x"));
  ASSERT_OK(r);

  std::vector<json> calls = Records(record_);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["path"], "/2015-03-31/functions/hello/invocations");
  EXPECT_EQ(calls[0]["invocationType"], "RequestResponse");
  EXPECT_EQ(json::parse(calls[0]["body"].get<std::string>()), json({{"message", "hello"}}));
  EXPECT_EQ(calls[1]["invocationType"], "Event");
  EXPECT_EQ(json::parse(calls[1]["body"].get<std::string>()), json({{"message", "async"}}));
}

TEST_F(LambdaTrigger, WrongSecretIsRejectedAndTheTriggerFails) {
  Start(200);
  auto r = ExecuteTrigger({"s", "default", Trigger(port_), Events("hello")}, Secrets("wrong"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("403"));
  EXPECT_TRUE(Records(record_).empty());

  // Without a policy a 403 is still a failed Invoke.
  json no_policy = Trigger(port_);
  no_policy.erase("policy");
  r = ExecuteTrigger({"s", "default", no_policy, Events("hello")}, Secrets("wrong"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("status 403"));
}

TEST_F(LambdaTrigger, StatusOutsidePolicyAllowFails) {
  Start(500);
  auto r =
      ExecuteTrigger({"s", "default", Trigger(port_), Events("hello")}, Secrets("s3cr3t/KEY+x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("status 500 is not in policy.status.allow"));
  EXPECT_EQ(Records(record_).size(), 1u);  // signed correctly, answered 500
}

TEST(LambdaTriggerSpec, BadInputNamesTheField) {
  TriggerContext ctx = Secrets("x");
  auto bad = [&](json extra) {
    return ExecuteTrigger({"s", "default", Trigger(1, extra), Events("m")}, ctx).status();
  };
  EXPECT_THAT(bad({{"functionName", "a/../b"}}).message(), HasSubstr("awsLambda.functionName"));
  EXPECT_THAT(bad({{"region", ""}}).message(), HasSubstr("awsLambda.region"));
  EXPECT_THAT(bad({{"invocationType", "Sometimes"}}).message(),
              HasSubstr("awsLambda.invocationType"));
  EXPECT_THAT(bad({{"endpoint", "ftp://x"}}).message(), HasSubstr("awsLambda.endpoint"));
  EXPECT_THAT(bad({{"roleARN", "arn:aws:iam::1:role/r"}}).message(),
              HasSubstr("awsLambda.roleARN"));
  EXPECT_THAT(bad({{"secretKey", {{"name", "nope"}, {"key", "k"}}}}).message(),
              HasSubstr("awsLambda.secretKey"));
  json t = Trigger(1);
  t["template"]["awsLambda"].erase("accessKey");
  EXPECT_THAT(ExecuteTrigger({"s", "default", t, Events("m")}, ctx).status().message(),
              HasSubstr("awsLambda.accessKey: required"));
}

}  // namespace
}  // namespace argonaut::events::sensors
