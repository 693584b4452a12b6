// Application and AppProject admission: Argo CD's spec checks (util/argo
// ValidatePermissions' source/destination rules, AppProject.ValidateProject,
// SyncWindow.Validate) and the CRD schemas' required fields.

#include "services/cd/validation/validate.h"

#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/field_errors.h"
#include "lib/base/go_duration.h"
#include "lib/cron/schedule.h"
#include "lib/manifest/codec.h"
#include "services/cd/validation/glob.h"

namespace argonaut::cd::validation {
namespace {

using base::Field;
using base::FieldErrors;
using base::Index;

// Kubernetes' DNS-1123 label (namespaces) and subdomain (object names).
bool IsDnsLabel(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool IsDnsSubdomain(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  // Kubernetes' subdomain regex: dot-separated labels, no per-label length limit.
  for (absl::string_view part : absl::StrSplit(s, '.')) {
    if (part.empty() || part.front() == '-' || part.back() == '-') return false;
    for (char c : part) {
      if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
    }
  }
  return true;
}

void CheckNamespace(const std::string& path, const std::string& ns, FieldErrors* errors) {
  if (!ns.empty() && !IsDnsLabel(ns)) {
    errors->Add(path, absl::StrCat("\"", ns,
                                   "\" is not a valid namespace name (at most 63 lowercase "
                                   "letters, digits and '-', starting and ending alphanumeric)"));
  }
}

// The path must stay inside the repository (Argo CD refuses absolute paths and
// paths that climb out of the checkout).
void CheckRepoPath(const std::string& path, const std::string& value, FieldErrors* errors) {
  if (absl::StartsWith(value, "/")) {
    errors->Add(path, absl::StrCat("\"", value, "\" is absolute (give a path inside the repo)"));
    return;
  }
  int depth = 0;
  for (absl::string_view part : absl::StrSplit(value, '/')) {
    if (part == "..") {
      if (--depth < 0) {
        errors->Add(path, absl::StrCat("\"", value, "\" points outside the repository"));
        return;
      }
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
  }
}

void CheckHelm(const std::string& path, const v1::ApplicationSourceHelm& helm,
               FieldErrors* errors) {
  for (int i = 0; i < helm.parameters_size(); ++i) {
    if (helm.parameters(i).name().empty()) {
      errors->Add(Field(Index(Field(path, "parameters"), i), "name"), "required");
    }
  }
  for (int i = 0; i < helm.file_parameters_size(); ++i) {
    const std::string p = Index(Field(path, "fileParameters"), i);
    if (helm.file_parameters(i).name().empty()) errors->Add(Field(p, "name"), "required");
    if (helm.file_parameters(i).path().empty()) errors->Add(Field(p, "path"), "required");
  }
}

void CheckKustomize(const std::string& path, const v1::ApplicationSourceKustomize& k,
                    FieldErrors* errors) {
  for (int i = 0; i < k.replicas_size(); ++i) {
    const std::string p = Index(Field(path, "replicas"), i);
    if (k.replicas(i).name().empty()) errors->Add(Field(p, "name"), "required");
    int64_t count = 0;
    if (!absl::SimpleAtoi(k.replicas(i).count(), &count) || count < 0) {
      errors->Add(Field(p, "count"), absl::StrCat("expected a non-negative integer, got \"",
                                                  k.replicas(i).count(), "\""));
    }
  }
  for (int i = 0; i < k.images_size(); ++i) {
    if (k.images(i).empty()) errors->Add(Index(Field(path, "images"), i), "must not be empty");
  }
  for (int i = 0; i < k.patches_size(); ++i) {
    const v1::KustomizePatch& patch = k.patches(i);
    if (patch.patch().empty() == patch.path().empty()) {
      errors->Add(Index(Field(path, "patches"), i), "exactly one of patch and path must be set");
    }
  }
}

void CheckJsonnetVars(const std::string& path,
                      const google::protobuf::RepeatedPtrField<v1::JsonnetVar>& vars,
                      FieldErrors* errors) {
  for (int i = 0; i < vars.size(); ++i) {
    if (vars[i].name().empty()) errors->Add(Field(Index(path, i), "name"), "required");
  }
}

void CheckSource(const std::string& path, const v1::ApplicationSource& src, bool multi,
                 FieldErrors* errors) {
  if (src.repo_url().empty()) errors->Add(Field(path, "repoURL"), "required");
  if (src.path().empty() && src.chart().empty() && (!multi || src.ref().empty())) {
    errors->Add(path, multi ? "one of path, chart and ref is required"
                            : "one of path and chart is required (path \".\" is the repo root)");
  }
  if (!src.path().empty()) CheckRepoPath(Field(path, "path"), src.path(), errors);
  if (!src.chart().empty() && src.target_revision().empty()) {
    errors->Add(Field(path, "targetRevision"), "required for a Helm chart (the chart version)");
  }
  std::vector<std::string> tools;
  if (src.has_helm()) tools.push_back("helm");
  if (src.has_kustomize()) tools.push_back("kustomize");
  if (src.has_directory()) tools.push_back("directory");
  if (src.has_plugin()) tools.push_back("plugin");
  if (tools.size() > 1) {
    errors->Add(path, absl::StrCat("only one of helm, kustomize, directory and plugin may be set "
                                   "(got ",
                                   absl::StrJoin(tools, ", "), ")"));
  }
  if (src.has_helm()) CheckHelm(Field(path, "helm"), src.helm(), errors);
  if (src.has_kustomize()) CheckKustomize(Field(path, "kustomize"), src.kustomize(), errors);
  if (src.has_directory() && src.directory().has_jsonnet()) {
    const std::string jp = Field(Field(path, "directory"), "jsonnet");
    CheckJsonnetVars(Field(jp, "extVars"), src.directory().jsonnet().ext_vars(), errors);
    CheckJsonnetVars(Field(jp, "tlas"), src.directory().jsonnet().tlas(), errors);
  }
  if (src.has_plugin()) {
    for (int i = 0; i < src.plugin().parameters_size(); ++i) {
      if (src.plugin().parameters(i).name().empty()) {
        errors->Add(Field(Index(Field(Field(path, "plugin"), "parameters"), i), "name"),
                    "required");
      }
    }
    for (int i = 0; i < src.plugin().env_size(); ++i) {
      if (src.plugin().env(i).name().empty()) {
        errors->Add(Field(Index(Field(Field(path, "plugin"), "env"), i), "name"), "required");
      }
    }
  }
}

// Multiple sources: refs are unique, and `$ref/...` value files name one of them.
void CheckSources(const google::protobuf::RepeatedPtrField<v1::ApplicationSource>& sources,
                  FieldErrors* errors) {
  std::set<std::string> refs;
  for (int i = 0; i < sources.size(); ++i) {
    CheckSource(Index("spec.sources", i), sources[i], /*multi=*/true, errors);
    const std::string& ref = sources[i].ref();
    if (ref.empty()) continue;
    if (!refs.insert(ref).second) {
      errors->Add(Field(Index("spec.sources", i), "ref"),
                  absl::StrCat("duplicate ref \"", ref, "\""));
    }
  }
  for (int i = 0; i < sources.size(); ++i) {
    const auto& files = sources[i].helm().value_files();
    for (int j = 0; j < files.size(); ++j) {
      if (!absl::StartsWith(files[j], "$")) continue;
      const std::string name(absl::StripPrefix(files[j].substr(0, files[j].find('/')), "$"));
      if (refs.count(name) == 0) {
        errors->Add(Index(Field(Field(Index("spec.sources", i), "helm"), "valueFiles"), j),
                    absl::StrCat("\"", files[j], "\" refers to source ref \"", name,
                                 "\", which no source in spec.sources has"));
      }
    }
  }
}

void CheckDestination(const std::string& path, const v1::ApplicationDestination& d,
                      FieldErrors* errors) {
  if (!d.server().empty() && !d.name().empty()) {
    errors->Add(path, absl::StrCat("server and name are both set (\"", d.server(), "\", \"",
                                   d.name(), "\"); set one"));
  } else if (d.server().empty() && d.name().empty()) {
    errors->Add(path, absl::StrCat("one of server and name is required (e.g. server ",
                                   kInClusterServer, ")"));
  }
  CheckNamespace(Field(path, "namespace"), d.namespace_(), errors);
}

void CheckBackoffDuration(const std::string& path, const std::string& text, FieldErrors* errors) {
  if (text.empty()) return;
  absl::StatusOr<absl::Duration> d = ParseBackoffDuration(text);
  if (!d.ok()) {
    errors->Add(path, d.status().message());
  } else if (*d < absl::ZeroDuration()) {
    errors->Add(path, absl::StrCat("must not be negative (got \"", text, "\")"));
  }
}

void CheckRetry(const std::string& path, const v1::RetryStrategy& retry, FieldErrors* errors) {
  if (!retry.has_backoff()) return;
  const std::string bp = Field(path, "backoff");
  CheckBackoffDuration(Field(bp, "duration"), retry.backoff().duration(), errors);
  CheckBackoffDuration(Field(bp, "maxDuration"), retry.backoff().max_duration(), errors);
}

void CheckSyncPolicy(const v1::SyncPolicy& policy, FieldErrors* errors) {
  if (policy.has_retry()) CheckRetry("spec.syncPolicy.retry", policy.retry(), errors);
  for (int i = 0; i < policy.sync_options_size(); ++i) {
    const std::string& o = policy.sync_options(i);
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      errors->Add(
          Index("spec.syncPolicy.syncOptions", i),
          absl::StrCat("\"", o, "\" is not of the form Key=Value (e.g. CreateNamespace=true)"));
    }
  }
}

void CheckIgnoreDifferences(
    const std::string& path,
    const google::protobuf::RepeatedPtrField<v1::ResourceIgnoreDifferences>& list,
    FieldErrors* errors) {
  for (int i = 0; i < list.size(); ++i) {
    const std::string p = Index(path, i);
    if (list[i].kind().empty()) errors->Add(Field(p, "kind"), "required");
    for (int j = 0; j < list[i].json_pointers_size(); ++j) {
      if (!absl::StartsWith(list[i].json_pointers(j), "/")) {
        errors->Add(Index(Field(p, "jsonPointers"), j),
                    absl::StrCat("\"", list[i].json_pointers(j),
                                 "\" is not a JSON pointer (it starts with '/')"));
      }
    }
    for (int j = 0; j < list[i].jq_path_expressions_size(); ++j) {
      if (list[i].jq_path_expressions(j).empty()) {
        errors->Add(Index(Field(p, "jqPathExpressions"), j), "must not be empty");
      }
    }
  }
}

// --- AppProject --------------------------------------------------------------

bool IsDenyPattern(const std::string& p) { return !p.empty() && p[0] == '!'; }

void CheckPattern(const std::string& path, const std::string& pattern, FieldErrors* errors) {
  if (pattern == "!*") {
    errors->Add(path, "'!*' would deny everything; remove the entry instead");
    return;
  }
  const std::string_view glob =
      IsDenyPattern(pattern) ? std::string_view(pattern).substr(1) : std::string_view(pattern);
  if (absl::Status s = CheckGlob(glob); !s.ok()) {
    errors->Add(path, absl::StrCat("invalid glob \"", pattern, "\": ", s.message()));
  }
}

bool IsRoleName(const std::string& name) {
  static const std::regex kRole("^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$");
  return std::regex_match(name, kRole);
}

std::string Trim(absl::string_view s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Argo CD's project role policy: `p, proj:<project>:<role>, <resource>, <action>, <object>,
// <effect>`.
void CheckPolicy(const std::string& path, const std::string& project, const std::string& role,
                 const std::string& policy, FieldErrors* errors) {
  const std::vector<std::string> parts = absl::StrSplit(policy, ',');
  if (parts.size() != 6 || Trim(parts[0]) != "p") {
    errors->Add(path, absl::StrCat("\"", policy,
                                   "\" is not of the form 'p, <subject>, <resource>, <action>, "
                                   "<object>, <effect>'"));
    return;
  }
  const std::string subject = absl::StrCat("proj:", project, ":", role);
  if (Trim(parts[1]) != subject) {
    errors->Add(path,
                absl::StrCat("policy subject must be '", subject, "', not '", Trim(parts[1]), "'"));
  }
  static const std::set<std::string> kResources = {
      "applications", "applicationsets", "repositories", "clusters", "logs", "exec"};
  if (kResources.count(Trim(parts[2])) == 0) {
    errors->Add(path, absl::StrCat("policy resource must be one of applications, "
                                   "applicationsets, repositories, clusters, logs and exec, not '",
                                   Trim(parts[2]), "'"));
  }
  static const std::set<std::string> kActions = {"get",  "create",   "update", "delete",
                                                 "sync", "override", "invoke", "*"};
  const std::string action = Trim(parts[3]);
  if (kActions.count(action) == 0 && !absl::StartsWith(action, "action/") &&
      !absl::StartsWith(action, "update/") && !absl::StartsWith(action, "delete/")) {
    errors->Add(path, absl::StrCat("invalid policy action '", action, "'"));
  }
  const std::string object = Trim(parts[4]);
  static const std::regex kObjectTail(R"(^[*\w.-]+(/[*\w.-]+)?$)");
  if (!absl::StartsWith(object, project + "/") ||
      !std::regex_match(object.substr(project.size() + 1), kObjectTail)) {
    errors->Add(path,
                absl::StrCat("policy object must be '", project, "/*', '", project, "/<app>' or '",
                             project, "/<namespace>/<app>', not '", object, "'"));
  }
  const std::string effect = Trim(parts[5]);
  if (effect != "allow" && effect != "deny") {
    errors->Add(path, absl::StrCat("policy effect must be allow or deny, not '", effect, "'"));
  }
}

void CheckGroupName(const std::string& path, const std::string& group, FieldErrors* errors) {
  std::string name = Trim(group);
  if (name.size() > 1 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
  } else if (absl::StrContains(name, ",")) {
    errors->Add(path, absl::StrCat("group \"", group, "\" has a comma: quote it"));
    return;
  }
  if (Trim(name).empty()) {
    errors->Add(path, "must not be empty");
  } else if (name.find_first_of("\r\n\t") != std::string::npos) {
    errors->Add(path, absl::StrCat("group \"", group, "\" contains a line break or tab"));
  }
}

void CheckRoles(const v1::AppProject& project, FieldErrors* errors) {
  std::set<std::string> names;
  for (int i = 0; i < project.spec().roles_size(); ++i) {
    const v1::ProjectRole& role = project.spec().roles(i);
    const std::string p = Index("spec.roles", i);
    if (!IsRoleName(role.name())) {
      errors->Add(Field(p, "name"),
                  absl::StrCat("\"", role.name(),
                               "\" is not a valid role name (letters, digits, '-' and '_', "
                               "starting and ending with a letter or digit)"));
    } else if (!names.insert(role.name()).second) {
      errors->Add(Field(p, "name"), absl::StrCat("duplicate role \"", role.name(), "\""));
    }
    std::set<std::string> policies;
    for (int j = 0; j < role.policies_size(); ++j) {
      const std::string pp = Index(Field(p, "policies"), j);
      if (!policies.insert(role.policies(j)).second) {
        errors->Add(pp, "duplicate policy");
        continue;
      }
      CheckPolicy(pp, project.metadata().name(), role.name(), role.policies(j), errors);
    }
    std::set<std::string> groups;
    for (int j = 0; j < role.groups_size(); ++j) {
      const std::string gp = Index(Field(p, "groups"), j);
      if (!groups.insert(role.groups(j)).second) {
        errors->Add(gp, absl::StrCat("duplicate group \"", role.groups(j), "\""));
        continue;
      }
      CheckGroupName(gp, role.groups(j), errors);
    }
  }
}

// SyncWindow.Validate: robfig's five-field parser (no @descriptors) and Go durations.
void CheckSyncWindows(const v1::AppProjectSpec& spec, FieldErrors* errors) {
  std::set<std::string> seen;
  for (int i = 0; i < spec.sync_windows_size(); ++i) {
    const v1::SyncWindow& w = spec.sync_windows(i);
    const std::string p = Index("spec.syncWindows", i);
    if (!seen.insert(absl::StrCat(w.kind(), "\n", w.schedule(), "\n", w.duration())).second) {
      errors->Add(p, absl::StrCat("duplicate window (kind \"", w.kind(), "\", schedule \"",
                                  w.schedule(), "\", duration \"", w.duration(), "\")"));
    }
    if (w.kind() != "allow" && w.kind() != "deny") {
      errors->Add(Field(p, "kind"), absl::StrCat("must be allow or deny (got \"", w.kind(), "\")"));
    }
    absl::TimeZone zone = absl::UTCTimeZone();
    if (!w.time_zone().empty() && !absl::LoadTimeZone(w.time_zone(), &zone)) {
      errors->Add(Field(p, "timeZone"), absl::StrCat("unknown time zone \"", w.time_zone(), "\""));
    }
    if (w.schedule().empty()) {
      errors->Add(Field(p, "schedule"), "required");
    } else if (absl::StartsWith(absl::StripAsciiWhitespace(w.schedule()), "@")) {
      errors->Add(Field(p, "schedule"),
                  absl::StrCat("\"", w.schedule(),
                               "\": sync windows take a five-field cron schedule, not a "
                               "descriptor"));
    } else if (absl::StatusOr<cron::Schedule> s = cron::Schedule::Parse(w.schedule(), zone);
               !s.ok()) {
      errors->Add(Field(p, "schedule"),
                  absl::StrCat("cannot parse \"", w.schedule(), "\": ", s.status().message()));
    }
    if (w.duration().empty()) {
      errors->Add(Field(p, "duration"), "required");
    } else if (absl::StatusOr<absl::Duration> d = base::ParseGoDuration(w.duration()); !d.ok()) {
      errors->Add(Field(p, "duration"), d.status().message());
    } else if (*d <= absl::ZeroDuration()) {
      errors->Add(Field(p, "duration"),
                  absl::StrCat("must be positive (got \"", w.duration(), "\")"));
    }
    if (w.applications().empty() && w.namespaces().empty() && w.clusters().empty()) {
      errors->Add(p, "one of applications, namespaces and clusters is required");
    }
  }
}

void CheckResourceList(const std::string& path,
                       const google::protobuf::RepeatedPtrField<v1::GroupKind>& list,
                       FieldErrors* errors) {
  for (int i = 0; i < list.size(); ++i) {
    const std::string p = Index(path, i);
    if (list[i].kind().empty()) errors->Add(Field(p, "kind"), "required (\"*\" for every kind)");
    for (const auto& [key, value] :
         {std::pair{"group", list[i].group()}, std::pair{"kind", list[i].kind()}}) {
      if (absl::Status s = CheckGlob(value); !s.ok()) {
        errors->Add(Field(p, key), absl::StrCat("invalid glob \"", value, "\": ", s.message()));
      }
    }
  }
}

void CheckClusterResourceList(
    const std::string& path,
    const google::protobuf::RepeatedPtrField<v1::ClusterResourceRestrictionItem>& list,
    FieldErrors* errors) {
  for (int i = 0; i < list.size(); ++i) {
    const std::string p = Index(path, i);
    if (list[i].kind().empty()) errors->Add(Field(p, "kind"), "required (\"*\" for every kind)");
    for (const auto& [key, value] :
         {std::pair{"group", list[i].group()}, std::pair{"kind", list[i].kind()},
          std::pair{"name", list[i].name()}}) {
      if (absl::Status s = CheckGlob(value); !s.ok()) {
        errors->Add(Field(p, key), absl::StrCat("invalid glob \"", value, "\": ", s.message()));
      }
    }
  }
}

template <typename T>
absl::Status Decode(const nlohmann::json& doc, absl::Status (*validate)(const T&)) {
  T msg;
  if (absl::Status s = manifest::FromJson(doc, &msg); !s.ok()) return s;
  return validate(msg);
}

// The generated message behind `object`, copying when it comes from another pool.
template <typename T>
absl::Status ValidateMessage(const google::protobuf::Message& object,
                             absl::Status (*validate)(const T&)) {
  if (const T* typed = google::protobuf::DynamicCastToGenerated<T>(&object)) {
    return validate(*typed);
  }
  T copy;
  if (!copy.ParseFromString(object.SerializeAsString())) {
    return absl::InternalError(absl::StrCat("cannot read ", object.GetDescriptor()->full_name(),
                                            " as ", T::descriptor()->full_name()));
  }
  return validate(copy);
}

}  // namespace

absl::StatusOr<absl::Duration> ParseBackoffDuration(std::string_view text) {
  const absl::string_view t(text.data(), text.size());
  int64_t seconds = 0;
  if (absl::SimpleAtoi(t, &seconds)) return absl::Seconds(seconds);
  return base::ParseGoDuration(t);
}

absl::Status ValidateApplication(const v1::Application& app) {
  FieldErrors errors;
  const std::string& name = app.metadata().name();
  if (name.empty() && app.metadata().generate_name().empty()) {
    errors.Add("metadata.name", "required");
  } else if (!name.empty() && !IsDnsSubdomain(name)) {
    errors.Add("metadata.name",
               absl::StrCat("\"", name,
                            "\" is not a valid name (lowercase letters, digits, '-' and '.')"));
  } else if (name.size() > 63) {
    // The name is the value of the app.kubernetes.io/instance label on every
    // object the app deploys, and label values stop at 63 characters.
    errors.Add("metadata.name", absl::StrCat("must be at most 63 characters (got ", name.size(),
                                             "): it is the value of the "
                                             "app.kubernetes.io/instance label"));
  }
  if (!app.has_spec()) {
    errors.Add("spec", "required");
    return errors.ToStatus();
  }
  const v1::ApplicationSpec& spec = app.spec();
  if (!spec.project().empty() && !IsDnsSubdomain(spec.project())) {
    errors.Add("spec.project",
               absl::StrCat("\"", spec.project(), "\" is not a valid project name"));
  }
  if (spec.has_source() && !spec.sources().empty()) {
    errors.Add("spec", "only one of source and sources may be set");
  } else if (!spec.has_source() && spec.sources().empty() && !spec.has_source_hydrator()) {
    errors.Add("spec.source", "required (or spec.sources)");
  }
  if (spec.has_source()) CheckSource("spec.source", spec.source(), /*multi=*/false, &errors);
  CheckSources(spec.sources(), &errors);
  if (!spec.has_destination()) {
    errors.Add("spec.destination", "required");
  } else {
    CheckDestination("spec.destination", spec.destination(), &errors);
  }
  if (spec.has_sync_policy()) CheckSyncPolicy(spec.sync_policy(), &errors);
  CheckIgnoreDifferences("spec.ignoreDifferences", spec.ignore_differences(), &errors);
  if (spec.has_revision_history_limit() && spec.revision_history_limit() < 0) {
    errors.Add("spec.revisionHistoryLimit",
               absl::StrCat("must not be negative (got ", spec.revision_history_limit(), ")"));
  }
  for (int i = 0; i < spec.info_size(); ++i) {
    if (spec.info(i).name().empty()) errors.Add(Field(Index("spec.info", i), "name"), "required");
  }
  if (app.has_operation()) {
    if (app.operation().has_retry())
      CheckRetry("operation.retry", app.operation().retry(), &errors);
    const v1::SyncStrategy& strategy = app.operation().sync().sync_strategy();
    if (strategy.has_apply() && strategy.has_hook()) {
      errors.Add("operation.sync.syncStrategy", "only one of apply and hook may be set");
    }
  }
  return errors.ToStatus();
}

absl::Status ValidateAppProject(const v1::AppProject& project) {
  FieldErrors errors;
  if (project.metadata().name().empty()) errors.Add("metadata.name", "required");
  const v1::AppProjectSpec& spec = project.spec();
  if (spec.description().size() > 255) {
    errors.Add("spec.description", absl::StrCat("must be at most 255 characters (got ",
                                                spec.description().size(), ")"));
  }
  std::set<std::string> repos;
  for (int i = 0; i < spec.source_repos_size(); ++i) {
    const std::string p = Index("spec.sourceRepos", i);
    if (!repos.insert(spec.source_repos(i)).second) {
      errors.Add(p, absl::StrCat("duplicate source repository \"", spec.source_repos(i), "\""));
      continue;
    }
    CheckPattern(p, spec.source_repos(i), &errors);
  }
  std::set<std::string> destinations;
  for (int i = 0; i < spec.destinations_size(); ++i) {
    const v1::ApplicationDestination& d = spec.destinations(i);
    const std::string p = Index("spec.destinations", i);
    CheckPattern(Field(p, "server"), d.server(), &errors);
    CheckPattern(Field(p, "name"), d.name(), &errors);
    CheckPattern(Field(p, "namespace"), d.namespace_(), &errors);
    const std::string key = absl::StrCat(
        d.server().empty() && !d.name().empty() ? d.name() : d.server(), "/", d.namespace_());
    if (!destinations.insert(key).second) {
      errors.Add(p, absl::StrCat("duplicate destination \"", key, "\""));
    }
  }
  std::set<std::string> namespaces;
  for (int i = 0; i < spec.source_namespaces_size(); ++i) {
    if (!namespaces.insert(spec.source_namespaces(i)).second) {
      errors.Add(Index("spec.sourceNamespaces", i),
                 absl::StrCat("duplicate source namespace \"", spec.source_namespaces(i), "\""));
    }
  }
  CheckRoles(project, &errors);
  CheckSyncWindows(spec, &errors);
  std::set<std::string> accounts;
  for (int i = 0; i < spec.destination_service_accounts_size(); ++i) {
    const v1::ApplicationDestinationServiceAccount& a = spec.destination_service_accounts(i);
    const std::string p = Index("spec.destinationServiceAccounts", i);
    CheckPattern(Field(p, "server"), a.server(), &errors);
    CheckPattern(Field(p, "namespace"), a.namespace_(), &errors);
    if (Trim(a.default_service_account()).empty()) {
      errors.Add(Field(p, "defaultServiceAccount"), "required");
    }
    const std::string key = absl::StrCat(a.server(), "/", a.namespace_());
    if (!accounts.insert(key).second) {
      errors.Add(p, absl::StrCat("duplicate destination service account \"", key, "\""));
    }
  }
  CheckClusterResourceList("spec.clusterResourceWhitelist", spec.cluster_resource_whitelist(),
                           &errors);
  CheckClusterResourceList("spec.clusterResourceBlacklist", spec.cluster_resource_blacklist(),
                           &errors);
  CheckResourceList("spec.namespaceResourceWhitelist", spec.namespace_resource_whitelist(),
                    &errors);
  CheckResourceList("spec.namespaceResourceBlacklist", spec.namespace_resource_blacklist(),
                    &errors);
  return errors.ToStatus();
}

bool IsCdKind(std::string_view kind) { return kind == "Application" || kind == "AppProject"; }

absl::Status ValidateManifest(const nlohmann::json& doc) {
  if (!doc.is_object()) return absl::InvalidArgumentError("expected an object");
  auto kind = doc.find("kind");
  if (kind == doc.end() || !kind->is_string()) return absl::InvalidArgumentError("kind: required");
  const std::string k = kind->get<std::string>();
  if (k == "Application") return Decode<v1::Application>(doc, &ValidateApplication);
  if (k == "AppProject") return Decode<v1::AppProject>(doc, &ValidateAppProject);
  return absl::InvalidArgumentError(absl::StrCat("kind: ", k, " is not an Argo CD kind"));
}

resource::Validator CdValidator() {
  return [](const resource::KindInfo& kind, google::protobuf::Message& object) -> absl::Status {
    if (kind.kind == "Application") {
      return ValidateMessage<v1::Application>(object, &ValidateApplication);
    }
    if (kind.kind == "AppProject") {
      return ValidateMessage<v1::AppProject>(object, &ValidateAppProject);
    }
    return absl::OkStatus();
  };
}

}  // namespace argonaut::cd::validation
