// `argonaut app|repo|proj ...`: the argocd CLI's verbs over the gateway's ApplicationService,
// RepositoryService and ProjectService:
//   app create|get|list|set|diff|sync|wait|history|rollback|manifests|delete|resources|terminate-op
//   repo add|list|get|rm, proj create|get|list|delete
// Each Run* returns the exit code and prints errors as one `error: ...` line. `app diff` exits 1
// when the live state differs from the target (2 on an error), as `argocd app diff` does.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "argonaut/cd/v1/cd_service.pb.h"
#include "cli/args.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

int RunApp(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunRepo(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunProj(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The Application `app create` sends: `base` (from -f, or empty) with the flags' fields set.
absl::StatusOr<nlohmann::json> ApplicationFromFlags(const std::string& name, const Args& args,
                                                    nlohmann::json base);
// `--resource GROUP:KIND:NAME` (or KIND:NAME, or GROUP:KIND:NAMESPACE/NAME).
absl::StatusOr<cd::v1::SyncResource> ParseSyncResource(const std::string& spec);
// Whether `app wait`'s conditions hold for `app`.
bool WaitSatisfied(const nlohmann::json& app, bool sync, bool health, bool operation);
// Whether the operation a sync or rollback started is over (no operation, a terminal phase).
bool OperationDone(const nlohmann::json& app);

}  // namespace argonaut::cli
