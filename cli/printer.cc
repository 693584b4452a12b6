#include "cli/printer.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/manifest/yaml.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;

// The string at a dotted path, or "" when absent or not a scalar.
std::string At(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_number() || cur->is_boolean()) return cur->dump();
  return "";
}

struct Column {
  std::string header;
  std::function<std::string(const json&)> value;
  bool wide_only = false;
};

std::string Count(const json& o, std::initializer_list<const char*> path) {
  std::string v = At(o, path);
  return v.empty() ? std::string("0") : v;
}

size_t Size(const json& o, const char* field) {
  return o.is_object() && o.contains(field) && o[field].is_object() ? o[field].size() : 0;
}

// kubectl's STATUS column: a waiting or terminated reason says more than
// the phase (CrashLoopBackOff, Completed, Error).
std::string PodStatus(const json& pod) {
  if (!At(pod, {"metadata", "deletionTimestamp"}).empty()) return "Terminating";
  std::string reason;
  if (pod.contains("status") && pod["status"].contains("containerStatuses")) {
    for (const json& cs : pod["status"]["containerStatuses"]) {
      std::string r = At(cs, {"state", "waiting", "reason"});
      if (r.empty()) r = At(cs, {"state", "terminated", "reason"});
      if (!r.empty() && r != "ContainerCreating") reason = r;
    }
  }
  if (!reason.empty()) return reason;
  std::string phase = At(pod, {"status", "phase"});
  return phase.empty() ? std::string("Pending") : phase;
}

std::string PodReady(const json& pod) {
  int total = 0, ready = 0;
  if (pod.contains("spec") && pod["spec"].contains("containers")) {
    total = static_cast<int>(pod["spec"]["containers"].size());
  }
  if (pod.contains("status") && pod["status"].contains("containerStatuses")) {
    for (const json& cs : pod["status"]["containerStatuses"]) {
      if (cs.value("ready", false)) ++ready;
    }
  }
  return absl::StrCat(ready, "/", total);
}

std::string PodRestarts(const json& pod) {
  int64_t n = 0;
  if (pod.contains("status") && pod["status"].contains("containerStatuses")) {
    for (const json& cs : pod["status"]["containerStatuses"]) {
      if (cs.contains("restartCount") && cs["restartCount"].is_number_integer()) {
        n += cs["restartCount"].get<int64_t>();
      }
    }
  }
  return absl::StrCat(n);
}

std::string ServicePorts(const json& svc) {
  std::vector<std::string> parts;
  if (!svc.contains("spec") || !svc["spec"].contains("ports")) return "<none>";
  const json* lb = nullptr;
  if (svc.contains("status") && svc["status"].contains("loadBalancer") &&
      svc["status"]["loadBalancer"].contains("ingress") &&
      !svc["status"]["loadBalancer"]["ingress"].empty()) {
    lb = &svc["status"]["loadBalancer"]["ingress"][0];
  }
  size_t i = 0;
  for (const json& p : svc["spec"]["ports"]) {
    std::string local;
    if (lb != nullptr && lb->contains("ports") && i < (*lb)["ports"].size()) {
      local = At((*lb)["ports"][i], {"port"});
    }
    std::string proto = At(p, {"protocol"});
    parts.push_back(absl::StrCat(At(p, {"port"}), local.empty() ? "" : ":", local, "/",
                                 proto.empty() ? "TCP" : proto));
    ++i;
  }
  return absl::StrJoin(parts, ",");
}

std::vector<Column> KubeColumns(const resource::KindInfo& kind) {
  if (kind.kind == "Pod") {
    return {{"READY", PodReady},
            {"STATUS", PodStatus},
            {"RESTARTS", PodRestarts},
            {"IP",
             [](const json& o) {
               return At(o, {"status", "podIP"});
             },
             true}};
  }
  if (kind.kind == "Deployment") {
    return {{"READY",
             [](const json& o) {
               return absl::StrCat(Count(o, {"status", "readyReplicas"}), "/",
                                   Count(o, {"spec", "replicas"}));
             }},
            {"UP-TO-DATE",
             [](const json& o) {
               return Count(o, {"status", "updatedReplicas"});
             }},
            {"AVAILABLE", [](const json& o) {
               return Count(o, {"status", "availableReplicas"});
             }}};
  }
  if (kind.kind == "ReplicaSet") {
    return {{"DESIRED",
             [](const json& o) {
               return Count(o, {"spec", "replicas"});
             }},
            {"CURRENT",
             [](const json& o) {
               return Count(o, {"status", "replicas"});
             }},
            {"READY", [](const json& o) {
               return Count(o, {"status", "readyReplicas"});
             }}};
  }
  if (kind.kind == "Service") {
    return {{"TYPE",
             [](const json& o) {
               std::string t = At(o, {"spec", "type"});
               return t.empty() ? std::string("ClusterIP") : t;
             }},
            {"EXTERNAL-IP",
             [](const json& o) {
               if (!o.contains("status") || !o["status"].contains("loadBalancer") ||
                   !o["status"]["loadBalancer"].contains("ingress") ||
                   o["status"]["loadBalancer"]["ingress"].empty()) {
                 return std::string("<pending>");
               }
               return At(o["status"]["loadBalancer"]["ingress"][0], {"ip"});
             }},
            {"PORT(S)", ServicePorts}};
  }
  if (kind.kind == "Job") {
    return {{"COMPLETIONS", [](const json& o) {
               std::string c = At(o, {"spec", "completions"});
               return absl::StrCat(Count(o, {"status", "succeeded"}), "/", c.empty() ? "1" : c);
             }}};
  }
  if (kind.kind == "ConfigMap") {
    return {{"DATA", [](const json& o) { return absl::StrCat(Size(o, "data")); }}};
  }
  if (kind.kind == "Secret") {
    return {{"TYPE",
             [](const json& o) {
               std::string t = At(o, {"type"});
               return t.empty() ? std::string("Opaque") : t;
             }},
            {"DATA",
             [](const json& o) { return absl::StrCat(Size(o, "data") + Size(o, "stringData")); }}};
  }
  if (kind.kind == "Namespace") {
    return {{"STATUS", [](const json& o) {
               std::string p = At(o, {"status", "phase"});
               return p.empty() ? std::string("Active") : p;
             }}};
  }
  return {};
}

std::vector<Column> ColumnsFor(const resource::KindInfo& kind, absl::Time now) {
  auto age = [now](const json& o) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, At(o, {"metadata", "creationTimestamp"}), &t, &err)) {
      return std::string("<unknown>");
    }
    return FormatAge(t, now);
  };
  std::vector<Column> cols = {{"NAME", [](const json& o) { return At(o, {"metadata", "name"}); }}};
  if (kind.kind == "Workflow") {
    cols.push_back({"STATUS", [](const json& o) {
                      std::string p = At(o, {"status", "phase"});
                      return p.empty() ? std::string("Pending") : p;
                    }});
    cols.push_back({"AGE", age});
    cols.push_back({"PROGRESS", [](const json& o) { return At(o, {"status", "progress"}); }, true});
    cols.push_back({"MESSAGE", [](const json& o) { return At(o, {"status", "message"}); }});
    return cols;
  }
  if (kind.kind == "CronWorkflow") {
    cols.push_back({"SCHEDULE", [](const json& o) {
                      std::string s = At(o, {"spec", "schedule"});
                      if (s.empty() && o.contains("spec") && o["spec"].contains("schedules")) {
                        std::vector<std::string> all;
                        for (const auto& x : o["spec"]["schedules"]) {
                          if (x.is_string()) all.push_back(x.get<std::string>());
                        }
                        s = absl::StrJoin(all, ",");
                      }
                      return s;
                    }});
    cols.push_back({"SUSPENDED", [](const json& o) {
                      std::string s = At(o, {"spec", "suspend"});
                      return s.empty() ? std::string("false") : s;
                    }});
    cols.push_back({"AGE", age});
    return cols;
  }
  if (kind.kind == "Rollout") {
    cols.push_back({"DESIRED", [](const json& o) {
                      std::string r = At(o, {"spec", "replicas"});
                      return r.empty() ? std::string("1") : r;
                    }});
    cols.push_back({"AVAILABLE", [](const json& o) {
                      std::string r = At(o, {"status", "availableReplicas"});
                      return r.empty() ? std::string("0") : r;
                    }});
    cols.push_back({"AGE", age});
    return cols;
  }
  if (kind.kind == "AnalysisRun" || kind.kind == "Experiment") {
    // The CRDs' printer columns.
    cols.push_back({"STATUS", [](const json& o) { return At(o, {"status", "phase"}); }});
    cols.push_back({"AGE", age});
    return cols;
  }
  if (kind.kind == "Application") {
    cols.push_back({"SYNC STATUS", [](const json& o) {
                      return At(o, {"status", "sync", "status"});
                    }});
    cols.push_back({"HEALTH STATUS", [](const json& o) {
                      return At(o, {"status", "health", "status"});
                    }});
    cols.push_back({"AGE", age});
    return cols;
  }
  if (kind.service == "cluster") {
    for (Column& c : KubeColumns(kind)) cols.push_back(std::move(c));
  }
  cols.push_back({"AGE", age});
  return cols;
}

}  // namespace

std::string FormatAge(absl::Time created, absl::Time now) {
  int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(now - created));
  if (s < 120) return absl::StrCat(s, "s");
  if (s < 3600 * 2) return absl::StrCat(s / 60, "m");
  if (s < 86400 * 2) return absl::StrCat(s / 3600, "h");
  return absl::StrCat(s / 86400, "d");
}

std::string KindWithGroup(const resource::KindInfo& kind) {
  const std::string lower = absl::AsciiStrToLower(kind.kind);
  const size_t slash = kind.api_version.find('/');
  if (slash == std::string::npos) return lower;  // core kinds have no group
  return absl::StrCat(lower, ".", kind.api_version.substr(0, slash));
}

std::string QualifiedName(const resource::KindInfo& kind, const std::string& name) {
  return absl::StrCat(KindWithGroup(kind), "/", name);
}

std::string FormatTable(const resource::KindInfo& kind, const std::vector<json>& items,
                        bool all_namespaces, bool wide, absl::Time now) {
  std::vector<Column> cols;
  if (all_namespaces && kind.namespaced) {
    cols.push_back({"NAMESPACE", [](const json& o) { return At(o, {"metadata", "namespace"}); }});
  }
  for (Column& c : ColumnsFor(kind, now)) {
    if (!c.wide_only || wide) cols.push_back(std::move(c));
  }
  if (wide) {
    cols.push_back({"LABELS", [](const json& o) {
                      std::vector<std::string> parts;
                      if (o.contains("metadata") && o["metadata"].contains("labels")) {
                        for (const auto& [k, v] : o["metadata"]["labels"].items()) {
                          parts.push_back(absl::StrCat(
                              k, "=", v.is_string() ? v.get<std::string>() : v.dump()));
                        }
                      }
                      return parts.empty() ? std::string("<none>") : absl::StrJoin(parts, ",");
                    }});
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> width(cols.size());
  rows.emplace_back();
  for (size_t i = 0; i < cols.size(); ++i) rows.back().push_back(cols[i].header);
  for (const json& item : items) {
    rows.emplace_back();
    for (const Column& c : cols) rows.back().push_back(c.value(item));
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

absl::StatusOr<std::string> FormatObjects(const resource::KindInfo& kind,
                                          const std::vector<json>& items, bool is_list,
                                          const std::string& format, bool all_namespaces,
                                          absl::Time now) {
  if (format.empty() || format == "wide") {
    if (items.empty()) return std::string("No resources found.\n");
    return FormatTable(kind, items, all_namespaces, format == "wide", now);
  }
  if (format == "name") {
    std::string out;
    for (const json& o : items) out += QualifiedName(kind, At(o, {"metadata", "name"})) + "\n";
    return out;
  }
  json doc;
  if (is_list) {
    doc = {{"apiVersion", "v1"},
           {"kind", "List"},
           {"metadata", {{"resourceVersion", ""}}},
           {"items", items}};
  } else {
    doc = items.empty() ? json::object() : items.front();
  }
  if (format == "json") return manifest::ToJsonText(doc, /*pretty=*/true) + "\n";
  if (format == "yaml") return manifest::ToYaml(doc);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown output format \"", format, "\" (use yaml, json, wide or name)"));
}

}  // namespace argonaut::cli
