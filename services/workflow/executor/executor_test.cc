#include "services/workflow/executor/executor.h"

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::workflow::executor {
namespace {

using nlohmann::json;

TEST(PlanTest, ContainerKeepsCommandAndArgs) {
  auto plan = PlanFromTemplate(
      json::parse(R"({"container": {"image": "alpine", "command": ["sh", "-c"], "args": ["x"]}})"),
      "/tmp");
  ASSERT_OK(plan.status());
  EXPECT_EQ(plan->image, "alpine");
  EXPECT_EQ(plan->command, (std::vector<std::string>{"sh", "-c"}));
  EXPECT_EQ(plan->args, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(plan->script_path.empty());
}

TEST(PlanTest, ScriptSourceBecomesTheLastArgument) {
  auto plan = PlanFromTemplate(json::parse(R"js({"script": {"image": "python:alpine3.6",
      "command": ["python"], "source": "print(1)"}})js"),
                               "/work/tmp");
  ASSERT_OK(plan.status());
  EXPECT_EQ(plan->command, (std::vector<std::string>{"python"}));
  EXPECT_EQ(plan->args, (std::vector<std::string>{"/work/tmp/argo-script"}));
  EXPECT_EQ(plan->script_source, "print(1)");
}

TEST(PlanTest, TemplateWithoutContainerIsAnError) {
  EXPECT_FALSE(PlanFromTemplate(json::parse(R"({"steps": []})"), "/tmp").ok());
  EXPECT_FALSE(PlanFromTemplate(json::parse("[1]"), "/tmp").ok());
}

TEST(ReportTest, ResultDropsTheFinalNewlineAndParametersComeFromFiles) {
  json tmpl = json::parse(R"({"outputs": {"parameters": [
      {"name": "msg", "valueFrom": {"path": "/tmp/msg"}},
      {"name": "fallback", "valueFrom": {"path": "/tmp/none", "default": "dflt"}},
      {"name": "global", "globalName": "g", "valueFrom": {"parameter": "x"}}]}})");
  auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
    if (path == "/tmp/msg") return std::string("hello world");
    return absl::NotFoundError("open " + path + ": no such file or directory");
  };
  json r = BuildReport(tmpl, "heads\n", 0, read);
  EXPECT_EQ(r["result"], "heads");
  EXPECT_EQ(r["exitCode"], "0");
  EXPECT_EQ(r["parameters"], json::parse(R"([{"name": "msg", "value": "hello world"},
                            {"name": "fallback", "value": "dflt"}])"));
  EXPECT_FALSE(r.contains("error"));
}

TEST(ReportTest, MissingOutputFileWithoutDefaultIsReported) {
  json tmpl = json::parse(R"({"outputs": {"parameters": [
      {"name": "p", "valueFrom": {"path": "/tmp/missing"}}]}})");
  json r = BuildReport(tmpl, "", 3, [](const std::string& p) -> absl::StatusOr<std::string> {
    return absl::NotFoundError("open " + p + ": no such file or directory");
  });
  EXPECT_EQ(r["exitCode"], "3");
  EXPECT_EQ(r["error"], "output parameter \"p\": open /tmp/missing: no such file or directory");
}

}  // namespace
}  // namespace argonaut::workflow::executor
