// The platform's local folder repository (<data_dir>/artifacts) behind the Driver interface:
// an artifact `{"local": {"key": "wf/pod/name.tgz"}}` is the file or directory at that key
// below the root. Keys resolve with OpenBeneath (beneath.h): a symlink on the way is refused,
// never followed, whoever planted it. Saves are written aside, fsynced and renamed, so a
// reader never sees half an object and a recorded key survives a crash. Loads only read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/artifacts/beneath.h"
#include "lib/artifacts/driver.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

class LocalDriver : public Driver {
 public:
  explicit LocalDriver(std::string root) : root_(std::move(root)) {}

  absl::Status Load(const nlohmann::json& artifact, const std::string& dst) override;
  absl::Status OpenStream(const nlohmann::json& artifact, const ChunkSink& sink) override;
  absl::Status Save(const std::string& src, const nlohmann::json& artifact) override;
  absl::Status Delete(const nlohmann::json& artifact) override;
  absl::StatusOr<std::vector<std::string>> ListObjects(const nlohmann::json& artifact) override;

  // The object at `key`, opened read-only (O_RDONLY | O_NONBLOCK) below the root, so a caller
  // can unpack or copy it in place. The descriptor is the caller's.
  absl::StatusOr<int> OpenObject(const std::string& key) const;
  // Stores what `write` writes into the descriptor it is given as the file `key`.
  absl::Status SaveWith(const std::string& key, const std::function<absl::Status(int fd)>& write);
  // Stores the file or tree `src` as itself at `key` (links stored as links).
  absl::Status SaveCopy(const std::string& src, const std::string& key);

  // The repository root itself, to leave out of an artifact that contains it (a step whose
  // output is /tmp, where the repository is mounted).
  SkipDir RootIdentity() const;
  const std::string& root() const { return root_; }

 private:
  // Writes to a temporary name beside `key` with `fill(parent_fd, tmp_name)` then renames.
  absl::Status Store(const std::string& key,
                     const std::function<absl::Status(int parent, const std::string& tmp)>& fill);
  std::string root_;
};

// `artifact["local"]["key"]`, validated (relative, no "..", no empty components).
absl::StatusOr<std::string> LocalKey(const nlohmann::json& artifact);

// A driver for the repository at options.local_root; FailedPrecondition when it is empty.
absl::StatusOr<std::unique_ptr<LocalDriver>> MakeLocalDriver(const DriverOptions& options);

}  // namespace argonaut::artifacts
