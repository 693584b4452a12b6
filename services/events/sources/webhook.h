// Webhook-style listeners: `webhook` and the git hosts (`github`, `gitlab`,
// `bitbucket`, `bitbucketserver`), all served by one HTTP server per port
// and routed by endpoint, so several events of one or several EventSources
// share a port. Answers (Argo's, with the status codes):
//   200 "success"   once the event is durable (or dropped by the filter)
//   404             an endpoint nobody serves on that port
//   405             another method than `method` (default POST)
//   413             a body past `maxPayloadSize` (default 1 MiB)
//   401             a wrong authSecret bearer token / signature / token
//   503 Retry-After too many requests of the port waiting on Publish
//   500             publishing failed
// GET /health on every port answers 200 "OK".
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

// data: {header: {Name: [values]}, body: <JSON body, query/form values as
// {k: [v]}, or the raw string when it is not JSON>, metadata}.
absl::StatusOr<std::unique_ptr<Listener>> StartWebhook(std::unique_ptr<Emitter> emitter);

// The git hosts put the context under `webhook` and send data
// {headers: {...}, body: <JSON>, metadata}.
// github: `webhookSecret` checks X-Hub-Signature-256 (HMAC-SHA256 of the body;
// X-Hub-Signature SHA-1 accepted too), `events` filters X-GitHub-Event ("*":
// all), `contentType: form` reads the `payload` form field.
absl::StatusOr<std::unique_ptr<Listener>> StartGithub(std::unique_ptr<Emitter> emitter);
// gitlab: `secretToken` must equal X-Gitlab-Token.
absl::StatusOr<std::unique_ptr<Listener>> StartGitlab(std::unique_ptr<Emitter> emitter);
// bitbucket / bitbucketserver: `webhookSecret` checks X-Hub-Signature
// (sha256=<hex> of the body); `events` filters X-Event-Key.
absl::StatusOr<std::unique_ptr<Listener>> StartBitbucket(std::unique_ptr<Emitter> emitter);
absl::StatusOr<std::unique_ptr<Listener>> StartBitbucketServer(std::unique_ptr<Emitter> emitter);

// Hex HMAC-SHA256 / HMAC-SHA1 (for tests and signature checks).
std::string HmacSha256Hex(absl::string_view key, absl::string_view data);
std::string HmacSha1Hex(absl::string_view key, absl::string_view data);

}  // namespace argonaut::events::sources
