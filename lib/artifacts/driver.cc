// LocationKind and MakeDriver: the one place that maps an artifact's location field to its
// driver. Remote drivers link libcurl / libgit2; the local driver alone links neither.
#include "lib/artifacts/driver.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/artifacts/beneath.h"
#include "lib/artifacts/local_driver.h"
#ifdef ARGONAUT_ARTIFACTS_S3
#include "lib/artifacts/s3/s3_driver.h"
#endif
#ifdef ARGONAUT_ARTIFACTS_HTTP
#include "lib/artifacts/http_driver.h"
#endif
#ifdef ARGONAUT_ARTIFACTS_GIT
#include "lib/artifacts/git_driver.h"
#endif
#ifdef ARGONAUT_ARTIFACTS_RAW
#include "lib/artifacts/raw_driver.h"
#endif

namespace argonaut::artifacts {
namespace {

using nlohmann::json;

// Every location field Argo's Artifact has, ours (`local`) included.
constexpr const char* kKinds[] = {"s3",          "gcs", "azure", "oss",    "hdfs", "http",
                                  "artifactory", "git", "raw",   "plugin", "local"};

constexpr size_t kMaxSecretBytes = 1 << 20;

}  // namespace

absl::StatusOr<std::string> LocationKind(const json& artifact) {
  const std::string name =
      artifact.is_object() && artifact.contains("name") && artifact["name"].is_string()
          ? artifact["name"].get<std::string>()
          : "";
  const std::string which = name.empty() ? "artifact" : absl::StrCat("artifact \"", name, "\"");
  if (!artifact.is_object()) return absl::InvalidArgumentError(which + ": not an object");
  std::vector<std::string> found;
  for (const char* kind : kKinds) {
    if (artifact.contains(kind) && !artifact[kind].is_null()) found.push_back(kind);
  }
  if (found.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(which, ": has no location (one of ", absl::StrJoin(kKinds, ", "), ")"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(which, ": has more than one location (", absl::StrJoin(found, ", "), ")"));
  }
  return found[0];
}

absl::StatusOr<std::unique_ptr<Driver>> MakeDriver(const json& artifact,
                                                   const DriverOptions& options) {
  absl::StatusOr<std::string> kind = LocationKind(artifact);
  if (!kind.ok()) return kind.status();
  if (*kind == "local") {
    absl::StatusOr<std::unique_ptr<LocalDriver>> d = MakeLocalDriver(options);
    if (!d.ok()) return d.status();
    return std::unique_ptr<Driver>(std::move(*d));
  }
#ifdef ARGONAUT_ARTIFACTS_S3
  if (*kind == "s3") return s3::MakeS3Driver(artifact["s3"], options);
#endif
#ifdef ARGONAUT_ARTIFACTS_HTTP
  if (*kind == "http") return MakeHttpDriver(artifact, options);
#endif
#ifdef ARGONAUT_ARTIFACTS_GIT
  if (*kind == "git") return MakeGitDriver(artifact, options);
#endif
#ifdef ARGONAUT_ARTIFACTS_RAW
  if (*kind == "raw") return MakeRawDriver(artifact, options);
#endif
  return absl::UnimplementedError(
      absl::StrCat(*kind, ": this artifact location is not supported by Argonaut"));
}

// The host path of the volume mounted at exactly `mount_path`, from the plain
// runtime's ARGONAUT_PLAIN_MOUNTS list; nullopt without one.
std::optional<std::string> PlainMountHostPath(const std::string& mount_path) {
  const char* env = std::getenv("ARGONAUT_PLAIN_MOUNTS");
  if (env == nullptr) return std::nullopt;
  const nlohmann::json mounts = nlohmann::json::parse(env, nullptr, /*allow_exceptions=*/false);
  if (!mounts.is_array()) return std::nullopt;
  for (const nlohmann::json& m : mounts) {
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string() &&
        m[0].get<std::string>() == mount_path) {
      return m[1].get<std::string>();
    }
  }
  return std::nullopt;
}

SecretResolver MountedSecretResolver(std::string root) {
  return [root = std::move(root)](std::string_view name_view,
                                  std::string_view key_view) -> absl::StatusOr<std::string> {
    const std::string name(name_view), key(key_view);
    const std::string rel = absl::StrCat(name, "/", key);
    if (name.empty() || key.empty() || name.find('/') != std::string::npos ||
        key.find('/') != std::string::npos || !ValidateKey(rel).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("secret \"", name, "\" key \"", key, "\": not a valid name"));
    }
    // Plain pods have no mounts: the runtime lists each volume's host path.
    std::string dir_path = root;
    std::string opened_rel = rel;
    if (access(root.c_str(), F_OK) != 0) {
      if (std::optional<std::string> host = PlainMountHostPath(absl::StrCat(root, "/", name))) {
        dir_path = *host;
        opened_rel = key;
      }
    }
    OwnedFd dir(open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // Kubernetes' Secret volumes hold links into a ..data directory, so links are followed
    // here: the mount is the platform's, not the step's.
    OwnedFd fd(dir.fd < 0 ? -1 : openat(dir.fd, opened_rel.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) {
      return absl::NotFoundError(absl::StrCat("secret \"", name, "\" key \"", key,
                                              "\" is not mounted in this pod (", root, ")"));
    }
    std::string value;
    char buf[4096];
    while (true) {
      ssize_t n = read(fd.fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(absl::StrCat("read secret \"", name, "\""));
      if (n == 0) break;
      value.append(buf, static_cast<size_t>(n));
      if (value.size() > kMaxSecretBytes) {
        return absl::ResourceExhaustedError(absl::StrCat("secret \"", name, "\": too large"));
      }
    }
    return value;
  };
}

}  // namespace argonaut::artifacts
