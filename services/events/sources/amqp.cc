#include "services/events/sources/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/events/sources/broker.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

struct AmqpConfig {
  std::string host, vhost = "/", username = "guest", password = "guest";
  int port = 5672;
  std::string exchange, exchange_type, routing_key;
  bool ex_durable = true, ex_auto_delete = false, ex_internal = false;
  std::string queue;
  bool q_durable = false, q_auto_delete = false, q_exclusive = true;
  std::string consumer_tag;
  bool auto_ack = true, c_exclusive = false, c_no_local = false;
  bool json_body = false;
};

std::string Bytes(amqp_bytes_t b) {
  return b.bytes == nullptr ? "" : std::string(static_cast<const char*>(b.bytes), b.len);
}

absl::Status ReplyError(const char* what, amqp_rpc_reply_t r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return absl::OkStatus();
    case AMQP_RESPONSE_NONE:
      return absl::UnavailableError(absl::StrCat(what, ": no reply"));
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return absl::UnavailableError(absl::StrCat(what, ": ", amqp_error_string2(r.library_error)));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": ", m->reply_code, " ", Bytes(m->reply_text)));
      }
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": ", m->reply_code, " ", Bytes(m->reply_text)));
      }
      return absl::FailedPreconditionError(absl::StrCat(what, ": server exception"));
  }
  return absl::UnknownError(what);
}

class AmqpListener : public BrokerListener {
 public:
  AmqpListener(std::unique_ptr<Emitter> emitter, Backoff backoff, std::string target,
               AmqpConfig cfg)
      : BrokerListener(std::move(emitter), backoff, std::move(target)), cfg_(std::move(cfg)) {}
  ~AmqpListener() override { Stop(); }

 protected:
  absl::Status Session() override {
    amqp_connection_state_t conn = amqp_new_connection();
    bool logged_in = false;
    absl::Status result = Consume(conn, &logged_in);
    if (logged_in) {
      // A broken connection answers nothing; these only matter when it works.
      if (result.ok()) {
        amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
      }
    }
    amqp_destroy_connection(conn);
    return result;
  }

 private:
  absl::Status Consume(amqp_connection_state_t conn, bool* logged_in) {
    amqp_socket_t* socket = amqp_tcp_socket_new(conn);
    if (socket == nullptr) return absl::ResourceExhaustedError("amqp socket");
    timeval connect_timeout = {2, 0};
    const int st = amqp_socket_open_noblock(socket, cfg_.host.c_str(), cfg_.port, &connect_timeout);
    if (st != AMQP_STATUS_OK) {
      return absl::UnavailableError(absl::StrCat("connect: ", amqp_error_string2(st)));
    }
    // Heartbeats every 10 s so that a broker that vanished without closing
    // the socket is noticed.
    absl::Status s = ReplyError(
        "login", amqp_login(conn, cfg_.vhost.c_str(), 0, 131072, 10, AMQP_SASL_METHOD_PLAIN,
                            cfg_.username.c_str(), cfg_.password.c_str()));
    if (!s.ok()) return s;
    *logged_in = true;
    amqp_channel_open(conn, 1);
    if (s = ReplyError("channel", amqp_get_rpc_reply(conn)); !s.ok()) return s;
    amqp_exchange_declare(conn, 1, amqp_cstring_bytes(cfg_.exchange.c_str()),
                          amqp_cstring_bytes(cfg_.exchange_type.c_str()), 0, cfg_.ex_durable,
                          cfg_.ex_auto_delete, cfg_.ex_internal, amqp_empty_table);
    if (s = ReplyError("exchange declare", amqp_get_rpc_reply(conn)); !s.ok()) return s;
    amqp_queue_declare_ok_t* q =
        amqp_queue_declare(conn, 1, amqp_cstring_bytes(cfg_.queue.c_str()), 0, cfg_.q_durable,
                           cfg_.q_exclusive, cfg_.q_auto_delete, amqp_empty_table);
    if (s = ReplyError("queue declare", amqp_get_rpc_reply(conn)); !s.ok()) return s;
    const std::string queue = Bytes(q->queue);
    amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue.c_str()),
                    amqp_cstring_bytes(cfg_.exchange.c_str()),
                    amqp_cstring_bytes(cfg_.routing_key.c_str()), amqp_empty_table);
    if (s = ReplyError("queue bind", amqp_get_rpc_reply(conn)); !s.ok()) return s;
    amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue.c_str()),
                       amqp_cstring_bytes(cfg_.consumer_tag.c_str()), cfg_.c_no_local,
                       cfg_.auto_ack, cfg_.c_exclusive, amqp_empty_table);
    if (s = ReplyError("consume", amqp_get_rpc_reply(conn)); !s.ok()) return s;
    Connected();
    while (!stopping()) {
      amqp_maybe_release_buffers(conn);
      amqp_envelope_t env;
      timeval wait = {0, static_cast<suseconds_t>(absl::ToInt64Microseconds(kPoll))};
      amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &wait, 0);
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_TIMEOUT) {
        continue;
      }
      if (r.reply_type != AMQP_RESPONSE_NORMAL) return ReplyError("receive", r);
      json data = Data(env);
      const absl::Status sent = emitter_->Emit(std::move(data));
      int rc = AMQP_STATUS_OK;
      if (!cfg_.auto_ack) {
        rc = sent.ok() ? amqp_basic_ack(conn, 1, env.delivery_tag, 0)
                       : amqp_basic_nack(conn, 1, env.delivery_tag, 0, /*requeue=*/1);
      }
      amqp_destroy_envelope(&env);
      if (rc != AMQP_STATUS_OK) {
        return absl::UnavailableError(absl::StrCat("ack: ", amqp_error_string2(rc)));
      }
    }
    return absl::OkStatus();
  }

  json Data(const amqp_envelope_t& env) const {
    const amqp_basic_properties_t& p = env.message.properties;
    auto str = [&](amqp_flags_t flag, const amqp_bytes_t& b) {
      return (p._flags & flag) != 0 ? Bytes(b) : std::string();
    };
    // Go's zero time when the message has no timestamp, as Argo sends it.
    std::string timestamp = "0001-01-01T00:00:00Z";
    if ((p._flags & AMQP_BASIC_TIMESTAMP_FLAG) != 0) {
      timestamp = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                   absl::FromUnixSeconds(static_cast<int64_t>(p.timestamp)),
                                   absl::UTCTimeZone());
    }
    return {
        {"contentType", str(AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type)},
        {"contentEncoding", str(AMQP_BASIC_CONTENT_ENCODING_FLAG, p.content_encoding)},
        {"deliveryMode", (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) != 0 ? p.delivery_mode : 0},
        {"priority", (p._flags & AMQP_BASIC_PRIORITY_FLAG) != 0 ? p.priority : 0},
        {"correlationId", str(AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id)},
        {"replyTo", str(AMQP_BASIC_REPLY_TO_FLAG, p.reply_to)},
        {"expiration", str(AMQP_BASIC_EXPIRATION_FLAG, p.expiration)},
        {"messageId", str(AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id)},
        {"timestamp", timestamp},
        {"type", str(AMQP_BASIC_TYPE_FLAG, p.type)},
        {"appId", str(AMQP_BASIC_APP_ID_FLAG, p.app_id)},
        {"exchange", Bytes(env.exchange)},
        {"routingKey", Bytes(env.routing_key)},
        {"body", BodyOf(Bytes(env.message.body), cfg_.json_body, false)},
    };
  }

  const AmqpConfig cfg_;
};

// Reads the optional boolean `key` of the object at config[group] into *out.
absl::Status Flag(const EventSpec& spec, const char* group, const char* key, bool* out) {
  if (!spec.config.contains(group) || spec.config[group].is_null()) return absl::OkStatus();
  const json& g = spec.config[group];
  if (!g.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".", group, ": must be an object"));
  }
  if (!g.contains(key) || g[key].is_null()) return absl::OkStatus();
  if (!g[key].is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".", group, ".", key, ": must be a boolean"));
  }
  *out = g[key].get<bool>();
  return absl::OkStatus();
}

absl::Status Text(const EventSpec& spec, const char* group, const char* key, std::string* out) {
  if (!spec.config.contains(group) || !spec.config[group].is_object()) return absl::OkStatus();
  const json& g = spec.config[group];
  if (!g.contains(key) || g[key].is_null()) return absl::OkStatus();
  if (!g[key].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".", group, ".", key, ": must be a string"));
  }
  *out = g[key].get<std::string>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartAmqp(std::unique_ptr<Emitter> emitter) {
  const EventSpec& spec = emitter->spec();
  AmqpConfig cfg;
  absl::StatusOr<std::string> url = StringField(spec, "url", false);
  if (!url.ok()) return url.status();
  if (spec.config.contains("urlSecret") && !spec.config["urlSecret"].is_null()) {
    absl::StatusOr<std::string> secret =
        ReadSecret(emitter->ctx(), spec.ns, spec.config["urlSecret"], spec.path() + ".urlSecret");
    if (!secret.ok()) return secret.status();
    *url = *secret;
  }
  if (url->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".url: required (or urlSecret)"));
  }
  // amqp_parse_url writes into its buffer; the parsed fields point into it.
  std::vector<char> buf(url->begin(), url->end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
    // Never echo the URL: it may hold a password.
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".url: not an amqp://user:password@host:port/vhost URL"));
  }
  if (info.ssl) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".url: amqps is not supported here"));
  }
  cfg.host = info.host;
  cfg.port = info.port;
  cfg.vhost = info.vhost != nullptr && info.vhost[0] != '\0' ? info.vhost : "/";
  cfg.username = info.user;
  cfg.password = info.password;
  for (auto [key, out] :
       {std::pair{"exchangeName", &cfg.exchange}, std::pair{"exchangeType", &cfg.exchange_type},
        std::pair{"routingKey", &cfg.routing_key}}) {
    absl::StatusOr<std::string> v = StringField(spec, key, true);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  for (const char* unsupported : {"tls"}) {
    if (spec.config.contains(unsupported) && !spec.config[unsupported].is_null()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path(), ".", unsupported, ": not supported here"));
    }
  }
  struct FlagSpec {
    const char* group;
    const char* key;
    bool* out;
  };
  for (const FlagSpec& f : std::vector<FlagSpec>{
           {"exchangeDeclare", "durable", &cfg.ex_durable},
           {"exchangeDeclare", "autoDelete", &cfg.ex_auto_delete},
           {"exchangeDeclare", "internal", &cfg.ex_internal},
           {"queueDeclare", "durable", &cfg.q_durable},
           {"queueDeclare", "autoDelete", &cfg.q_auto_delete},
           {"queueDeclare", "exclusive", &cfg.q_exclusive},
           {"consume", "autoAck", &cfg.auto_ack},
           {"consume", "exclusive", &cfg.c_exclusive},
           {"consume", "noLocal", &cfg.c_no_local},
       }) {
    if (absl::Status s = Flag(spec, f.group, f.key, f.out); !s.ok()) return s;
  }
  if (absl::Status s = Text(spec, "queueDeclare", "name", &cfg.queue); !s.ok()) return s;
  if (absl::Status s = Text(spec, "consume", "consumerTag", &cfg.consumer_tag); !s.ok()) return s;
  std::string arguments;
  if (absl::Status s = Text(spec, "queueDeclare", "arguments", &arguments); !s.ok()) return s;
  if (!arguments.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".queueDeclare.arguments: not supported here"));
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
  absl::StatusOr<bool> json_body = BoolField(spec, "jsonBody");
  if (!json_body.ok()) return json_body.status();
  cfg.json_body = *json_body;
  absl::StatusOr<Backoff> backoff = ParseBackoff(spec);
  if (!backoff.ok()) return backoff.status();
  const std::string target = absl::StrCat("amqp://", cfg.host, ":", cfg.port);
  auto listener =
      std::make_unique<AmqpListener>(std::move(emitter), *backoff, target, std::move(cfg));
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
