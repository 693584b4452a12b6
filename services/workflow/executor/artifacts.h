// Artifacts in argoexec: input artifacts are loaded to their `path` before the step's command
// runs, output artifacts are saved after it exits, through the drivers of lib/artifacts.
//
// Where artifacts go comes from the resolved template: `archiveLocation` is the repository's
// complete location with `key` = "<workflow>/<pod>" (set by the controller, e.g.
// {"s3": {"bucket": ..., "key": "wf/wf-123"}} or {"local": {"key": "wf/wf-123"}}). Each
// output is stored at `<that key>/<name>.tgz` (".zip" for zip, the path's base name for
// `archive: {none: {}}`) unless it names its own location, and is reported with its complete
// location (secret references, never secret values).
//
// The local folder repository (<data_dir>/artifacts) and raw artifacts are handled in this
// process (argoexec is static and starts once per step); every other location goes through
// the RemoteTransfer the caller passes (argoexec: a dynamically linked helper program, see
// remote.h), which moves the stored object to or from a local file or directory. Packing and
// unpacking (lib/artifacts/archive.h) always happen here, with the extraction limits.
//
// Planning (which artifacts, which keys, which checks) is pure; LoadInputArtifact and
// SaveOutputArtifact do the I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/artifacts/archive.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::executor {

// Environment of a step pod that uses the local repository: where it is mounted in the pod,
// and its host path (what a pod that shares the host filesystem sees).
inline constexpr char kArtifactRepoEnv[] = "ARGONAUT_ARTIFACT_REPO";
inline constexpr char kArtifactRepoHostEnv[] = "ARGONAUT_ARTIFACT_REPO_HOST";

// Argo's name for the main container's log saved with `archiveLogs`, and its key's file name.
inline constexpr char kMainLogsArtifact[] = "main-logs";
inline constexpr char kMainLogFile[] = "main.log";

using artifacts::kMaxExtractBytes;

struct InputArtifactPlan {
  std::string name;
  std::string path;  // absolute target in the pod
  std::string kind;  // "raw", "local", or a remote location ("s3", "git", "http", ...)
  bool from_raw = false;
  std::string raw_data;
  std::string key;       // local repository key (kind "local")
  bool archived = true;  // false with `archive: {none: {}}`: the object is the file or tree
  std::string sub_path;  // normalised relative path inside the artifact, or ""
  std::optional<uint32_t> mode;
  bool recurse_mode = false;
  uint64_t max_bytes = kMaxExtractBytes;  // extraction cap
  nlohmann::json artifact;                // the template's entry, location complete
};

// The input artifacts to load, from a resolved template (the controller has already turned
// `from` into a location). Optional artifacts without a location are left out.
absl::StatusOr<std::vector<InputArtifactPlan>> PlanInputArtifacts(const nlohmann::json& tmpl);

struct OutputArtifactPlan {
  std::string name;
  std::string path;  // absolute source in the pod
  std::string kind = "local";
  std::string key;  // where it is stored (the location's key)
  artifacts::ArchiveStrategy archive;
  bool optional = false;
  nlohmann::json record;  // the status entry once saved: the artifact with its complete location
};

// The output artifacts to save. Keys follow Argo's default layout below archiveLocation's key;
// an output with its own location (any but `local`: a step never chooses where it writes in
// the platform's folder) is stored there.
absl::StatusOr<std::vector<OutputArtifactPlan>> PlanOutputArtifacts(const nlohmann::json& tmpl);

// `archiveLocation.archiveLogs`: the plan for the main container's log (Argo's `main-logs`,
// at `<key>/main.log`, stored as is), or nullopt when logs are not archived.
absl::StatusOr<std::optional<OutputArtifactPlan>> PlanLogArtifact(const nlohmann::json& tmpl,
                                                                  const std::string& log_path);

// The repository root argoexec uses: the mount path when it is a directory (an isolated pod:
// only its workflow's part and its inputs are mounted there, and a directory artifact holding
// the mount point, path /tmp, must skip that very directory), else the host path (plain mode
// shares the host's filesystem and mounts nothing); "" when neither is set.
std::string RepositoryRoot(const char* mount_env, const char* host_env);

// Moves a stored object of a non-local location to or from a local file or tree.
struct RemoteTransfer {
  std::function<absl::Status(const nlohmann::json& artifact, const std::string& dst)> load;
  std::function<absl::Status(const std::string& src, const nlohmann::json& artifact)> save;
};

// Loads one input to plan.path (parents created). The target must not exist unless it is under
// /tmp (pod-private); `created` receives the topmost path this call created, for removal when
// the step ends. Archives are unpacked with Argo's rule (archive.h) and never past
// plan.max_bytes; local keys never resolve through a symlink; the repository is only read.
absl::Status LoadInputArtifact(const InputArtifactPlan& plan, const std::string& repo_root,
                               std::string* created, const RemoteTransfer* remote = nullptr);

// Saves plan.path: packed per plan.archive, then stored. NotFound when the path does not
// exist. Symlinks in the output are stored as links, never followed. A local save is fsynced
// (file, directories made for its key) before this returns.
absl::Status SaveOutputArtifact(const OutputArtifactPlan& plan, const std::string& repo_root,
                                const RemoteTransfer* remote = nullptr);

}  // namespace argonaut::workflow::executor
