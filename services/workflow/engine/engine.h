// The pure decision core of the workflow controller (Argo's workflow/controller/operator.go,
// steps.go, dag.go). Operate() reads a workflow (spec + current status) and the pods observed for
// it, and answers with the next status and the pods to create or delete. It does no I/O, reads no
// clock (EngineInput::now) and starts no threads, so the controller can call it again and again
// with fresh observations: it is level-triggered and idempotent.
//
//   EngineInput in{.workflow = wf, .pods = observed, .now = absl::Now(), .lookup = templates};
//   ASSIGN_OR_RETURN(EngineOutput out, Operate(in));
//   wf["status"] = out.status;  // then create out.pods_to_create, delete out.pods_to_delete
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::engine {

// One container of a pod, as its status reports it (containerSet pods need every container).
struct ContainerState {
  std::string state;             // "waiting" | "running" | "terminated"
  std::optional<int> exit_code;  // once terminated
  std::string error;             // the executor report's "error" (e.g. a failed dependency)
};

// What the controller observed of one pod the engine asked for.
struct PodState {
  // "Pending" | "Running" | "Succeeded" | "Failed"; "" = the pod does not exist (yet / any more).
  std::string phase;
  std::optional<int> exit_code;  // main container's exit code once terminated
  std::string message;           // failure reason/message, e.g. "Error (exit code 1)"
  // The executor's report (null if none): {"result": "...", "exitCode": "1",
  // "parameters": [{"name": "x", "value": "..."}]}.
  nlohmann::json outputs;
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();
  std::string pod_ip;
  bool ready = false;  // daemon steps: main container ready (or running without a probe)
  std::map<std::string, ContainerState> containers;  // by container name
};

// Outcome of one resource-template action the engine asked for (see
// EngineOutput::resource_actions).
struct ResourceState {
  // "Succeeded" (the action completed and successCondition held, or no condition), "Failed"
  // (failureCondition held or the action failed), "" / "Running" (still waiting).
  std::string phase;
  std::string message;
  nlohmann::json object;  // the object as read back from the cluster (for outputs), or null
};

// Synchronization (Argo's mutexes and semaphores). The engine names the locks a workflow or a
// template asks for and records them in the status; whether a lock is free is decided outside
// (the controller's lock manager), so Operate stays a function of its inputs.
//
// A lock key is Argo's: "<namespace>/Mutex/<name>" or "<namespace>/ConfigMap/<configmap>/<key>".
// A holder is "<namespace>/<workflow>" (workflow level) or "<namespace>/<workflow>/<node id>".
struct LockRequest {
  std::string holder;
  std::vector<std::string> keys;  // all must be acquired together
  int64_t priority = 0;           // spec.priority: higher first
  absl::Time created;             // metadata.creationTimestamp: older first
};

struct LockDecision {
  bool acquired = false;
  // While waiting: Argo's "Waiting for <key> lock. Lock status: <free>/<limit>" and the first
  // key that could not be taken.
  std::string message;
  std::string waiting_on;
  // The current holders of each requested key (status.synchronization.*.waiting shows them).
  std::map<std::string, std::vector<std::string>> holders;
};

// Errors (a semaphore's ConfigMap or key missing, a bad limit) end the requester: the node in
// Error, the workflow Failed, with the message.
using LockArbiter = std::function<absl::StatusOr<LockDecision>(const LockRequest&)>;

// A holder's locks that the engine let go (its node or the workflow completed, or a waiting node
// ended without them); the controller passes it to its lock manager once the status is written.
struct LockRelease {
  std::string holder;
  std::vector<std::string> keys;
};

using TemplateLookup =
    std::function<std::optional<nlohmann::json>(std::string_view kind, std::string_view name)>;

// The value of `key` in the ConfigMap `name` of the workflow's namespace, for parameters'
// valueFrom.configMapKeyRef. NotFound (message naming the ConfigMap or key) when the ConfigMap,
// or its key, is missing: `optional` and `valueFrom.default` apply then; other errors always
// end the requester. Reads only (the controller answers from the cluster).
using ConfigMapLookup =
    std::function<absl::StatusOr<std::string>(std::string_view name, std::string_view key)>;

// What the controller got for one HTTP template request (EngineOutput::http_requests).
struct HttpResult {
  bool done = false;  // false: the request is still in flight
  // Non-empty: no response (connection refused, timeout, TLS, a header's Secret missing, the
  // body over the size limit); the node fails with it.
  std::string error;
  int status_code = 0;
  std::string body;
  // Response headers by canonical name ("Content-Type"), as Go's http.Header:
  // successCondition reads `response.headers["Server"][0]`.
  std::map<std::string, std::vector<std::string>> headers;
};

struct EngineInput {
  nlohmann::json workflow;               // Argo JSON: metadata, spec, status
  std::map<std::string, PodState> pods;  // by pod name; only this workflow's pods
  absl::Time now;
  // (kind, name) -> WorkflowTemplate / ClusterWorkflowTemplate object, or nullopt.
  TemplateLookup lookup;
  // Resource-template outcomes by node id (the key of EngineOutput::resource_actions).
  std::map<std::string, ResourceState> resources;
  // Host directory of the local artifact repository; empty: artifacts that need it fail with a
  // message saying so.
  std::string artifact_repository;
  // What status.artifactRepositoryRef records when the status has none yet (Argo resolves the
  // repository once per workflow and keeps it): {"namespace", "configMap", "key",
  // "artifactRepository"} or {"default": true} (+ "artifactRepository" when the controller's
  // ConfigMap names one). Null: nothing is recorded. A recorded ref without artifactRepository
  // means the local repository above.
  nlohmann::json artifact_repository_ref;
  // Non-empty: the repository could not be resolved (its ConfigMap or key is missing); the
  // workflow ends in Error with this message.
  std::string artifact_repository_error;
  // Decides lock requests; empty: every lock is free (a workflow on its own, as in tests).
  LockArbiter locks;
  // HTTP template outcomes by node id (the key of EngineOutput::http_requests).
  std::map<std::string, HttpResult> http;
  // Answers valueFrom.configMapKeyRef; empty: every such parameter fails with a message.
  ConfigMapLookup configmaps;
};

struct EngineOutput {
  nlohmann::json status;                        // the complete new workflow status (Argo shape)
  std::vector<nlohmann::json> pods_to_create;   // complete Pod objects
  std::vector<std::string> pods_to_delete;      // pod names
  std::optional<absl::Duration> requeue_after;  // next timer (backoff, suspend, deadlines)
  std::vector<std::string> events;              // human-readable notes for the log
  // Resource templates to carry out against the cluster, keyed by node id:
  // {"action": "create|apply|delete|get|replace|patch", "manifest": {...} (parsed object),
  //  "successCondition": "...", "failureCondition": "...", "mergeStrategy": "...",
  //  "flags": [...]}. The controller performs each one (once per node id), evaluates the
  // conditions against the object and reports the outcome in EngineInput::resources.
  std::map<std::string, nlohmann::json> resource_actions;
  std::vector<LockRelease> lock_releases;
  // HTTP templates (Argo's `http`) to call, keyed by node id, asked for on every call while the
  // node is open (level-triggered: the controller starts each id once and reports it in
  // EngineInput::http): {"url", "method" (default GET), "headers": [{"name", "value"} or
  // {"name", "secretKeyRef": {"name", "key"}}], "body" (text) or "bodyBase64"
  // (bodyFrom.bytes), "timeoutSeconds" (default 30), "insecureSkipVerify"}.
  std::map<std::string, nlohmann::json> http_requests;
};

// Where the container that moves a step's artifacts finds each Secret its artifact locations
// reference: <root>/<secret name>/<key> (lib/artifacts/driver.h's kArtifactSecretMountRoot).
inline constexpr char kArtifactSecretMountRoot[] = "/var/run/argonaut/artifact-secrets";

// The archive location a configured repository (Argo's ArtifactRepository: {s3: {...,
// keyFormat, keyPrefix}, gcs, azure, oss, hdfs, artifactory, archiveLogs}) gives a pod: the
// repository's fields with its key format (default "{{workflow.name}}/{{pod.name}}") expanded by
// `render` into the location's key; errors name the field ("artifactRepository.s3.keyFormat").
absl::StatusOr<nlohmann::json> RepositoryLocation(
    const nlohmann::json& repository,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& render);

// Pods carry their workflow's name as a label value, which Kubernetes caps at 63 characters; a
// longer name ends the workflow in Error (Argo refuses it at validation).
inline constexpr size_t kMaxWorkflowNameLength = 63;

// Errors only for internal failures; problems in the spec end the workflow in phase Error with a
// message naming the field.
absl::StatusOr<EngineOutput> Operate(const EngineInput& in);

// Operate(in) without copying the status: in.workflow["status"] is moved into the call (the
// status of a 10,000-node workflow is the largest thing Operate reads) and in.workflow is left
// without one; everything else in `in` is only read. The output is the same as Operate(in)'s.
// For callers that hold `in` as a throwaway copy (a reconcile) and write out.status back.
absl::StatusOr<EngineOutput> OperateConsumingStatus(EngineInput& in);

}  // namespace argonaut::workflow::engine
