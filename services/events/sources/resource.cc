#include "services/events/sources/resource.h"

#include <map>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/resource/kinds.h"
#include "re2/re2.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

absl::Time CreatedAt(const json& object) {
  const json md = object.value("metadata", json::object());
  absl::Time t = absl::InfinitePast();
  if (md.contains("creationTimestamp") && md["creationTimestamp"].is_string()) {
    std::string err;
    absl::ParseTime(absl::RFC3339_full, md["creationTimestamp"].get<std::string>(), &t, &err);
  }
  return t;
}

// The string at a dotted path, or nullopt.
std::optional<std::string> At(const json& object, const std::string& path) {
  const json* at = &object;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (at->is_object() && at->contains(std::string(part))) {
      at = &(*at)[std::string(part)];
    } else if (size_t i; at->is_array() && absl::SimpleAtoi(part, &i) && i < at->size()) {
      at = &(*at)[i];
    } else {
      return std::nullopt;
    }
  }
  if (at->is_string()) return at->get<std::string>();
  if (at->is_null()) return std::nullopt;
  return at->dump();
}

absl::StatusOr<bool> LabelPasses(const json& selector, const json& labels, size_t i) {
  const std::string where = absl::StrCat("filter.labels[", i, "]");
  if (!selector.is_object() || !selector.contains("key") || !selector["key"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".key: required"));
  }
  const std::string key = selector["key"].get<std::string>();
  std::string op = selector.value("operation", "=");
  if (op.empty()) op = "=";
  const std::string value = selector.contains("value") && selector["value"].is_string()
                                ? selector["value"].get<std::string>()
                                : "";
  const bool has = labels.contains(key) && labels[key].is_string();
  const std::string actual = has ? labels[key].get<std::string>() : "";
  if (op == "=" || op == "==") return has && actual == value;
  if (op == "!=") return !has || actual != value;
  if (op == "exists") return has;
  if (op == "!") return !has;
  if (op == "in" || op == "notin") {
    bool found = false;
    for (absl::string_view v : absl::StrSplit(value, ',')) {
      if (has && absl::StripAsciiWhitespace(v) == actual) found = true;
    }
    return op == "in" ? found : !found;
  }
  if (op == "gt" || op == "lt") {
    int64_t a = 0, b = 0;
    if (!absl::SimpleAtoi(value, &b)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".value: must be an integer for ", op));
    }
    if (!has || !absl::SimpleAtoi(actual, &a)) return false;
    return op == "gt" ? a > b : a < b;
  }
  return absl::InvalidArgumentError(absl::StrCat(where, ".operation: unknown operation \"", op,
                                                 "\" (=, ==, !=, exists, !, in, notin, gt, lt)"));
}

class ResourceListener : public Listener {
 public:
  ResourceListener(std::unique_ptr<Emitter> emitter, std::unique_ptr<cluster::Watch> watch,
                   std::string kind, std::string ns, std::vector<std::string> types, json filter,
                   absl::Time start)
      : Listener(std::move(emitter)),
        watch_(std::move(watch)),
        kind_(std::move(kind)),
        ns_(std::move(ns)),
        types_(std::move(types)),
        filter_(std::move(filter)),
        start_(start) {}
  ~ResourceListener() override { Stop(); }

  void Run() {
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() override {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    watch_.reset();
  }

 private:
  void Loop() {
    while (!stopping_) {
      absl::StatusOr<std::vector<cluster::WatchEvent>> events =
          watch_->Next(absl::Now() + absl::Milliseconds(200));
      if (!events.ok()) {
        // The resume point is gone (or the watch broke): start over; the
        // cache below keeps re-listed objects from firing ADD twice.
        SetError(absl::StrCat("watch: ", events.status().message(), "; re-watching"));
        absl::StatusOr<std::unique_ptr<cluster::Watch>> w =
            emitter_->ctx().cluster->WatchObjects(kind_, ns_, "", "");
        if (w.ok()) {
          watch_ = std::move(*w);
          SetListening();
        } else {
          absl::SleepFor(absl::Milliseconds(500));
        }
        continue;
      }
      for (cluster::WatchEvent& ev : *events) Handle(ev);
    }
  }

  void Handle(cluster::WatchEvent& ev) {
    const json md = ev.object.value("metadata", json::object());
    const std::string uid = md.value("uid", "") + "/" + md.value("name", "");
    std::string type;
    json old;
    if (ev.type == "ADDED") {
      auto it = cache_.find(uid);
      if (it != cache_.end() &&
          it->second.value("metadata", json::object()).value("resourceVersion", "") ==
              md.value("resourceVersion", "")) {
        return;
      }
      type = it == cache_.end() ? "ADD" : "UPDATE";
      if (it != cache_.end()) old = it->second;
      cache_[uid] = ev.object;
    } else if (ev.type == "MODIFIED") {
      type = "UPDATE";
      auto it = cache_.find(uid);
      if (it != cache_.end()) old = it->second;
      cache_[uid] = ev.object;
    } else if (ev.type == "DELETED") {
      type = "DELETE";
      cache_.erase(uid);
    } else {
      return;
    }
    if (!types_.empty() && std::find(types_.begin(), types_.end(), type) == types_.end()) return;
    absl::StatusOr<bool> pass = ResourcePassesFilter(filter_, ev.object, start_);
    if (!pass.ok() || !*pass) return;
    const json& c = emitter_->spec().config;
    json data = {{"type", type},
                 {"body", ev.object},
                 {"group", c.value("group", "")},
                 {"version", c.value("version", "")},
                 {"resource", c.value("resource", "")}};
    if (type == "UPDATE" && !old.is_null()) data["oldBody"] = std::move(old);
    if (absl::Status s = emitter_->Emit(std::move(data)); !s.ok()) {
      SetError(absl::StrCat("publishing: ", s.message()));
    }
  }

  std::unique_ptr<cluster::Watch> watch_;
  const std::string kind_, ns_;
  const std::vector<std::string> types_;
  const json filter_;
  const absl::Time start_;
  std::map<std::string, json> cache_;  // only the watch thread touches it
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

absl::StatusOr<bool> ResourcePassesFilter(const json& filter, const json& object,
                                          absl::Time start) {
  if (filter.is_null()) return true;
  if (!filter.is_object()) return absl::InvalidArgumentError("filter: must be an object");
  const json md = object.value("metadata", json::object());
  if (filter.contains("prefix") && filter["prefix"].is_string() &&
      !absl::StartsWith(md.value("name", ""), filter["prefix"].get<std::string>())) {
    return false;
  }
  if (filter.contains("labels") && !filter["labels"].is_null()) {
    if (!filter["labels"].is_array()) {
      return absl::InvalidArgumentError("filter.labels: must be a list");
    }
    const json labels = md.value("labels", json::object());
    for (size_t i = 0; i < filter["labels"].size(); ++i) {
      absl::StatusOr<bool> ok = LabelPasses(filter["labels"][i], labels, i);
      if (!ok.ok() || !*ok) return ok;
    }
  }
  if (filter.contains("fields") && !filter["fields"].is_null()) {
    if (!filter["fields"].is_array()) {
      return absl::InvalidArgumentError("filter.fields: must be a list");
    }
    for (size_t i = 0; i < filter["fields"].size(); ++i) {
      const json& f = filter["fields"][i];
      const std::string where = absl::StrCat("filter.fields[", i, "]");
      if (!f.is_object() || !f.contains("key") || !f["key"].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".key: required"));
      }
      std::string op = f.value("operation", "=");
      if (op.empty()) op = "=";
      RE2 re(f.contains("value") && f["value"].is_string() ? f["value"].get<std::string>() : "",
             RE2::Quiet);
      if (!re.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ".value: ", re.error()));
      std::optional<std::string> v = At(object, f["key"].get<std::string>());
      const bool match = v.has_value() && RE2::FullMatch(*v, re);
      if (op == "=" || op == "==") {
        if (!match) return false;
      } else if (op == "!=") {
        if (match) return false;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".operation: unknown operation \"", op, "\" (=, ==, !=)"));
      }
    }
  }
  const absl::Time created = CreatedAt(object);
  if (filter.contains("createdBy") && filter["createdBy"].is_string() &&
      !filter["createdBy"].get<std::string>().empty()) {
    absl::Time by;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, filter["createdBy"].get<std::string>(), &by, &err)) {
      return absl::InvalidArgumentError("filter.createdBy: must be an RFC 3339 time");
    }
    if (created <= by) return false;
  }
  if (filter.value("afterStart", false) &&
      created < absl::FromUnixSeconds(absl::ToUnixSeconds(start))) {
    return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Listener>> StartResource(std::unique_ptr<Emitter> emitter) {
  const EventSpec& spec = emitter->spec();
  if (emitter->ctx().cluster == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(spec.path(), ": no cluster to watch in this process"));
  }
  absl::StatusOr<std::string> resource = StringField(spec, "resource", true);
  if (!resource.ok()) return resource.status();
  absl::StatusOr<std::string> version = StringField(spec, "version", true);
  if (!version.ok()) return version.status();
  absl::StatusOr<std::string> group = StringField(spec, "group", false);
  if (!group.ok()) return group.status();
  absl::StatusOr<std::string> ns = StringField(spec, "namespace", false);
  if (!ns.ok()) return ns.status();
  const resource::KindInfo* kind = resource::FindKind(*resource);
  if (kind == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".resource: unknown resource \"", *resource, "\""));
  }
  const std::string want_api = group->empty() ? *version : *group + "/" + *version;
  if (kind->api_version != want_api) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ": ", *resource, " is served as ",
                                                   kind->api_version, ", not ", want_api));
  }
  std::vector<std::string> types;
  if (spec.config.contains("eventTypes") && !spec.config["eventTypes"].is_null()) {
    const json& t = spec.config["eventTypes"];
    if (!t.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".eventTypes: must be a list"));
    }
    for (size_t i = 0; i < t.size(); ++i) {
      const std::string v = t[i].is_string() ? t[i].get<std::string>() : "";
      if (v != "ADD" && v != "UPDATE" && v != "DELETE") {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.path(), ".eventTypes[", i, "]: must be ADD, UPDATE or DELETE"));
      }
      types.push_back(v);
    }
  }
  const json filter = spec.config.value("filter", json());
  const absl::Time start = emitter->Now();
  // Validate the filter once, on an empty object, so a typo fails Start.
  if (absl::StatusOr<bool> ok = ResourcePassesFilter(filter, json::object(), start); !ok.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".", ok.status().message()));
  }
  absl::StatusOr<std::unique_ptr<cluster::Watch>> watch =
      emitter->ctx().cluster->WatchObjects(kind->kind, kind->namespaced ? *ns : "", "", "");
  if (!watch.ok()) {
    return absl::Status(watch.status().code(),
                        absl::StrCat(spec.path(), ": watch: ", watch.status().message()));
  }
  auto listener = std::make_unique<ResourceListener>(std::move(emitter), std::move(*watch),
                                                     kind->kind, kind->namespaced ? *ns : "",
                                                     std::move(types), filter, start);
  listener->SetListening(absl::StrCat("watching ", kind->plural));
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
