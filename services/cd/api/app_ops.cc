#include "services/cd/api/app_ops.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/cd/api/json_fields.h"

namespace argonaut::cd::api {
namespace {

using nlohmann::json;

using internal::Field;
using internal::Str;

// The first source: spec.source, or spec.sources[0].
const json& PrimarySource(const json& app) {
  const json& spec = Field(app, "spec");
  const json& source = Field(spec, "source");
  if (source.is_object()) return source;
  const json& sources = Field(spec, "sources");
  if (sources.is_array() && !sources.empty()) return sources[0];
  return Field(spec, "source");
}

std::string NormalizedRepo(std::string_view url) {
  std::string s = absl::AsciiStrToLower(std::string(url));
  if (absl::EndsWith(s, "/")) s.pop_back();
  if (absl::EndsWith(s, ".git")) s.resize(s.size() - 4);
  return s;
}

absl::Status RefuseWhileBusy(const json& app) {
  if (OperationInProgress(app)) {
    return absl::FailedPreconditionError("another operation is already in progress");
  }
  return absl::OkStatus();
}

json Initiator(const std::string& username) {
  return json{{"username", username.empty() ? "admin" : username}};
}

}  // namespace

std::string NameOf(const json& obj) { return Str(Field(obj, "metadata"), "name"); }
std::string NamespaceOf(const json& obj) { return Str(Field(obj, "metadata"), "namespace"); }

bool OperationInProgress(const json& app) {
  // The controller clears `operation` when the operation ends, so its presence is the signal.
  return Field(app, "operation").is_object();
}

bool AutoSyncEnabled(const json& app) {
  return Field(Field(Field(app, "spec"), "syncPolicy"), "automated").is_object();
}

absl::StatusOr<json> WithSyncOperation(json app, const SyncParams& params) {
  if (absl::Status s = RefuseWhileBusy(app); !s.ok()) return s;
  const json& source = PrimarySource(app);
  std::string target = Str(source, "targetRevision");
  if (target.empty()) target = "HEAD";
  if (AutoSyncEnabled(app) && !params.dry_run && !params.revision.empty() &&
      params.revision != target) {
    return absl::FailedPreconditionError(
        absl::StrCat("Cannot sync to ", params.revision, ": auto-sync currently set to ", target));
  }
  json sync = {
      {"revision", params.revision.empty() ? Str(source, "targetRevision") : params.revision}};
  if (params.prune) sync["prune"] = true;
  if (params.dry_run) sync["dryRun"] = true;
  if (!params.resources.empty()) sync["resources"] = params.resources;
  const json& policy = Field(Field(app, "spec"), "syncPolicy");
  if (!params.sync_options.empty()) {
    sync["syncOptions"] = params.sync_options;
  } else if (Field(policy, "syncOptions").is_array() && !policy["syncOptions"].empty()) {
    sync["syncOptions"] = policy["syncOptions"];
  }
  if (!params.strategy.empty() || params.force) {
    const std::string strategy = params.strategy.empty() ? "apply" : params.strategy;
    if (strategy != "apply" && strategy != "hook") {
      return absl::InvalidArgumentError(
          absl::StrCat("strategy: \"", strategy, "\" is not one of apply, hook"));
    }
    json inner = json::object();
    if (params.force) inner["force"] = true;
    sync["syncStrategy"] = {{strategy, inner}};
  }
  json op = {{"sync", sync}, {"initiatedBy", Initiator(params.username)}};
  if (params.retry.is_object()) {
    op["retry"] = params.retry;
  } else if (Field(policy, "retry").is_object()) {
    op["retry"] = policy["retry"];
  }
  app["operation"] = std::move(op);
  return app;
}

absl::StatusOr<json> WithRollbackOperation(json app, int64_t id, bool prune, bool dry_run,
                                           const std::string& username) {
  if (AutoSyncEnabled(app) && !dry_run) {
    return absl::FailedPreconditionError("rollback cannot be initiated when auto-sync is enabled");
  }
  if (absl::Status s = RefuseWhileBusy(app); !s.ok()) return s;
  const json* entry = nullptr;
  const json& history = Field(Field(app, "status"), "history");
  if (history.is_array()) {
    for (const json& h : history) {
      const json& hid = Field(h, "id");
      if (hid.is_number_integer() && hid.get<int64_t>() == id) entry = &h;
    }
  }
  if (entry == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("application ", NameOf(app), " does not have deployment with id ", id));
  }
  const json& source = Field(*entry, "source");
  const json& sources = Field(*entry, "sources");
  if (!source.is_object() && !sources.is_array()) {
    return absl::FailedPreconditionError(
        absl::StrCat("history entry ", id, " records no source to roll back to"));
  }
  json sync = {{"revision", Str(*entry, "revision")},
               {"syncStrategy", {{"apply", json::object()}}}};
  if (source.is_object()) sync["source"] = source;
  if (sources.is_array()) {
    sync["sources"] = sources;
    if (Field(*entry, "revisions").is_array()) sync["revisions"] = (*entry)["revisions"];
  }
  if (prune) sync["prune"] = true;
  if (dry_run) sync["dryRun"] = true;
  app["operation"] = {{"sync", sync}, {"initiatedBy", Initiator(username)}};
  return app;
}

absl::StatusOr<json> WithOperationTerminated(json app) {
  const json& state = Field(Field(app, "status"), "operationState");
  const std::string phase = Str(state, "phase");
  if (phase == "Running" || phase == "Terminating") {
    app["status"]["operationState"]["phase"] = "Terminating";
    return app;
  }
  if (OperationInProgress(app)) {
    app.erase("operation");
    return app;
  }
  return absl::FailedPreconditionError(
      "Unable to terminate operation. No operation is in progress");
}

absl::StatusOr<json> WithRefresh(json app, std::string_view mode) {
  if (mode != "normal" && mode != "hard") {
    return absl::InvalidArgumentError(
        absl::StrCat("refresh: \"", std::string(mode), "\" is not one of normal, hard"));
  }
  json& meta = app["metadata"];
  if (!meta.is_object()) meta = json::object();
  if (!meta["annotations"].is_object()) meta["annotations"] = json::object();
  meta["annotations"][kRefreshAnnotation] = std::string(mode);
  return app;
}

bool RefreshPending(const json& app) {
  return Field(Field(Field(app, "metadata"), "annotations"), kRefreshAnnotation).is_string();
}

std::vector<std::string> SourceRepos(const json& app) {
  std::vector<std::string> out;
  const json& spec = Field(app, "spec");
  const json& source = Field(spec, "source");
  if (source.is_object() && !Str(source, "repoURL").empty()) out.push_back(Str(source, "repoURL"));
  const json& sources = Field(spec, "sources");
  if (sources.is_array()) {
    for (const json& s : sources) {
      if (!Str(s, "repoURL").empty()) out.push_back(Str(s, "repoURL"));
    }
  }
  return out;
}

bool AppMatches(const json& app, const std::vector<std::string>& projects, std::string_view repo) {
  if (!projects.empty()) {
    std::string project = Str(Field(app, "spec"), "project");
    if (project.empty()) project = "default";
    bool found = false;
    for (const std::string& p : projects) found = found || p == project;
    if (!found) return false;
  }
  if (!repo.empty()) {
    const std::string want = NormalizedRepo(repo);
    for (const std::string& r : SourceRepos(app)) {
      if (NormalizedRepo(r) == want) return true;
    }
    return false;
  }
  return true;
}

}  // namespace argonaut::cd::api
