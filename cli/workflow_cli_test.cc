#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/workflow_commands.h"
#include "cli/workflow_printer.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {
namespace {

using ::nlohmann::json;

absl::Time At(const std::string& s) {
  absl::Time t;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, nullptr));
  return t;
}

// Trailing blanks come from padded empty cells; compare without them.
std::string Trimmed(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (std::string& l : lines) l = std::string(absl::StripTrailingAsciiWhitespace(l));
  return absl::StrJoin(lines, "\n");
}

json Node(const std::string& id, const std::string& display, const std::string& type,
          const std::string& tmpl, const std::string& boundary, const std::string& start,
          const std::string& end, std::vector<std::string> children = {},
          const std::string& phase = "Succeeded") {
  json n = {{"id", id},     {"name", display}, {"displayName", display},
            {"type", type}, {"phase", phase},  {"startedAt", start}};
  if (!tmpl.empty()) n["templateName"] = tmpl;
  if (!boundary.empty()) n["boundaryID"] = boundary;
  if (!end.empty()) n["finishedAt"] = end;
  if (!children.empty()) n["children"] = children;
  return n;
}

// The steps example: hello1, then hello2a and hello2b in parallel.
json StepsWorkflow() {
  json wf = {{"metadata",
              {{"name", "steps-z2zdn"},
               {"namespace", "default"},
               {"creationTimestamp", "2024-05-14T10:43:04Z"}}},
             {"spec", {{"arguments", {{"parameters", {{{"name", "msg"}, {"value", "hi"}}}}}}}},
             {"status",
              {{"phase", "Succeeded"},
               {"startedAt", "2024-05-14T10:43:04Z"},
               {"finishedAt", "2024-05-14T10:43:14Z"},
               {"progress", "3/3"},
               {"conditions",
                {{{"type", "PodRunning"}, {"status", "False"}},
                 {{"type", "Completed"}, {"status", "True"}}}},
               {"nodes", json::object()}}}};
  json& n = wf["status"]["nodes"];
  const std::string r = "steps-z2zdn";
  n[r] = Node(r, r, "Steps", "hello-hello-hello", "", "2024-05-14T10:43:04Z",
              "2024-05-14T10:43:14Z", {r + "-1"});
  n[r + "-1"] = Node(r + "-1", "[0]", "StepGroup", "", r, "2024-05-14T10:43:04Z",
                     "2024-05-14T10:43:06Z", {r + "-27420706"});
  n[r + "-27420706"] = Node(r + "-27420706", "hello1", "Pod", "whalesay", r, "2024-05-14T10:43:04Z",
                            "2024-05-14T10:43:06Z", {r + "-2"});
  n[r + "-2"] = Node(r + "-2", "[1]", "StepGroup", "", r, "2024-05-14T10:43:07Z",
                     "2024-05-14T10:43:10Z", {r + "-2023537710", r + "-2006760091"});
  n[r + "-2006760091"] = Node(r + "-2006760091", "hello2a", "Pod", "whalesay", r,
                              "2024-05-14T10:43:07Z", "2024-05-14T10:43:10Z");
  n[r + "-2023537710"] = Node(r + "-2023537710", "hello2b", "Pod", "whalesay", r,
                              "2024-05-14T10:43:07Z", "2024-05-14T10:43:10Z");
  return wf;
}

TEST(WorkflowPrinterTest, StepsTreeAsArgoGet) {
  const std::string want =
      "STEP            TEMPLATE           PODNAME                          DURATION  MESSAGE\n"
      " ✔ steps-z2zdn  hello-hello-hello\n"
      " ├───✔ hello1   whalesay           steps-z2zdn-whalesay-27420706    2s\n"
      " └─┬─✔ hello2a  whalesay           steps-z2zdn-whalesay-2006760091  3s\n"
      "   └─✔ hello2b  whalesay           steps-z2zdn-whalesay-2023537710  3s\n";
  EXPECT_EQ(Trimmed(FormatNodeTree(StepsWorkflow(), At("2024-05-14T10:44:04Z"))), Trimmed(want));
}

TEST(WorkflowPrinterTest, DagTreeWithFailureRetryAndExitHandler) {
  json wf = {{"metadata", {{"name", "d"}}}, {"status", {{"phase", "Failed"}, {"nodes", {}}}}};
  json& n = wf["status"]["nodes"];
  n["d"] = Node("d", "d", "DAG", "diamond", "", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z",
                {"d-1", "d-2"}, "Failed");
  n["d-1"] = Node("d-1", "A", "Pod", "echo", "d", "2024-01-01T00:00:00Z", "2024-01-01T00:00:05Z");
  // B retried once: the Retry node shows with its attempts under it.
  n["d-2"] = Node("d-2", "B", "Retry", "echo", "d", "2024-01-01T00:00:06Z", "2024-01-01T00:00:20Z",
                  {"d-3", "d-4"}, "Failed");
  n["d-3"] = Node("d-3", "B(0)", "Pod", "echo", "d", "2024-01-01T00:00:06Z", "2024-01-01T00:00:10Z",
                  {}, "Failed");
  n["d-3"]["message"] = "Error (exit code 1)";
  n["d-4"] = Node("d-4", "B(1)", "Pod", "echo", "d", "2024-01-01T00:00:11Z", "2024-01-01T00:00:20Z",
                  {}, "Failed");
  n["d-5"] = Node("d-5", "C", "Skipped", "echo", "d", "2024-01-01T00:00:21Z",
                  "2024-01-01T00:00:21Z", {}, "Omitted");
  n["d-6"] = Node("d-6", "d.onExit", "Pod", "exit", "", "2024-01-01T00:01:00Z", "");
  n["d-6"]["name"] = "d.onExit";
  n["d-6"]["phase"] = "Running";
  const std::string want =
      "STEP         TEMPLATE  PODNAME   DURATION  MESSAGE\n"
      " ✖ d         diamond\n"
      " ├─✔ A       echo      d-echo-1  5s\n"
      " ├─✖ B       echo\n"
      " │ ├─✖ B(0)  echo      d-echo-3  4s        Error (exit code 1)\n"
      " │ └─✖ B(1)  echo      d-echo-4  9s\n"
      "\n"
      " ● d.onExit  exit      d-exit-6  30s\n";
  EXPECT_EQ(Trimmed(FormatNodeTree(wf, At("2024-01-01T00:01:30Z"))), Trimmed(want));
}

TEST(WorkflowPrinterTest, HeaderBlock) {
  const std::string out = FormatWorkflow(StepsWorkflow(), At("2024-05-14T10:44:04Z"));
  EXPECT_NE(out.find("Name:                steps-z2zdn\n"), std::string::npos) << out;
  EXPECT_NE(out.find("ServiceAccount:      unset (will run with the default ServiceAccount)\n"),
            std::string::npos);
  EXPECT_NE(out.find("Status:              Succeeded\n"), std::string::npos);
  EXPECT_NE(out.find(" Completed           True\n"), std::string::npos);
  EXPECT_NE(out.find("Created:             Tue May 14 10:43:04 +0000 (1 minute ago)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Duration:            10 seconds\n"), std::string::npos);
  EXPECT_NE(out.find("Progress:            3/3\n"), std::string::npos);
  EXPECT_NE(out.find("  msg:               hi\n"), std::string::npos);
  EXPECT_NE(out.find("\nSTEP "), std::string::npos);
  // No nodes yet: header only.
  json pending = {{"metadata", {{"name", "p"}}}, {"spec", {{"suspend", true}}}};
  const std::string p = FormatWorkflow(pending, absl::Now());
  EXPECT_NE(p.find("Status:              Pending (Suspended)\n"), std::string::npos) << p;
  EXPECT_EQ(p.find("STEP"), std::string::npos);
}

TEST(WorkflowPrinterTest, ListColumnsAndDurations) {
  json a = StepsWorkflow();
  json b = {{"metadata", {{"name", "b"}, {"creationTimestamp", "2024-05-14T10:40:04Z"}}},
            {"spec", {{"priority", 5}}},
            {"status",
             {{"phase", "Running"}, {"startedAt", "2024-05-14T10:40:04Z"}, {"message", "busy"}}}};
  const std::string out = FormatWorkflowList({a, b}, false, false, At("2024-05-14T10:44:04Z"));
  const std::string want =
      "NAME          STATUS      AGE   DURATION   PRIORITY   MESSAGE\n"
      "steps-z2zdn   Succeeded   1m    10s        0\n"
      "b             Running     4m    4m         5          busy\n";
  EXPECT_EQ(Trimmed(out), Trimmed(want));
  EXPECT_EQ(ShortDuration(absl::Hours(50)), "2d");
  EXPECT_EQ(HumanDuration(absl::Seconds(3723)), "1 hour 2 minutes 3 seconds");
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "0 seconds");
}

TEST(WorkflowPrinterTest, HostileStatusDoesNotLoop) {
  json wf = {{"metadata", {{"name", "x"}}},
             {"status",
              {{"nodes",
                {{"x", {{"type", "Steps"}, {"displayName", "x"}, {"boundaryID", "y"}}},
                 {"y", {{"type", "Steps"}, {"displayName", "y"}, {"boundaryID", "x"}}},
                 {"z", "not an object"}}}}}};
  EXPECT_EQ(FormatNodeTree(wf, absl::Now()), "");
}

TEST(SubmitArgsTest, ParsesFlags) {
  auto plan = ParseSubmit({"wf.yaml", "-p", "a=1", "--parameter=b=x=y", "--generate-name", "g-",
                           "-l", "k=v,team=x", "--wait", "-o", "json", "-n", "ns1"});
  ASSERT_OK(plan.status());
  EXPECT_EQ(plan->files, std::vector<std::string>{"wf.yaml"});
  ASSERT_EQ(plan->parameters.size(), 2u);
  EXPECT_EQ(plan->parameters[1], (std::pair<std::string, std::string>{"b", "x=y"}));
  EXPECT_EQ(plan->generate_name, "g-");
  EXPECT_EQ(plan->labels.at("team"), "x");
  EXPECT_TRUE(plan->wait);
  EXPECT_EQ(plan->output, "json");
  EXPECT_EQ(plan->ns, "ns1");

  auto from = ParseSubmit({"--from", "workflowtemplate/lib", "-p", "x=1"});
  ASSERT_OK(from.status());
  EXPECT_EQ(from->from_kind, "WorkflowTemplate");
  EXPECT_EQ(from->from_name, "lib");
  EXPECT_EQ(ParseSubmit({"--from", "cwft/lib"})->from_kind, "ClusterWorkflowTemplate");
  EXPECT_EQ(ParseSubmit({"--from", "cronwf/nightly"})->from_kind, "CronWorkflow");

  EXPECT_FALSE(ParseSubmit({}).ok());
  EXPECT_FALSE(ParseSubmit({"--from", "pod/x"}).ok());
  EXPECT_FALSE(ParseSubmit({"--from", "workflowtemplate"}).ok());
  EXPECT_FALSE(ParseSubmit({"a.yaml", "--from", "wftmpl/x"}).ok());
  EXPECT_FALSE(ParseSubmit({"a.yaml", "-p", "novalue"}).ok());
  EXPECT_FALSE(ParseSubmit({"a.yaml", "-o", "table"}).ok());
  EXPECT_FALSE(ParseSubmit({"a.yaml", "-l", "oops"}).ok());
  EXPECT_FALSE(ParseSubmit({"a.yaml", "--bogus"}).ok());
}

TEST(SubmitArgsTest, PrepareAppliesOverrides) {
  auto plan = ParseSubmit({"f", "-p", "msg=bye", "-p", "new=1", "--name", "fixed", "--entrypoint",
                           "other", "-l", "a=b"});
  ASSERT_OK(plan.status());
  json wf = {{"metadata", {{"generateName", "hello-"}}},
             {"spec",
              {{"entrypoint", "main"},
               {"arguments", {{"parameters", {{{"name", "msg"}, {"value", "hi"}}}}}}}}};
  ASSERT_OK(PrepareWorkflow(*plan, wf));
  EXPECT_EQ(wf["kind"], "Workflow");
  EXPECT_EQ(wf["metadata"]["name"], "fixed");
  EXPECT_FALSE(wf["metadata"].contains("generateName"));
  EXPECT_EQ(wf["metadata"]["labels"]["a"], "b");
  EXPECT_EQ(wf["spec"]["entrypoint"], "other");
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "bye");
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][1]["name"], "new");
  json tmpl = {{"kind", "WorkflowTemplate"}, {"spec", json::object()}};
  EXPECT_FALSE(PrepareWorkflow(*plan, tmpl).ok());
  json nospec = {{"kind", "Workflow"}};
  EXPECT_FALSE(PrepareWorkflow(*plan, nospec).ok());
}

}  // namespace
}  // namespace argonaut::cli
