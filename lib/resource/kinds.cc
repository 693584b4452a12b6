#include "lib/resource/kinds.h"

#include "absl/strings/ascii.h"
#include "argonaut/cd/v1/cd.pb.h"
#include "argonaut/cluster/v1/cluster.pb.h"
#include "argonaut/events/v1/events.pb.h"
#include "argonaut/rollout/v1/rollout.pb.h"
#include "argonaut/workflow/v1/workflow.pb.h"

namespace argonaut::resource {
namespace {

constexpr char kArgo[] = "argoproj.io/v1alpha1";

std::vector<KindInfo> BuildKinds() {
  namespace wf = ::argonaut::workflow::v1;
  namespace ro = ::argonaut::rollout::v1;
  namespace ev = ::argonaut::events::v1;
  namespace cd = ::argonaut::cd::v1;
  const auto* kube = &::argonaut::cluster::v1::KubeObject::default_instance();
  // Short names are Argo's own (from its CRDs) so muscle memory carries over.
  return {
      {"Workflow",
       kArgo,
       "workflows",
       "workflow",
       {"wf"},
       true,
       "workflow",
       &wf::Workflow::default_instance()},
      {"WorkflowTemplate",
       kArgo,
       "workflowtemplates",
       "workflowtemplate",
       {"wftmpl"},
       true,
       "workflow",
       &wf::WorkflowTemplate::default_instance()},
      {"ClusterWorkflowTemplate",
       kArgo,
       "clusterworkflowtemplates",
       "clusterworkflowtemplate",
       {"cwftmpl", "cwft"},
       false,
       "workflow",
       &wf::ClusterWorkflowTemplate::default_instance()},
      {"CronWorkflow",
       kArgo,
       "cronworkflows",
       "cronworkflow",
       {"cwf", "cronwf"},
       true,
       "workflow",
       &wf::CronWorkflow::default_instance()},
      {"WorkflowEventBinding",
       kArgo,
       "workflow-event-bindings",
       "workfloweventbinding",
       {"wfeb"},
       true,
       "workflow",
       &wf::WorkflowEventBinding::default_instance()},
      {"Rollout",
       kArgo,
       "rollouts",
       "rollout",
       {"ro"},
       true,
       "rollout",
       &ro::Rollout::default_instance(),
       /*status_subresource=*/true},
      {"AnalysisTemplate",
       kArgo,
       "analysistemplates",
       "analysistemplate",
       {},
       true,
       "rollout",
       &ro::AnalysisTemplate::default_instance()},
      {"ClusterAnalysisTemplate",
       kArgo,
       "clusteranalysistemplates",
       "clusteranalysistemplate",
       {},
       false,
       "rollout",
       &ro::ClusterAnalysisTemplate::default_instance()},
      {"AnalysisRun",
       kArgo,
       "analysisruns",
       "analysisrun",
       {},
       true,
       "rollout",
       &ro::AnalysisRun::default_instance()},
      {"Experiment",
       kArgo,
       "experiments",
       "experiment",
       {"exp"},
       true,
       "rollout",
       &ro::Experiment::default_instance()},
      {"EventSource",
       kArgo,
       "eventsources",
       "eventsource",
       {"es"},
       true,
       "events",
       &ev::EventSource::default_instance()},
      {"Sensor",
       kArgo,
       "sensors",
       "sensor",
       {"sn"},
       true,
       "events",
       &ev::Sensor::default_instance()},
      {"EventBus",
       kArgo,
       "eventbus",
       "eventbus",
       {"eb"},
       true,
       "events",
       &ev::EventBus::default_instance()},
      {"Application",
       kArgo,
       "applications",
       "application",
       {"app", "apps"},
       true,
       "cd",
       &cd::Application::default_instance()},
      {"AppProject",
       kArgo,
       "appprojects",
       "appproject",
       {"appproj", "appprojs"},
       true,
       "cd",
       &cd::AppProject::default_instance()},
      // Kubernetes kinds the local cluster runtime serves, with kubectl's
      // short names. Status is a subresource on the workload kinds: a spec
      // write keeps the status the controllers reported.
      {"Pod", "v1", "pods", "pod", {"po"}, true, "cluster", kube, true},
      {"Service", "v1", "services", "service", {"svc"}, true, "cluster", kube, true},
      {"ConfigMap", "v1", "configmaps", "configmap", {"cm"}, true, "cluster", kube},
      {"Secret", "v1", "secrets", "secret", {}, true, "cluster", kube},
      {"Namespace", "v1", "namespaces", "namespace", {"ns"}, false, "cluster", kube, true},
      {"ReplicaSet", "apps/v1", "replicasets", "replicaset", {"rs"}, true, "cluster", kube, true},
      {"Deployment",
       "apps/v1",
       "deployments",
       "deployment",
       {"deploy"},
       true,
       "cluster",
       kube,
       true},
      {"Job", "batch/v1", "jobs", "job", {}, true, "cluster", kube, true},
  };
}

}  // namespace

const std::vector<KindInfo>& AllKinds() {
  static const std::vector<KindInfo>* kinds = new std::vector<KindInfo>(BuildKinds());
  return *kinds;
}

const KindInfo* FindKind(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  for (const KindInfo& k : AllKinds()) {
    if (absl::AsciiStrToLower(k.kind) == lower || k.plural == lower || k.singular == lower) {
      return &k;
    }
    for (const std::string& s : k.short_names) {
      if (s == lower) return &k;
    }
  }
  return nullptr;
}

std::vector<const KindInfo*> KindsOfService(std::string_view service) {
  std::vector<const KindInfo*> out;
  for (const KindInfo& k : AllKinds()) {
    if (k.service == service) out.push_back(&k);
  }
  return out;
}

const std::vector<std::string>& ServiceNames() {
  static const std::vector<std::string>* names =
      new std::vector<std::string>{"cluster", "workflow", "rollout", "events", "cd"};
  return *names;
}

}  // namespace argonaut::resource
