// Admission checks for Argo CD's Application and AppProject, over the typed
// messages of argonaut/cd/v1/cd.proto, and the pure project permission checks
// the cd API and controller apply (Argo CD's AppProject semantics: globs with
// `*`, `**`, `?`, `[...]`, `{a,b}` and `!` negation). No I/O, no clock.
//
// Errors are InvalidArgument. Admission reports every problem found (joined
// by "; "), each starting with the manifest path of the offending field:
//   spec.destination: server and name are both set (set one)
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "argonaut/cd/v1/cd.pb.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd::validation {

inline constexpr char kDefaultProjectName[] = "default";
inline constexpr char kInClusterServer[] = "https://kubernetes.default.svc";
inline constexpr char kInClusterName[] = "in-cluster";

// Argo CD's rules for an Application: source or sources (not both), each with
// repoURL and a path or chart (or ref, in sources), one tool block at most,
// destination with server or name (not both), retry backoff durations that
// parse, ignoreDifferences with a kind, ... An empty spec.project is accepted
// (it means "default"; filling it in is the API's business, not admission's).
absl::Status ValidateApplication(const v1::Application& app);
// Argo CD's AppProject.ValidateProject plus the schema's limits: no `!*`
// patterns, no duplicate destinations/repos/roles/windows, role names and
// policies, sync windows (kind allow|deny, five-field cron schedule, Go
// duration, time zone, and one of applications/namespaces/clusters).
absl::Status ValidateAppProject(const v1::AppProject& project);

// Decodes an Application or AppProject manifest (by its `kind`) through
// lib/manifest and validates it. Other kinds are InvalidArgument.
absl::Status ValidateManifest(const nlohmann::json& doc);
bool IsCdKind(std::string_view kind);

// The checks above as the store's resource::Validator for the cd service's
// ResourceApi. Kinds other than Application and AppProject pass unchanged.
resource::Validator CdValidator();

// The project every Argo CD installation has, in namespace `ns`: any repo,
// any destination, every cluster-scoped kind.
nlohmann::json DefaultProject(std::string_view ns);

// Pure project checks over AppProject JSON (manifest shape). They return
// InvalidArgument saying why, e.g.
//   application repo https://x is not permitted in project 'p'
//   application destination {https://kubernetes.default.svc ns} is not permitted in project 'p'
// Repo URLs are compared normalized as Argo CD does (lower case, no trailing
// .git, scp-style git@host:path read as ssh).
absl::Status CheckSourcePermitted(const nlohmann::json& project, std::string_view repo_url);
// Either server or name may be empty; the destination matches an entry when
// its server or its name matches and its namespace matches.
absl::Status CheckDestinationPermitted(const nlohmann::json& project, std::string_view server,
                                       std::string_view name, std::string_view ns);
// Cluster-scoped kinds need a clusterResourceWhitelist entry (an empty list
// allows none); namespaced kinds are allowed unless a namespaceResourceWhitelist
// is present and lacks them; blacklists win.
absl::Status CheckResourcePermitted(const nlohmann::json& project, std::string_view group,
                                    std::string_view kind, bool namespaced);
// Every source (spec.source, or each of spec.sources) and the destination
// (name `in-cluster` stands for server https://kubernetes.default.svc).
absl::Status CheckApplication(const nlohmann::json& app, const nlohmann::json& project);

// Argo CD's retry backoff durations: an integer is seconds ("5"), anything
// else a Go duration ("5s", "3m").
absl::StatusOr<absl::Duration> ParseBackoffDuration(std::string_view text);

// git.NormalizeGitURL: trimmed, lower-cased, scp-style `user@host:path`
// rewritten to `user@host/path`, `ssh://` and a trailing `.git` dropped.
std::string NormalizeGitUrl(std::string_view url);

}  // namespace argonaut::cd::validation
