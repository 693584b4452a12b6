// nats: subscribes to `subject` on `url` (nats://host:port), in queue group
// `queue` when set, with `auth.basic` {username, password} or `auth.token`
// (Secret selectors). data: {subject, body, header: {key: [values]},
// metadata}; body per `jsonBody` (BodyOf in broker.h). `tls`, `auth.nkey`
// and `auth.credential` are refused with a reason. Reconnects with
// `connectionBackoff`.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartNats(std::unique_ptr<Emitter> emitter);

}  // namespace argonaut::events::sources
