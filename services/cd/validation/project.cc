// AppProject permission checks with Argo CD's semantics (app_project_types.go:
// IsSourcePermitted, isDestinationMatched, IsGroupKindPermitted), over project
// JSON so the API and the controller can call them on stored objects as they
// are.

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "services/cd/validation/glob.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::validation {
namespace {

using nlohmann::json;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Spec(const json& project) {
  static const json* empty = new json(json::object());
  if (!project.is_object()) return *empty;
  auto it = project.find("spec");
  return it != project.end() && it->is_object() ? *it : *empty;
}

std::string ProjectName(const json& project) {
  if (project.is_object()) {
    auto meta = project.find("metadata");
    if (meta != project.end()) return Str(*meta, "name");
  }
  return "";
}

// A JSON array under `key`, or nullptr when the key is absent (Argo CD tells
// an absent namespaceResourceWhitelist from an empty one).
const json* List(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_array() ? &*it : nullptr;
}

bool IsDeny(std::string_view pattern) { return !pattern.empty() && pattern.front() == '!'; }

// A pattern matched against a value, `!` meaning "does not match", `*` matching
// anything (even across separators).
bool PatternMatch(std::string_view pattern, std::string_view value, char separator) {
  if (IsDeny(pattern)) return !GlobMatch(pattern.substr(1), value, separator);
  if (pattern == "*") return true;
  return GlobMatch(pattern, value, separator);
}

bool InList(const json* list, std::string_view group, std::string_view kind) {
  if (list == nullptr) return false;
  for (const json& item : *list) {
    if (GlobMatch(Str(item, "kind"), kind) && GlobMatch(Str(item, "group"), group)) return true;
  }
  return false;
}

absl::Status NotPermitted(std::string what, const json& project) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " is not permitted in project '", ProjectName(project), "'"));
}

}  // namespace

std::string NormalizeGitUrl(std::string_view url) {
  std::string repo =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(absl::string_view(url.data(), url.size())));
  const bool ssh_scheme = absl::StartsWith(repo, "ssh://");
  // scp-style `user@host:path`: a user part without '/' or ':' and one '@'.
  bool scp = false;
  if (!ssh_scheme && !absl::StrContains(repo, "://")) {
    const size_t at = repo.find('@');
    scp = at != std::string::npos && at > 0 && repo.find_first_of("/:") > at &&
          repo.find('@', at + 1) == std::string::npos;
  }
  if (scp) {
    const size_t colon = repo.find(':');
    if (colon != std::string::npos) repo[colon] = '/';
  }
  if (absl::EndsWith(repo, ".git")) repo.resize(repo.size() - 4);
  return std::string(absl::StripPrefix(repo, "ssh://"));
}

json DefaultProject(std::string_view ns) {
  return json{
      {"apiVersion", "argoproj.io/v1alpha1"},
      {"kind", "AppProject"},
      {"metadata", {{"name", kDefaultProjectName}, {"namespace", std::string(ns)}}},
      {"spec",
       {{"sourceRepos", json::array({"*"})},
        {"destinations", json::array({{{"server", "*"}, {"namespace", "*"}}})},
        {"clusterResourceWhitelist", json::array({{{"group", "*"}, {"kind", "*"}}})}}},
  };
}

absl::Status CheckSourcePermitted(const json& project, std::string_view repo_url) {
  const std::string normalized = NormalizeGitUrl(repo_url);
  bool any = false;
  if (const json* repos = List(Spec(project), "sourceRepos")) {
    for (const json& entry : *repos) {
      if (!entry.is_string()) continue;
      const std::string pattern = entry.get<std::string>();
      const std::string p = IsDeny(pattern) ? absl::StrCat("!", NormalizeGitUrl(pattern.substr(1)))
                                            : NormalizeGitUrl(pattern);
      if (PatternMatch(p, normalized, '/')) {
        any = true;
      } else if (IsDeny(p)) {
        return NotPermitted(absl::StrCat("application repo ", std::string(repo_url)), project);
      }
    }
  }
  if (!any) return NotPermitted(absl::StrCat("application repo ", std::string(repo_url)), project);
  return absl::OkStatus();
}

absl::Status CheckDestinationPermitted(const json& project, std::string_view server,
                                       std::string_view name, std::string_view ns) {
  // Argo CD resolves a cluster name to its server before matching; the only
  // cluster here is the one the service runs against.
  if (server.empty() && name == kInClusterName) server = kInClusterServer;
  bool any = false;
  bool denied = false;
  if (const json* destinations = List(Spec(project), "destinations")) {
    for (const json& d : *destinations) {
      const std::string item_server = Str(d, "server");
      const std::string item_name = Str(d, "name");
      const std::string item_ns = Str(d, "namespace");
      const bool name_ok = !name.empty() && PatternMatch(item_name, name, '\0');
      const bool server_ok = !server.empty() && PatternMatch(item_server, server, '\0');
      const bool ns_ok = PatternMatch(item_ns, ns, '\0');
      if ((server_ok || name_ok) && ns_ok) {
        any = true;
      } else if ((!name_ok && IsDeny(item_name)) || (!server_ok && IsDeny(item_server)) ||
                 (!ns_ok && IsDeny(item_ns))) {
        denied = true;
      }
    }
  }
  if (any && !denied) return absl::OkStatus();
  return NotPermitted(
      absl::StrCat("application destination {", std::string(server.empty() ? name : server), " ",
                   std::string(ns), "}"),
      project);
}

absl::Status CheckResourcePermitted(const json& project, std::string_view group,
                                    std::string_view kind, bool namespaced) {
  const json& spec = Spec(project);
  bool allowed;
  if (namespaced) {
    const json* white = List(spec, "namespaceResourceWhitelist");
    allowed = (white == nullptr || InList(white, group, kind)) &&
              !InList(List(spec, "namespaceResourceBlacklist"), group, kind);
  } else {
    allowed = InList(List(spec, "clusterResourceWhitelist"), group, kind) &&
              !InList(List(spec, "clusterResourceBlacklist"), group, kind);
  }
  if (allowed) return absl::OkStatus();
  return NotPermitted(absl::StrCat("resource ", std::string(group), ":", std::string(kind)),
                      project);
}

absl::Status CheckApplication(const json& app, const json& project) {
  std::vector<std::string> problems;
  const json empty = json::object();
  const json& spec =
      app.is_object() && app.contains("spec") && app["spec"].is_object() ? app["spec"] : empty;
  std::vector<std::string> repos;
  if (const json* sources = List(spec, "sources"); sources != nullptr && !sources->empty()) {
    for (const json& s : *sources) repos.push_back(Str(s, "repoURL"));
  } else if (spec.contains("source")) {
    repos.push_back(Str(spec["source"], "repoURL"));
  }
  for (const std::string& repo : repos) {
    if (absl::Status s = CheckSourcePermitted(project, repo); !s.ok()) {
      problems.emplace_back(s.message());
    }
  }
  const json& dest = spec.contains("destination") ? spec["destination"] : empty;
  if (absl::Status s = CheckDestinationPermitted(project, Str(dest, "server"), Str(dest, "name"),
                                                 Str(dest, "namespace"));
      !s.ok()) {
    problems.emplace_back(s.message());
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
}

}  // namespace argonaut::cd::validation
