// file: inotify on `watchPathConfig.directory` for files named `path`
// (relative to the directory) or matching `pathRegexp`, emitting the
// operations equal to `eventType` (CREATE, WRITE, REMOVE, RENAME, CHMOD, as
// fsnotify names them). data: {name: <directory + file>, op: <fsnotify bit:
// CREATE 1, WRITE 2, REMOVE 4, RENAME 8, CHMOD 16>, metadata}. `polling: true`
// is refused.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartFile(std::unique_ptr<Emitter> emitter);

}  // namespace argonaut::events::sources
