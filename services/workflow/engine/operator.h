// Internal: the state of one Operate() call. Split over engine.cc (orchestration, nodes,
// completion), templates.cc, scope.cc, pods.cc, steps.cc, dag.cc, retry.cc, exit_handlers.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/template/template.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/nodes.h"

namespace argonaut::workflow::engine::internal {

using nlohmann::json;

// Where bare template names resolve: the workflow (kind "") or the (Cluster)WorkflowTemplate a
// templateRef led to, as in Argo's templateresolution.Context.
struct TmplCtx {
  std::string kind;
  std::string name;
};

struct Resolved {
  // With templateDefaults applied, and without its steps/dag body: that is `body`, read in place
  // (a 10,000-task DAG would otherwise be copied on every call).
  json tmpl;
  const char* body_key = nullptr;          // "steps" | "dag" | nullptr (no body)
  const json* body = nullptr;              // into the spec, a looked-up template or `owned_body`
  std::shared_ptr<const json> owned_body;  // an inline template's body, or one defaults changed
  TmplCtx ctx;                             // where the template's own references resolve
  std::string template_name;               // node.templateName and the pod name's middle part
  json template_ref;                       // null, or {name, template, clusterScope}
};

struct ExecOpts {
  std::string boundary_id;
  bool on_exit = false;  // part of an exit handler: still runs under shutdown Stop
};

// Bounds that keep hostile specs from exhausting memory or stack.
inline constexpr int kMaxDepth = 100;           // nested template calls (Argo's default)
inline constexpr size_t kMaxLoopItems = 10000;  // items of one withItems/withParam/withSequence
inline constexpr int64_t kMaxRetries = 10000;   // attempts when retryStrategy.limit is unset

// The local kubelet's status.reason for a pod that was running when the runtime restarted
// (restartPolicy Never forbids running it again in place).
inline constexpr char kNodeRestarted[] = "NodeRestarted";
inline constexpr char kFailFastMessage[] =
    "template has failed or errored children and failFast enabled";
inline constexpr char kRestartMessage[] =
    "pod interrupted by a restart of the local runtime; running it again";

class Operator {
 public:
  // `status`, when given, is the workflow's status moved out of `in` (OperateConsumingStatus);
  // otherwise in.workflow's status is copied.
  explicit Operator(const EngineInput& in, json* status = nullptr);
  absl::StatusOr<EngineOutput> Run();

  // --- nodes (engine.cc)
  json* NodeByName(const std::string& name);
  json* NodeById(const std::string& id);
  json& InitNode(const std::string& name, const std::string& type, const std::string& display,
                 const std::string& boundary_id, const std::string& phase,
                 const std::string& message, const Resolved* r);
  void AddChild(const std::string& parent_name, const std::string& child_name);
  void MarkPhase(json& node, const std::string& phase,
                 const std::optional<std::string>& message = std::nullopt);
  std::vector<std::string> OutboundNodes(const std::string& id, int depth = 0);
  std::string Id(const std::string& node_name) const { return NodeId(wf_name_, node_name); }
  void Requeue(absl::Duration d);
  void Event(std::string e) { out_.events.push_back(std::move(e)); }
  bool ShutdownBlocks(bool on_exit) const;
  std::string ShutdownMessage() const;

  // --- templates (templates.cc)
  absl::StatusOr<Resolved> Resolve(const json& holder, const TmplCtx& ctx);

  // --- scope (scope.cc)
  // Applies arguments to inputs.parameters (argument > value > default; enum checked).
  absl::StatusOr<json> ProcessInputs(const json& tmpl, const json& args);
  // Globals + inputs.parameters.* of an input-processed template.
  tmpl::Scope TemplateScope(const json& tmpl) const;
  void AddNodeToScope(tmpl::Scope& scope, const std::string& prefix, const json& node);
  void AddAggregateToScope(tmpl::Scope& scope, const std::string& prefix,
                           const std::vector<const json*>& children);
  // Outputs of a steps/dag template from its scope (valueFrom.parameter/expression/default).
  absl::StatusOr<json> OutputsFromScope(const json& tmpl, const tmpl::Scope& scope);
  void PublishGlobalOutputs(const json& outputs);
  // The items of a withItems/withParam/withSequence step or task (already substituted).
  absl::StatusOr<std::vector<json>> LoopItems(const json& step);
  // Evaluates arguments.parameters[].valueFrom.expression of a step/task.
  absl::StatusOr<json> ResolveArgumentExpressions(const json& step, const tmpl::Scope& scope);
  void SetGlobal(const std::string& name, const std::string& value);

  // --- artifacts (artifacts.cc)
  // Gives each inputs.artifacts entry its location from the arguments (`from`, raw, ...).
  absl::Status ResolveInputArtifacts(json& inputs, const json& args);
  // inputs.artifacts.<N> (+ .path), outputs.artifacts.<N>.path, outputs.parameters.<N>.path.
  void AddArtifactsToScope(tmpl::Scope& scope, const json& t) const;
  void PublishGlobalArtifacts(const json& outputs);
  void RestoreGlobalArtifacts();  // workflow.outputs.artifacts.* from the stored status
  // Pods that move artifacts: the complete archiveLocation (the repository's location with the
  // expanded keyFormat) and key-only artifacts filled from the repository, in the template;
  // errors name the field.
  absl::Status SetArchiveLocation(json& t, const std::string& pod_name) const;
  // The local repository's volume (when the template uses it) and the Secrets its artifact
  // locations reference, in the pod.
  absl::Status AttachArtifactRepository(json& pod_spec, const json& t) const;
  // The configured repository (status.artifactRepositoryRef.artifactRepository); null: the
  // local one.
  json repository_;

  // --- execution (engine.cc, pods.cc, steps.cc, dag.cc)
  // nullptr: the node could not start yet (parallelism, suspend, shutdown, deadline).
  absl::StatusOr<json*> ExecuteTemplate(const std::string& node_name, const json& holder,
                                        const TmplCtx& ctx, const json& args, const ExecOpts& opts,
                                        int depth);
  absl::StatusOr<json*> ExecuteSteps(const std::string& name, const Resolved& r, const json& t,
                                     const ExecOpts& opts, int depth);
  absl::StatusOr<json*> ExecuteDag(const std::string& name, const Resolved& r, const json& t,
                                   const ExecOpts& opts, int depth);
  json* ExecutePod(const std::string& name, const Resolved& r, const json& t, const ExecOpts& opts,
                   int retries);
  json* ExecuteSuspend(const std::string& name, const Resolved& r, const json& t,
                       const ExecOpts& opts);
  json* ExecuteResource(const std::string& name, const Resolved& r, const json& t,
                        const ExecOpts& opts);
  // --- http templates (http.cc): the request goes out as EngineOutput::http_requests, the
  // outcome comes back in EngineInput::http and is judged here (successCondition).
  json* ExecuteHttp(const std::string& name, const Resolved& r, const json& t,
                    const ExecOpts& opts);
  // A parameter's valueFrom.configMapKeyRef (`ref`) through EngineInput::configmaps; `fallback`
  // (valueFrom.default, or the parameter's default) when the ConfigMap or key is missing, "" when
  // the reference is `optional`; errors otherwise.
  absl::StatusOr<std::string> ConfigMapParameter(const json& ref,
                                                 const std::optional<std::string>& fallback);
  absl::StatusOr<json> BuildPod(const std::string& node_name, const std::string& pod_name,
                                const std::string& template_name, const json& t);
  void ReconcilePods();
  // --- container sets (container_set.cc): one pod, one Container child node per container.
  // The pod's containers: each runs `argoexec emissary` for its entry of the containerSet.
  json ContainerSetContainers(const std::string& node_name, const json& t);
  // Container nodes `<pod node>.<container>` (Pending), linked as the dependency graph says.
  void InitContainerNodes(const std::string& pod_node_name, const Resolved& r, const json& t);
  // Container node phases from the observed container states (pod may be null).
  void ReconcileContainerNodes(const json& pod_node, const PodState* pod);
  // Container nodes still open when their pod node completed end with it.
  void FinishContainerNodes();
  bool has_container_sets_ = false;
  // A node whose pod died with the runtime runs again without counting a retry.
  void RestartInterruptedPod(json& node, const std::string& pod_name);
  void KillDaemonedChildren(const std::string& boundary_id);
  void ApplyDeadlinesAndShutdown();

  // --- retries (retry.cc): false = do not run a new attempt now.
  bool ProcessRetries(json& node, const json& strategy);

  // --- exit handlers and hooks (exit_handlers.cc)
  // Runs the node-level exit handler (hooks.exit / onExit) of a completed step/task node.
  // Returns {has_handler, handler node or nullptr}.
  absl::StatusOr<std::pair<bool, json*>> RunNodeExitHandler(const json& step, const json& node,
                                                            const std::string& boundary_id,
                                                            const TmplCtx& ctx, int depth);
  json FailuresJson() const;
  // Lifecycle hooks (every `hooks` key but `exit`) of the node `parent_name`: a hook whose
  // expr-lang `expression` holds over `scope` starts as `<parent>.hooks.<key>` and, once started,
  // is driven until it is fulfilled, whatever the expression says later.
  struct HookState {
    bool pending = false;  // a started hook is not fulfilled yet
    std::string error;     // a hook that ended Error, or a bad hook spec: fails the scope
  };
  absl::StatusOr<HookState> RunLifecycleHooks(const json& hooks, const std::string& parent_name,
                                              const tmpl::Scope& scope,
                                              const std::string& boundary_id, const TmplCtx& ctx,
                                              int depth);
  // The same for a step or task node: its own status is visible as `<prefix>.<displayName>`
  // (prefix "steps" or "tasks"), and hook arguments may use its outputs.
  absl::StatusOr<HookState> RunNodeLifecycleHooks(const json& step, const json& node,
                                                  const std::string& prefix,
                                                  const tmpl::Scope& scope,
                                                  const std::string& boundary_id,
                                                  const TmplCtx& ctx, int depth);

  // --- synchronization (sync.cc)
  struct LockOutcome {
    enum Kind { kAcquired, kWaiting, kFailed } kind = kAcquired;
    std::string message;
    std::string waiting_on;  // kWaiting: the first lock key that could not be taken
  };
  // The lock keys a `synchronization` object asks for (mutexes, semaphores and the legacy
  // singular fields), without duplicates; errors name the field under `path`.
  absl::StatusOr<std::vector<std::string>> LockKeys(const json& sync,
                                                    const std::string& path) const;
  // "<ns>/<workflow>" for node_id "", else "<ns>/<workflow>/<node id>".
  std::string LockHolder(const std::string& node_id) const;
  // Takes every key for `holder` (already held per the status: no question asked) and records
  // holding/waiting in status.synchronization.
  LockOutcome AcquireLocks(const std::string& holder, const std::vector<std::string>& keys);
  // Template-level synchronization of the node `node_name` (null `node` = not created yet).
  // Returns the node to hand back when it must wait (or failed), nullptr when it may run.
  json* SynchronizeNode(const std::string& node_name, json* node, const Resolved& r, const json& t,
                        const std::string& type, const ExecOpts& opts);
  // Workflow-level synchronization; false: the workflow waits (status is set for that).
  bool SynchronizeWorkflow(const std::string& phase0, const json& globals_sync);
  // Lets go of what completed nodes (or, once it is done, the whole workflow) held, into
  // out_.lock_releases; tidies status.synchronization.
  void SettleLocks(bool workflow_done);
  bool sync_used_ = false;

  const EngineInput& in_;
  json* status_in_ = nullptr;   // see the constructor
  const std::string now_text_;  // FormatTimestamp(in_.now), which every new node needs
  EngineOutput out_;
  // The workflow's spec, read in place; `merged_spec_` when a workflowTemplateRef was merged.
  const json* spec_ = nullptr;
  json merged_spec_;
  json status_;  // the status being built
  json* nodes_ = nullptr;
  // status.nodes by id (keys are the map's own keys, which stay put): a tree lookup per task per
  // call dominated large DAGs. Every insert goes through InitNode, which keeps it current.
  struct IndexedNode {
    json* node = nullptr;
    // The phase was a completed one when last set (index build, InitNode, MarkPhase), so a
    // finished node is known without reading its JSON again (the reads were a large DAG's cost).
    bool completed = false;
  };
  absl::flat_hash_map<std::string_view, uint32_t> node_index_;  // id -> node_slots_ index
  std::vector<IndexedNode> node_slots_;
  // node_slots_ index of the node `id`, -1 when there is none.
  int64_t SlotOf(std::string_view id) const {
    auto it = node_index_.find(id);
    return it == node_index_.end() ? -1 : static_cast<int64_t>(it->second);
  }
  // False once MarkPhase met a node that its own id does not index (a hand-edited status):
  // IndexedNode::completed is then not trusted for the rest of the call.
  bool completed_mirror_ok_ = true;
  // Whether the indexed node is fulfilled (NodeFulfilled), reading its JSON only when needed.
  bool Fulfilled(const IndexedNode& n) const {
    return (n.completed && completed_mirror_ok_) || NodeFulfilled(*n.node);
  }
  std::string wf_name_;
  std::string ns_;
  tmpl::Scope globals_;
  std::map<std::string, json, std::less<>> template_cache_;  // "kind/name" -> object or null
  int64_t active_pods_ = 0;
  int64_t pods_total_ = 0;  // Pod nodes, and those Succeeded / Running (status.progress)
  int64_t pods_succeeded_ = 0;
  int64_t pods_running_ = 0;
  // Pod nodes not completed when the call began, in id order: what ReconcilePods looks at.
  std::vector<json*> open_pods_;
  std::map<std::string, int64_t> active_children_;       // boundary id -> running Pod/Steps/DAG
  std::map<std::string, int64_t> active_boundary_pods_;  // boundary id -> Pending/Running pods
  std::map<std::string, int64_t> failed_children_;  // boundary id -> Failed/Error Pod/Steps/DAG
  std::set<std::string> fail_fast_boundaries_;      // steps/dag node ids whose template failFast
  // Keeps the counters above in step with one node's (type, boundary, phase), delta +1 or -1.
  void Tally(const json& node, const std::string& phase, int delta);
  void Tally(const json& node, const std::string& type, const std::string& phase, int delta);
  // Argo checkParallelism's failFast rule for the steps/dag node `boundary`: once a child failed
  // no new child starts (true), and the node fails once none of its pods is active any more.
  bool FailFastHalts(json& boundary);
  bool suspended_ = false;
  bool deadline_exceeded_ = false;
  std::string shutdown_;
  std::set<std::string> pods_created_;
  std::unordered_map<std::string, std::unordered_set<std::string>> child_index_;  // AddChild
  std::map<std::string, int64_t> boundary_parallelism_;  // steps/dag node id -> limit
  bool has_daemons_ = false;
  bool completed_daemons_checked_ = false;  // see KillDaemonedChildren
  // The template a node runs, as stored in status.storedTemplates (pod reconciliation needs its
  // outputs and daemon flag).
  const json* StoredTemplate(const json& node) const;
  void StoreTemplate(const json& node, const json& tmpl);
};

// Empties status.synchronization.{mutex,semaphore}.waiting (sync.cc).
void ClearLockWaiting(json& status);

// containerSet checks (errors name the field, e.g. "containerSet.containers[1].dependencies[0]").
absl::Status ValidateContainerSet(const json& container_set);
// Why a failed containerSet pod failed, as Argo words it: the first container (in spec order)
// that exited non-zero, "Error (exit code N)". nullopt when none did.
std::optional<std::string> ContainerSetFailure(const PodState& pod, const json& container_set);

// Where step pods see the local artifact repository (under the pod-private /tmp, so the mount
// point never has to be created on the host).
inline constexpr char kArtifactRepoVolume[] = "argonaut-artifact-repository";
inline constexpr char kArtifactRepoMountPath[] = "/tmp/.argonaut-artifacts";
// `{{steps.X.outputs.artifacts.Y}}`-style arguments given as fromExpression, evaluated in
// `scope` into the artifact they name (artifacts.cc).
absl::Status ResolveArtifactArgumentExpressions(json& step, const tmpl::Scope& scope);
// artifacts.cc, shared by scope.cc and pods.cc.
void AddNodeArtifactsToScope(tmpl::Scope& scope, const std::string& prefix, const json& outputs);
absl::StatusOr<json> ArtifactOutputsFromScope(const json& t, const tmpl::Scope& scope);
json PodArtifactOutputs(const json& report, const json* tmpl);

// Shared by steps.cc and dag.cc.
absl::StatusOr<std::vector<json>> ExpandLoop(Operator& op, const json& step);
bool StepContinuesOn(const json& step, const std::string& phase);

}  // namespace argonaut::workflow::engine::internal
