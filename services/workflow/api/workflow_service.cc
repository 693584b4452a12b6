#include "services/workflow/api/workflow_service.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/server/grpc_status.h"
#include "services/workflow/api/actions.h"
#include "services/workflow/api/validate.h"
#include "services/workflow/api/validator.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow::api {
namespace {

using nlohmann::json;

constexpr int kMaxConflictRetries = 20;
constexpr char kWorkflowLabel[] = "workflows.argoproj.io/workflow";
constexpr char kNodeIdAnnotation[] = "workflows.argoproj.io/node-id";
constexpr char kNodeNameAnnotation[] = "workflows.argoproj.io/node-name";
// A followed log stream of a workflow re-lists its pods this often to pick up new steps.
constexpr absl::Duration kFollowPoll = absl::Seconds(1);

std::string NamespaceOr(const std::string& ns) { return ns.empty() ? "default" : ns; }

grpc::Status Reply(const absl::StatusOr<json>& wf, v1::WorkflowReply* reply) {
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  reply->set_json(manifest::ToJsonText(*wf, false));
  return grpc::Status::OK;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Params(
    const google::protobuf::RepeatedPtrField<std::string>& raw) {
  return ParseParameterArgs(std::vector<std::string>(raw.begin(), raw.end()));
}

std::string Phase(const json& wf) {
  const json& status = wf.value("status", json::object());
  return status.is_object() ? status.value("phase", "") : "";
}

bool Completed(const json& wf) {
  const std::string p = Phase(wf);
  return p == "Succeeded" || p == "Failed" || p == "Error";
}

std::string Annotation(const json& obj, const char* key) {
  const json& a = obj.value("metadata", json::object()).value("annotations", json::object());
  if (!a.is_object()) return "";
  auto it = a.find(key);
  return it != a.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::vector<std::string> LineSplitter::Feed(std::string_view chunk) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = chunk.find('\n', start);
    if (nl == std::string_view::npos) break;
    pending_.append(chunk.substr(start, nl - start));
    lines.push_back(std::move(pending_));
    pending_.clear();
    start = nl + 1;
  }
  pending_.append(chunk.substr(start));
  return lines;
}

std::optional<std::string> LineSplitter::Flush() {
  if (pending_.empty()) return std::nullopt;
  std::string out = std::move(pending_);
  pending_.clear();
  return out;
}

std::vector<json> SelectLogPods(std::vector<json> pods, const std::string& filter) {
  std::vector<json> out;
  for (json& pod : pods) {
    if (!filter.empty()) {
      const std::string name = pod.value("metadata", json::object()).value("name", "");
      const std::string node = Annotation(pod, kNodeNameAnnotation);
      if (name != filter && !absl::EndsWith(node, "." + filter) && node != filter) continue;
    }
    out.push_back(std::move(pod));
  }
  auto created = [](const json& p) {
    const json& m = p.value("metadata", json::object());
    return std::make_pair(m.value("creationTimestamp", ""), m.value("name", ""));
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const json& a, const json& b) { return created(a) < created(b); });
  return out;
}

std::vector<LogSource> PlanLogSources(const json& wf, std::vector<json> pods,
                                      const std::string& filter, const std::string& container) {
  std::set<std::string> live_pods, live_nodes;
  for (const json& pod : pods) {
    live_pods.insert(pod.value("metadata", json::object()).value("name", ""));
    if (std::string id = Annotation(pod, kNodeIdAnnotation); !id.empty()) live_nodes.insert(id);
  }
  std::vector<LogSource> out;
  for (const json& pod : SelectLogPods(std::move(pods), filter)) {
    const json& m = pod.value("metadata", json::object());
    out.push_back({.pod = m.value("name", ""), .sort_key = m.value("creationTimestamp", "")});
  }
  const json& status = wf.value("status", json::object());
  const json& nodes = status.is_object() ? status.value("nodes", json::object()) : json::object();
  if (container != "main" || !nodes.is_object()) return out;
  const std::string wf_name = engine::Str(wf.value("metadata", json::object()), "name");
  for (const auto& [id, node] : nodes.items()) {
    if (!node.is_object() || engine::Str(node, "type") != "Pod" || live_nodes.count(id) > 0) {
      continue;
    }
    const std::string& node_name = engine::Str(node, "name");
    const std::string pod = engine::PodName(wf_name, node_name, engine::Str(node, "templateName"));
    if (live_pods.count(pod) > 0) continue;
    if (!filter.empty() && pod != filter && node_name != filter &&
        !absl::EndsWith(node_name, "." + filter)) {
      continue;
    }
    const json& outputs = node.value("outputs", json::object());
    const json& arts =
        outputs.is_object() ? outputs.value("artifacts", json::array()) : json::array();
    for (const json& a : arts.is_array() ? arts : json::array()) {
      if (!a.is_object() || engine::Str(a, "name") != "main-logs" || a.value("deleted", false)) {
        continue;
      }
      out.push_back({.pod = pod, .sort_key = engine::Str(node, "startedAt"), .artifact = a});
      break;
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const LogSource& a, const LogSource& b) {
    return std::tie(a.sort_key, a.pod) < std::tie(b.sort_key, b.pod);
  });
  return out;
}

absl::StatusOr<json> WorkflowGrpcService::Get(const std::string& kind, const std::string& ns,
                                              const std::string& name) {
  ASSIGN_OR_RETURN(std::string text, api_->Get(kind, ns, name));
  return manifest::ParseJsonText(text);
}

absl::StatusOr<json> WorkflowGrpcService::Mutate(const std::string& ns, const std::string& name,
                                                 const std::function<absl::Status(json&)>& change) {
  absl::Status last;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    ASSIGN_OR_RETURN(json wf, Get("Workflow", ns, name));
    RETURN_IF_ERROR(change(wf));
    absl::StatusOr<std::string> updated = api_->Update("Workflow", manifest::ToJsonText(wf, false));
    if (updated.ok()) return manifest::ParseJsonText(*updated);
    last = updated.status();
    if (last.code() != absl::StatusCode::kAborted) return last;
    absl::SleepFor(absl::Milliseconds(5 * (attempt + 1)));
  }
  return absl::AbortedError(absl::StrCat("workflow ", name, " kept changing; gave up after ",
                                         kMaxConflictRetries, " attempts: ", last.message()));
}

absl::StatusOr<json> WorkflowGrpcService::Create(json wf, const std::string& ns, bool dry_run) {
  if (!wf.is_object()) return absl::InvalidArgumentError("workflow: expected an object");
  if (!wf.contains("kind")) wf["kind"] = "Workflow";
  if (!wf.contains("apiVersion")) wf["apiVersion"] = "argoproj.io/v1alpha1";
  if (wf["kind"] != "Workflow") {
    return absl::InvalidArgumentError("kind: expected Workflow");
  }
  json& meta = wf["metadata"];
  if (!meta.is_object()) meta = json::object();
  const std::string wf_ns = meta.value("namespace", "");
  if (!ns.empty() && !wf_ns.empty() && wf_ns != ns) {
    return absl::InvalidArgumentError("metadata.namespace does not match the request namespace");
  }
  if (wf_ns.empty()) meta["namespace"] = NamespaceOr(ns);
  const std::string target_ns = meta["namespace"];
  TemplateLookup lookup = [this, target_ns](std::string_view kind,
                                            std::string_view name) -> std::optional<json> {
    absl::StatusOr<json> t = Get(
        std::string(kind), kind == "ClusterWorkflowTemplate" ? "" : target_ns, std::string(name));
    if (!t.ok()) return std::nullopt;
    return *std::move(t);
  };
  // Argo Server's submit: referenced templates must exist now, not at run time.
  RETURN_IF_ERROR(ValidateWorkflow(wf, lookup, {.require_refs = true}));
  if (dry_run) return wf;
  ASSIGN_OR_RETURN(std::string created,
                   api_->Create("Workflow", manifest::ToJsonText(wf, false), false));
  return manifest::ParseJsonText(created);
}

absl::Status WorkflowGrpcService::DeletePods(const std::string& ns, const std::string& workflow,
                                             const std::vector<std::string>& node_ids) {
  if (cluster_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<cluster::Object> pods,
                   cluster_->List("Pod", ns, absl::StrCat(kWorkflowLabel, "=", workflow)));
  const std::set<std::string> ids(node_ids.begin(), node_ids.end());
  for (const cluster::Object& pod : pods) {
    if (!node_ids.empty() && ids.count(Annotation(pod, kNodeIdAnnotation)) == 0) continue;
    absl::Status s = cluster_->Delete("Pod", ns, pod["metadata"].value("name", ""));
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
  }
  return absl::OkStatus();
}

grpc::Status WorkflowGrpcService::CreateWorkflow(grpc::ServerContext*,
                                                 const v1::CreateWorkflowRequest* req,
                                                 v1::WorkflowReply* reply) {
  absl::StatusOr<json> wf = manifest::ParseJsonText(req->json());
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  // Argo Server's {"workflow": {...}} wrapper.
  if (wf->is_object() && wf->contains("workflow") && !wf->contains("spec")) {
    *wf = (*wf)["workflow"];
  }
  return Reply(Create(*std::move(wf), req->namespace_(), req->server_dry_run()), reply);
}

grpc::Status WorkflowGrpcService::SubmitWorkflow(grpc::ServerContext*,
                                                 const v1::SubmitWorkflowRequest* req,
                                                 v1::WorkflowReply* reply) {
  const resource::KindInfo* kind = resource::FindKind(req->resource_kind());
  if (kind == nullptr) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("resourceKind: unknown kind \"", req->resource_kind(), "\"")));
  }
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<json> source = Get(kind->kind, kind->namespaced ? ns : "", req->resource_name());
  if (!source.ok()) return ToGrpcStatus(source.status());
  auto params = Params(req->parameters());
  if (!params.ok()) return ToGrpcStatus(params.status());
  SubmitOptions opts{.name = req->name(),
                     .generate_name = req->generate_name(),
                     .entrypoint = req->entrypoint(),
                     .service_account = req->service_account(),
                     .labels = {req->labels().begin(), req->labels().end()},
                     .parameters = *params};
  absl::StatusOr<json> wf = SubmitFrom(*source, ns, opts);
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  return Reply(Create(*std::move(wf), ns, req->server_dry_run()), reply);
}

grpc::Status WorkflowGrpcService::GetWorkflow(grpc::ServerContext*,
                                              const v1::GetWorkflowRequest* req,
                                              v1::WorkflowReply* reply) {
  return Reply(Get("Workflow", NamespaceOr(req->namespace_()), req->name()), reply);
}

grpc::Status WorkflowGrpcService::ListWorkflows(grpc::ServerContext*,
                                                const v1::ListWorkflowsRequest* req,
                                                v1::ListWorkflowsReply* reply) {
  auto listed = api_->List("Workflow", req->namespace_(), req->label_selector());
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  const std::set<std::string> phases(req->phases().begin(), req->phases().end());
  for (std::string& item : listed->first) {
    if (!phases.empty()) {
      absl::StatusOr<json> wf = manifest::ParseJsonText(item);
      if (!wf.ok() || phases.count(Phase(*wf)) == 0) continue;
    }
    reply->add_items(std::move(item));
  }
  reply->set_resource_version(listed->second);
  return grpc::Status::OK;
}

grpc::Status WorkflowGrpcService::WatchWorkflows(
    grpc::ServerContext* ctx, const v1::WatchWorkflowsRequest* req,
    grpc::ServerWriter<v1::WorkflowWatchEvent>* writer) {
  auto watch =
      api_->Watch("Workflow", req->namespace_(), req->label_selector(), req->resource_version());
  if (!watch.ok()) return ToGrpcStatus(watch.status());
  while (!ctx->IsCancelled()) {
    auto events = (*watch)->Next(absl::Now() + absl::Seconds(1));
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (const resource::WatchEventOut& e : *events) {
      if (!req->name().empty()) {
        absl::StatusOr<json> wf = e.object;
        if (!wf.ok() || (*wf)["metadata"].value("name", "") != req->name()) continue;
      }
      v1::WorkflowWatchEvent out;
      out.set_type(e.type);
      out.set_json(e.Json());
      if (!writer->Write(out)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status WorkflowGrpcService::DeleteWorkflow(grpc::ServerContext*,
                                                 const v1::DeleteWorkflowRequest* req,
                                                 v1::DeleteWorkflowReply*) {
  const std::string ns = NamespaceOr(req->namespace_());
  if (absl::Status s = api_->Delete("Workflow", ns, req->name(), ""); !s.ok()) {
    return ToGrpcStatus(s);
  }
  // The pods belong to the workflow; nothing else collects them across services.
  return ToGrpcStatus(DeletePods(ns, req->name(), {}));
}

grpc::Status WorkflowGrpcService::LintWorkflow(grpc::ServerContext*,
                                               const v1::LintWorkflowRequest* req,
                                               v1::WorkflowReply* reply) {
  absl::StatusOr<json> obj = manifest::ParseJsonText(req->json());
  if (!obj.ok()) return ToGrpcStatus(obj.status());
  if (obj->is_object() && obj->contains("workflow") && !obj->contains("spec")) {
    *obj = (*obj)["workflow"];
  }
  if (!obj->is_object()) {
    return ToGrpcStatus(absl::InvalidArgumentError("expected an object"));
  }
  const resource::KindInfo* kind = resource::FindKind(obj->value("kind", "Workflow"));
  if (kind == nullptr || kind->service != "workflow" || kind->kind == "WorkflowEventBinding") {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("kind: \"", obj->value("kind", ""), "\" is not a workflow kind")));
  }
  // The typed decode catches unknown fields and wrong types, as a create would.
  auto message = kind->NewMessage();
  if (absl::Status s = manifest::FromJson(*obj, message.get()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const std::string ns =
      NamespaceOr(obj->value("metadata", json::object()).value("namespace", req->namespace_()));
  TemplateLookup lookup = [this, ns](std::string_view k,
                                     std::string_view name) -> std::optional<json> {
    absl::StatusOr<json> t =
        Get(std::string(k), k == "ClusterWorkflowTemplate" ? "" : ns, std::string(name));
    if (!t.ok()) return std::nullopt;
    return *std::move(t);
  };
  absl::Status s = ValidateWorkflow(*obj, lookup, {.require_refs = true});
  if (!s.ok()) return ToGrpcStatus(s);
  // The object as it would be stored: parameter values as strings, a cron's `schedules`.
  NormalizeCronSchedules(*message);
  reply->set_json(manifest::ToJsonText(manifest::ToJson(*message), false));
  return grpc::Status::OK;
}

grpc::Status WorkflowGrpcService::ResubmitWorkflow(grpc::ServerContext*,
                                                   const v1::ResubmitWorkflowRequest* req,
                                                   v1::WorkflowReply* reply) {
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<json> old = Get("Workflow", ns, req->name());
  if (!old.ok()) return ToGrpcStatus(old.status());
  auto params = Params(req->parameters());
  if (!params.ok()) return ToGrpcStatus(params.status());
  absl::StatusOr<json> wf = Resubmit(*old, *params);
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  return Reply(Create(*std::move(wf), ns, false), reply);
}

grpc::Status WorkflowGrpcService::RetryWorkflow(grpc::ServerContext*,
                                                const v1::RetryWorkflowRequest* req,
                                                v1::WorkflowReply* reply) {
  const std::string ns = NamespaceOr(req->namespace_());
  auto params = Params(req->parameters());
  if (!params.ok()) return ToGrpcStatus(params.status());
  RetryOptions opts{.restart_successful = req->restart_successful(),
                    .node_field_selector = req->node_field_selector(),
                    .parameters = *params};
  std::vector<std::string> deleted;
  absl::StatusOr<json> wf = Mutate(ns, req->name(), [&](json& w) -> absl::Status {
    ASSIGN_OR_RETURN(RetryResult r, Retry(w, opts, absl::Now()));
    w = std::move(r.workflow);
    deleted = std::move(r.deleted_node_ids);
    return absl::OkStatus();
  });
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  // Old pods of rerun nodes would otherwise be taken for the new attempt's.
  if (!deleted.empty()) {
    if (absl::Status s = DeletePods(ns, req->name(), deleted); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  return Reply(wf, reply);
}

grpc::Status WorkflowGrpcService::ResumeWorkflow(grpc::ServerContext*,
                                                 const v1::ResumeWorkflowRequest* req,
                                                 v1::WorkflowReply* reply) {
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [&](json& w) { return Resume(w, req->node_field_selector(), absl::Now()); }),
               reply);
}

grpc::Status WorkflowGrpcService::SuspendWorkflow(grpc::ServerContext*,
                                                  const v1::WorkflowNameRequest* req,
                                                  v1::WorkflowReply* reply) {
  return Reply(
      Mutate(NamespaceOr(req->namespace_()), req->name(), [](json& w) { return Suspend(w); }),
      reply);
}

grpc::Status WorkflowGrpcService::StopWorkflow(grpc::ServerContext*,
                                               const v1::StopWorkflowRequest* req,
                                               v1::WorkflowReply* reply) {
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [&](json& w) {
                        return Stop(w, req->node_field_selector(), req->message(), absl::Now());
                      }),
               reply);
}

grpc::Status WorkflowGrpcService::TerminateWorkflow(grpc::ServerContext*,
                                                    const v1::WorkflowNameRequest* req,
                                                    v1::WorkflowReply* reply) {
  return Reply(
      Mutate(NamespaceOr(req->namespace_()), req->name(), [](json& w) { return Terminate(w); }),
      reply);
}

grpc::Status WorkflowGrpcService::SetWorkflow(grpc::ServerContext*,
                                              const v1::SetWorkflowRequest* req,
                                              v1::WorkflowReply* reply) {
  auto params = Params(req->output_parameters());
  if (!params.ok()) return ToGrpcStatus(params.status());
  SetOptions opts{.node_field_selector = req->node_field_selector(),
                  .phase = req->phase(),
                  .message = req->message(),
                  .output_parameters = *params};
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [&](json& w) { return Set(w, opts, absl::Now()); }),
               reply);
}

grpc::Status WorkflowGrpcService::WorkflowLogs(grpc::ServerContext* ctx,
                                               const v1::WorkflowLogsRequest* req,
                                               grpc::ServerWriter<v1::LogEntry>* writer) {
  if (cluster_ == nullptr) {
    return ToGrpcStatus(absl::UnimplementedError("no cluster to read logs from"));
  }
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<json> wf = Get("Workflow", ns, req->name());
  const bool live = wf.ok();
  if (!live && wf.status().code() == absl::StatusCode::kNotFound && archived_) {
    // Deleted from the live list: its archived copy names the logs archiveLogs kept.
    if (absl::StatusOr<json> copy = archived_(ns, req->name(), ""); copy.ok()) {
      wf = std::move(copy);
    }
  }
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  const std::string selector = absl::StrCat(kWorkflowLabel, "=", req->name());
  const std::string container = req->container().empty() ? "main" : req->container();
  absl::Mutex write_mu;
  std::atomic<bool> stopped{false};
  // One line out; false once the client is gone.
  auto emit = [&](const std::string& pod, const std::string& line) {
    if (!req->grep().empty() && line.find(req->grep()) == std::string::npos) return true;
    v1::LogEntry e;
    e.set_pod_name(pod);
    e.set_content(line);
    absl::MutexLock lock(&write_mu);
    if (stopped || ctx->IsCancelled() || !writer->Write(e)) {
      stopped = true;
      return false;
    }
    return true;
  };
  // `bytes` (may be null) counts what the stream delivered.
  auto stream_pod = [&](const std::string& pod, bool follow, size_t* bytes) -> absl::Status {
    LineSplitter split;
    absl::Status s = cluster_->Logs(ns, pod, {.container = container, .follow = follow},
                                    [&](std::string_view chunk) {
                                      if (stopped || ctx->IsCancelled()) return false;
                                      if (bytes != nullptr) *bytes += chunk.size();
                                      for (const std::string& line : split.Feed(chunk)) {
                                        if (!emit(pod, line)) return false;
                                      }
                                      return true;
                                    });
    if (std::optional<std::string> rest = split.Flush(); rest.has_value()) emit(pod, *rest);
    return s;
  };
  auto pod_finished = [&](const std::string& pod) {
    absl::StatusOr<cluster::Object> p = cluster_->Get("Pod", ns, pod);
    if (!p.ok()) return true;  // gone: nothing more will come
    const std::string phase = p->value("status", json::object()).value("phase", "");
    return phase == "Succeeded" || phase == "Failed";
  };

  // A pod's log archived with archiveLogs, read back through the artifact drivers.
  auto stream_artifact = [&](const LogSource& src) -> absl::Status {
    if (!artifact_streamer_) return absl::OkStatus();
    LineSplitter split;
    absl::Status s = artifact_streamer_(src.artifact, ns, [&](std::string_view chunk) {
      if (stopped || ctx->IsCancelled()) return absl::CancelledError("client went away");
      for (const std::string& line : split.Feed(chunk)) {
        if (!emit(src.pod, line)) return absl::CancelledError("client went away");
      }
      return absl::OkStatus();
    });
    if (s.code() == absl::StatusCode::kCancelled) return absl::OkStatus();
    if (std::optional<std::string> rest = split.Flush(); rest.has_value()) emit(src.pod, *rest);
    return s;
  };

  // A finished (or archived) workflow has no more to come: its pods may be gone, so the logs
  // are read once, from the pods left and from what archiveLogs kept of the others.
  if (!req->follow() || !live || Completed(*wf)) {
    auto pods = cluster_->List("Pod", ns, selector);
    if (!pods.ok()) return ToGrpcStatus(pods.status());
    for (const LogSource& src : PlanLogSources(*wf, *std::move(pods), req->pod_name(), container)) {
      absl::Status s =
          src.artifact.is_null() ? stream_pod(src.pod, false, nullptr) : stream_artifact(src);
      // A pod that never started has no log yet, nor an artifact GC deleted; the others still
      // print.
      if (!s.ok() && s.code() != absl::StatusCode::kNotFound &&
          s.code() != absl::StatusCode::kFailedPrecondition) {
        return ToGrpcStatus(s);
      }
      if (stopped) break;
    }
    return grpc::Status::OK;
  }

  // Follow: every pod streams on its own thread as it appears, until the workflow is complete
  // and every stream has ended, or the client leaves.
  std::map<std::string, std::thread> streams;
  std::atomic<int> running{0};
  grpc::Status result = grpc::Status::OK;
  while (!stopped && !ctx->IsCancelled()) {
    auto pods = cluster_->List("Pod", ns, selector);
    if (!pods.ok()) {
      result = ToGrpcStatus(pods.status());
      break;
    }
    for (const json& pod : SelectLogPods(*std::move(pods), req->pod_name())) {
      const std::string name = pod["metadata"].value("name", "");
      if (streams.count(name) > 0) continue;
      ++running;
      streams[name] = std::thread([&, name] {
        // A pod whose container has not started yet has no log: its stream fails or ends at
        // once. Try again until something arrives or the pod is over (at most ~5 minutes).
        for (int attempt = 0; attempt < 600 && !stopped && !ctx->IsCancelled(); ++attempt) {
          size_t bytes = 0;
          absl::Status s = stream_pod(name, true, &bytes);
          const bool not_yet = s.code() == absl::StatusCode::kNotFound ||
                               s.code() == absl::StatusCode::kFailedPrecondition ||
                               (s.ok() && bytes == 0);
          if (!not_yet) break;
          if (pod_finished(name)) {
            // It may have run and ended between the two looks: read what it left, once.
            (void)stream_pod(name, false, nullptr);
            break;
          }
          absl::SleepFor(absl::Milliseconds(500));
        }
        --running;
      });
    }
    absl::StatusOr<json> now = Get("Workflow", ns, req->name());
    if (!now.ok() || (Completed(*now) && running == 0)) break;
    absl::SleepFor(kFollowPoll);
  }
  stopped = true;
  for (auto& [name, t] : streams) t.join();
  return result;
}

}  // namespace argonaut::workflow::api
