// mqtt: subscribes to `topic` (QoS 0, as Argo) on `url` (tcp://host:port or
// mqtt://host:port) as `clientId`, with `auth` {username, password} Secret
// selectors. data: {topic, messageId, body, metadata}; body per `jsonBody`
// (BodyOf). `tls` and ssl:// / ws:// URLs are refused. Reconnects with
// `connectionBackoff`.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartMqtt(std::unique_ptr<Emitter> emitter);

}  // namespace argonaut::events::sources
