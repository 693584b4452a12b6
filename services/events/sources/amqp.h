// amqp: declares `exchangeName` of `exchangeType` (with `exchangeDeclare`
// flags, Argo's defaults: durable), a queue (`queueDeclare`, default a
// server-named exclusive one), binds it with `routingKey` and consumes
// (`consume`, default autoAck) on `url` (amqp://user:pass@host:port/vhost,
// or `urlSecret`), `auth` {username, password} overriding the URL's. Without
// autoAck a message is acked once durable and requeued when Emit fails.
// data: {contentType, contentEncoding, deliveryMode, priority, correlationId,
// replyTo, expiration, messageId, timestamp, type, appId, exchange,
// routingKey, body, metadata}; body per `jsonBody` (BodyOf). amqps://, `tls`
// and `queueDeclare.arguments` are refused. Reconnects with
// `connectionBackoff`.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartAmqp(std::unique_ptr<Emitter> emitter);

}  // namespace argonaut::events::sources
