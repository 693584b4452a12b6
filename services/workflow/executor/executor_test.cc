#include "services/workflow/executor/executor.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/json_text.h"

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

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A whole step in this process: the command runs, its output artifact and (archiveLogs) both
// of its streams are stored in a local repository, and the report names them.
TEST(RunTest, SavesOutputsAndArchivesTheMainLog) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/runXXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const json tmpl = {
      {"container",
       {{"image", "alpine"},
        {"command",
         {"sh", "-c", "echo to-stdout; echo to-stderr >&2; echo art > " + dir + "/out.txt"}}}},
      {"outputs", {{"artifacts", {{{"name", "o"}, {"path", dir + "/out.txt"}}}}}},
      {"archiveLocation", {{"archiveLogs", true}, {"local", {{"key", "wf/pod"}}}}}};
  setenv("ARGO_TEMPLATE", tmpl.dump().c_str(), 1);
  setenv("ARGONAUT_ARTIFACT_REPO_HOST", (dir + "/repo").c_str(), 1);
  std::filesystem::create_directories(dir + "/repo");
  setenv("ARGONAUT_TERMINATION_MESSAGE_PATH", (dir + "/report.json").c_str(), 1);
  setenv("TMPDIR", dir.c_str(), 1);
  EXPECT_EQ(RunArgoexec({"emissary"}, {}), 0);
  unsetenv("ARGO_TEMPLATE");
  unsetenv("ARGONAUT_ARTIFACT_REPO_HOST");
  unsetenv("ARGONAUT_TERMINATION_MESSAGE_PATH");
  unsetenv("TMPDIR");
  absl::StatusOr<json> report = manifest::ParseJsonText(Slurp(dir + "/report.json"));
  ASSERT_OK(report.status());
  EXPECT_EQ((*report)["result"], "to-stdout");
  ASSERT_EQ((*report)["artifacts"].size(), 2u) << report->dump();
  EXPECT_EQ((*report)["artifacts"][0]["local"]["key"], "wf/pod/o.tgz");
  EXPECT_EQ((*report)["artifacts"][1],
            json::parse(R"({"name": "main-logs", "local": {"key": "wf/pod/main.log"}})"));
  const std::string log = Slurp(dir + "/repo/wf/pod/main.log");
  EXPECT_NE(log.find("to-stdout"), std::string::npos) << log;
  EXPECT_NE(log.find("to-stderr"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir + "/repo/wf/pod/o.tgz"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace argonaut::workflow::executor
