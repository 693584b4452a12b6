// calendar: events on a cron `schedule` (lib/cron, evaluated in `timezone`)
// or every `interval` (a Go duration, used when there is no schedule),
// skipping fire times whose date is in `exclusionDates`
// ("EXDATE:20060102T150405Z[,...]"). Time comes from SourceContext.clock, so
// tests drive it with a FakeClock. Fire times already past are emitted at
// once, in order. data: {eventTime: <Go's time.String()>, metadata}.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartCalendar(std::unique_ptr<Emitter> emitter);

}  // namespace argonaut::events::sources
