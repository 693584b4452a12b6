#include "services/workflow/cron/decide.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"

namespace argonaut::workflow::cron {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

json Cron(const std::string& spec_yaml, const std::string& status_yaml = "{}") {
  auto spec = manifest::ParseDocuments(spec_yaml);
  auto status = manifest::ParseDocuments(status_yaml);
  EXPECT_TRUE(spec.ok() && status.ok());
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "CronWorkflow"},
          {"metadata", {{"name", "nightly"}, {"namespace", "ns1"}, {"uid", "cron-uid"}}},
          {"spec", (*spec)[0]},
          {"status", (*status)[0]}};
}

constexpr char kEveryMinute[] = R"(
schedules: ["* * * * *"]
workflowSpec:
  entrypoint: main
  templates: [{name: main, container: {image: busybox}}]
)";

ChildWorkflow Child(const std::string& name, const std::string& phase,
                    const std::string& finished = "") {
  ChildWorkflow c;
  c.name = name;
  c.uid = "uid-" + name;
  c.phase = phase;
  if (!finished.empty()) c.finished = At(finished);
  return c;
}

json Created(const Submission& s, const std::string& uid) {
  json wf = s.workflow;
  wf["metadata"]["uid"] = uid;
  wf["metadata"]["resourceVersion"] = "7";
  return wf;
}

// First look arms the entry; the tick at the next minute submits.
TEST(DecideTest, ArmsThenSubmitsAtTheTick) {
  CronInput in{.cron = Cron(kEveryMinute), .now = At("2024-03-01T10:00:20Z")};
  auto first = Decide(in);
  ASSERT_OK(first.status());
  EXPECT_FALSE(first->submit.has_value());
  ASSERT_TRUE(first->wake_at.has_value());
  EXPECT_EQ(*first->wake_at, At("2024-03-01T10:01:00Z"));

  in.armed = first->armed;
  in.now = At("2024-03-01T10:00:59Z");
  EXPECT_FALSE(Decide(in)->submit.has_value());

  in.now = At("2024-03-01T10:01:00.2Z");
  auto tick = Decide(in);
  ASSERT_OK(tick.status());
  ASSERT_TRUE(tick->submit.has_value());
  const json& wf = tick->submit->workflow;
  EXPECT_EQ(wf["metadata"]["name"], "nightly-1709287260");
  EXPECT_EQ(wf["metadata"]["namespace"], "ns1");
  EXPECT_EQ(wf["metadata"]["labels"][kCronWorkflowLabel], "nightly");
  EXPECT_EQ(wf["metadata"]["annotations"][kScheduledTimeAnnotation], "2024-03-01T10:01:00Z");
  EXPECT_EQ(wf["metadata"]["ownerReferences"][0]["kind"], "CronWorkflow");
  EXPECT_EQ(wf["metadata"]["ownerReferences"][0]["uid"], "cron-uid");
  EXPECT_EQ(wf["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(wf["spec"]["entrypoint"], "main");
  EXPECT_EQ(*tick->wake_at, At("2024-03-01T10:02:00Z"));
  EXPECT_EQ(tick->annotations[kLastUsedScheduleAnnotation], "* * * * *");

  RecordSubmission(*tick, Created(*tick->submit, "u1"));
  EXPECT_EQ(tick->status["phase"], "Active");
  EXPECT_EQ(tick->status["lastScheduledTime"], "2024-03-01T10:01:00Z");
  EXPECT_EQ(tick->status["active"][0]["name"], "nightly-1709287260");
  EXPECT_EQ(tick->status["active"][0]["uid"], "u1");
}

TEST(DecideTest, WorkflowMetadataAndTimezone) {
  json cron = Cron(R"(
schedules: ["0 9 * * *"]
timezone: America/Los_Angeles
workflowMetadata:
  labels: {team: data}
  annotations: {note: hi}
workflowSpec: {entrypoint: main}
)");
  CronInput in{.cron = cron, .now = At("2024-01-10T00:00:00Z")};
  auto d = Decide(in);
  ASSERT_OK(d.status());
  EXPECT_EQ(*d->wake_at, At("2024-01-10T17:00:00Z"));
  in.armed = d->armed;
  in.now = At("2024-01-10T17:00:01Z");
  d = Decide(in);
  ASSERT_TRUE(d->submit.has_value());
  const json& m = d->submit->workflow["metadata"];
  EXPECT_EQ(m["labels"]["team"], "data");
  EXPECT_EQ(m["annotations"]["note"], "hi");
  EXPECT_EQ(m["annotations"][kScheduledTimeAnnotation], "2024-01-10T09:00:00-08:00");
  EXPECT_EQ(d->annotations[kLastUsedScheduleAnnotation], "CRON_TZ=America/Los_Angeles 0 9 * * *");
}

TEST(DecideTest, MultipleSchedulesFireOncePerTime) {
  json cron = Cron(R"(
schedules: ["*/3 * * * *", "*/2 * * * *"]
workflowSpec: {entrypoint: main}
)");
  CronInput in{.cron = cron, .now = At("2024-03-01T10:00:30Z")};
  auto d = Decide(in);
  EXPECT_EQ(*d->wake_at, At("2024-03-01T10:02:00Z"));
  in.armed = d->armed;
  in.now = At("2024-03-01T10:02:00Z");
  d = Decide(in);
  ASSERT_TRUE(d->submit.has_value());
  EXPECT_EQ(d->submit->scheduled, At("2024-03-01T10:02:00Z"));
  EXPECT_EQ(*d->wake_at, At("2024-03-01T10:03:00Z"));
  in.armed = d->armed;
  in.now = At("2024-03-01T10:03:00Z");
  d = Decide(in);
  ASSERT_TRUE(d->submit.has_value());
  EXPECT_EQ(d->submit->scheduled, At("2024-03-01T10:03:00Z"));
  // Minute 6 matches both: one run.
  in.armed = d->armed;
  in.now = At("2024-03-01T10:06:00Z");
  d = Decide(in);
  ASSERT_TRUE(d->submit.has_value());
  EXPECT_EQ(d->submit->scheduled, At("2024-03-01T10:06:00Z"));
  EXPECT_EQ(*d->wake_at, At("2024-03-01T10:08:00Z"));
}

TEST(DecideTest, SuspendSkipsTheTick) {
  json cron = Cron(std::string(kEveryMinute) + "suspend: true\n");
  CronInput in{.cron = cron, .now = At("2024-03-01T10:00:20Z")};
  auto d = Decide(in);
  in.armed = d->armed;
  in.now = At("2024-03-01T10:01:00Z");
  d = Decide(in);
  EXPECT_FALSE(d->submit.has_value());
  EXPECT_THAT(d->events, ElementsAre(HasSubstr("suspended")));
  EXPECT_EQ(*d->wake_at, At("2024-03-01T10:02:00Z"));
}

TEST(DecideTest, ConcurrencyPolicies) {
  const std::string status = R"(
active: [{kind: Workflow, name: nightly-1, uid: uid-nightly-1}]
)";
  for (const std::string policy : {"Allow", "Forbid", "Replace"}) {
    json cron = Cron(std::string(kEveryMinute) + "concurrencyPolicy: " + policy + "\n", status);
    CronInput in{.cron = cron,
                 .children = {Child("nightly-1", "Running")},
                 .now = At("2024-03-01T10:00:20Z")};
    in.armed = Decide(in)->armed;
    in.now = At("2024-03-01T10:01:00Z");
    auto d = Decide(in);
    ASSERT_OK(d.status());
    if (policy == "Forbid") {
      EXPECT_FALSE(d->submit.has_value());
      EXPECT_THAT(d->terminate, IsEmpty());
    } else {
      EXPECT_TRUE(d->submit.has_value()) << policy;
      EXPECT_EQ(d->terminate, (policy == "Replace" ? std::vector<std::string>{"nightly-1"}
                                                   : std::vector<std::string>{}));
    }
  }
}

TEST(DecideTest, ActiveFollowsChildrenAndCounts) {
  json cron = Cron(kEveryMinute, R"(
active:
- {kind: Workflow, name: a, uid: uid-a}
- {kind: Workflow, name: b, uid: uid-b}
- {kind: Workflow, name: gone, uid: uid-gone}
succeeded: 2
)");
  CronInput in{.cron = cron,
               .children = {Child("a", "Succeeded", "2024-03-01T09:00:00Z"),
                            Child("b", "Failed", "2024-03-01T09:01:00Z"), Child("c", "Running")},
               .now = At("2024-03-01T10:00:20Z")};
  auto d = Decide(in);
  ASSERT_OK(d.status());
  EXPECT_EQ(d->status["succeeded"], 3);
  EXPECT_EQ(d->status["failed"], 1);
  ASSERT_EQ(d->status["active"].size(), 1u);
  EXPECT_EQ(d->status["active"][0]["name"], "c");
}

TEST(DecideTest, HistoryLimitsDeleteTheOldest) {
  json cron = Cron(std::string(kEveryMinute) +
                   "successfulJobsHistoryLimit: 2\nfailedJobsHistoryLimit: 0\n");
  CronInput in{.cron = cron,
               .children = {Child("s1", "Succeeded", "2024-03-01T09:01:00Z"),
                            Child("s2", "Succeeded", "2024-03-01T09:02:00Z"),
                            Child("s3", "Succeeded", "2024-03-01T09:03:00Z"),
                            Child("f1", "Failed", "2024-03-01T09:04:00Z"),
                            Child("e1", "Error", "2024-03-01T09:05:00Z"), Child("r", "Running")},
               .now = At("2024-03-01T10:00:20Z")};
  auto d = Decide(in);
  ASSERT_OK(d.status());
  EXPECT_THAT(d->remove, ElementsAre("s1", "e1", "f1"));

  // Defaults: 3 succeeded, 1 failed.
  in.cron = Cron(kEveryMinute);
  d = Decide(in);
  EXPECT_THAT(d->remove, ElementsAre("f1"));
}

TEST(DecideTest, MissedRunWithinStartingDeadlineRunsOnce) {
  const std::string status = "lastScheduledTime: '2024-03-01T10:00:00Z'\n";
  json cron = Cron(std::string(kEveryMinute) + "startingDeadlineSeconds: 120\n", status);
  cron["metadata"]["annotations"][kLastUsedScheduleAnnotation] = "* * * * *";
  // Controller restarted at 10:05:30: 10:05 is within 120 s, the others are skipped.
  CronInput in{.cron = cron, .now = At("2024-03-01T10:05:30Z")};
  auto d = Decide(in);
  ASSERT_OK(d.status());
  ASSERT_TRUE(d->submit.has_value());
  EXPECT_EQ(d->submit->scheduled, At("2024-03-01T10:05:00Z"));
  EXPECT_EQ(*d->wake_at, At("2024-03-01T10:06:00Z"));

  // Beyond the deadline nothing runs until the next tick.
  in.now = At("2024-03-01T10:07:30Z");
  in.cron["spec"]["startingDeadlineSeconds"] = 20;
  d = Decide(in);
  EXPECT_FALSE(d->submit.has_value());

  // Without startingDeadlineSeconds missed runs are skipped (Argo v3.6).
  in.cron["spec"].erase("startingDeadlineSeconds");
  in.now = At("2024-03-01T10:05:30Z");
  EXPECT_FALSE(Decide(in)->submit.has_value());

  // A changed schedule does not catch up either.
  in.cron["spec"]["startingDeadlineSeconds"] = 120;
  in.cron["metadata"]["annotations"][kLastUsedScheduleAnnotation] = "0 * * * *";
  EXPECT_FALSE(Decide(in)->submit.has_value());

  // Once armed with the same spec, no second catch-up.
  in.cron["metadata"]["annotations"][kLastUsedScheduleAnnotation] = "* * * * *";
  d = Decide(in);
  ASSERT_TRUE(d->submit.has_value());
  in.armed = d->armed;
  in.now = At("2024-03-01T10:05:40Z");
  EXPECT_FALSE(Decide(in)->submit.has_value());
}

TEST(DecideTest, WhenUsesLastScheduledTime) {
  // Argo's examples/cron-when.yaml.
  const std::string spec = std::string(kEveryMinute) +
                           "when: \"{{= cronworkflow.lastScheduledTime == nil || (now() - "
                           "cronworkflow.lastScheduledTime).Seconds() > 360 }}\"\n";
  CronInput in{.cron = Cron(spec), .now = At("2024-03-01T10:00:20Z")};
  in.armed = Decide(in)->armed;
  in.now = At("2024-03-01T10:01:00Z");
  auto d = Decide(in);
  ASSERT_TRUE(d->submit.has_value()) << "first tick: lastScheduledTime is nil";

  in.cron = Cron(spec, "lastScheduledTime: '2024-03-01T10:01:00Z'\n");
  in.armed = d->armed;
  in.now = At("2024-03-01T10:02:00Z");
  d = Decide(in);
  EXPECT_FALSE(d->submit.has_value());
  EXPECT_THAT(d->events, ElementsAre(HasSubstr("spec.when is false")));
  in.armed = d->armed;
  in.now = At("2024-03-01T10:08:00Z");
  EXPECT_TRUE(Decide(in)->submit.has_value());
}

TEST(DecideTest, WhenSimpleTagsAndErrors) {
  json cron = Cron(kEveryMinute);
  cron["metadata"]["labels"]["env"] = "prod";
  auto yes = EvaluateWhen(cron, "{{cronworkflow.labels.env}} == prod", At("2024-03-01T10:00:00Z"));
  ASSERT_OK(yes.status());
  EXPECT_TRUE(*yes);
  auto no = EvaluateWhen(cron, "{{cronworkflow.name}} == other", At("2024-03-01T10:00:00Z"));
  ASSERT_OK(no.status());
  EXPECT_FALSE(*no);
  EXPECT_FALSE(EvaluateWhen(cron, "{{cronworkflow.nope}}", At("2024-03-01T10:00:00Z")).ok());
  EXPECT_FALSE(EvaluateWhen(cron, "{{= 1 +", At("2024-03-01T10:00:00Z")).ok());

  // A broken `when` is a SubmissionError and counts as failed.
  CronInput in{.cron = Cron(std::string(kEveryMinute) + "when: '{{= nope( }}'\n"),
               .now = At("2024-03-01T10:00:20Z")};
  in.armed = Decide(in)->armed;
  in.now = At("2024-03-01T10:01:00Z");
  auto d = Decide(in);
  EXPECT_FALSE(d->submit.has_value());
  EXPECT_EQ(d->status["failed"], 1);
  EXPECT_EQ(d->status["conditions"][0]["type"], "SubmissionError");
  EXPECT_THAT(d->status["conditions"][0]["message"].get<std::string>(), HasSubstr("spec.when"));
}

TEST(DecideTest, StopStrategy) {
  json cron =
      Cron(std::string(kEveryMinute) + "stopStrategy: {expression: 'cronworkflow.failed >= 2'}\n",
           "active: [{kind: Workflow, name: a, uid: uid-a}]\nfailed: 1\n");
  CronInput in{.cron = cron,
               .children = {Child("a", "Failed", "2024-03-01T10:00:10Z")},
               .now = At("2024-03-01T10:00:20Z")};
  auto d = Decide(in);
  ASSERT_OK(d.status());
  EXPECT_EQ(d->status["failed"], 2);
  EXPECT_EQ(d->status["phase"], "Stopped");
  EXPECT_EQ(d->labels[kCronCompletedLabel], "true");
  in.cron["status"] = d->status;
  in.armed = d->armed;
  in.now = At("2024-03-01T10:01:00Z");
  d = Decide(in);
  EXPECT_FALSE(d->submit.has_value());
}

TEST(DecideTest, SpecErrorsNameTheField) {
  json cron = Cron(R"(
schedules: ["* * * * *", "61 * * * *"]
workflowSpec: {entrypoint: main}
)");
  auto d = Decide({.cron = cron, .now = At("2024-03-01T10:00:20Z")});
  ASSERT_OK(d.status());
  EXPECT_FALSE(d->armed.has_value());
  EXPECT_FALSE(d->wake_at.has_value());
  EXPECT_EQ(d->status["conditions"][0]["type"], "SpecError");
  EXPECT_THAT(d->status["conditions"][0]["message"].get<std::string>(),
              HasSubstr("spec.schedules[1]: minute field \"61\""));

  cron["spec"]["schedules"] = json::array({"* * * * *"});
  cron["spec"]["timezone"] = "Nowhere/City";
  d = Decide({.cron = cron, .now = At("2024-03-01T10:00:20Z")});
  EXPECT_THAT(d->status["conditions"][0]["message"].get<std::string>(),
              HasSubstr("spec.timezone: unknown time zone"));

  // Fixing the spec clears the condition.
  cron["spec"].erase("timezone");
  cron["status"] = d->status;
  d = Decide({.cron = cron, .now = At("2024-03-01T10:00:20Z")});
  EXPECT_FALSE(d->status.contains("conditions"));
  EXPECT_TRUE(d->armed.has_value());

  // An impossible date arms nothing and says so.
  cron["spec"]["schedules"] = json::array({"0 0 30 2 *"});
  d = Decide({.cron = cron, .now = At("2024-03-01T10:00:20Z")});
  EXPECT_FALSE(d->wake_at.has_value());
  EXPECT_THAT(d->status["conditions"][0]["message"].get<std::string>(),
              HasSubstr("spec.schedules[0]: \"0 0 30 2 *\" has no activation"));
  // It stays reported on later looks.
  cron["status"] = d->status;
  d = Decide({.cron = cron, .now = At("2024-03-01T10:01:20Z")});
  EXPECT_EQ(d->status["conditions"][0]["type"], "SpecError");

  // A broken stop expression is a SpecError when it is evaluated.
  cron = Cron(std::string(kEveryMinute) + "stopStrategy: {expression: 'cronworkflow.failed >'}\n",
              "active: [{kind: Workflow, name: a, uid: uid-a}]\n");
  d = Decide({.cron = cron,
              .children = {Child("a", "Failed", "2024-03-01T10:00:10Z")},
              .now = At("2024-03-01T10:00:20Z")});
  ASSERT_TRUE(d->status.contains("conditions"));
  EXPECT_THAT(d->status["conditions"][0]["message"].get<std::string>(),
              HasSubstr("spec.stopStrategy.expression"));

  EXPECT_FALSE(Decide({.cron = json::array(), .now = At("2024-03-01T10:00:20Z")}).ok());
}

TEST(DecideTest, SubmissionErrorIsRecorded) {
  CronInput in{.cron = Cron(kEveryMinute), .now = At("2024-03-01T10:00:20Z")};
  in.armed = Decide(in)->armed;
  in.now = At("2024-03-01T10:01:00Z");
  auto d = Decide(in);
  ASSERT_TRUE(d->submit.has_value());
  RecordSubmission(*d, absl::InvalidArgumentError("spec.entrypoint: required"));
  EXPECT_EQ(d->status["failed"], 1);
  EXPECT_EQ(d->status["conditions"][0]["type"], "SubmissionError");
  EXPECT_FALSE(d->status.contains("lastScheduledTime"));
}

}  // namespace
}  // namespace argonaut::workflow::cron
