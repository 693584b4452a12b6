// `argonaut cron create|list|get|suspend|resume|delete`, as `argo cron`: CronWorkflows over the
// generic ResourceService. Returns the exit code; errors are one `error: ...` line.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace argonaut::cli {

int RunCron(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The `cron get` summary (pure, for tests): name, schedules, status, active workflows...
std::string DescribeCron(const nlohmann::json& cron);

}  // namespace argonaut::cli
