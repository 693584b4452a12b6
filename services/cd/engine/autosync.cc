#include "services/cd/engine/autosync.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "lib/base/json_fields.h"
#include "services/cd/engine/sync_step.h"

namespace argonaut::cd::engine {
namespace {

using base::json_fields::Bool;
using base::json_fields::Field;
using base::json_fields::Str;
using nlohmann::json;

// Sources compared with targetRevision left out: "HEAD" and "main" resolving to the commit
// already synced must not count as a change.
json WithoutTargetRevision(json source) {
  if (source.is_object()) source.erase("targetRevision");
  if (source.is_array()) {
    for (json& s : source) {
      if (s.is_object()) s.erase("targetRevision");
    }
  }
  return source;
}

// Whether the last operation synced this revision of this source, and how it ended. Argo CD
// compares revisions only when the repo-server says they may have changed; here they are always
// compared, so a manual sync to another commit is followed by an automated one back to the
// target.
bool AlreadyAttempted(const json& app, const std::string& revision, std::string* phase) {
  const json& state = Field(Field(app, "status"), "operationState");
  const json& result = Field(state, "syncResult");
  if (!Field(Field(state, "operation"), "sync").is_object() || !result.is_object()) return false;
  if (Str(result, "revision") != revision) return false;
  const json& spec = Field(app, "spec");
  const bool multi = Field(spec, "sources").is_array();
  json want = WithoutTargetRevision(multi ? Field(spec, "sources") : Field(spec, "source"));
  json got = WithoutTargetRevision(multi ? Field(result, "sources") : Field(result, "source"));
  *phase = Str(state, "phase");
  return want == got;
}

absl::Duration SelfHealDelay(int64_t attempts) {
  if (attempts <= 0) return absl::ZeroDuration();
  double seconds = absl::ToDoubleSeconds(kSelfHealBackoff) *
                   std::pow(kSelfHealFactor, static_cast<double>(attempts - 1));
  return std::min(absl::Seconds(seconds), kSelfHealCap);
}

}  // namespace

AutoSyncDecision DecideAutoSync(const json& app, const CompareResult& compare, absl::Time now) {
  AutoSyncDecision d;
  const json& spec = Field(app, "spec");
  const json& policy = Field(spec, "syncPolicy");
  const json& automated = Field(policy, "automated");
  if (!automated.is_object() || Field(automated, "enabled") == json(false)) {
    d.reason = "automated sync is not enabled";
    return d;
  }
  if (Field(app, "operation").is_object()) {
    d.reason = "another operation is in progress";
    return d;
  }
  if (!Field(Field(app, "metadata"), "deletionTimestamp").is_null()) {
    d.reason = "deletion in progress";
    return d;
  }
  const std::string status = Str(compare.sync, "status");
  if (status != "OutOfSync") {
    d.reason = absl::StrCat("application status is ", status);
    return d;
  }
  const bool prune = Bool(automated, "prune");
  if (!prune) {
    bool prune_only = true;
    for (const ResourceState& r : compare.resources) {
      if (r.hook || r.sync_status.empty()) continue;
      if (r.sync_status != "Synced" && !r.requires_pruning) prune_only = false;
    }
    if (prune_only) {
      d.reason = "need to prune extra resources only but automated prune is disabled";
      return d;
    }
  }

  const std::string revision = Str(compare.sync, "revision");
  json op = {{"sync", {{"revision", revision}, {"prune", prune}}},
             {"initiatedBy", {{"automated", true}}},
             {"retry", {{"limit", 5}}}};
  if (Field(policy, "syncOptions").is_array()) op["sync"]["syncOptions"] = policy["syncOptions"];
  if (Field(policy, "retry").is_object()) op["retry"] = policy["retry"];

  const bool self_heal = Bool(automated, "selfHeal");
  std::string attempt_phase;
  const bool attempted = AlreadyAttempted(app, revision, &attempt_phase);
  if (attempted && (!self_heal || attempt_phase != "Succeeded")) {
    if (attempt_phase != "Succeeded") {
      const json& state = app["status"]["operationState"];
      d.reason = absl::StrCat("Failed sync attempt to ", revision, ": ", Str(state, "message"));
      d.sync_error = true;
    } else {
      d.reason = absl::StrCat("most recent sync already to ", revision);
    }
    return d;
  }
  if (attempted) {
    const json& state = app["status"]["operationState"];
    const json& count = Field(Field(Field(state, "operation"), "sync"), "autoHealAttemptsCount");
    int64_t attempts = count.is_number_integer() ? count.get<int64_t>() : 0;
    std::optional<absl::Time> finished = ParseK8sTime(Field(state, "finishedAt"));
    if (finished && now - *finished >= kSelfHealCooldown) attempts = 0;
    absl::Duration wait = SelfHealDelay(attempts);
    if (finished) wait -= now - *finished;
    if (wait > absl::ZeroDuration()) {
      d.reason = absl::StrCat("already attempted sync to ", revision, ", self-heal retrying in ",
                              absl::FormatDuration(wait));
      d.retry_after = wait;
      return d;
    }
    op["sync"]["autoHealAttemptsCount"] = attempts + 1;
    json selection = json::array();
    for (const ResourceState& r : compare.resources) {
      if (r.hook || r.sync_status.empty() || r.sync_status == "Synced") continue;
      selection.push_back({{"group", r.key.group},
                           {"kind", r.key.kind},
                           {"name", r.key.name},
                           {"namespace", r.key.ns}});
    }
    op["sync"]["resources"] = std::move(selection);
  }

  if (prune && !Bool(automated, "allowEmpty")) {
    bool all_prune = true;
    for (const ResourceState& r : compare.resources) {
      if (!r.hook && !r.sync_status.empty() && !r.requires_pruning) all_prune = false;
    }
    if (all_prune) {
      d.reason = absl::StrCat("Skipping sync attempt to ", revision,
                              ": auto-sync will wipe out all resources");
      d.sync_error = true;
      return d;
    }
  }
  d.operation = std::move(op);
  d.reason = absl::StrCat("Initiated automated sync to '", revision, "'");
  return d;
}

}  // namespace argonaut::cd::engine
