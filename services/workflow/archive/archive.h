// WorkflowArchive: Argo's workflow archive (its Postgres/MySQL `argo_archived_workflows` table)
// kept in the workflow service's own store, in the column family `archivedworkflows`. A finished
// workflow is copied here whole, keyed by its UID, and outlives the live object (TTL, delete).
//
//   WorkflowArchive archive(&bundle.store());
//   RETURN_IF_ERROR(archive.Archive(workflow_json));
//   ASSIGN_OR_RETURN(ArchiveListResult page, archive.List({.label_selector = "a=b", .limit = 50}));
//
// Each workflow is two records in one atomic write: `w/<uid>` the whole workflow, `i/<uid>` the
// summary lists read (metadata, phase, times, progress, message), so a list never parses node
// statuses. Lists are ordered as Argo's: startedAt descending (then name), and paginate with an
// offset continue token, as Argo's archive does.
//
// The summaries are read from the store once and then kept in memory (a page of a 10,000-entry
// archive is filtered and sorted without parsing anything), so every write to the archive's
// records must go through one WorkflowArchive.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/store/store.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::archive {

// The store column family; the workflow service's store must be opened with it.
inline constexpr char kArchiveFamily[] = "archivedworkflows";

struct ArchiveListOptions {
  std::string ns;              // empty: every namespace
  std::string label_selector;  // Kubernetes selector text
  // Argo's: metadata.name=N, metadata.namespace=NS, spec.startedAt>T, spec.startedAt<T (RFC 3339),
  // comma-separated.
  std::string field_selector;
  std::string name_prefix;  // with name_filter: Prefix (default), Exact, Contains, NotEquals
  std::string name_filter;
  int64_t limit = 0;  // 0: all
  std::string continue_token;
};

struct ArchiveListResult {
  std::vector<nlohmann::json> items;  // summaries (Workflow objects without nodes)
  std::string continue_token;         // empty on the last page
};

class WorkflowArchive {
 public:
  // `store` must have been opened with kArchiveFamily and outlive the archive.
  explicit WorkflowArchive(store::Store* store) : store_(store) {}

  // Stores (or replaces) the copy of `workflow`; INVALID_ARGUMENT without metadata.uid.
  absl::Status Archive(const nlohmann::json& workflow);
  // NOT_FOUND naming the UID when absent.
  absl::StatusOr<nlohmann::json> Get(std::string_view uid);
  absl::Status Delete(std::string_view uid);
  absl::StatusOr<ArchiveListResult> List(const ArchiveListOptions& options);
  // Every label key (sorted, distinct) of the archived workflows in `ns` (empty: all).
  absl::StatusOr<std::vector<std::string>> LabelKeys(std::string_view ns);
  // Every value of label `key`.
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view key, std::string_view ns);
  // archiveTTL: removes copies whose workflow finished before `before`; returns how many.
  absl::StatusOr<int> DeleteFinishedBefore(absl::Time before);

 private:
  // Loads the summaries on first use.
  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<nlohmann::json>> Summaries(std::string_view ns);

  store::Store* const store_;
  absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, nlohmann::json> summaries_ ABSL_GUARDED_BY(mu_);  // by UID
};

// The summary Argo's archive lists carry for one workflow.
nlohmann::json Summarize(const nlohmann::json& workflow);

}  // namespace argonaut::workflow::archive
