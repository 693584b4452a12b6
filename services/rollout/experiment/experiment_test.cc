// ReconcileExperiment at fixed instants, over a small simulated cluster: templates become
// ReplicaSets, availability starts the clock and the analyses, and the phase follows Argo's rules.
#include "services/rollout/experiment/experiment.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/workloads/objects.h"
#include "lib/manifest/yaml.h"

namespace argonaut::rollout::experiment {
namespace {

using Json = nlohmann::json;
namespace wl = ::argonaut::cluster::workloads;

Json Yaml(const char* text) {
  auto docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : Json();
}

constexpr char kExperiment[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: ex
  namespace: default
  uid: ex-uid
spec:
  duration: 1m
  templates:
  - name: purple
    selector:
      matchLabels: {app: demo, color: purple}
    template:
      metadata:
        labels: {app: demo, color: purple}
      spec:
        containers:
        - name: demo
          image: argoproj/rollouts-demo:purple
          ports: [{name: http, containerPort: 8080}]
    service: {}
  - name: orange
    replicas: 2
    selector:
      matchLabels: {app: demo, color: orange}
    template:
      metadata:
        labels: {app: demo, color: orange}
      spec:
        containers:
        - name: demo
          image: argoproj/rollouts-demo:orange
)";

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

// Applies outputs the way the controller does; Kubelet() makes every pod available.
struct Sim {
  Json ex;
  std::map<std::string, Json> rss, services, runs;
  ExperimentOutput last;

  explicit Sim(Json e) : ex(std::move(e)) {}

  ExperimentOutput Reconcile(absl::Time now) {
    ExperimentInput in{.experiment = ex, .now = now};
    for (auto& [n, rs] : rss) in.replica_sets.push_back(rs);
    for (auto& [n, s] : services) in.services.push_back(s);
    for (auto& [n, r] : runs) in.analysis_runs.push_back(r);
    absl::StatusOr<ExperimentOutput> out = ReconcileExperiment(in);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return {};
    for (const Json& rs : out->replica_sets_to_create) {
      Json o = rs;
      o["status"] = {{"replicas", 0}};
      rss[o["metadata"]["name"]] = o;
    }
    for (const Json& rs : out->replica_sets_to_update) {
      Json o = rs;
      o["status"] = rss[o["metadata"]["name"].get<std::string>()]["status"];
      rss[o["metadata"]["name"]] = o;
    }
    for (const Json& s : out->services_to_create) services[s["metadata"]["name"]] = s;
    for (const std::string& s : out->services_to_delete) services.erase(s);
    for (const ExperimentRunRequest& r : out->analysis_runs_to_create) {
      runs[r.name] = {
          {"metadata", {{"name", r.name}}}, {"spec", r.spec}, {"status", Json::object()}};
    }
    for (const std::string& r : out->analysis_runs_to_terminate) {
      runs[r]["spec"]["terminate"] = true;
    }
    ex["status"] = out->status;
    last = *out;
    return *out;
  }

  void Kubelet() {
    for (auto& [n, rs] : rss) {
      const int64_t want = rs["spec"]["replicas"].get<int64_t>();
      rs["status"] = {{"replicas", want}, {"readyReplicas", want}, {"availableReplicas", want}};
    }
  }

  const Json& Status() const { return ex["status"]; }
  Json Template(const std::string& name) const {
    for (const Json& t : ex["status"]["templateStatuses"]) {
      if (t["name"] == name) return t;
    }
    return Json();
  }
  Json Analysis(const std::string& name) const {
    for (const Json& t : ex["status"].value("analysisRuns", Json::array())) {
      if (t["name"] == name) return t;
    }
    return Json();
  }
};

TEST(ExperimentTest, DurationRunsTemplatesThenScalesDownAfterDelay) {
  Sim sim(Yaml(kExperiment));
  ExperimentOutput out = sim.Reconcile(kT0);
  ASSERT_EQ(out.replica_sets_to_create.size(), 2u);
  const Json& purple = sim.rss.at("ex-purple");
  EXPECT_EQ(purple["spec"]["replicas"], 1);
  EXPECT_EQ(sim.rss.at("ex-orange")["spec"]["replicas"], 2);
  const std::string hash = purple["metadata"]["labels"]["rollouts-pod-template-hash"];
  EXPECT_FALSE(hash.empty());
  EXPECT_EQ(purple["spec"]["selector"]["matchLabels"]["rollouts-pod-template-hash"], hash);
  EXPECT_EQ(purple["spec"]["template"]["metadata"]["labels"]["color"], "purple");
  EXPECT_EQ(purple["metadata"]["annotations"][kTemplateNameAnnotation], "purple");
  EXPECT_EQ(purple["metadata"]["ownerReferences"][0]["kind"], "Experiment");
  EXPECT_EQ(purple["metadata"]["ownerReferences"][0]["uid"], "ex-uid");
  EXPECT_EQ(sim.Status()["phase"], "Pending");
  EXPECT_EQ(sim.Template("purple")["status"], "Progressing");

  // Not yet available: still Pending; the Service comes with the ReplicaSet's labels.
  sim.Reconcile(kT0 + absl::Seconds(1));
  EXPECT_EQ(sim.Status()["phase"], "Pending");
  ASSERT_EQ(sim.services.count("ex-purple"), 1u);
  EXPECT_EQ(sim.services["ex-purple"]["spec"]["selector"]["rollouts-pod-template-hash"], hash);
  EXPECT_EQ(sim.services["ex-purple"]["spec"]["ports"][0]["port"], 8080);
  EXPECT_EQ(sim.services.count("ex-orange"), 0u);  // no service block
  EXPECT_EQ(sim.Template("purple")["serviceName"], "ex-purple");

  sim.Kubelet();
  out = sim.Reconcile(kT0 + absl::Seconds(5));
  EXPECT_EQ(sim.Status()["phase"], "Running");
  EXPECT_EQ(sim.Status()["availableAt"], wl::FormatK8sTime(kT0 + absl::Seconds(5)));
  EXPECT_EQ(sim.Template("orange")["status"], "Running");
  EXPECT_EQ(sim.Template("orange")["availableReplicas"], 2);
  EXPECT_EQ(sim.Template("purple")["podTemplateHash"], hash);
  ASSERT_TRUE(out.requeue_after.has_value());
  EXPECT_EQ(*out.requeue_after, absl::Seconds(60));

  out = sim.Reconcile(kT0 + absl::Seconds(30));
  EXPECT_EQ(sim.Status()["phase"], "Running");
  ASSERT_TRUE(out.requeue_after.has_value());
  EXPECT_EQ(*out.requeue_after, absl::Seconds(35));
  const Json* cond = wl::GetCondition(sim.Status()["conditions"], "Progressing");
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ((*cond)["reason"], "NewReplicaSetAvailable");

  // availableAt + duration: the templates are done and so is the experiment.
  sim.Reconcile(kT0 + absl::Seconds(65));
  EXPECT_EQ(sim.Status()["phase"], "Successful");
  EXPECT_EQ(sim.Template("purple")["status"], "Successful");
  cond = wl::GetCondition(sim.Status()["conditions"], "Progressing");
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ((*cond)["status"], "False");
  EXPECT_EQ((*cond)["reason"], "ExperimentCompleted");
  EXPECT_EQ((*cond)["message"], "Experiment \"ex\" has successfully ran and completed.");

  // Scale-down waits scaleDownDelaySeconds (30 s by default).
  out = sim.Reconcile(kT0 + absl::Seconds(66));
  EXPECT_EQ(sim.rss["ex-orange"]["spec"]["replicas"], 2);
  EXPECT_EQ(sim.rss["ex-orange"]["metadata"]["annotations"]["scale-down-deadline"],
            wl::FormatK8sTime(kT0 + absl::Seconds(96)));
  ASSERT_TRUE(out.requeue_after.has_value());
  EXPECT_EQ(*out.requeue_after, absl::Seconds(30));
  sim.Reconcile(kT0 + absl::Seconds(96));
  EXPECT_EQ(sim.rss["ex-orange"]["spec"]["replicas"], 0);
  EXPECT_EQ(sim.rss["ex-purple"]["spec"]["replicas"], 0);
  EXPECT_EQ(sim.Status()["phase"], "Successful");
  sim.Kubelet();
  sim.Reconcile(kT0 + absl::Seconds(97));
  EXPECT_EQ(sim.services.count("ex-purple"), 0u);  // no pods left: the Service goes
  EXPECT_EQ(sim.Status()["phase"], "Successful");
}

constexpr char kWithAnalysis[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: ex, namespace: default, uid: u1}
spec:
  scaleDownDelaySeconds: 0
  templates:
  - name: canary
    selector: {matchLabels: {app: demo}}
    template:
      metadata: {labels: {app: demo}}
      spec: {containers: [{name: c, image: nginx}]}
  analyses:
  - name: check
    templateName: http-check
    args:
    - {name: hash, value: "{{templates.canary.podTemplateHash}}"}
    - {name: rs, value: "rs={{ templates.canary.replicaset.name }}"}
    - {name: since, value: "{{experiment.availableAt}}"}
)";

Sim RunningWithAnalysis(const char* yaml, bool required) {
  Json ex = Yaml(yaml);
  if (required) ex["spec"]["analyses"][0]["requiredForCompletion"] = true;
  Sim sim(ex);
  sim.Reconcile(kT0);
  sim.Kubelet();
  sim.Reconcile(kT0 + absl::Seconds(2));  // available: availableAt set, no run yet
  EXPECT_EQ(sim.Status()["phase"], "Running");
  EXPECT_TRUE(sim.runs.empty());
  sim.Reconcile(kT0 + absl::Seconds(3));  // the run starts
  return sim;
}

TEST(ExperimentTest, AnalysisRunGetsExperimentValues) {
  Sim sim = RunningWithAnalysis(kWithAnalysis, false);
  ASSERT_EQ(sim.last.analysis_runs_to_create.size(), 1u);
  const ExperimentRunRequest& req = sim.last.analysis_runs_to_create[0];
  EXPECT_EQ(req.name, "ex-check");
  EXPECT_EQ(req.analysis, "check");
  EXPECT_EQ(req.spec["templates"][0]["templateName"], "http-check");
  const std::string hash = sim.rss["ex-canary"]["metadata"]["labels"]["rollouts-pod-template-hash"];
  EXPECT_EQ(req.spec["args"][0]["value"], hash);
  EXPECT_EQ(req.spec["args"][1]["value"], "rs=ex-canary");
  EXPECT_EQ(req.spec["args"][2]["value"], wl::FormatK8sTime(kT0 + absl::Seconds(2)));
  EXPECT_EQ(sim.Analysis("check")["analysisRun"], "ex-check");
  EXPECT_EQ(sim.Analysis("check")["phase"], "Pending");
  EXPECT_EQ(sim.Status()["phase"], "Running");

  // Not required, no duration: a successful run does not end the experiment.
  sim.runs["ex-check"]["status"] = {{"phase", "Successful"}};
  sim.Reconcile(kT0 + absl::Seconds(10));
  EXPECT_EQ(sim.Analysis("check")["phase"], "Successful");
  EXPECT_EQ(sim.Status()["phase"], "Running");
  EXPECT_FALSE(sim.last.requeue_after.has_value());

  // Until terminated.
  sim.ex["spec"]["terminate"] = true;
  sim.Reconcile(kT0 + absl::Seconds(20));
  EXPECT_EQ(sim.Template("canary")["status"], "Successful");
  EXPECT_EQ(sim.Status()["phase"], "Successful");
  EXPECT_EQ(sim.rss["ex-canary"]["spec"]["replicas"], 0);  // scaleDownDelaySeconds: 0
}

TEST(ExperimentTest, RequiredAnalysisCompletesTheExperiment) {
  Sim sim = RunningWithAnalysis(kWithAnalysis, true);
  sim.runs["ex-check"]["status"] = {{"phase", "Running"}};
  sim.Reconcile(kT0 + absl::Seconds(5));
  EXPECT_EQ(sim.Status()["phase"], "Running");
  sim.runs["ex-check"]["status"] = {{"phase", "Successful"}};
  sim.Reconcile(kT0 + absl::Seconds(6));
  EXPECT_EQ(sim.Status()["phase"], "Successful");
  EXPECT_EQ(sim.Status()["message"], "Required AnalysisRuns completed");
  sim.Reconcile(kT0 + absl::Seconds(7));
  EXPECT_EQ(sim.rss["ex-canary"]["spec"]["replicas"], 0);
}

TEST(ExperimentTest, FailedAnalysisFailsTheExperimentAndScalesDown) {
  Sim sim = RunningWithAnalysis(kWithAnalysis, false);
  sim.runs["ex-check"]["status"] = {{"phase", "Failed"},
                                    {"message", "Metric \"x\" assessed Failed"}};
  sim.Reconcile(kT0 + absl::Seconds(5));
  EXPECT_EQ(sim.Status()["phase"], "Failed");
  EXPECT_EQ(sim.Status()["message"], "Metric \"x\" assessed Failed");
  EXPECT_EQ(sim.Analysis("check")["phase"], "Failed");
  bool warned = false;
  for (const engine::Event& e : sim.last.events) warned |= e.reason == "AnalysisRunFailed";
  EXPECT_TRUE(warned);
  sim.Reconcile(kT0 + absl::Seconds(6));
  EXPECT_EQ(sim.rss["ex-canary"]["spec"]["replicas"], 0);
  EXPECT_EQ(sim.Status()["phase"], "Failed");  // completed phases stay
}

TEST(ExperimentTest, TerminatingStopsOpenRuns) {
  Json ex = Yaml(kWithAnalysis);
  ex["spec"]["analyses"].push_back({{"name", "other"}, {"templateName", "t2"}});
  Sim sim(ex);
  sim.Reconcile(kT0);
  sim.Kubelet();
  sim.Reconcile(kT0 + absl::Seconds(2));
  sim.Reconcile(kT0 + absl::Seconds(3));
  ASSERT_EQ(sim.runs.size(), 2u);
  sim.runs["ex-check"]["status"] = {{"phase", "Inconclusive"}};
  sim.runs["ex-other"]["status"] = {{"phase", "Running"}};
  sim.Reconcile(kT0 + absl::Seconds(4));
  EXPECT_EQ(sim.Status()["phase"], "Inconclusive");
  sim.Reconcile(kT0 + absl::Seconds(5));
  EXPECT_EQ(sim.runs["ex-other"]["spec"].value("terminate", false), true);
  EXPECT_EQ(sim.Status()["phase"], "Inconclusive");
}

TEST(ExperimentTest, UnresolvableArgErrorsTheAnalysis) {
  Json ex = Yaml(kWithAnalysis);
  ex["spec"]["analyses"][0]["args"][0]["value"] = "{{templates.nope.podTemplateHash}}";
  Sim sim = RunningWithAnalysis(ex.dump().c_str(), false);
  EXPECT_TRUE(sim.runs.empty());
  EXPECT_EQ(sim.Analysis("check")["phase"], "Error");
  EXPECT_EQ(sim.Analysis("check")["message"],
            "Failed to create AnalysisRun for analysis 'check': failed to resolve "
            "{{templates.nope.podTemplateHash}}");
  EXPECT_EQ(sim.Status()["phase"], "Error");
}

TEST(ExperimentTest, ProgressDeadlineFailsTheTemplate) {
  Json ex = Yaml(kWithAnalysis);
  ex["spec"]["progressDeadlineSeconds"] = 60;
  Sim sim(ex);
  sim.Reconcile(kT0);
  ExperimentOutput out = sim.Reconcile(kT0 + absl::Seconds(1));
  ASSERT_TRUE(out.requeue_after.has_value());
  EXPECT_EQ(*out.requeue_after, absl::Seconds(60));
  sim.Reconcile(kT0 + absl::Seconds(60));
  EXPECT_EQ(sim.Template("canary")["status"], "Progressing");
  sim.Reconcile(kT0 + absl::Seconds(61));
  EXPECT_EQ(sim.Template("canary")["status"], "Failed");
  EXPECT_EQ(sim.Status()["phase"], "Failed");
  EXPECT_EQ(sim.Status()["message"], "Template 'canary' exceeded its progressDeadlineSeconds (60)");
  EXPECT_EQ(sim.Analysis("check")["analysisRun"], nullptr);  // never available: no run
}

TEST(ExperimentTest, RetriedExperimentNumbersItsNewRun) {
  Sim sim = RunningWithAnalysis(kWithAnalysis, true);
  sim.runs["ex-check"]["status"] = {{"phase", "Failed"}};
  sim.Reconcile(kT0 + absl::Seconds(5));
  ASSERT_EQ(sim.Status()["phase"], "Failed");
  sim.Reconcile(kT0 + absl::Seconds(6));
  // `retry experiment`: status cleared; the old run stays.
  sim.ex.erase("status");
  sim.Reconcile(kT0 + absl::Seconds(10));
  EXPECT_EQ(sim.rss["ex-canary"]["spec"]["replicas"], 1);  // scaled up again
  sim.Kubelet();
  sim.Reconcile(kT0 + absl::Seconds(11));
  sim.Reconcile(kT0 + absl::Seconds(12));
  ASSERT_EQ(sim.last.analysis_runs_to_create.size(), 1u);
  EXPECT_EQ(sim.last.analysis_runs_to_create[0].name, "ex-check.1");
}

TEST(ExperimentTest, BadSpecIsInvalidSpecWithoutActions) {
  Json ex = Yaml(kExperiment);
  ex["spec"]["templates"][1]["name"] = "purple";
  ExperimentInput in{.experiment = ex, .now = kT0};
  absl::StatusOr<ExperimentOutput> out = ReconcileExperiment(in);
  ASSERT_OK(out);
  EXPECT_TRUE(out->replica_sets_to_create.empty());
  EXPECT_EQ(out->status["phase"], "Error");
  EXPECT_EQ(out->status["message"],
            "InvalidSpec: spec.templates[1].name: Experiment ex has repeated template name "
            "'purple' in templates");
  ex["spec"]["duration"] = "1 minute";
  in.experiment = ex;
  out = ReconcileExperiment(in);
  ASSERT_OK(out);
  EXPECT_EQ(out->status["message"], "InvalidSpec: spec.duration: invalid duration \"1 minute\"");
}

TEST(ExperimentTest, ResolveExperimentArgFinishedAt) {
  Json ex = Yaml(kExperiment);
  ex["status"]["availableAt"] = wl::FormatK8sTime(kT0);
  EXPECT_EQ(ResolveExperimentArg("{{experiment.finishedAt}}", ex, {}).value_or(""),
            wl::FormatK8sTime(kT0 + absl::Minutes(1)));
  EXPECT_FALSE(ResolveExperimentArg("{{args.x}}", ex, {}).ok());
  EXPECT_EQ(ResolveExperimentArg("plain {{ text", ex, {}).value_or(""), "plain {{ text");
}

}  // namespace
}  // namespace argonaut::rollout::experiment
