// `argonaut rollouts ...`: the verbs of `kubectl argo rollouts` over the gateway's RolloutService:
// list, get NAME [--watch], status NAME [--watch] [--timeout D], promote [--full], abort,
// retry [rollout] NAME, undo [--to-revision N], pause, restart [--in D],
// set image NAME CONTAINER=IMAGE, lint FILE, version. RunRollouts returns the exit code and
// prints errors as one `error: ...` line.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

int RunRollouts(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// What `rollouts status` concludes from one RolloutInfo: nullopt to keep watching, OK when
// Healthy, FAILED_PRECONDITION with Argo's message when Degraded.
std::optional<absl::Status> StatusVerdict(const nlohmann::json& info);

// `CONTAINER=IMAGE` of `set image` ("*=IMAGE" for every container).
absl::StatusOr<std::pair<std::string, std::string>> ParseContainerImage(std::string_view arg);

// Offline `lint`: every document of a manifest file that is one of the rollout kinds, decoded
// and checked as the rollout service would; other kinds (Services, Ingresses) are skipped.
// One "<kind> <name>: <problem>" per refused document; empty when all pass.
absl::StatusOr<std::vector<std::string>> LintRollouts(std::string_view text);

}  // namespace argonaut::cli
