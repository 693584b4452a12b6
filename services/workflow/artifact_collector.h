// ArtifactCollector: the I/O half of artifact GC, run by the workflow
// controller in its own process (no GC pods). For a workflow that carries the
// artifact-gc finalizer and has completed or is being deleted, it deletes the
// artifacts artifact_gc::Decide names through `delete_artifact` (the artifact
// drivers), writes the outcome (artifact_gc::Apply) with the read
// resourceVersion as precondition, records failures as the ArtifactGCError
// condition and a v1 Event on the workflow, retries with backoff a bounded
// number of times, and deletes a workflow being deleted once no finalizer
// holds it.
//
//   ArtifactCollector gc(&api, cluster, {.delete_artifact = DeleteThroughDrivers});
//   ASSIGN_OR_RETURN(std::optional<controller::Result> r, gc.Reconcile(key, wf));
//   if (r.has_value()) return *r;   // GC handled this reconcile
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/cluster/cluster.h"
#include "lib/controller/controller.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow {

// The value of `key` in Secret `name` of namespace `ns`, read from the
// cluster (`stringData` as is, `data` base64-decoded). Errors name the Secret
// and key, never a value. The signature of artifacts::SecretResolver once
// bound to a namespace.
absl::StatusOr<std::string> ReadClusterSecret(cluster::Cluster* cluster, std::string_view ns,
                                              std::string_view name, std::string_view key);

struct ArtifactCollectorOptions {
  // Deletes one artifact (a node's output, with its complete location) of a
  // workflow in namespace `ns`; OK when it is already gone.
  std::function<absl::Status(const nlohmann::json& artifact, const std::string& ns)>
      delete_artifact;
  // The spec of a (Cluster)WorkflowTemplate a workflowTemplateRef names;
  // null when unknown.
  std::function<nlohmann::json(const std::string& ns, const nlohmann::json& ref)> template_spec;
  int max_attempts = 5;
  // Backoff after the first failed attempt; doubled per attempt, capped at 5 minutes.
  absl::Duration backoff = absl::Seconds(2);
  // Clock for condition times; tests pin it.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

class ArtifactCollector {
 public:
  // `workflows` must outlive the collector; `cluster` (events) may be null.
  ArtifactCollector(resource::ResourceApi* workflows, cluster::Cluster* cluster,
                    ArtifactCollectorOptions options);

  // The spec governing `wf` (its workflowTemplateRef's merged under it).
  nlohmann::json SpecOf(const nlohmann::json& wf) const;

  // Whether Reconcile has work for `wf` (the controller's resync lists such
  // workflows even when they completed).
  bool Pending(const nlohmann::json& wf) const;

  // Adds the finalizer (or artifactGCStatus.notSpecified) to a workflow the
  // controller is about to write.
  void PrepareWrite(nlohmann::json& wf) const;

  // Handles a workflow being deleted (never run further) or a completed one
  // with GC left to do; nullopt when GC has nothing to do with `wf`.
  absl::StatusOr<std::optional<controller::Result>> Reconcile(const std::string& key,
                                                              const nlohmann::json& wf);

 private:
  void RecordEvent(const nlohmann::json& wf, const std::string& message);

  resource::ResourceApi* const workflows_;
  cluster::Cluster* const cluster_;
  const ArtifactCollectorOptions options_;
  absl::Mutex mu_;
  // Failed attempts per workflow key (uid-qualified), reset when GC succeeds.
  std::map<std::string, int> attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::workflow
