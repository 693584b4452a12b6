// How `argonaut app|repo|proj` print Argo CD objects, in the argocd CLI's layouts. Pure functions
// of the objects (and the time where ages are shown).
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace argonaut::cli {

// Go's tabwriter as the argocd CLI uses it: columns padded to the widest cell plus two spaces,
// the last column unpadded.
std::string FormatColumns(const std::vector<std::vector<std::string>>& rows);

// `app get`: the summary (Name, Project, Server, Namespace, URL, Repo, Target, Path, SyncWindow,
// Sync Policy, Sync Status, Health Status), conditions, the last operation, then the GROUP KIND
// NAMESPACE NAME STATUS HEALTH HOOK MESSAGE table. `server_url` is what the URL line starts with.
std::string FormatApp(const nlohmann::json& app, const std::string& server_url);
// The summary block alone.
std::string FormatAppSummary(const nlohmann::json& app, const std::string& server_url);
// The operation block (Operation, Sync Revision, Phase, Start, Finished, Duration, Message);
// empty when the app has no operation state.
std::string FormatOperationState(const nlohmann::json& app);
// The resource table of `app get`: status.resources joined with the last sync's results (hooks
// and messages).
std::string FormatAppResources(const nlohmann::json& app);
// "Synced to HEAD (1a2b3c4)", "OutOfSync from main (1a2b3c4)".
std::string SyncStatusText(const nlohmann::json& app);

// `app list`: NAME CLUSTER NAMESPACE PROJECT STATUS HEALTH SYNCPOLICY CONDITIONS REPO PATH TARGET.
std::string FormatAppList(const std::vector<nlohmann::json>& apps);
// `app history`: per source, ID DATE REVISION.
std::string FormatHistory(const nlohmann::json& app);
// `app resources`: GROUP KIND NAMESPACE NAME ORPHANED.
std::string FormatResourceList(const nlohmann::json& app);

// `app diff`: for each managed resource (Argo CD's ResourceDiff items) whose live state differs
// from the target, "===== group/Kind namespace/name ======" and a unified diff of the live YAML
// against the target YAML. Empty when nothing differs.
std::string FormatDiff(const std::vector<nlohmann::json>& items);
// A unified diff (3 lines of context) of two texts, line by line; empty when equal.
std::string UnifiedDiff(const std::string& from, const std::string& to,
                        const std::string& from_name, const std::string& to_name);

// `repo list`: TYPE NAME REPO INSECURE OCI LFS CREDS STATUS MESSAGE PROJECT.
std::string FormatRepoList(const std::vector<nlohmann::json>& repos);
// `proj get` and `proj list`.
std::string FormatProject(const nlohmann::json& project);
std::string FormatProjectList(const std::vector<nlohmann::json>& projects);

}  // namespace argonaut::cli
