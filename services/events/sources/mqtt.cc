#include "services/events/sources/mqtt.h"

#include <mosquitto.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/events/sources/broker.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

std::string MosqError(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

struct MqttConfig {
  std::string host;
  int port = 1883;
  std::string topic, client_id, username, password;
  bool json_body = false;
};

class MqttListener : public BrokerListener {
 public:
  MqttListener(std::unique_ptr<Emitter> emitter, Backoff backoff, std::string target,
               MqttConfig cfg)
      : BrokerListener(std::move(emitter), backoff, std::move(target)), cfg_(std::move(cfg)) {}
  ~MqttListener() override { Stop(); }

 protected:
  absl::Status Session() override {
    static std::once_flag init;
    std::call_once(init, [] { mosquitto_lib_init(); });
    struct mosquitto* m = mosquitto_new(cfg_.client_id.c_str(), /*clean_session=*/true, this);
    if (m == nullptr) return absl::ResourceExhaustedError("mosquitto_new failed");
    absl::Status result = Consume(m);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    return result;
  }

 private:
  absl::Status Consume(struct mosquitto* m) {
    connack_ = -1;
    subscribed_ = false;
    mosquitto_connect_callback_set(m, [](struct mosquitto*, void* self, int rc) {
      static_cast<MqttListener*>(self)->connack_ = rc;
    });
    mosquitto_subscribe_callback_set(m, [](struct mosquitto*, void* self, int, int, const int*) {
      static_cast<MqttListener*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(
        m, [](struct mosquitto*, void* self, const struct mosquitto_message* msg) {
          static_cast<MqttListener*>(self)->OnMessage(msg);
        });
    if (!cfg_.username.empty()) {
      const int rc = mosquitto_username_pw_set(
          m, cfg_.username.c_str(), cfg_.password.empty() ? nullptr : cfg_.password.c_str());
      if (rc != MOSQ_ERR_SUCCESS) return absl::InvalidArgumentError(MosqError(rc));
    }
    int rc = mosquitto_connect(m, cfg_.host.c_str(), cfg_.port, /*keepalive=*/30);
    if (rc != MOSQ_ERR_SUCCESS)
      return absl::UnavailableError(absl::StrCat("connect: ", MosqError(rc)));
    rc = mosquitto_subscribe(m, nullptr, cfg_.topic.c_str(), /*qos=*/0);
    if (rc != MOSQ_ERR_SUCCESS) {
      return absl::UnavailableError(absl::StrCat("subscribe: ", MosqError(rc)));
    }
    bool announced = false;
    while (!stopping()) {
      rc = mosquitto_loop(m, static_cast<int>(absl::ToInt64Milliseconds(kPoll)), 1);
      if (connack_ > 0) {
        return absl::UnavailableError(
            absl::StrCat("connect refused: ", mosquitto_connack_string(connack_)));
      }
      if (rc != MOSQ_ERR_SUCCESS)
        return absl::UnavailableError(absl::StrCat("receive: ", MosqError(rc)));
      if (!announced && subscribed_) {
        announced = true;
        Connected();
      }
    }
    return absl::OkStatus();
  }

  void OnMessage(const struct mosquitto_message* msg) {
    const std::string payload(static_cast<const char*>(msg->payload),
                              static_cast<size_t>(std::max(0, msg->payloadlen)));
    (void)emitter_->Emit({{"topic", msg->topic != nullptr ? msg->topic : ""},
                          {"messageId", msg->mid},
                          {"body", BodyOf(payload, cfg_.json_body, false)}});
  }

  const MqttConfig cfg_;
  // Set by the callbacks, which run inside mosquitto_loop on this thread.
  int connack_ = -1;
  bool subscribed_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartMqtt(std::unique_ptr<Emitter> emitter) {
  const EventSpec& spec = emitter->spec();
  MqttConfig cfg;
  absl::StatusOr<std::string> url = StringField(spec, "url", true);
  if (!url.ok()) return url.status();
  absl::StatusOr<HostPort> hp = ParseHostPort(spec, "url", *url, {"tcp", "mqtt"}, 1883);
  if (!hp.ok()) return hp.status();
  cfg.host = hp->host;
  cfg.port = hp->port;
  absl::StatusOr<std::string> topic = StringField(spec, "topic", true);
  if (!topic.ok()) return topic.status();
  cfg.topic = *topic;
  absl::StatusOr<std::string> client_id = StringField(spec, "clientId", true);
  if (!client_id.ok()) return client_id.status();
  cfg.client_id = *client_id;
  absl::StatusOr<bool> json_body = BoolField(spec, "jsonBody");
  if (!json_body.ok()) return json_body.status();
  cfg.json_body = *json_body;
  absl::StatusOr<Backoff> backoff = ParseBackoff(spec);
  if (!backoff.ok()) return backoff.status();
  if (spec.config.contains("tls") && !spec.config["tls"].is_null()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".tls: not supported here"));
  }
  if (spec.config.contains("auth") && !spec.config["auth"].is_null()) {
    const json& a = spec.config["auth"];
    const std::string field = spec.path() + ".auth";
    if (!a.is_object()) return absl::InvalidArgumentError(field + ": must be an object");
    absl::StatusOr<std::string> user =
        ReadSecret(emitter->ctx(), spec.ns, a.value("username", json()), field + ".username");
    if (!user.ok()) return user.status();
    absl::StatusOr<std::string> pass =
        ReadSecret(emitter->ctx(), spec.ns, a.value("password", json()), field + ".password");
    if (!pass.ok()) return pass.status();
    cfg.username = *user;
    cfg.password = *pass;
  }
  const std::string target = absl::StrCat("tcp://", cfg.host, ":", cfg.port);
  auto listener =
      std::make_unique<MqttListener>(std::move(emitter), *backoff, target, std::move(cfg));
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
