#include "services/workflow/api/actions.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::api {
namespace {

using ::argonaut::testing::StatusIs;
using ::nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// A steps workflow: wf -> [0] -> a (Succeeded), [1] -> b (Retry, Failed) -> b(0), b(1) Failed;
// plus a suspend node and an exit handler.
json FailedWorkflow() {
  return json::parse(R"js({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "wf", "namespace": "default", "generateName": "wf-",
                 "labels": {"team": "x", "workflows.argoproj.io/completed": "true",
                            "workflows.argoproj.io/phase": "Failed"}},
    "spec": {"entrypoint": "main", "shutdown": "Stop",
             "arguments": {"parameters": [{"name": "p", "value": "1"}]},
             "templates": [{"name": "main", "steps": [[{"name": "a", "template": "c"}]]},
                           {"name": "c", "container": {"image": "alpine"}},
                           {"name": "wait", "suspend": {},
                            "outputs": {"parameters": [{"name": "approve",
                                                        "valueFrom": {"supplied": {}}}]}}]},
    "status": {"phase": "Failed", "finishedAt": "2023-01-01T00:00:00Z", "message": "boom",
      "startedAt": "2023-01-01T00:00:00Z",
      "nodes": {
        "wf": {"id": "wf", "name": "wf", "displayName": "wf", "type": "Steps", "phase": "Failed",
               "children": ["wf-g0"], "finishedAt": "2023-01-01T00:00:00Z"},
        "wf-g0": {"boundaryID": "wf", "id": "wf-g0", "name": "wf[0]", "displayName": "[0]", "type": "StepGroup",
                  "phase": "Succeeded", "children": ["wf-a"]},
        "wf-a": {"boundaryID": "wf", "id": "wf-a", "name": "wf[0].a", "displayName": "a", "type": "Pod",
                 "templateName": "c", "phase": "Succeeded", "children": ["wf-g1"]},
        "wf-g1": {"boundaryID": "wf", "id": "wf-g1", "name": "wf[1]", "displayName": "[1]", "type": "StepGroup",
                  "phase": "Failed", "children": ["wf-b"]},
        "wf-b": {"boundaryID": "wf", "id": "wf-b", "name": "wf[1].b", "displayName": "b", "type": "Retry",
                 "templateName": "c", "phase": "Failed", "children": ["wf-b0", "wf-b1"]},
        "wf-b0": {"boundaryID": "wf", "id": "wf-b0", "name": "wf[1].b(0)", "displayName": "b(0)", "type": "Pod",
                  "templateName": "c", "phase": "Failed"},
        "wf-b1": {"boundaryID": "wf", "id": "wf-b1", "name": "wf[1].b(1)", "displayName": "b(1)", "type": "Pod",
                  "templateName": "c", "phase": "Failed"},
        "wf-exit": {
  "id" : "wf-exit",
         "name" : "wf.onExit",
                  "displayName" : "wf.onExit",
                                  "type" : "Pod",
                                           "templateName" : "c",
                                                            "phase" : "Succeeded"
}}}})js");
}

json RunningWithSuspend() {
  json wf = FailedWorkflow();
  wf["status"]["phase"] = "Running";
  wf["spec"].erase("shutdown");
  wf["status"]["nodes"]["wf-s"] = {
      {"id", "wf-s"},      {"name", "wf[2].approve"}, {"displayName", "approve"},
      {"type", "Suspend"}, {"templateName", "wait"},  {"phase", "Running"}};
  wf["status"]["nodes"]["wf-s2"] = {{"id", "wf-s2"},          {"name", "wf[2].other"},
                                    {"displayName", "other"}, {"type", "Suspend"},
                                    {"templateName", "c"},    {"phase", "Running"}};
  return wf;
}

TEST(NodeFieldSelectorTest, ParsesAndMatches) {
  json node = {{"name", "wf[0].a"},
               {"displayName", "a"},
               {"templateName", "c"},
               {"phase", "Running"},
               {"inputs", {{"parameters", {{{"name", "x"}, {"value", "7"}}}}}},
               {"templateRef", {{"name", "lib"}, {"template", "t"}}}};
  auto sel = NodeFieldSelector::Parse("displayName=a,phase!=Succeeded");
  ASSERT_OK(sel.status());
  EXPECT_TRUE(sel->Matches("id1", node));
  EXPECT_TRUE(NodeFieldSelector::Parse("inputs.parameters.x.value=7")->Matches("i", node));
  EXPECT_FALSE(NodeFieldSelector::Parse("inputs.parameters.x.value=8")->Matches("i", node));
  EXPECT_TRUE(NodeFieldSelector::Parse("templateRef.name=lib")->Matches("i", node));
  EXPECT_TRUE(NodeFieldSelector::Parse("id=i")->Matches("i", node));
  EXPECT_FALSE(NodeFieldSelector::Parse("name=wf[0].b")->Matches("i", node));
  EXPECT_THAT(NodeFieldSelector::Parse("color=red").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("color")));
  EXPECT_THAT(NodeFieldSelector::Parse("phase").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParametersTest, ArgsFileAndOverride) {
  auto args = ParseParameterArgs({"a=1", "b=x=y"});
  ASSERT_OK(args.status());
  EXPECT_EQ((*args)[1].second, "x=y");
  EXPECT_FALSE(ParseParameterArgs({"novalue"}).ok());
  EXPECT_FALSE(ParseParameterArgs({"=v"}).ok());
  auto file = ParseParameterFile("a: hello\nn: 3\nl: [1, 2]\n");
  ASSERT_OK(file.status());
  ASSERT_EQ(file->size(), 3u);
  EXPECT_FALSE(ParseParameterFile("- 1\n- 2\n").ok());
  json wf = FailedWorkflow();
  ASSERT_OK(ApplyParameters(wf, {{"p", "2"}, {"q", "new"}}));
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "2");
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][1]["name"], "q");
}

TEST(ActionsTest, SuspendAndTerminateRefuseCompletedWorkflows) {
  json wf = FailedWorkflow();
  EXPECT_THAT(Suspend(wf), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Terminate(wf), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Stop(wf, "", "", kNow), StatusIs(absl::StatusCode::kFailedPrecondition));
  json running = RunningWithSuspend();
  ASSERT_OK(Suspend(running));
  EXPECT_EQ(running["spec"]["suspend"], true);
  ASSERT_OK(Terminate(running));
  EXPECT_EQ(running["spec"]["shutdown"], "Terminate");
  json stopped = RunningWithSuspend();
  ASSERT_OK(Stop(stopped, "", "enough", kNow));
  EXPECT_EQ(stopped["spec"]["shutdown"], "Stop");
  EXPECT_EQ(stopped["status"]["message"], "enough");
}

TEST(ActionsTest, StopWithSelectorFailsOnlyThatSuspendNode) {
  json wf = RunningWithSuspend();
  ASSERT_OK(Stop(wf, "displayName=other", "no", kNow));
  EXPECT_FALSE(wf["spec"].contains("shutdown"));
  EXPECT_EQ(wf["status"]["nodes"]["wf-s2"]["phase"], "Failed");
  EXPECT_EQ(wf["status"]["nodes"]["wf-s2"]["message"], "no");
  EXPECT_EQ(wf["status"]["nodes"]["wf-s"]["phase"], "Running");
}

TEST(ActionsTest, ResumeCompletesSelectedSuspendNodes) {
  json wf = RunningWithSuspend();
  wf["spec"]["suspend"] = true;
  // "approve" waits for a supplied output: resuming everything is refused until it is set.
  EXPECT_THAT(Resume(wf, "", kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("approve")));
  json one = RunningWithSuspend();
  ASSERT_OK(Resume(one, "displayName=other", kNow));
  EXPECT_EQ(one["status"]["nodes"]["wf-s2"]["phase"], "Succeeded");
  EXPECT_EQ(one["status"]["nodes"]["wf-s2"]["finishedAt"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(one["status"]["nodes"]["wf-s"]["phase"], "Running");
  // After `node set` supplies the value, a plain resume completes it and clears spec.suspend.
  ASSERT_OK(Set(
      wf, {.node_field_selector = "displayName=approve", .output_parameters = {{"approve", "yes"}}},
      kNow));
  ASSERT_OK(Resume(wf, "", kNow));
  EXPECT_FALSE(wf["spec"].contains("suspend"));
  EXPECT_EQ(wf["status"]["nodes"]["wf-s"]["phase"], "Succeeded");
  EXPECT_EQ(wf["status"]["nodes"]["wf-s"]["outputs"]["parameters"][0]["value"], "yes");
}

TEST(ActionsTest, SetValidatesItsInput) {
  json wf = RunningWithSuspend();
  EXPECT_THAT(Set(wf, {}, kNow), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Set(wf, {.node_field_selector = "displayName=a", .phase = "Succeeded"}, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("suspend")));
  EXPECT_THAT(Set(wf, {.node_field_selector = "displayName=zz", .phase = "Succeeded"}, kNow),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Set(wf, {.node_field_selector = "displayName=approve", .phase = "Done"}, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      Set(wf, {.node_field_selector = "displayName=approve", .output_parameters = {{"nope", "1"}}},
          kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("nope")));
  ASSERT_OK(Set(
      wf, {.node_field_selector = "displayName=approve", .phase = "Failed", .message = "rejected"},
      kNow));
  EXPECT_EQ(wf["status"]["nodes"]["wf-s"]["phase"], "Failed");
  EXPECT_EQ(wf["status"]["nodes"]["wf-s"]["message"], "rejected");
}

TEST(ActionsTest, RetryDropsFailedNodesAndResetsAncestors) {
  EXPECT_THAT(Retry(RunningWithSuspend(), {}, kNow).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto r = Retry(FailedWorkflow(), {.parameters = {{"p", "9"}}}, kNow);
  ASSERT_OK(r.status());
  const json& wf = r->workflow;
  const json& nodes = wf["status"]["nodes"];
  std::vector<std::string> deleted = r->deleted_node_ids;
  std::sort(deleted.begin(), deleted.end());
  EXPECT_EQ(deleted, (std::vector<std::string>{"wf-b", "wf-b0", "wf-b1", "wf-exit"}));
  EXPECT_EQ(nodes["wf-a"]["phase"], "Succeeded");
  EXPECT_EQ(nodes["wf-g0"]["phase"], "Succeeded");
  EXPECT_EQ(nodes["wf-g1"]["phase"], "Running");
  EXPECT_EQ(nodes["wf-g1"]["children"], json::array());
  EXPECT_EQ(nodes["wf"]["phase"], "Running");
  EXPECT_FALSE(nodes["wf"].contains("finishedAt"));
  EXPECT_EQ(wf["status"]["phase"], "Running");
  EXPECT_FALSE(wf["status"].contains("finishedAt"));
  EXPECT_FALSE(wf["status"].contains("message"));
  EXPECT_FALSE(wf["spec"].contains("shutdown"));
  EXPECT_EQ(wf["metadata"]["labels"]["workflows.argoproj.io/completed"], "false");
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "9");
}

TEST(ActionsTest, RetryRestartSuccessfulWithSelector) {
  EXPECT_THAT(Retry(FailedWorkflow(), {.node_field_selector = "displayName=a"}, kNow).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto r = Retry(FailedWorkflow(),
                 {.restart_successful = true, .node_field_selector = "displayName=a"}, kNow);
  ASSERT_OK(r.status());
  const json& nodes = r->workflow["status"]["nodes"];
  EXPECT_FALSE(nodes.contains("wf-a"));
  // a's subtree (the next group hangs under it in steps) goes too.
  EXPECT_FALSE(nodes.contains("wf-g1"));
  EXPECT_EQ(nodes["wf-g0"]["phase"], "Running");
  EXPECT_EQ(nodes["wf-g0"]["children"], json::array());
}

TEST(ActionsTest, ResubmitBuildsANewWorkflow) {
  auto r = Resubmit(FailedWorkflow(), {{"p", "5"}});
  ASSERT_OK(r.status());
  const json& wf = *r;
  EXPECT_EQ(wf["metadata"]["generateName"], "wf-");
  EXPECT_FALSE(wf["metadata"].contains("name"));
  EXPECT_EQ(wf["metadata"]["namespace"], "default");
  EXPECT_EQ(wf["metadata"]["labels"]["team"], "x");
  EXPECT_FALSE(wf["metadata"]["labels"].contains("workflows.argoproj.io/completed"));
  EXPECT_EQ(wf["metadata"]["labels"]["workflows.argoproj.io/resubmitted-from-workflow"], "wf");
  EXPECT_FALSE(wf.contains("status"));
  EXPECT_FALSE(wf["spec"].contains("shutdown"));
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "5");
  json named = FailedWorkflow();
  named["metadata"].erase("generateName");
  EXPECT_EQ((*Resubmit(named, {}))["metadata"]["generateName"], "wf-");
}

TEST(ActionsTest, SubmitFromTemplatesAndCron) {
  json tmpl = {{"kind", "WorkflowTemplate"}, {"metadata", {{"name", "lib"}}}, {"spec", {}}};
  auto wf = SubmitFrom(tmpl, "ns1",
                       {.entrypoint = "e", .labels = {{"k", "v"}}, .parameters = {{"a", "1"}}});
  ASSERT_OK(wf.status());
  EXPECT_EQ((*wf)["metadata"]["generateName"], "lib-");
  EXPECT_EQ((*wf)["metadata"]["namespace"], "ns1");
  EXPECT_EQ((*wf)["metadata"]["labels"]["workflows.argoproj.io/workflow-template"], "lib");
  EXPECT_EQ((*wf)["metadata"]["labels"]["k"], "v");
  EXPECT_EQ((*wf)["spec"]["workflowTemplateRef"], json({{"name", "lib"}}));
  EXPECT_EQ((*wf)["spec"]["entrypoint"], "e");
  EXPECT_EQ((*wf)["spec"]["arguments"]["parameters"][0], json({{"name", "a"}, {"value", "1"}}));

  tmpl["kind"] = "ClusterWorkflowTemplate";
  wf = SubmitFrom(tmpl, "ns1", {.name = "exact"});
  ASSERT_OK(wf.status());
  EXPECT_EQ((*wf)["metadata"]["name"], "exact");
  EXPECT_EQ((*wf)["spec"]["workflowTemplateRef"]["clusterScope"], true);

  json cron = {{"kind", "CronWorkflow"},
               {"metadata", {{"name", "nightly"}}},
               {"spec",
                {{"schedule", "0 0 * * *"},
                 {"workflowMetadata", {{"labels", {{"a", "b"}}}}},
                 {"workflowSpec", {{"entrypoint", "main"}}}}}};
  wf = SubmitFrom(cron, "ns1", {});
  ASSERT_OK(wf.status());
  EXPECT_EQ((*wf)["spec"]["entrypoint"], "main");
  EXPECT_EQ((*wf)["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "nightly");
  EXPECT_EQ((*wf)["metadata"]["labels"]["a"], "b");
  json pod = {{"kind", "Pod"}};
  EXPECT_THAT(SubmitFrom(pod, "ns1", {}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::workflow::api
