// DAG task `depends` expressions (Argo "enhanced depends logic", docs/enhanced-depends-logic.md,
// workflow/common/ancestry.go, workflow/controller/dag.go).
//
//   ASSIGN_OR_RETURN(auto p, DependsProgram::Compile("A && (B.Failed || C.AnySucceeded)"));
//   for (const std::string& t : p.Tasks()) ...            // A, B, C
//   ASSIGN_OR_RETURN(DependsDecision d, p.Decide(lookup));
//
// Operands: `task` or `task.<Result>` with Result one of Succeeded, Failed, Errored, Skipped,
// Omitted, Daemoned, AnySucceeded, AllFailed. A bare `task` means
// (task.Succeeded || task.Skipped || task.Daemoned). Operators: `!`, `&&`, `||`, parentheses
// (&& binds tighter than ||). Task names follow Argo's field-name rule [a-zA-Z0-9][-a-zA-Z0-9]*.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::expr {

namespace depends_internal {
struct Impl;
}  // namespace depends_internal

enum class NodePhase { kPending, kRunning, kSucceeded, kFailed, kErrored, kSkipped, kOmitted };

struct TaskStatus {
  NodePhase phase = NodePhase::kPending;
  // A daemon step/task counts as Daemoned once it left Pending, and its dependents may start.
  bool daemoned = false;
  // True for a withItems/withParam/withSequence task (a TaskGroup node); children_phases are the
  // phases of its expanded children (retried children report their final phase).
  bool expanded = false;
  std::vector<NodePhase> children_phases;
  // Set when an expanded task has children that have no node yet; AllFailed is then false.
  bool children_missing = false;
};

// Whether the dependency is finished for the purpose of scheduling dependents: a terminal phase,
// or a daemon that is past Pending (Argo NodeStatus.Fulfilled).
bool TaskFulfilled(const TaskStatus& status);

struct DependsDecision {
  bool ready = false;    // every referenced task is fulfilled
  bool execute = false;  // meaningful when ready: run the task, else mark it Omitted
};

using TaskLookup = std::function<std::optional<TaskStatus>(std::string_view task)>;

class DependsProgram {
 public:
  static constexpr size_t kMaxLength = 64 * 1024;
  static constexpr int kMaxDepth = 200;

  static absl::StatusOr<DependsProgram> Compile(std::string_view source);

  // Referenced task names in order of first appearance, without duplicates.
  const std::vector<std::string>& Tasks() const;

  // Evaluates over the tasks' current results. A task the lookup does not know (nullopt) has
  // every result false. Use Decide to also wait for unfinished dependencies.
  absl::StatusOr<bool> Eval(const TaskLookup& lookup) const;

  // Argo's evaluateDependsLogic: not ready while any referenced task is missing or unfulfilled;
  // otherwise execute = Eval(lookup).
  absl::StatusOr<DependsDecision> Decide(const TaskLookup& lookup) const;

  const std::string& source() const;

 private:
  explicit DependsProgram(std::shared_ptr<const depends_internal::Impl> impl)
      : impl_(std::move(impl)) {}
  std::shared_ptr<const depends_internal::Impl> impl_;
};

// The legacy `dependencies: [a, b]` list as a depends expression. Argo expands each entry to
// (a.Succeeded || a.Skipped || a.Daemoned), adding a.Errored / a.Failed when that dependency has
// continueOn error / failed; `continue_on` (may be null) reports those flags per task.
struct ContinueOn {
  bool failed = false;
  bool error = false;
};
std::string DependenciesToDepends(
    const std::vector<std::string>& dependencies,
    const std::function<ContinueOn(std::string_view task)>& continue_on = nullptr);

}  // namespace argonaut::expr
