// Artifacts in argoexec: input artifacts are loaded to their `path` before the step's command
// runs, output artifacts are saved to the local artifact repository after it exits.
//
// The local repository is a directory owned by the platform (<data_dir>/artifacts). An artifact
// stored there is recorded as {"name", "path", "local": {"key": "<wf>/<pod>/<name>.tgz"}} (with
// "archive": {"none": {}} when it was stored as the file or directory itself). Keys are relative
// paths below the repository root.
//
// Planning (which artifacts, which keys, which checks) is pure; LoadInputArtifact and
// SaveOutputArtifact do the file I/O. A hostile artifact (tar member "../x", absolute names,
// symlinked parents) never writes outside its target path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::executor {

// Environment of a step pod that uses artifacts: where the repository is mounted in the pod,
// and its host path (what a pod that shares the host filesystem sees).
inline constexpr char kArtifactRepoEnv[] = "ARGONAUT_ARTIFACT_REPO";
inline constexpr char kArtifactRepoHostEnv[] = "ARGONAUT_ARTIFACT_REPO_HOST";

// Bounds on what one archive may hold.
inline constexpr size_t kMaxTarEntries = 1000000;
// Bytes one input artifact may extract to (the sum of its members' sizes).
inline constexpr uint64_t kMaxExtractBytes = uint64_t{4} << 30;
inline constexpr size_t kMaxTarNameBytes = 4096;

struct InputArtifactPlan {
  std::string name;
  std::string path;  // absolute target in the pod
  bool from_raw = false;
  std::string raw_data;
  std::string key;       // repository key (from_raw == false)
  bool archived = true;  // the stored object is a tar(.gz) of one top-level entry
  std::string sub_path;  // normalised relative path inside the artifact, or ""
  std::optional<uint32_t> mode;
  bool recurse_mode = false;
  uint64_t max_bytes = kMaxExtractBytes;  // extraction cap (archived artifacts)
};

// The input artifacts to load, from a resolved template (the controller has already turned
// `from` into a location). Optional artifacts without a location are left out; an unsupported
// location (s3, git, http, ...) is an error naming the field.
absl::StatusOr<std::vector<InputArtifactPlan>> PlanInputArtifacts(const nlohmann::json& tmpl);

struct OutputArtifactPlan {
  std::string name;
  std::string path;  // absolute source in the pod
  std::string key;   // repository key to write
  bool archived = true;
  int compression_level = -1;  // gzip level; -1 = zlib's default, 0 = stored
  bool optional = false;
  nlohmann::json record;  // the status entry once saved (name, path, local.key, archive)
};

// The output artifacts to save. Keys follow Argo's default key format: the template's
// archiveLocation.local.key ("{{workflow.name}}/{{pod.name}}", set by the controller) plus
// "<name>.tgz", or the base name of the path when `archive: {none: {}}`.
absl::StatusOr<std::vector<OutputArtifactPlan>> PlanOutputArtifacts(const nlohmann::json& tmpl);

// A repository key: relative, no "." / ".." / empty components, no NUL, bounded length.
absl::Status ValidateRepositoryKey(std::string_view key);

// A tar member name as a clean relative path ("./a//b/" -> "a/b"); "." for the root entry.
// Absolute names and ".." components are errors.
absl::StatusOr<std::string> SafeMemberPath(std::string_view name);

// One tar header (ustar; GNU long names are separate 'L'/'K' entries).
struct TarHeader {
  std::string name;
  char type = '0';  // '0' file, '5' directory, '2' symlink, 'L'/'K' GNU long name/link, ...
  uint64_t size = 0;
  uint32_t mode = 0644;
  std::string link;
  int64_t mtime = 0;
};
// The 512-byte header block; names longer than 100 bytes must go in a preceding 'L' entry (the
// name field then holds a truncated copy).
std::string EncodeTarHeader(const TarHeader& h);
// Decodes a header block; an all-zero block is NotFound (end of archive); a bad checksum or
// number is InvalidArgument.
absl::StatusOr<TarHeader> DecodeTarHeader(std::string_view block);

// The repository root argoexec uses: the host path when it is a directory (the pod shares the
// host's filesystem there), else the mount path; "" when neither is set.
std::string RepositoryRoot(const char* mount_env, const char* host_env);

// `rel` opened below the directory `root` without following any symlink and without leaving
// it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS), or (use_openat2
// false, or openat2 missing or refused by seccomp) a walk of the components with O_NOFOLLOW.
// -1 with errno: ELOOP (a link on the way), EXDEV (escapes), ENOENT, ...
int OpenBeneath(int root, const std::string& rel, int flags, mode_t mode, bool use_openat2 = true);

// File I/O. Keys resolve below repo_root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_SYMLINKS): a symlink on the way (planted, or stored in an unarchived artifact) is
// an InvalidArgument error, never followed. Writes the artifact to plan.path (parents created). The
// target must not exist unless it is under /tmp (pod-private); `created` receives the topmost path
// this call created, for removal when the step ends.
absl::Status LoadInputArtifact(const InputArtifactPlan& plan, const std::string& repo_root,
                               std::string* created);
// An archive whose members add up to more than plan.max_bytes is ResourceExhausted before the
// oversized member is written. The repository is only read.
//
// Saves plan.path under repo_root/plan.key. NotFound when the path does not exist. Symlinks in
// the output are stored as links, never followed. The file or tree, its directory and every
// directory made for the key are fsynced before this returns (the step then reports it).
absl::Status SaveOutputArtifact(const OutputArtifactPlan& plan, const std::string& repo_root);

}  // namespace argonaut::workflow::executor
