// redis: PSUBSCRIBE to `channels` (glob patterns, as Redis takes them) on
// `hostAddress` (host:port), after AUTH (`username`, `password` Secret
// selectors) and SELECT `db`. data: {channel, pattern, body, metadata}; body
// per `jsonBody`, else the string itself (BodyOf).
// redisStream: XREADGROUP on `streams` in consumer group `consumerGroup`
// (default argo-events-cg, created at the stream's end if missing), at most
// `maxMsgCountPerRead` (default 10) a read; a message is XACKed once Emit
// has made it durable, so unacknowledged ones (a failed publish, a crash)
// are read again from the group's pending list after a reconnect. data:
// {stream, message_id, values: {field: value}, metadata}.
// Both reconnect with `connectionBackoff`; `tls` is refused.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartRedis(std::unique_ptr<Emitter> emitter);
absl::StatusOr<std::unique_ptr<Listener>> StartRedisStream(std::unique_ptr<Emitter> emitter);

}  // namespace argonaut::events::sources
