#include "gateway/rollout_rest.h"

#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/argo_server_rest.h"
#include "gateway/rest.h"
#include "gateway/rest_stream.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/grpc_service.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
namespace ro = ::argonaut::rollout::v1;
using Stub = ro::RolloutService::StubInterface;

constexpr char kName[] = "([a-z0-9.-]+)";

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = HttpStatusFor(code);
  res.set_content(
      manifest::ToJsonText(json{{"error", message}, {"code", code}, {"message", message}}, false),
      "application/json");
}

// `reply` is read after the call: argument evaluation order would not guarantee that.
template <typename Reply>
void SendJson(httplib::Response& res, const grpc::Status& s, const Reply& reply) {
  if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
  res.set_content(reply.json(), "application/json");
}

// The request body as a JSON object; an empty body is an empty object.
bool Body(const httplib::Request& req, httplib::Response& res, json* out) {
  absl::StatusOr<json> parsed = ParseObjectBody(req.body);
  if (!parsed.ok()) {
    SendError(res, grpc::StatusCode::INVALID_ARGUMENT, std::string(parsed.status().message()));
    return false;
  }
  *out = *std::move(parsed);
  return true;
}

bool BoolField(const json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end()) return fallback;
  return (it->is_boolean() && it->get<bool>()) || *it == "true";
}

json ParseOrNull(const std::string& text) { return json::parse(text, nullptr, false); }

void HandleAction(Stub* stub, const std::string& ns, const std::string& name,
                  const std::string& action, const httplib::Request& req, httplib::Response& res) {
  json body;
  if (!Body(req, res, &body)) return;
  ro::RolloutReply reply;
  grpc::ClientContext ctx;
  grpc::Status s;
  if (action == "promote") {
    ro::PromoteRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_full(BoolField(body, "full", false));
    s = stub->PromoteRollout(&ctx, r, &reply);
  } else if (action == "restart") {
    ro::RestartRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    s = stub->RestartRollout(&ctx, r, &reply);
  } else if (action == "pause") {
    ro::PauseRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_paused(BoolField(body, "paused", true));
    s = stub->PauseRollout(&ctx, r, &reply);
  } else {
    ro::RolloutNameRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    s = action == "abort" ? stub->AbortRollout(&ctx, r, &reply)
                          : stub->RetryRollout(&ctx, r, &reply);
  }
  SendJson(res, s, reply);
}

}  // namespace

void RegisterRolloutRestRoutes(httplib::Server& http, Stub* stub) {
  http.Get("/api/v1/version/?", [stub](const httplib::Request&, httplib::Response& res) {
    ro::VersionReply v;
    grpc::ClientContext ctx;
    grpc::Status s = stub->Version(&ctx, ro::VersionRequest(), &v);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    // Argo Workflows' Version fields too: one server answers both projects' clients.
    json body = ArgoVersionBody(api::v1::VersionResponse());
    body["rolloutsVersion"] = v.rollouts_version();
    res.set_content(manifest::ToJsonText(body, false), "application/json");
  });
  http.Get("/api/v1/namespace/?", [stub](const httplib::Request&, httplib::Response& res) {
    // Every namespace that holds a rollout, and the default one the dashboard starts in.
    ro::ListRolloutsRequest r;
    ro::ListRolloutsReply listed;
    grpc::ClientContext ctx;
    grpc::Status s = stub->ListRollouts(&ctx, r, &listed);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    std::set<std::string> namespaces = {"default"};
    for (const std::string& item : listed.items()) {
      const json o = ParseOrNull(item);
      if (o.is_object() && o.contains("metadata") && o["metadata"].is_object()) {
        namespaces.insert(o["metadata"].value("namespace", "default"));
      }
    }
    res.set_content(
        manifest::ToJsonText(json{{"namespace", "default"},
                                  {"availableNamespaces",
                                   std::vector<std::string>(namespaces.begin(), namespaces.end())}},
                             false),
        "application/json");
  });
  http.Get(absl::StrCat("/api/v1/rollouts/", kName, "/info/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             ro::ListRolloutsRequest r;
             r.set_namespace_(req.matches[1]);
             ro::RolloutInfoListReply reply;
             grpc::ClientContext ctx;
             grpc::Status s = stub->ListRolloutInfos(&ctx, r, &reply);
             if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
             json out = {{"rollouts", json::array()}};
             for (const std::string& item : reply.items()) {
               out["rollouts"].push_back(ParseOrNull(item));
             }
             res.set_content(manifest::ToJsonText(out, false), "application/json");
           });
  http.Get(absl::StrCat("/api/v1/rollouts/", kName, "/info/watch/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             auto pump = std::make_shared<StreamPump<ro::RolloutInfoWatchEvent>>();
             ro::ListRolloutsRequest r;
             r.set_namespace_(req.matches[1]);
             pump->reader = stub->WatchRolloutInfos(&pump->ctx, r);
             ServeStream<ro::RolloutInfoWatchEvent>(
                 pump,
                 [](const ro::RolloutInfoWatchEvent& e) {
                   return json{{"type", e.type()}, {"rolloutInfo", ParseOrNull(e.json())}};
                 },
                 res);
           });
  http.Get(absl::StrCat("/api/v1/rollouts/", kName, "/", kName, "/info/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             ro::RolloutNameRequest r;
             r.set_namespace_(req.matches[1]);
             r.set_name(req.matches[2]);
             ro::RolloutInfoReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->GetRolloutInfo(&ctx, r, &reply), reply);
           });
  http.Get(absl::StrCat("/api/v1/rollouts/", kName, "/", kName, "/info/watch/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             auto pump = std::make_shared<StreamPump<ro::RolloutInfoWatchEvent>>();
             ro::RolloutNameRequest r;
             r.set_namespace_(req.matches[1]);
             r.set_name(req.matches[2]);
             pump->reader = stub->WatchRolloutInfo(&pump->ctx, r);
             ServeStream<ro::RolloutInfoWatchEvent>(
                 pump, [](const ro::RolloutInfoWatchEvent& e) { return ParseOrNull(e.json()); },
                 res);
           });
  http.Put(absl::StrCat("/api/v1/rollouts/", kName, "/", kName,
                        "/(promote|abort|retry|restart|pause)/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             HandleAction(stub, req.matches[1], req.matches[2], req.matches[3], req, res);
           });
  http.Put(absl::StrCat("/api/v1/rollouts/", kName, "/", kName, "/undo/([0-9-]+)/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             int64_t revision = 0;
             if (!absl::SimpleAtoi(std::string(req.matches[3]), &revision)) {
               return SendError(
                   res, grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("revision: \"", std::string(req.matches[3]), "\" is not a number"));
             }
             ro::UndoRolloutRequest r;
             r.set_namespace_(req.matches[1]);
             r.set_name(req.matches[2]);
             r.set_revision(revision);
             ro::RolloutReply reply;
             grpc::ClientContext ctx;
             SendJson(res, stub->UndoRollout(&ctx, r, &reply), reply);
           });
  // The image is the only part that may hold '/' (a registry path), so it takes the middle.
  http.Put(
      absl::StrCat("/api/v1/rollouts/", kName, "/", kName, "/set/([^/]+)/(.+)/([^/]+)/?"),
      [stub](const httplib::Request& req, httplib::Response& res) {
        ro::SetImageRequest r;
        r.set_namespace_(req.matches[1]);
        r.set_name(req.matches[2]);
        r.set_container(req.matches[3]);
        r.set_image(absl::StrCat(std::string(req.matches[4]), ":", std::string(req.matches[5])));
        ro::RolloutReply reply;
        grpc::ClientContext ctx;
        SendJson(res, stub->SetRolloutImage(&ctx, r, &reply), reply);
      });
}

}  // namespace argonaut::gateway
