#include "services/rollout/api/rollout_service.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/server/grpc_status.h"
#include "services/rollout/api/actions.h"

namespace argonaut::rollout::api {
namespace {

using nlohmann::json;

constexpr int kMaxConflictRetries = 20;
// Info watches re-read the ReplicaSets and pods this often: they live in the cluster, apart from
// the rollout store whose watch wakes us on rollout changes.
constexpr absl::Duration kInfoPoll = absl::Seconds(1);

std::string NamespaceOr(const std::string& ns) { return ns.empty() ? "default" : ns; }

grpc::Status Reply(const absl::StatusOr<json>& ro, v1::RolloutReply* reply) {
  if (!ro.ok()) return ToGrpcStatus(ro.status());
  reply->set_json(manifest::ToJsonText(*ro, false));
  return grpc::Status::OK;
}

const json& Field(const json& obj, const char* key) {
  static const json* const kNull = new json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it != obj.end() ? *it : *kNull;
}

std::string MetaStr(const json& obj, const char* key) {
  const json& v = Field(Field(obj, "metadata"), key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::string KeyOf(const json& obj) {
  return absl::StrCat(MetaStr(obj, "namespace"), "/", MetaStr(obj, "name"));
}

json WithoutStatus(json obj) {
  if (obj.is_object()) obj.erase("status");
  return obj;
}

// The rollout's metadata without what the store fills in on its own, so that a spec write is
// only made when the action changed something the user owns.
json UserPart(const json& ro) {
  json out = WithoutStatus(ro);
  if (out.is_object() && out.contains("metadata") && out["metadata"].is_object()) {
    for (const char* k : {"resourceVersion", "generation", "managedFields"}) {
      out["metadata"].erase(k);
    }
  }
  return out;
}

std::string Owned(const json& ro) { return MetaStr(ro, "uid"); }

// Argo's rollout with spec.workloadRef and no template of its own: the pod template (what undo
// and set image change) is the referenced workload's.
bool UsesWorkloadRef(const json& ro) {
  const json& spec = Field(ro, "spec");
  return Field(spec, "workloadRef").is_object() && !Field(spec, "template").is_object();
}

bool OwnedBy(const json& o, const std::string& uid) {
  const json& refs = Field(Field(o, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const json& r : refs) {
    if (r.is_object() && r.value("uid", "") == uid) return true;
  }
  return false;
}

}  // namespace

RolloutGrpcService::RolloutGrpcService(resource::ResourceApi* rollouts, cluster::Cluster* cluster,
                                       controller::Clock* clock, resource::Validator lint_validator)
    : api_(rollouts),
      cluster_(cluster),
      clock_(clock != nullptr ? clock : controller::RealClock::Get()),
      lint_validator_(std::move(lint_validator)) {}

absl::StatusOr<json> RolloutGrpcService::Mutate(
    const std::string& ns, const std::string& name,
    const std::function<absl::StatusOr<json>(json)>& change) {
  ASSIGN_OR_RETURN(const resource::KindInfo* kind, api_->Resolve("Rollout"));
  absl::Status last;
  auto backoff = [](int attempt) { absl::SleepFor(absl::Milliseconds(5 * (attempt + 1))); };
  auto gave_up = [&] {
    return absl::AbortedError(absl::StrCat("rollout ", name, " kept changing; gave up after ",
                                           kMaxConflictRetries, " attempts: ", last.message()));
  };
  // Status first, as the kubectl plugin patches: the controller must not see an unpaused spec
  // with the pause conditions it is about to lose. Without a status subresource the object is
  // one write.
  json spec;
  bool spec_changed = false;
  absl::StatusOr<json> written;
  for (int attempt = 0;; ++attempt) {
    if (attempt == kMaxConflictRetries) return gave_up();
    ASSIGN_OR_RETURN(json ro, api_->GetObject("Rollout", ns, name));
    ASSIGN_OR_RETURN(json changed, change(ro));
    spec_changed = UserPart(changed) != UserPart(ro);
    const bool status_changed = Field(changed, "status") != Field(ro, "status");
    spec = Field(changed, "spec");
    written = ro;
    if (!kind->status_subresource) {
      if (spec_changed || status_changed) written = api_->UpdateObject("Rollout", changed);
      spec_changed = false;
    } else if (status_changed) {
      written = api_->UpdateStatusObject("Rollout", changed);
    }
    if (written.ok()) break;
    last = written.status();
    if (!absl::IsAborted(last)) return last;
    backoff(attempt);
  }
  if (!spec_changed) return written;
  // The status part is in; a conflict now only means writing the same spec onto a newer
  // version, never applying the action twice.
  for (int attempt = 0;; ++attempt) {
    if (attempt == kMaxConflictRetries) return gave_up();
    if (attempt > 0) {
      ASSIGN_OR_RETURN(written, api_->GetObject("Rollout", ns, name));
    }
    json spec_write = WithoutStatus(*written);
    spec_write["spec"] = spec;
    absl::StatusOr<json> out = api_->UpdateObject("Rollout", std::move(spec_write));
    if (out.ok()) return out;
    last = out.status();
    if (!absl::IsAborted(last)) return last;
    backoff(attempt);
  }
}

absl::StatusOr<json> RolloutGrpcService::ChangeWorkload(
    const json& rollout, const std::function<absl::StatusOr<json>(json)>& change) {
  const json& ref = Field(Field(rollout, "spec"), "workloadRef");
  const std::string kind = ref.value("kind", "");
  const std::string name = ref.value("name", "");
  if (kind != "Deployment") {
    return absl::FailedPreconditionError(
        absl::StrCat("spec.workloadRef: kind \"", kind, "\" is not supported (only Deployment)"));
  }
  if (cluster_ == nullptr) {
    return absl::FailedPreconditionError("no cluster to change the referenced Deployment in");
  }
  const std::string ns = MetaStr(rollout, "namespace");
  absl::Status last;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    ASSIGN_OR_RETURN(json workload, cluster_->Get("Deployment", ns, name));
    ASSIGN_OR_RETURN(json changed, change(workload));
    if (changed == workload) return rollout;
    absl::StatusOr<json> written = cluster_->Update(changed);
    if (written.ok()) return rollout;
    last = written.status();
    if (!absl::IsAborted(last)) return last;
    absl::SleepFor(absl::Milliseconds(5 * (attempt + 1)));
  }
  return absl::AbortedError(absl::StrCat("Deployment ", name, " kept changing; gave up after ",
                                         kMaxConflictRetries, " attempts: ", last.message()));
}

absl::StatusOr<std::vector<json>> RolloutGrpcService::ReplicaSetsOf(const json& ro) {
  if (cluster_ == nullptr) {
    return absl::FailedPreconditionError("no cluster to read the rollout's ReplicaSets from");
  }
  ASSIGN_OR_RETURN(std::vector<json> all,
                   cluster_->List("ReplicaSet", MetaStr(ro, "namespace"), kPodTemplateHashLabel));
  std::vector<json> owned;
  for (json& rs : all) {
    if (OwnedBy(rs, Owned(ro))) owned.push_back(std::move(rs));
  }
  return owned;
}

absl::StatusOr<RolloutObjects> RolloutGrpcService::NamespaceObjects(const std::string& ns) {
  RolloutObjects objs;
  if (cluster_ != nullptr) {
    ASSIGN_OR_RETURN(objs.replica_sets, cluster_->List("ReplicaSet", ns, kPodTemplateHashLabel));
    ASSIGN_OR_RETURN(objs.pods, cluster_->List("Pod", ns, kPodTemplateHashLabel));
  }
  ASSIGN_OR_RETURN(objs.analysis_runs, api_->ListObjects("AnalysisRun", ns, ""));
  ASSIGN_OR_RETURN(objs.experiments, api_->ListObjects("Experiment", ns, ""));
  return objs;
}

absl::StatusOr<json> RolloutGrpcService::Info(const std::string& ns, const std::string& name) {
  ASSIGN_OR_RETURN(json ro, api_->GetObject("Rollout", ns, name));
  ASSIGN_OR_RETURN(RolloutObjects objs, NamespaceObjects(ns));
  objs.rollout = std::move(ro);
  return BuildRolloutInfo(objs);
}

absl::StatusOr<std::map<std::string, json>> RolloutGrpcService::Infos(const std::string& ns,
                                                                      const std::string& selector) {
  ASSIGN_OR_RETURN(std::vector<json> rollouts, api_->ListObjects("Rollout", ns, selector));
  std::map<std::string, json> out;
  std::map<std::string, RolloutObjects> by_ns;  // one read of owned objects per namespace
  for (json& ro : rollouts) {
    const std::string ro_ns = MetaStr(ro, "namespace");
    auto it = by_ns.find(ro_ns);
    if (it == by_ns.end()) {
      ASSIGN_OR_RETURN(RolloutObjects objs, NamespaceObjects(ro_ns));
      it = by_ns.emplace(ro_ns, std::move(objs)).first;
    }
    const std::string key = KeyOf(ro);
    it->second.rollout = std::move(ro);
    out[key] = BuildRolloutInfo(it->second);
  }
  return out;
}

grpc::Status RolloutGrpcService::CreateRollout(grpc::ServerContext*,
                                               const v1::CreateRolloutRequest* req,
                                               v1::RolloutReply* reply) {
  absl::StatusOr<json> ro = manifest::ParseJsonText(req->json());
  if (!ro.ok()) return ToGrpcStatus(ro.status());
  if (!ro->is_object()) {
    return ToGrpcStatus(absl::InvalidArgumentError("rollout: expected an object"));
  }
  if (!ro->contains("kind")) (*ro)["kind"] = "Rollout";
  if (!ro->contains("apiVersion")) (*ro)["apiVersion"] = "argoproj.io/v1alpha1";
  if ((*ro)["kind"] != "Rollout") {
    return ToGrpcStatus(absl::InvalidArgumentError("kind: expected Rollout"));
  }
  json& meta = (*ro)["metadata"];
  if (!meta.is_object()) meta = json::object();
  const std::string ro_ns = meta.value("namespace", "");
  if (!req->namespace_().empty() && !ro_ns.empty() && ro_ns != req->namespace_()) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("metadata.namespace does not match the request namespace"));
  }
  if (ro_ns.empty()) meta["namespace"] = NamespaceOr(req->namespace_());
  return Reply(api_->CreateObject("Rollout", *std::move(ro), req->upsert()), reply);
}

grpc::Status RolloutGrpcService::GetRollout(grpc::ServerContext*, const v1::RolloutNameRequest* req,
                                            v1::RolloutReply* reply) {
  return Reply(api_->GetObject("Rollout", NamespaceOr(req->namespace_()), req->name()), reply);
}

grpc::Status RolloutGrpcService::ListRollouts(grpc::ServerContext*,
                                              const v1::ListRolloutsRequest* req,
                                              v1::ListRolloutsReply* reply) {
  auto listed = api_->List("Rollout", req->namespace_(), req->label_selector());
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  for (std::string& item : listed->first) reply->add_items(std::move(item));
  reply->set_resource_version(listed->second);
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::WatchRollouts(grpc::ServerContext* ctx,
                                               const v1::WatchRolloutsRequest* req,
                                               grpc::ServerWriter<v1::RolloutWatchEvent>* writer) {
  auto watch =
      api_->Watch("Rollout", req->namespace_(), req->label_selector(), req->resource_version());
  if (!watch.ok()) return ToGrpcStatus(watch.status());
  while (!ctx->IsCancelled()) {
    auto events = (*watch)->Next(absl::Now() + absl::Seconds(1));
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (const resource::WatchEventOut& e : *events) {
      if (!req->name().empty() && MetaStr(e.object, "name") != req->name()) continue;
      v1::RolloutWatchEvent out;
      out.set_type(e.type);
      out.set_json(e.Json());
      if (!writer->Write(out)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::DeleteRollout(grpc::ServerContext*,
                                               const v1::RolloutNameRequest* req,
                                               v1::DeleteRolloutReply*) {
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<json> ro = api_->GetObject("Rollout", ns, req->name());
  if (!ro.ok()) return ToGrpcStatus(ro.status());
  if (absl::Status s = api_->Delete("Rollout", ns, req->name(), ""); !s.ok()) {
    return ToGrpcStatus(s);
  }
  // What the rollout owns lives in two stores; no collector spans both, so the owner cleans up
  // (ReplicaSets take their pods with them in the cluster).
  const std::string uid = Owned(*ro);
  for (const char* kind : {"AnalysisRun", "Experiment"}) {
    auto owned = api_->ListObjects(kind, ns, "");
    if (!owned.ok()) return ToGrpcStatus(owned.status());
    for (const json& o : *owned) {
      if (!OwnedBy(o, uid)) continue;
      absl::Status s = api_->Delete(kind, ns, MetaStr(o, "name"), "");
      if (!s.ok() && !absl::IsNotFound(s)) return ToGrpcStatus(s);
    }
  }
  if (cluster_ != nullptr) {
    auto rss = ReplicaSetsOf(*ro);
    if (!rss.ok()) return ToGrpcStatus(rss.status());
    for (const json& rs : *rss) {
      absl::Status s = cluster_->Delete("ReplicaSet", ns, MetaStr(rs, "name"));
      if (!s.ok() && !absl::IsNotFound(s)) return ToGrpcStatus(s);
    }
  }
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::GetRolloutInfo(grpc::ServerContext*,
                                                const v1::RolloutNameRequest* req,
                                                v1::RolloutInfoReply* reply) {
  absl::StatusOr<json> info = Info(NamespaceOr(req->namespace_()), req->name());
  if (!info.ok()) return ToGrpcStatus(info.status());
  reply->set_json(manifest::ToJsonText(*info, false));
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::ListRolloutInfos(grpc::ServerContext*,
                                                  const v1::ListRolloutsRequest* req,
                                                  v1::RolloutInfoListReply* reply) {
  auto infos = Infos(req->namespace_(), req->label_selector());
  if (!infos.ok()) return ToGrpcStatus(infos.status());
  for (const auto& [key, info] : *infos) reply->add_items(manifest::ToJsonText(info, false));
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::WatchRolloutInfo(
    grpc::ServerContext* ctx, const v1::RolloutNameRequest* req,
    grpc::ServerWriter<v1::RolloutInfoWatchEvent>* writer) {
  const std::string ns = NamespaceOr(req->namespace_());
  // Subscribe before the first read so that no change falls between the two.
  auto watch = api_->Watch("Rollout", ns, "", "");
  if (!watch.ok()) return ToGrpcStatus(watch.status());
  json last;
  bool first = true;
  while (!ctx->IsCancelled()) {
    absl::StatusOr<json> info = Info(ns, req->name());
    if (!info.ok()) {
      if (absl::IsNotFound(info.status()) && !first) {
        v1::RolloutInfoWatchEvent out;
        out.set_type("DELETED");
        out.set_json(manifest::ToJsonText(last, false));
        writer->Write(out);
        return grpc::Status::OK;
      }
      return ToGrpcStatus(info.status());
    }
    if (first || *info != last) {
      v1::RolloutInfoWatchEvent out;
      out.set_type(first ? "ADDED" : "MODIFIED");
      out.set_json(manifest::ToJsonText(*info, false));
      if (!writer->Write(out)) return grpc::Status::OK;
      last = *std::move(info);
      first = false;
    }
    auto events = (*watch)->Next(absl::Now() + kInfoPoll);
    if (!events.ok()) return ToGrpcStatus(events.status());
  }
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::WatchRolloutInfos(
    grpc::ServerContext* ctx, const v1::ListRolloutsRequest* req,
    grpc::ServerWriter<v1::RolloutInfoWatchEvent>* writer) {
  auto watch = api_->Watch("Rollout", req->namespace_(), req->label_selector(), "");
  if (!watch.ok()) return ToGrpcStatus(watch.status());
  std::map<std::string, json> last;
  while (!ctx->IsCancelled()) {
    auto infos = Infos(req->namespace_(), req->label_selector());
    if (!infos.ok()) return ToGrpcStatus(infos.status());
    auto send = [&](const std::string& type, const json& info) {
      v1::RolloutInfoWatchEvent out;
      out.set_type(type);
      out.set_json(manifest::ToJsonText(info, false));
      return writer->Write(out);
    };
    for (const auto& [key, info] : *infos) {
      auto it = last.find(key);
      if (it != last.end() && it->second == info) continue;
      if (!send(it == last.end() ? "ADDED" : "MODIFIED", info)) return grpc::Status::OK;
    }
    for (const auto& [key, info] : last) {
      if (infos->count(key) == 0 && !send("DELETED", info)) return grpc::Status::OK;
    }
    last = *std::move(infos);
    auto events = (*watch)->Next(absl::Now() + kInfoPoll);
    if (!events.ok()) return ToGrpcStatus(events.status());
  }
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::PromoteRollout(grpc::ServerContext*,
                                                const v1::PromoteRolloutRequest* req,
                                                v1::RolloutReply* reply) {
  const PromoteOptions opts{.full = req->full()};
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [&](json ro) { return Promote(std::move(ro), opts); }),
               reply);
}

grpc::Status RolloutGrpcService::AbortRollout(grpc::ServerContext*,
                                              const v1::RolloutNameRequest* req,
                                              v1::RolloutReply* reply) {
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [](json ro) { return Abort(std::move(ro)); }),
               reply);
}

grpc::Status RolloutGrpcService::RetryRollout(grpc::ServerContext*,
                                              const v1::RolloutNameRequest* req,
                                              v1::RolloutReply* reply) {
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [](json ro) { return Retry(std::move(ro)); }),
               reply);
}

grpc::Status RolloutGrpcService::UndoRollout(grpc::ServerContext*,
                                             const v1::UndoRolloutRequest* req,
                                             v1::RolloutReply* reply) {
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<json> ro = api_->GetObject("Rollout", ns, req->name());
  if (!ro.ok()) return ToGrpcStatus(ro.status());
  if (UsesWorkloadRef(*ro)) {
    // The template lives in the referenced workload: that is what goes back.
    auto rss = ReplicaSetsOf(*ro);
    if (!rss.ok()) return ToGrpcStatus(rss.status());
    return Reply(ChangeWorkload(
                     *ro,
                     [&](json workload) -> absl::StatusOr<json> {
                       json view = {
                           {"metadata", (*ro)["metadata"]},
                           {"spec", {{"template", Field(Field(workload, "spec"), "template")}}}};
                       ASSIGN_OR_RETURN(json undone, Undo(std::move(view), *rss, req->revision()));
                       workload["spec"]["template"] = undone["spec"]["template"];
                       return workload;
                     }),
                 reply);
  }
  return Reply(Mutate(ns, req->name(),
                      [&](json r) -> absl::StatusOr<json> {
                        ASSIGN_OR_RETURN(std::vector<json> rss, ReplicaSetsOf(r));
                        return Undo(std::move(r), rss, req->revision());
                      }),
               reply);
}

grpc::Status RolloutGrpcService::PauseRollout(grpc::ServerContext*,
                                              const v1::PauseRolloutRequest* req,
                                              v1::RolloutReply* reply) {
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [&](json ro) { return Pause(std::move(ro), req->paused()); }),
               reply);
}

grpc::Status RolloutGrpcService::RestartRollout(grpc::ServerContext*,
                                                const v1::RestartRolloutRequest* req,
                                                v1::RolloutReply* reply) {
  absl::Time at = clock_->Now();
  if (!req->at().empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, req->at(), &at, &err)) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("at: \"", req->at(), "\" is not an RFC 3339 time: ", err)));
    }
  }
  return Reply(Mutate(NamespaceOr(req->namespace_()), req->name(),
                      [&](json ro) { return Restart(std::move(ro), at); }),
               reply);
}

grpc::Status RolloutGrpcService::SetRolloutImage(grpc::ServerContext*,
                                                 const v1::SetImageRequest* req,
                                                 v1::RolloutReply* reply) {
  const std::string ns = NamespaceOr(req->namespace_());
  absl::StatusOr<json> ro = api_->GetObject("Rollout", ns, req->name());
  if (!ro.ok()) return ToGrpcStatus(ro.status());
  if (UsesWorkloadRef(*ro)) {
    return Reply(ChangeWorkload(*ro,
                                [&](json workload) {
                                  return SetImage(std::move(workload), req->container(),
                                                  req->image());
                                }),
                 reply);
  }
  return Reply(
      Mutate(ns, req->name(),
             [&](json r) { return SetImage(std::move(r), req->container(), req->image()); }),
      reply);
}

grpc::Status RolloutGrpcService::LintRollout(grpc::ServerContext*,
                                             const v1::LintRolloutRequest* req,
                                             v1::RolloutReply* reply) {
  absl::StatusOr<json> obj = manifest::ParseJsonText(req->json());
  if (!obj.ok()) return ToGrpcStatus(obj.status());
  if (!obj->is_object()) {
    return ToGrpcStatus(absl::InvalidArgumentError("expected an object"));
  }
  const resource::KindInfo* kind = resource::FindKind(obj->value("kind", "Rollout"));
  if (kind == nullptr || kind->service != "rollout") {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("kind: \"", obj->value("kind", ""), "\" is not a rollout kind")));
  }
  if (!obj->contains("apiVersion")) (*obj)["apiVersion"] = kind->api_version;
  if (!obj->contains("kind")) (*obj)["kind"] = kind->kind;
  // The typed decode catches unknown fields and wrong types, as a create would.
  auto message = kind->NewMessage();
  if (absl::Status s = manifest::FromJson(*obj, message.get()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (lint_validator_) {
    if (absl::Status s = lint_validator_(*kind, *message); !s.ok()) return ToGrpcStatus(s);
  }
  reply->set_json(manifest::ToJsonText(*obj, false));
  return grpc::Status::OK;
}

grpc::Status RolloutGrpcService::Version(grpc::ServerContext*, const v1::VersionRequest*,
                                         v1::VersionReply* reply) {
  reply->set_rollouts_version(kRolloutsVersion);
  return grpc::Status::OK;
}

}  // namespace argonaut::rollout::api
