// amqp trigger: publishes the payload (JSON, content type application/json)
// to `exchangeName` with `routingKey` on `url` (or `urlSecret`), declaring
// the exchange first when `exchangeDeclare` is set. One connection per
// firing.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "services/events/sensors/triggers/trigger.h"

namespace argonaut::events::sensors {
namespace {

absl::Status Rpc(const char* what, amqp_rpc_reply_t r) {
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return absl::OkStatus();
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    return absl::UnavailableError(
        absl::StrCat("amqp ", what, ": ", amqp_error_string2(r.library_error)));
  }
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    return absl::FailedPreconditionError(absl::StrCat(
        "amqp ", what, ": ", m->reply_code, " ",
        std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len)));
  }
  return absl::UnavailableError(absl::StrCat("amqp ", what, ": failed"));
}

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

absl::StatusOr<std::string> Publish(amqp_connection_state_t conn, const nlohmann::json& spec,
                                    const amqp_connection_info& info, const std::string& user,
                                    const std::string& password, const std::string& body) {
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket == nullptr) return absl::ResourceExhaustedError("amqp socket");
  timeval timeout = {5, 0};
  const int st = amqp_socket_open_noblock(socket, info.host, info.port, &timeout);
  if (st != AMQP_STATUS_OK) {
    return absl::UnavailableError(absl::StrCat("amqp connect: ", amqp_error_string2(st)));
  }
  const char* vhost = info.vhost != nullptr && info.vhost[0] != '\0' ? info.vhost : "/";
  if (absl::Status s = Rpc("login", amqp_login(conn, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                                               user.c_str(), password.c_str()));
      !s.ok()) {
    return s;
  }
  amqp_channel_open(conn, 1);
  if (absl::Status s = Rpc("channel", amqp_get_rpc_reply(conn)); !s.ok()) return s;
  const std::string exchange = spec.value("exchangeName", "");
  const std::string key = spec.value("routingKey", "");
  if (spec.contains("exchangeDeclare") && spec["exchangeDeclare"].is_object()) {
    const nlohmann::json& d = spec["exchangeDeclare"];
    const std::string type = spec.value("exchangeType", "");
    if (type.empty()) return absl::InvalidArgumentError("amqp.exchangeType: required to declare");
    amqp_exchange_declare(conn, 1, amqp_cstring_bytes(exchange.c_str()),
                          amqp_cstring_bytes(type.c_str()), 0, d.value("durable", true),
                          d.value("autoDelete", false), d.value("internal", false),
                          amqp_empty_table);
    if (absl::Status s = Rpc("exchange declare", amqp_get_rpc_reply(conn)); !s.ok()) return s;
  }
  // Publisher confirms: the broker has the message when this returns.
  amqp_confirm_select(conn, 1);
  if (absl::Status s = Rpc("confirm select", amqp_get_rpc_reply(conn)); !s.ok()) return s;
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;
  const int rc = amqp_basic_publish(conn, 1, amqp_cstring_bytes(exchange.c_str()),
                                    amqp_cstring_bytes(key.c_str()), 0, 0, &props,
                                    amqp_bytes_t{body.size(), const_cast<char*>(body.data())});
  if (rc != AMQP_STATUS_OK) {
    return absl::UnavailableError(absl::StrCat("amqp publish: ", amqp_error_string2(rc)));
  }
  amqp_frame_t frame;
  timeval wait = {5, 0};
  const int fr = amqp_simple_wait_frame_noblock(conn, &frame, &wait);
  if (fr != AMQP_STATUS_OK) {
    return absl::UnavailableError(absl::StrCat("amqp publish confirm: ", amqp_error_string2(fr)));
  }
  if (frame.frame_type != AMQP_FRAME_METHOD || frame.payload.method.id != AMQP_BASIC_ACK_METHOD) {
    return absl::UnavailableError("amqp publish: not confirmed by the broker");
  }
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  return absl::StrCat("amqp published ", body.size(), " bytes to exchange \"", exchange,
                      "\" key \"", key, "\"");
}

}  // namespace

absl::StatusOr<std::string> ExecuteAmqp(const FireRequest& request, const nlohmann::json& spec,
                                        const TriggerContext& ctx) {
  std::string url = spec.value("url", "");
  if (spec.contains("urlSecret") && !spec["urlSecret"].is_null()) {
    auto s = Secret(spec["urlSecret"], request.ns, ctx, "amqp.urlSecret");
    if (!s.ok()) return s.status();
    url = *s;
  }
  if (url.empty()) return absl::InvalidArgumentError("amqp.url: required (or urlSecret)");
  if (spec.contains("tls") && !spec["tls"].is_null()) {
    return absl::InvalidArgumentError("amqp.tls: not supported here");
  }
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK || info.ssl) {
    return absl::InvalidArgumentError("amqp.url: not an amqp://user:password@host:port/vhost URL");
  }
  std::string user = info.user, password = info.password;
  if (spec.contains("auth") && spec["auth"].is_object()) {
    auto u = Secret(spec["auth"].value("username", nlohmann::json()), request.ns, ctx,
                    "amqp.auth.username");
    if (!u.ok()) return u.status();
    auto p = Secret(spec["auth"].value("password", nlohmann::json()), request.ns, ctx,
                    "amqp.auth.password");
    if (!p.ok()) return p.status();
    user = *u;
    password = *p;
  }
  auto payload = BuildPayload(spec.value("payload", nlohmann::json()), request.events);
  if (!payload.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("amqp.payload: ", payload.status().message()));
  }
  amqp_connection_state_t conn = amqp_new_connection();
  absl::StatusOr<std::string> result = Publish(conn, spec, info, user, password, payload->dump());
  amqp_destroy_connection(conn);
  return result;
}

}  // namespace argonaut::events::sensors
