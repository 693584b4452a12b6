// nats trigger: publishes the payload (JSON) to `subject` on `url`, one
// connection per firing (a trigger fires per event round; no connection to
// keep healthy in between).
#include <nats/nats.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {
namespace {

absl::StatusOr<std::string> Secret(const nlohmann::json& ref, const std::string& ns,
                                   const TriggerContext& ctx, const std::string& field) {
  if (!ref.is_object() || !ref.contains("name") || !ref.contains("key")) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a Secret key selector"));
  }
  if (!ctx.secret) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": no Secret reader configured"));
  }
  auto v = ctx.secret(ns, ref.value("name", ""), ref.value("key", ""));
  if (!v.ok()) {
    return absl::Status(v.status().code(), absl::StrCat(field, ": ", v.status().message()));
  }
  return v;
}

}  // namespace

absl::StatusOr<std::string> ExecuteNats(const FireRequest& request, const nlohmann::json& spec,
                                        const TriggerContext& ctx) {
  const std::string url = spec.value("url", "");
  const std::string subject = spec.value("subject", "");
  if (url.empty()) return absl::InvalidArgumentError("nats.url: required");
  if (subject.empty()) return absl::InvalidArgumentError("nats.subject: required");
  if (spec.contains("tls") && !spec["tls"].is_null()) {
    return absl::InvalidArgumentError("nats.tls: not supported here");
  }
  std::string user, password, token;
  if (spec.contains("auth") && spec["auth"].is_object()) {
    const nlohmann::json& a = spec["auth"];
    if (a.contains("basic") && a["basic"].is_object()) {
      auto u = Secret(a["basic"].value("username", nlohmann::json()), request.ns, ctx,
                      "nats.auth.basic.username");
      if (!u.ok()) return u.status();
      auto p = Secret(a["basic"].value("password", nlohmann::json()), request.ns, ctx,
                      "nats.auth.basic.password");
      if (!p.ok()) return p.status();
      user = *u;
      password = *p;
    }
    if (a.contains("token") && !a["token"].is_null()) {
      auto t = Secret(a["token"], request.ns, ctx, "nats.auth.token");
      if (!t.ok()) return t.status();
      token = *t;
    }
  }
  auto payload = BuildPayload(spec.value("payload", nlohmann::json()), request.events);
  if (!payload.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("nats.payload: ", payload.status().message()));
  }
  const std::string body = payload->dump();

  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 5000);
  if (s == NATS_OK && !user.empty())
    s = natsOptions_SetUserInfo(opts, user.c_str(), password.c_str());
  if (s == NATS_OK && !token.empty()) s = natsOptions_SetToken(opts, token.c_str());
  const char* step = "options";
  if (s == NATS_OK) {
    step = "connect";
    s = natsConnection_Connect(&nc, opts);
  }
  if (s == NATS_OK) {
    step = "publish";
    s = natsConnection_Publish(nc, subject.c_str(), body.data(), static_cast<int>(body.size()));
  }
  // The server has the message once the flush's PONG is back.
  if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, 5000);
  if (nc != nullptr) {
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
  }
  if (opts != nullptr) natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    // The URL is not echoed: it may carry a password.
    return absl::UnavailableError(
        absl::StrCat("nats ", step, " (subject ", subject, "): ", natsStatus_GetText(s)));
  }
  return absl::StrCat("nats published ", body.size(), " bytes to ", subject);
}

}  // namespace argonaut::events::sensors
