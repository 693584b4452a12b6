// containerSet templates in `argoexec emissary`: every container of the set runs this program
// (ARGO_CONTAINER_NAME says which entry), which starts the container's command once the
// containers it depends on exited 0, as Argo's emissary does. The containers of one pod share its
// /tmp, so they meet in a directory there: <dir>/<name>/lock (held while the container runs,
// released by the kernel whatever way it ends), <name>/ready (written once the lock is held) and
// <name>/exitcode.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::executor {

// Argo's emissary exits 64 when it failed itself rather than the command (e.g. a dependency
// failed); the controller reports such a container as Error.
inline constexpr int kEmissaryErrorExitCode = 64;

// The containerSet entry named `name`, or NotFound / InvalidArgument naming the field.
absl::StatusOr<nlohmann::json> ContainerSetEntry(const nlohmann::json& tmpl,
                                                 const std::string& name);
// The containers `name` waits for (its `dependencies`).
std::vector<std::string> ContainerDependencies(const nlohmann::json& tmpl, const std::string& name);
// Every container of the set but `name`.
std::vector<std::string> OtherContainers(const nlohmann::json& tmpl, const std::string& name);
// The template as container `name` runs it: its entry becomes the template's `container`, and
// only `main` loads input artifacts and saves outputs (Argo), so the others see neither.
absl::StatusOr<nlohmann::json> TemplateForContainer(nlohmann::json tmpl, const std::string& name);
// Where the containers of a pod meet: below its temporary directory.
std::string ContainerSetDir(const char* tmpdir);

class ContainerSetGate {
 public:
  ContainerSetGate(std::string dir, std::string name);
  ~ContainerSetGate();
  ContainerSetGate(const ContainerSetGate&) = delete;
  ContainerSetGate& operator=(const ContainerSetGate&) = delete;

  // Holds <name>/lock and writes <name>/ready.
  absl::Status Start();
  // Waits until container `other` has ended. OK when it exited 0; FailedPrecondition when it
  // failed or died without an exit code, or did not start within `start_grace`; Cancelled when
  // `stop` turned true; DeadlineExceeded after `max_wait`. Polls, so `stop` is seen promptly.
  absl::Status WaitEnded(const std::string& other, const std::function<bool()>& stop,
                         absl::Duration start_grace, absl::Duration max_wait);
  // Publishes the exit code and releases the lock: dependents may go on.
  void Finish(int exit_code);

 private:
  std::string dir_;
  std::string name_;
  int lock_fd_ = -1;
};

}  // namespace argonaut::workflow::executor
