// Internal: a DAG template's task graph compiled once (names, dependency conditions, topological
// order) and shared by every Operate call that sees the same tasks. Recompiling it on every
// reconcile made a 10,000-task DAG quadratic.
//
// The cache key is the exact text of everything the compiled graph is built from (task names,
// `depends`, `dependencies`, `continueOn`), so an entry can never answer for a different graph:
// two workflows share one only when those fields are identical, whatever the template is called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "lib/expr/depends.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::engine::internal {

struct DagTask {
  std::string name;
  uint32_t deps_begin = 0;  // [deps_begin, deps_end) in CompiledDag::deps, in the order the
  uint32_t deps_end = 0;    // condition names them
  // Has a `depends` or `dependencies` condition. Without `program` (-1) it is a plain
  // `dependencies` list, decided natively (DependsNative) instead of through an expression.
  bool has_condition = false;
  int32_t program = -1;  // index into CompiledDag::programs
  int32_t error = -1;    // index into CompiledDag::errors: the condition is unusable
  // The task's own continueOn, which a dependent's `dependencies` list honours.
  bool continue_failed = false;
  bool continue_error = false;
  bool sink = false;  // nothing depends on it: a default target
  // Has `hooks` or `onExit`: only then does a finished task need more than a phase check.
  bool has_hooks = false;
};

struct CompiledDag {
  std::string key;                // DagKey of the tasks, once a DagCache holds it
  std::string error;              // the whole DAG is unusable (unnamed/duplicate task, cycle)
  std::vector<DagTask> tasks;     // in spec order, so task i is dag.tasks[i]
  std::vector<uint32_t> deps;     // see DagTask::deps_begin
  std::vector<uint32_t> order;    // topological (Kahn, ties in spec order)
  std::vector<uint32_t> by_name;  // task indices sorted by name
  std::vector<expr::DependsProgram> programs;
  std::vector<std::string> errors;
  // Some task mentions `tasks.` (a reference to another task's results), so finished tasks'
  // outputs have to be put in the scope.
  bool refs_tasks = false;

  std::span<const uint32_t> Deps(const DagTask& t) const {
    return std::span<const uint32_t>(deps.data() + t.deps_begin, t.deps_end - t.deps_begin);
  }
  std::optional<uint32_t> Find(std::string_view name) const;
};

// A dependency's state as the DAG sees it (phase already Running while its hooks are pending).
struct DepState {
  bool exists = false;
  expr::NodePhase phase = expr::NodePhase::kPending;
  bool daemoned = false;
};

// Argo's legacy `dependencies` list without building an expression: ready once every dependency
// is fulfilled; run when each one Succeeded, was Skipped or is Daemoned (or Failed / Errored
// when that dependency has continueOn failed / error). Same answer as DependsProgram::Decide over
// DependenciesToDepends(...).
expr::DependsDecision DependsNative(const CompiledDag& g, const DagTask& task,
                                    const std::vector<DepState>& states);

// Whether any string inside `v` mentions `needle` (bounded depth: specs are parsed input; too
// deep counts as a mention).
bool Mentions(const nlohmann::json& v, std::string_view needle, int depth = 0);

// The cache key of `tasks` (a dag.tasks list): length-prefixed fields, so no two task lists
// share one.
std::string DagKey(const nlohmann::json& tasks);
CompiledDag CompileDag(const nlohmann::json& tasks);

// Compiled graphs by DagKey, least recently used dropped first. Thread-safe (the controller runs
// several workers); entries are immutable and shared.
class DagCache {
 public:
  DagCache(size_t max_entries, size_t max_tasks);
  // The compiled graph of `tasks`, compiled now on a miss. A graph with more than max_tasks
  // tasks is compiled and returned but not kept.
  std::shared_ptr<const CompiledDag> Get(const nlohmann::json& tasks);
  // Drops `graph` if it is still the cached entry. A DAG that finished is not asked for its
  // graph again by its workflow, so keeping it would only hold memory (another workflow with
  // the same graph compiles it once more).
  void Forget(const CompiledDag& graph);

  struct Stats {
    size_t entries = 0;
    size_t tasks = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  Stats stats() const;

  // The process-wide cache Operate uses: 256 graphs, 200,000 tasks in all.
  static DagCache& Global();

 private:
  struct Entry {
    std::shared_ptr<const CompiledDag> graph;  // by_key_'s key is graph->key
  };
  const size_t max_entries_;
  const size_t max_tasks_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> by_key_ ABSL_GUARDED_BY(mu_);
  size_t tasks_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace argonaut::workflow::engine::internal
