#include "cli/cd_printer.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;

const json& F(const json& obj, const char* key) {
  static const json* const kNull = new json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it != obj.end() ? *it : *kNull;
}

std::string S(const json& obj, const char* key) {
  const json& v = F(obj, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return "";
}

std::string Or(const std::string& s, const std::string& fallback) {
  return s.empty() ? fallback : s;
}

// "%-20s%s\n", the argocd CLI's summary line.
std::string Line(const std::string& label, const std::string& value, size_t width = 20) {
  std::string out = label;
  if (out.size() < width) out.append(width - out.size(), ' ');
  return absl::StrCat(out, value, "\n");
}

const json& Spec(const json& app) { return F(app, "spec"); }
const json& Status(const json& app) { return F(app, "status"); }

const json& Source(const json& app) {
  const json& src = F(Spec(app), "source");
  if (src.is_object()) return src;
  const json& sources = F(Spec(app), "sources");
  if (sources.is_array() && !sources.empty()) return sources[0];
  return src;
}

std::string QualifiedName(const json& app) {
  const std::string ns = S(F(app, "metadata"), "namespace");
  const std::string name = S(F(app, "metadata"), "name");
  return ns.empty() ? name : absl::StrCat(ns, "/", name);
}

std::string DestServer(const json& app) {
  const json& dest = F(Spec(app), "destination");
  return Or(S(dest, "server"), S(dest, "name"));
}

std::string Short(const std::string& sha) { return sha.substr(0, std::min<size_t>(7, sha.size())); }

// Go's time.Time String() for a UTC RFC 3339 stamp.
std::string GoTime(const std::string& rfc3339) {
  absl::Time t;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &t, nullptr)) return rfc3339;
  return absl::FormatTime("%Y-%m-%d %H:%M:%S +0000 UTC", t, absl::UTCTimeZone());
}

std::string GoDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t secs = absl::ToInt64Seconds(d);
  if (secs < 60) return absl::StrCat(secs, "s");
  if (secs < 3600) return absl::StrCat(secs / 60, "m", secs % 60, "s");
  return absl::StrCat(secs / 3600, "h", (secs % 3600) / 60, "m", secs % 60, "s");
}

std::string GroupKind(const json& r) {
  const std::string group = S(r, "group");
  return group.empty() ? S(r, "kind") : absl::StrCat(group, "/", S(r, "kind"));
}

std::string ToYamlText(const std::string& json_text) {
  if (json_text.empty() || json_text == "null") return "";
  absl::StatusOr<json> obj = manifest::ParseJsonText(json_text);
  if (!obj.ok() || obj->is_null()) return "";
  return manifest::ToYaml(*obj);
}

}  // namespace

std::string FormatColumns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] + 2 - row[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

std::string SyncStatusText(const json& app) {
  const json& sync = F(Status(app), "sync");
  std::string status = Or(S(sync, "status"), "Unknown");
  std::string out = status;
  if (status == "Synced") out += " to ";
  if (status == "OutOfSync") out += " from ";
  if (status != "Synced" && status != "OutOfSync") out += " ";
  out += Or(S(Source(app), "targetRevision"), "HEAD");
  const std::string revision = S(sync, "revision");
  if (!revision.empty()) out += absl::StrCat(" (", Short(revision), ")");
  return out;
}

std::string FormatAppSummary(const json& app, const std::string& server_url) {
  const json& spec = Spec(app);
  const json& src = Source(app);
  std::string policy = "Manual";
  const json& automated = F(F(spec, "syncPolicy"), "automated");
  if (automated.is_object()) {
    policy = "Automated";
    if (F(automated, "prune") == json(true)) policy += " (Prune)";
  }
  std::string health = Or(S(F(Status(app), "health"), "status"), "Unknown");
  const std::string health_message = S(F(Status(app), "health"), "message");
  if (!health_message.empty()) health += absl::StrCat(" (", health_message, ")");
  std::string out;
  out += Line("Name:", QualifiedName(app));
  out += Line("Project:", Or(S(spec, "project"), "default"));
  out += Line("Server:", DestServer(app));
  out += Line("Namespace:", S(F(spec, "destination"), "namespace"));
  out += Line("URL:", absl::StrCat(server_url, "/applications/", S(F(app, "metadata"), "name")));
  out += Line("Repo:", S(src, "repoURL"));
  out += Line("Target:", S(src, "targetRevision"));
  out += Line("Path:", S(src, "path"));
  out += Line("SyncWindow:", "Sync Allowed");
  out += Line("Sync Policy:", policy);
  out += Line("Sync Status:", SyncStatusText(app));
  out += Line("Health Status:", health);
  return out;
}

std::string FormatOperationState(const json& app) {
  const json& op = F(Status(app), "operationState");
  if (!op.is_object()) return "";
  std::string out;
  out += Line("Operation:", "Sync");
  const json& sync_result = F(op, "syncResult");
  out += Line("Sync Revision:",
              Or(S(sync_result, "revision"), S(F(F(op, "operation"), "sync"), "revision")));
  out += Line("Phase:", S(op, "phase"));
  out += Line("Start:", GoTime(S(op, "startedAt")));
  out += Line("Finished:", GoTime(S(op, "finishedAt")));
  absl::Time start, end;
  if (absl::ParseTime(absl::RFC3339_full, S(op, "startedAt"), &start, nullptr) &&
      absl::ParseTime(absl::RFC3339_full, S(op, "finishedAt"), &end, nullptr)) {
    out += Line("Duration:", GoDuration(end - start));
  }
  out += Line("Message:", S(op, "message"));
  return out;
}

std::string FormatAppResources(const json& app) {
  std::vector<std::vector<std::string>> rows = {
      {"GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"}};
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, size_t> index;
  const json& resources = F(Status(app), "resources");
  if (resources.is_array()) {
    for (const json& r : resources) {
      index[{S(r, "group"), S(r, "kind"), S(r, "namespace"), S(r, "name")}] = rows.size();
      rows.push_back({S(r, "group"), S(r, "kind"), S(r, "namespace"), S(r, "name"), S(r, "status"),
                      S(F(r, "health"), "status"), "", ""});
    }
  }
  const json& results = F(F(F(Status(app), "operationState"), "syncResult"), "resources");
  if (results.is_array()) {
    for (const json& r : results) {
      const Key key{S(r, "group"), S(r, "kind"), S(r, "namespace"), S(r, "name")};
      if (S(r, "hookType").empty()) {
        auto it = index.find(key);
        if (it != index.end()) rows[it->second][7] = S(r, "message");
        continue;
      }
      rows.push_back({S(r, "group"), S(r, "kind"), S(r, "namespace"), S(r, "name"),
                      S(r, "hookPhase"), "", S(r, "hookType"), S(r, "message")});
    }
  }
  return FormatColumns(rows);
}

std::string FormatApp(const json& app, const std::string& server_url) {
  std::string out = FormatAppSummary(app, server_url);
  const json& conditions = F(Status(app), "conditions");
  if (conditions.is_array() && !conditions.empty()) {
    std::vector<std::vector<std::string>> rows = {{"CONDITION", "MESSAGE", "LAST TRANSITION"}};
    for (const json& c : conditions) {
      rows.push_back({S(c, "type"), S(c, "message"), GoTime(S(c, "lastTransitionTime"))});
    }
    out += "\n" + FormatColumns(rows);
  }
  const std::string op = FormatOperationState(app);
  if (!op.empty()) out += "\n" + op;
  out += "\n" + FormatAppResources(app);
  return out;
}

std::string FormatAppList(const std::vector<json>& apps) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "CLUSTER", "NAMESPACE", "PROJECT",
                                                 "STATUS", "HEALTH", "SYNCPOLICY", "CONDITIONS",
                                                 "REPO", "PATH", "TARGET"}};
  for (const json& app : apps) {
    std::string policy = "Manual";
    const json& automated = F(F(Spec(app), "syncPolicy"), "automated");
    if (automated.is_object()) {
      policy = "Auto";
      if (F(automated, "prune") == json(true)) policy += "-Prune";
    }
    std::map<std::string, int> counts;
    const json& conditions = F(Status(app), "conditions");
    if (conditions.is_array()) {
      for (const json& c : conditions) ++counts[S(c, "type")];
    }
    std::vector<std::string> parts;
    for (const auto& [type, n] : counts) parts.push_back(absl::StrCat(type, "(", n, ")"));
    rows.push_back(
        {QualifiedName(app), DestServer(app), S(F(Spec(app), "destination"), "namespace"),
         Or(S(Spec(app), "project"), "default"), Or(S(F(Status(app), "sync"), "status"), "Unknown"),
         Or(S(F(Status(app), "health"), "status"), "Unknown"), policy,
         parts.empty() ? "<none>" : absl::StrJoin(parts, ","), S(Source(app), "repoURL"),
         S(Source(app), "path"), S(Source(app), "targetRevision")});
  }
  return FormatColumns(rows);
}

std::string FormatHistory(const json& app) {
  // Entries grouped by the repository they were deployed from, in history order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::vector<std::string>>> by_source;
  const json& history = F(Status(app), "history");
  if (history.is_array()) {
    for (const json& h : history) {
      const json& src =
          F(h, "source").is_object()
              ? F(h, "source")
              : (F(h, "sources").is_array() && !h["sources"].empty() ? h["sources"][0]
                                                                     : F(h, "source"));
      const std::string repo = S(src, "repoURL");
      if (by_source.count(repo) == 0) order.push_back(repo);
      const std::string revision = S(h, "revision");
      by_source[repo].push_back(
          {S(h, "id"), GoTime(S(h, "deployedAt")),
           absl::StrCat(Or(S(src, "targetRevision"), "HEAD"), " (", Short(revision), ")")});
    }
  }
  std::string out;
  for (const std::string& repo : order) {
    if (!out.empty()) out += "\n";
    out += absl::StrCat("SOURCE  ", repo, "\n");
    std::vector<std::vector<std::string>> rows = {{"ID", "DATE", "REVISION"}};
    for (auto& row : by_source[repo]) rows.push_back(row);
    out += FormatColumns(rows);
  }
  if (out.empty()) out = FormatColumns({{"ID", "DATE", "REVISION"}});
  return out;
}

std::string FormatResourceList(const json& app) {
  std::vector<std::vector<std::string>> rows = {{"GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"}};
  const json& resources = F(Status(app), "resources");
  if (resources.is_array()) {
    for (const json& r : resources) {
      rows.push_back({S(r, "group"), S(r, "kind"), S(r, "namespace"), S(r, "name"), "No"});
    }
  }
  return FormatColumns(rows);
}

std::string UnifiedDiff(const std::string& from, const std::string& to,
                        const std::string& from_name, const std::string& to_name) {
  if (from == to) return "";
  std::vector<std::string> a = absl::StrSplit(from, '\n');
  std::vector<std::string> b = absl::StrSplit(to, '\n');
  if (!a.empty() && a.back().empty()) a.pop_back();
  if (!b.empty() && b.back().empty()) b.pop_back();
  const size_t n = a.size(), m = b.size();
  // Longest common subsequence table, then a walk that yields ' ', '-', '+' lines.
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  struct Op {
    char kind;
    size_t ai, bi;  // positions in a and b before this line
  };
  std::vector<Op> ops;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back({' ', i++, j++});
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push_back({'-', i++, j});  // removals first, as diff -u writes them
    } else {
      ops.push_back({'+', i, j++});
    }
  }
  constexpr size_t kContext = 3;
  std::string out = absl::StrCat("--- ", from_name, "\n+++ ", to_name, "\n");
  size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].kind == ' ') {
      ++k;
      continue;
    }
    // A hunk: from kContext before this change to kContext after the last change that is at
    // most 2*kContext unchanged lines away.
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    for (size_t p = k; p < ops.size(); ++p) {
      if (ops[p].kind != ' ') {
        end = p;
      } else if (p - end > 2 * kContext) {
        break;
      }
    }
    end = std::min(ops.size(), end + kContext + 1);
    size_t a_count = 0, b_count = 0;
    for (size_t p = start; p < end; ++p) {
      if (ops[p].kind != '+') ++a_count;
      if (ops[p].kind != '-') ++b_count;
    }
    const size_t a_start = a_count == 0 ? ops[start].ai : ops[start].ai + 1;
    const size_t b_start = b_count == 0 ? ops[start].bi : ops[start].bi + 1;
    out += absl::StrCat("@@ -", a_start, ",", a_count, " +", b_start, ",", b_count, " @@\n");
    for (size_t p = start; p < end; ++p) {
      const std::string& text = ops[p].kind == '+' ? b[ops[p].bi] : a[ops[p].ai];
      out += absl::StrCat(std::string(1, ops[p].kind), text, "\n");
    }
    k = end;
  }
  return out;
}

std::string FormatDiff(const std::vector<json>& items) {
  std::string out;
  for (const json& item : items) {
    if (F(item, "hook") == json(true)) continue;
    const std::string target = ToYamlText(S(item, "targetState"));
    std::string live = ToYamlText(S(item, "normalizedLiveState"));
    if (live.empty()) live = ToYamlText(S(item, "liveState"));
    std::string predicted = ToYamlText(S(item, "predictedLiveState"));
    if (predicted.empty()) predicted = target;
    const bool missing_one = target.empty() != live.empty();
    if (!missing_one && F(item, "modified") != json(true)) continue;
    const std::string name = absl::StrCat(S(item, "namespace"), "/", S(item, "name"));
    const std::string diff = UnifiedDiff(live, predicted, absl::StrCat(name, " (live)"),
                                         absl::StrCat(name, " (target)"));
    if (diff.empty()) continue;
    out += absl::StrCat("\n===== ", GroupKind(item), " ", name, " ======\n", diff);
  }
  return out;
}

std::string FormatRepoList(const std::vector<json>& repos) {
  std::vector<std::vector<std::string>> rows = {
      {"TYPE", "NAME", "REPO", "INSECURE", "OCI", "LFS", "CREDS", "STATUS", "MESSAGE", "PROJECT"}};
  for (const json& r : repos) {
    const bool creds = !S(r, "username").empty() || F(r, "hasCredentials") == json(true);
    rows.push_back({Or(S(r, "type"), "git"), S(r, "name"), S(r, "repo"),
                    F(r, "insecure") == json(true) ? "true" : "false",
                    F(r, "enableOCI") == json(true) ? "true" : "false",
                    F(r, "enableLfs") == json(true) ? "true" : "false", creds ? "true" : "false",
                    S(F(r, "connectionState"), "status"), S(F(r, "connectionState"), "message"),
                    S(r, "project")});
  }
  return FormatColumns(rows);
}

namespace {

std::string Destination(const json& d) {
  return absl::StrCat(Or(S(d, "server"), S(d, "name")), ",", S(d, "namespace"));
}

std::string GroupKindEntry(const json& e) { return absl::StrCat(S(e, "group"), "/", S(e, "kind")); }

// The first entry, or "<none>", and the rest on their own lines (proj get).
std::string ProjLines(const char* label, const json& list, std::string (*render)(const json&)) {
  if (!list.is_array() || list.empty()) return Line(label, "<none>", 29);
  std::string out = Line(label, render(list[0]), 29);
  for (size_t i = 1; i < list.size(); ++i) out += Line("", render(list[i]), 29);
  return out;
}

std::string Plain(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// proj list's summary of a list: "<none>", its one entry, or "N <things>".
std::string Summary(const json& list, const char* things, std::string (*render)(const json&)) {
  if (!list.is_array() || list.empty()) return "<none>";
  if (list.size() == 1) return render(list[0]);
  return absl::StrCat(list.size(), " ", things);
}

}  // namespace

std::string FormatProject(const json& project) {
  const json& spec = F(project, "spec");
  std::string out;
  out += Line("Name:", S(F(project, "metadata"), "name"), 29);
  out += Line("Description:", S(spec, "description"), 29);
  out += ProjLines("Destinations:", F(spec, "destinations"), Destination);
  out += ProjLines("Repositories:", F(spec, "sourceRepos"), Plain);
  out += Line("Scoped Repositories:", "<none>", 29);
  out +=
      ProjLines("Allowed Cluster Resources:", F(spec, "clusterResourceWhitelist"), GroupKindEntry);
  out += Line("Scoped Clusters:", "<none>", 29);
  out += ProjLines("Denied Namespaced Resources:", F(spec, "namespaceResourceBlacklist"),
                   GroupKindEntry);
  out += Line("Signature keys:", "<none>", 29);
  out += Line(
      "Orphaned Resources:", F(spec, "orphanedResources").is_object() ? "enabled" : "disabled", 29);
  return out;
}

std::string FormatProjectList(const std::vector<json>& projects) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "DESCRIPTION", "DESTINATIONS", "SOURCES", "CLUSTER-RESOURCE-WHITELIST",
       "NAMESPACE-RESOURCE-BLACKLIST", "SIGNATURE-KEYS", "ORPHANED-RESOURCES",
       "DESTINATION-SERVICE-ACCOUNTS"}};
  for (const json& p : projects) {
    const json& spec = F(p, "spec");
    rows.push_back({S(F(p, "metadata"), "name"), S(spec, "description"),
                    Summary(F(spec, "destinations"), "destinations", Destination),
                    Summary(F(spec, "sourceRepos"), "repos", Plain),
                    Summary(F(spec, "clusterResourceWhitelist"), "resources", GroupKindEntry),
                    Summary(F(spec, "namespaceResourceBlacklist"), "resources", GroupKindEntry),
                    "<none>", F(spec, "orphanedResources").is_object() ? "enabled" : "disabled",
                    "<none>"});
  }
  return FormatColumns(rows);
}

}  // namespace argonaut::cli
