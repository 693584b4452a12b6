#include "lib/base/log.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {

absl::StatusOr<std::string> ExecuteLog(const FireRequest& request, const nlohmann::json&) {
  std::vector<std::string> parts;
  for (const auto& [dep, event] : request.events)
    parts.push_back(absl::StrCat(dep, "=", event.ToJson().dump()));
  LogInfo("sensor", "trigger fired",
          {{"sensor", absl::StrCat(request.ns, "/", request.sensor)},
           {"trigger", request.trigger["template"].value("name", "")},
           {"events", absl::StrJoin(parts, " ")}});
  return absl::StrCat("logged ", request.events.size(), " event(s)");
}

}  // namespace argonaut::events::sensors
