#include "cli/rollout_printer.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/printer.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;

constexpr char kIconRollout[] = "⟳";
constexpr char kIconRevision[] = "#";
constexpr char kIconReplicaSet[] = "⧉";
constexpr char kIconPod[] = "□";
constexpr char kIconJob[] = "⊞";
constexpr char kIconExperiment[] = "Σ";
constexpr char kIconAnalysis[] = "α";
constexpr char kIconOk[] = "✔";
constexpr char kIconBad[] = "✖";
constexpr char kIconUnknown[] = "?";
constexpr char kIconWarning[] = "⚠";

std::string Str(const json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  if (it == o.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return absl::StrCat(it->get<int64_t>());
  return "";
}

int64_t Int(const json& o, const char* key) {
  if (!o.is_object()) return 0;
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number()) return static_cast<int64_t>(it->get<double>());
  int64_t v = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return 0;
}

bool Bool(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_boolean() && o[key].get<bool>();
}

const json& Arr(const json& o, const char* key) {
  static const json* const kEmpty = new json(json::array());
  if (!o.is_object()) return *kEmpty;
  auto it = o.find(key);
  return it != o.end() && it->is_array() ? *it : *kEmpty;
}

const json& Meta(const json& o) {
  static const json* const kEmpty = new json(json::object());
  if (!o.is_object()) return *kEmpty;
  auto it = o.find("objectMeta");
  return it != o.end() && it->is_object() ? *it : *kEmpty;
}

std::string Age(const std::string& timestamp, absl::Time now) {
  absl::Time t;
  std::string err;
  if (timestamp.empty() || !absl::ParseTime(absl::RFC3339_full, timestamp, &t, &err)) return "";
  return FormatAge(t, now);
}

// Display width: one column per code point (the tree's lines and icons are all narrow).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Go's tabwriter with padding 2: every column but the last as wide as its widest cell plus two.
std::string Tabulate(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] + 2 - Width(row[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::pair<std::string, std::string> Prefixes(bool last, const std::string& sub) {
  return last ? std::make_pair(sub + "└──", sub + "   ") : std::make_pair(sub + "├──", sub + "│  ");
}

using Rows = std::vector<std::vector<std::string>>;

void ReplicaSetRows(const json& rs, const std::string& prefix, const std::string& sub,
                    absl::Time now, Rows& rows) {
  std::vector<std::string> tags;
  for (const char* tag : {"stable", "canary", "active", "preview"}) {
    if (Bool(rs, tag)) tags.push_back(tag);
  }
  if (!Str(rs, "scaleDownDeadline").empty()) {
    absl::Time deadline;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, Str(rs, "scaleDownDeadline"), &deadline, &err)) {
      const int64_t left = absl::ToInt64Seconds(deadline - now);
      tags.push_back(left > 0 ? absl::StrCat("delay:", left, "s") : "delay:passed");
    }
  }
  rows.push_back({absl::StrCat(prefix, kIconReplicaSet, " ", Str(Meta(rs), "name")), "ReplicaSet",
                  absl::StrCat(Str(rs, "icon"), " ", Str(rs, "status")),
                  Age(Str(Meta(rs), "creationTimestamp"), now), absl::StrJoin(tags, ",")});
  const json& pods = Arr(rs, "pods");
  for (size_t i = 0; i < pods.size(); ++i) {
    const json& pod = pods[i];
    std::string info = absl::StrCat("ready:", Str(pod, "ready"));
    if (Int(pod, "restarts") > 0) absl::StrAppend(&info, ",restarts:", Int(pod, "restarts"));
    rows.push_back({absl::StrCat(Prefixes(i + 1 == pods.size(), sub).first, kIconPod, " ",
                                 Str(Meta(pod), "name")),
                    "Pod", absl::StrCat(Str(pod, "icon"), " ", Str(pod, "status")),
                    Age(Str(Meta(pod), "creationTimestamp"), now), info});
  }
}

void AnalysisRunRows(const json& run, const std::string& prefix, const std::string& sub,
                     absl::Time now, Rows& rows) {
  std::vector<std::string> counts;
  if (Int(run, "successful") > 0)
    counts.push_back(absl::StrCat(kIconOk, " ", Int(run, "successful")));
  if (Int(run, "failed") > 0) counts.push_back(absl::StrCat(kIconBad, " ", Int(run, "failed")));
  if (Int(run, "inconclusive") > 0) {
    counts.push_back(absl::StrCat(kIconUnknown, " ", Int(run, "inconclusive")));
  }
  if (Int(run, "error") > 0) counts.push_back(absl::StrCat(kIconWarning, " ", Int(run, "error")));
  rows.push_back({absl::StrCat(prefix, kIconAnalysis, " ", Str(Meta(run), "name")), "AnalysisRun",
                  absl::StrCat(Str(run, "icon"), " ", Str(run, "status")),
                  Age(Str(Meta(run), "creationTimestamp"), now), absl::StrJoin(counts, ",")});
  const json& jobs = Arr(run, "jobs");
  for (size_t i = 0; i < jobs.size(); ++i) {
    const json& job = jobs[i];
    rows.push_back({absl::StrCat(Prefixes(i + 1 == jobs.size(), sub).first, kIconJob, " ",
                                 Str(Meta(job), "name")),
                    "Job", absl::StrCat(Str(job, "icon"), " ", Str(job, "status")),
                    Age(Str(job, "startedAt"), now), ""});
  }
}

void ExperimentRows(const json& ex, const std::string& prefix, const std::string& sub,
                    absl::Time now, Rows& rows) {
  rows.push_back({absl::StrCat(prefix, kIconExperiment, " ", Str(Meta(ex), "name")), "Experiment",
                  absl::StrCat(Str(ex, "icon"), " ", Str(ex, "status")),
                  Age(Str(Meta(ex), "creationTimestamp"), now), ""});
  const json& rss = Arr(ex, "replicaSets");
  const json& runs = Arr(ex, "analysisRuns");
  const size_t total = rss.size() + runs.size();
  size_t n = 0;
  for (const json& rs : rss) {
    auto [p, s] = Prefixes(++n == total, sub);
    ReplicaSetRows(rs, p, s, now, rows);
  }
  for (const json& run : runs) {
    auto [p, s] = Prefixes(++n == total, sub);
    AnalysisRunRows(run, p, s, now, rows);
  }
}

std::string Line(const std::string& label, const std::string& value) {
  std::string l = label;
  if (Width(l) < 17) l += std::string(17 - Width(l), ' ');
  return l + value + "\n";
}

}  // namespace

std::string RolloutStatusLine(const json& info) {
  const std::string status = Str(info, "status");
  const std::string message = Str(info, "message");
  return message.empty() ? status : absl::StrCat(status, " - ", message);
}

std::string FormatRolloutInfo(const json& info, absl::Time now) {
  std::string out;
  out += Line("Name:", Str(Meta(info), "name"));
  out += Line("Namespace:", Str(Meta(info), "namespace"));
  out += Line("Status:", absl::StrCat(Str(info, "icon"), " ", Str(info, "status")));
  if (!Str(info, "message").empty()) out += Line("Message:", Str(info, "message"));
  out += Line("Strategy:", Str(info, "strategy"));
  if (Str(info, "strategy") == "Canary") {
    out += Line("  Step:", Str(info, "step"));
    out += Line("  SetWeight:", Str(info, "setWeight"));
    out += Line("  ActualWeight:", Str(info, "actualWeight"));
  }
  // Images of the ReplicaSets that run pods, with the roles they play.
  std::vector<std::pair<std::string, std::vector<std::string>>> images;
  for (const json& rs : Arr(info, "replicaSets")) {
    if (Int(rs, "replicas") <= 0) continue;
    for (const json& image : Arr(rs, "images")) {
      if (!image.is_string()) continue;
      auto it = std::find_if(images.begin(), images.end(),
                             [&](const auto& e) { return e.first == image.get<std::string>(); });
      if (it == images.end()) {
        images.push_back({image.get<std::string>(), {}});
        it = images.end() - 1;
      }
      for (const char* tag : {"canary", "stable", "active", "preview"}) {
        if (Bool(rs, tag) &&
            std::find(it->second.begin(), it->second.end(), tag) == it->second.end()) {
          it->second.push_back(tag);
        }
      }
    }
  }
  for (size_t i = 0; i < images.size(); ++i) {
    std::string text = images[i].first;
    if (!images[i].second.empty()) {
      absl::StrAppend(&text, " (", absl::StrJoin(images[i].second, ", "), ")");
    }
    out += Line(i == 0 ? "Images:" : "", text);
  }
  out += "Replicas:\n";
  out += Line("  Desired:", absl::StrCat(Int(info, "desired")));
  out += Line("  Current:", absl::StrCat(Int(info, "current")));
  out += Line("  Updated:", absl::StrCat(Int(info, "updated")));
  out += Line("  Ready:", absl::StrCat(Int(info, "ready")));
  out += Line("  Available:", absl::StrCat(Int(info, "available")));
  out += "\n";

  Rows rows = {{"NAME", "KIND", "STATUS", "AGE", "INFO"}};
  rows.push_back({absl::StrCat(kIconRollout, " ", Str(Meta(info), "name")), "Rollout",
                  absl::StrCat(Str(info, "icon"), " ", Str(info, "status")),
                  Age(Str(Meta(info), "creationTimestamp"), now), ""});
  std::set<int64_t, std::greater<>> revisions;
  for (const char* list : {"replicaSets", "experiments", "analysisRuns"}) {
    for (const json& item : Arr(info, list)) revisions.insert(Int(item, "revision"));
  }
  size_t r = 0;
  for (int64_t revision : revisions) {
    auto [prefix, sub] = Prefixes(++r == revisions.size(), "");
    rows.push_back({absl::StrCat(prefix, kIconRevision, " revision:", revision), "", "", "", ""});
    std::vector<std::pair<const char*, const json*>> children;
    for (const char* list : {"replicaSets", "experiments", "analysisRuns"}) {
      for (const json& item : Arr(info, list)) {
        if (Int(item, "revision") == revision) children.push_back({list, &item});
      }
    }
    for (size_t i = 0; i < children.size(); ++i) {
      auto [p, s] = Prefixes(i + 1 == children.size(), sub);
      const std::string list = children[i].first;
      if (list == "replicaSets") ReplicaSetRows(*children[i].second, p, s, now, rows);
      if (list == "experiments") ExperimentRows(*children[i].second, p, s, now, rows);
      if (list == "analysisRuns") AnalysisRunRows(*children[i].second, p, s, now, rows);
    }
  }
  return out + Tabulate(rows);
}

std::string FormatRolloutList(const std::vector<json>& infos, bool all_namespaces) {
  Rows rows;
  std::vector<std::string> header = {"NAME",  "STRATEGY", "STATUS",     "STEP",     "SET-WEIGHT",
                                     "READY", "DESIRED",  "UP-TO-DATE", "AVAILABLE"};
  if (all_namespaces) header.insert(header.begin(), "NAMESPACE");
  rows.push_back(header);
  for (const json& info : infos) {
    const bool canary = Str(info, "strategy") == "Canary";
    std::vector<std::string> row = {Str(Meta(info), "name"),
                                    Str(info, "strategy"),
                                    Str(info, "status"),
                                    Str(info, "step").empty() ? "-" : Str(info, "step"),
                                    canary ? Str(info, "setWeight") : "-",
                                    absl::StrCat(Int(info, "ready"), "/", Int(info, "desired")),
                                    absl::StrCat(Int(info, "desired")),
                                    absl::StrCat(Int(info, "updated")),
                                    absl::StrCat(Int(info, "available"))};
    if (all_namespaces) row.insert(row.begin(), Str(Meta(info), "namespace"));
    rows.push_back(std::move(row));
  }
  return Tabulate(rows);
}

}  // namespace argonaut::cli
