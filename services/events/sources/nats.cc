#include "services/events/sources/nats.h"

#include <nats/nats.h>

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/events/sources/broker.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

absl::Status NatsError(const char* what, natsStatus s) {
  return absl::UnavailableError(absl::StrCat(what, ": ", natsStatus_GetText(s)));
}

struct NatsAuth {
  std::string username, password;  // basic
  std::string token;
};

class NatsListener : public BrokerListener {
 public:
  NatsListener(std::unique_ptr<Emitter> emitter, Backoff backoff, std::string target,
               std::string url, std::string subject, std::string queue, bool json_body,
               NatsAuth auth)
      : BrokerListener(std::move(emitter), backoff, std::move(target)),
        url_(std::move(url)),
        subject_(std::move(subject)),
        queue_(std::move(queue)),
        json_body_(json_body),
        auth_(std::move(auth)) {}
  ~NatsListener() override { Stop(); }

 protected:
  absl::Status Session() override {
    natsOptions* opts = nullptr;
    natsConnection* nc = nullptr;
    natsSubscription* sub = nullptr;
    absl::Status result = Consume(&opts, &nc, &sub);
    if (sub != nullptr) natsSubscription_Destroy(sub);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
    if (opts != nullptr) natsOptions_Destroy(opts);
    return result;
  }

 private:
  absl::Status Consume(natsOptions** opts, natsConnection** nc, natsSubscription** sub) {
    natsStatus s = natsOptions_Create(opts);
    if (s == NATS_OK) s = natsOptions_SetURL(*opts, url_.c_str());
    // This listener reconnects itself, with the EventSource's backoff and a
    // visible state; the client's own silent reconnect would hide an outage.
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(*opts, false);
    if (s == NATS_OK) s = natsOptions_SetTimeout(*opts, 2000);
    if (s == NATS_OK && !auth_.username.empty()) {
      s = natsOptions_SetUserInfo(*opts, auth_.username.c_str(), auth_.password.c_str());
    }
    if (s == NATS_OK && !auth_.token.empty()) s = natsOptions_SetToken(*opts, auth_.token.c_str());
    if (s != NATS_OK) return NatsError("options", s);
    s = natsConnection_Connect(nc, *opts);
    if (s != NATS_OK) return NatsError("connect", s);
    s = queue_.empty()
            ? natsConnection_SubscribeSync(sub, *nc, subject_.c_str())
            : natsConnection_QueueSubscribeSync(sub, *nc, subject_.c_str(), queue_.c_str());
    if (s != NATS_OK) return NatsError("subscribe", s);
    // A round trip, so the subscription is known to the server once we say
    // we listen.
    s = natsConnection_Flush(*nc);
    if (s != NATS_OK) return NatsError("subscribe", s);
    Connected();
    while (!stopping()) {
      natsMsg* msg = nullptr;
      s = natsSubscription_NextMsg(&msg, *sub, absl::ToInt64Milliseconds(kPoll));
      if (s == NATS_TIMEOUT) {
        if (natsConnection_IsClosed(*nc)) return absl::UnavailableError("connection closed");
        continue;
      }
      if (s != NATS_OK) return NatsError("receive", s);
      json data = {{"subject", natsMsg_GetSubject(msg)},
                   {"body", BodyOf(std::string(natsMsg_GetData(msg),
                                               static_cast<size_t>(natsMsg_GetDataLength(msg))),
                                   json_body_, false)},
                   {"header", Headers(msg)}};
      natsMsg_Destroy(msg);
      // Core NATS has no redelivery: a failed publish is counted and lost,
      // as with Argo.
      (void)emitter_->Emit(std::move(data));
    }
    return absl::OkStatus();
  }

  static json Headers(natsMsg* msg) {
    json out = json::object();
    const char** keys = nullptr;
    int count = 0;
    if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK) return out;
    for (int i = 0; i < count; ++i) {
      const char** values = nullptr;
      int n = 0;
      json list = json::array();
      if (natsMsgHeader_Values(msg, keys[i], &values, &n) == NATS_OK) {
        for (int j = 0; j < n; ++j) list.push_back(values[j]);
        free(static_cast<void*>(values));
      }
      out[keys[i]] = std::move(list);
    }
    free(static_cast<void*>(keys));
    return out;
  }

  const std::string url_, subject_, queue_;
  const bool json_body_;
  const NatsAuth auth_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartNats(std::unique_ptr<Emitter> emitter) {
  const EventSpec& spec = emitter->spec();
  absl::StatusOr<std::string> url = StringField(spec, "url", true);
  if (!url.ok()) return url.status();
  absl::StatusOr<HostPort> hp = ParseHostPort(spec, "url", *url, {"nats"}, 4222);
  if (!hp.ok()) return hp.status();
  absl::StatusOr<std::string> subject = StringField(spec, "subject", true);
  if (!subject.ok()) return subject.status();
  absl::StatusOr<std::string> queue = StringField(spec, "queue", false);
  if (!queue.ok()) return queue.status();
  absl::StatusOr<bool> json_body = BoolField(spec, "jsonBody");
  if (!json_body.ok()) return json_body.status();
  absl::StatusOr<Backoff> backoff = ParseBackoff(spec);
  if (!backoff.ok()) return backoff.status();
  if (spec.config.contains("tls") && !spec.config["tls"].is_null()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".tls: not supported here"));
  }
  NatsAuth auth;
  if (spec.config.contains("auth") && !spec.config["auth"].is_null()) {
    const json& a = spec.config["auth"];
    const std::string field = spec.path() + ".auth";
    if (!a.is_object()) return absl::InvalidArgumentError(field + ": must be an object");
    for (const char* unsupported : {"nkey", "credential"}) {
      if (a.contains(unsupported) && !a[unsupported].is_null()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".", unsupported, ": not supported here (use basic or token)"));
      }
    }
    if (a.contains("basic") && !a["basic"].is_null()) {
      const json& b = a["basic"];
      if (!b.is_object()) return absl::InvalidArgumentError(field + ".basic: must be an object");
      absl::StatusOr<std::string> user = ReadSecret(
          emitter->ctx(), spec.ns, b.value("username", json()), field + ".basic.username");
      if (!user.ok()) return user.status();
      absl::StatusOr<std::string> pass = ReadSecret(
          emitter->ctx(), spec.ns, b.value("password", json()), field + ".basic.password");
      if (!pass.ok()) return pass.status();
      auth.username = *user;
      auth.password = *pass;
    }
    if (a.contains("token") && !a["token"].is_null()) {
      absl::StatusOr<std::string> token =
          ReadSecret(emitter->ctx(), spec.ns, a["token"], field + ".token");
      if (!token.ok()) return token.status();
      auth.token = *token;
    }
  }
  const std::string target = absl::StrCat("nats://", hp->host, ":", hp->port);
  auto listener = std::make_unique<NatsListener>(std::move(emitter), *backoff, target, *url,
                                                 *subject, *queue, *json_body, std::move(auth));
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
