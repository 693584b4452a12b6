#include "lib/cluster/api_cluster.h"

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"

namespace argonaut::cluster {
namespace {

absl::StatusOr<std::string> KindField(const Object& o) {
  if (!o.is_object()) return absl::InvalidArgumentError("object must be a JSON object");
  auto it = o.find("kind");
  if (it == o.end() || !it->is_string()) return absl::InvalidArgumentError("kind: required");
  return it->get<std::string>();
}

std::string StringAt(const Object& o, const char* a, const char* b) {
  if (!o.is_object()) return "";
  auto i = o.find(a);
  if (i == o.end() || !i->is_object()) return "";
  auto j = i->find(b);
  return j != i->end() && j->is_string() ? j->get<std::string>() : "";
}

class ApiWatch : public Watch {
 public:
  explicit ApiWatch(std::unique_ptr<resource::ObjectWatcher> w) : w_(std::move(w)) {}
  absl::StatusOr<std::vector<WatchEvent>> Next(absl::Time deadline) override {
    ASSIGN_OR_RETURN(std::vector<resource::WatchEventOut> events, w_->Next(deadline));
    std::vector<WatchEvent> out;
    out.reserve(events.size());
    for (resource::WatchEventOut& e : events) {
      out.push_back({std::move(e.type), std::move(e.object), e.resource_version});
    }
    return out;
  }
  void Cancel() override { w_->Cancel(); }

 private:
  std::unique_ptr<resource::ObjectWatcher> w_;
};

}  // namespace

std::string NameOf(const Object& o) { return StringAt(o, "metadata", "name"); }
std::string NamespaceOf(const Object& o) {
  std::string ns = StringAt(o, "metadata", "namespace");
  return ns.empty() ? "default" : ns;
}
std::string UidOf(const Object& o) { return StringAt(o, "metadata", "uid"); }
std::string KindOf(const Object& o) {
  auto it = o.is_object() ? o.find("kind") : o.end();
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}
std::string KeyOf(const Object& o) { return absl::StrCat(NamespaceOf(o), "/", NameOf(o)); }

absl::StatusOr<Object> ApiCluster::Apply(const Object& object) {
  ASSIGN_OR_RETURN(std::string kind, KindField(object));
  return api_->CreateObject(kind, object, /*upsert=*/true);
}

absl::StatusOr<Object> ApiCluster::Create(const Object& object) {
  ASSIGN_OR_RETURN(std::string kind, KindField(object));
  return api_->CreateObject(kind, object, /*upsert=*/false);
}

absl::StatusOr<Object> ApiCluster::Update(const Object& object) {
  ASSIGN_OR_RETURN(std::string kind, KindField(object));
  return api_->UpdateObject(kind, object);
}

absl::StatusOr<Object> ApiCluster::UpdateStatus(const Object& object) {
  ASSIGN_OR_RETURN(std::string kind, KindField(object));
  return api_->UpdateStatusObject(kind, object);
}

absl::StatusOr<Object> ApiCluster::Get(std::string_view kind, std::string_view ns,
                                       std::string_view name) {
  return api_->GetObject(kind, ns, name);
}

absl::StatusOr<std::vector<Object>> ApiCluster::List(std::string_view kind, std::string_view ns,
                                                     std::string_view selector) {
  return api_->ListObjects(kind, ns, selector);
}

absl::Status ApiCluster::Delete(std::string_view kind, std::string_view ns, std::string_view name) {
  return api_->Delete(kind, ns, name, "");
}

absl::StatusOr<std::unique_ptr<Watch>> ApiCluster::WatchObjects(std::string_view kind,
                                                                std::string_view ns,
                                                                std::string_view selector,
                                                                std::string_view resource_version) {
  ASSIGN_OR_RETURN(auto w, api_->Watch(kind, ns, selector, resource_version));
  return std::unique_ptr<Watch>(new ApiWatch(std::move(w)));
}

absl::Status ApiCluster::Logs(std::string_view, std::string_view, const LogOptions&,
                              const LogSink&) {
  return absl::UnimplementedError("this cluster has no pod runtime");
}

absl::Status ApiCluster::SetTrafficSplit(std::string_view ns, std::string_view service,
                                         const TrafficSplit& split) {
  return WriteTrafficSplit(*this, ns, service, split);
}

absl::Status WriteTrafficSplit(Cluster& cluster, std::string_view ns, std::string_view service,
                               const TrafficSplit& split) {
  // Read-modify-write with the version as precondition; retried on conflict
  // because the service controller writes status concurrently.
  for (int attempt = 0; attempt < 10; ++attempt) {
    ASSIGN_OR_RETURN(Object svc, cluster.Get("Service", ns, service));
    Object& annotations = svc["metadata"]["annotations"];
    if (split.weights.empty()) {
      if (annotations.is_object()) annotations.erase(kTrafficSplitAnnotation);
    } else {
      Object weights = Object::object();
      for (const auto& [group, w] : split.weights) {
        if (w < 0) return absl::InvalidArgumentError("weights: must not be negative");
        weights[group] = w;
      }
      annotations[kTrafficSplitAnnotation] =
          Object{{"groupLabel", split.group_label}, {"weights", weights}}.dump();
    }
    absl::StatusOr<Object> out = cluster.Update(svc);
    if (out.ok() || !absl::IsAborted(out.status())) return out.status();
  }
  return absl::AbortedError("traffic split: too many concurrent updates of the Service");
}

}  // namespace argonaut::cluster
