// Artifact drivers: one interface over the places a workflow artifact can live
// (the platform's local folder repository, S3, HTTP, git, raw), so that the
// executor (inputs and outputs of a step), the workflow controller (artifact
// GC) and the API (downloads) move artifacts the same way.
//
// An artifact is Argo's JSON shape (an `inputs.artifacts[]` /
// `outputs.artifacts[]` entry): a name, and exactly one location field
// (`s3`, `http`, `git`, `raw`, `local`, ...) that is complete, i.e. the
// controller has already merged the repository's settings and key into it.
// Secret references in a location (`accessKeySecret`, `passwordSecret`, ...)
// are resolved through the SecretResolver the caller passes: the executor
// reads Secrets mounted into its pod, the controller and the API read them
// from the cluster. Secret values are never logged or put into an error.
//
//   ASSIGN_OR_RETURN(auto driver, MakeDriver(artifact, options));
//   RETURN_IF_ERROR(driver->Load(artifact, "/tmp/in.tgz"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

// Where a step pod's artifact Secrets are mounted: the Secret NAME's keys are the files
// `<kArtifactSecretMountRoot>/NAME/<key>` (the controller mounts each one read-only).
inline constexpr char kArtifactSecretMountRoot[] = "/var/run/argonaut/artifact-secrets";

// The value of key `key` of Secret `name` in the workflow's namespace.
// NotFound names the Secret and key (never a value).
using SecretResolver =
    std::function<absl::StatusOr<std::string>(std::string_view name, std::string_view key)>;

// Receives an object's bytes in order; a non-OK status stops the transfer and
// is returned by the call that streams.
using ChunkSink = std::function<absl::Status(std::string_view chunk)>;

struct DriverOptions {
  SecretResolver secrets;
  // Root of the platform's local folder repository on this host ("" when the
  // caller has none; a `local` artifact is then FailedPrecondition).
  std::string local_root;
};

class Driver {
 public:
  virtual ~Driver() = default;

  // Writes the stored object of `artifact` to the local file `dst` (created
  // or truncated, parents must exist), streaming: never whole in memory.
  // A key that names a "directory" (an S3 prefix, a git checkout) is written
  // as the tree `dst`. NotFound when the object does not exist.
  virtual absl::Status Load(const nlohmann::json& artifact, const std::string& dst) = 0;

  // Streams the stored object of `artifact` (a single object, never a
  // prefix) to `sink`: the API's download path.
  virtual absl::Status OpenStream(const nlohmann::json& artifact, const ChunkSink& sink) = 0;

  // Stores the local file or directory `src` as `artifact`'s object (a
  // directory as one object per file under the key as a prefix, as Argo's S3
  // driver does for `archive: {none: {}}`). Unimplemented for read-only
  // locations (git, raw).
  virtual absl::Status Save(const std::string& src, const nlohmann::json& artifact) = 0;

  // Deletes the object (and, for a prefix, every object under it). Deleting
  // what does not exist is OK (GC may run twice).
  virtual absl::Status Delete(const nlohmann::json& artifact) = 0;

  // Keys of the objects under `artifact`'s key taken as a prefix (the key
  // itself when it is one object); empty when none.
  virtual absl::StatusOr<std::vector<std::string>> ListObjects(const nlohmann::json& artifact) = 0;
};

// The location field of `artifact` that names where it lives ("s3", "http",
// "git", "raw", "local", "artifactory", ...); InvalidArgument naming the
// artifact when it has none or more than one.
absl::StatusOr<std::string> LocationKind(const nlohmann::json& artifact);

// A driver for `artifact`'s location kind. Unimplemented names the field for
// kinds Argonaut does not support (gcs, azure, oss, hdfs, artifactory).
absl::StatusOr<std::unique_ptr<Driver>> MakeDriver(const nlohmann::json& artifact,
                                                   const DriverOptions& options);

// The executor's SecretResolver: reads `<root>/<name>/<key>` (Secrets mounted as volumes).
// NotFound names the Secret and key; names or keys with '/' or ".." are InvalidArgument.
SecretResolver MountedSecretResolver(std::string root = kArtifactSecretMountRoot);

}  // namespace argonaut::artifacts
