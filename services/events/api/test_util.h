// A real events service for API, gateway and CLI tests: an in-memory events
// store with the events validator, the EventsServer (controllers, real
// runners, the embedded bus under a temporary directory) and the EventsApi
// on a server::Server. No cluster and no workflow service: sensors here use
// `log` triggers.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/events/api/events_service.h"
#include "services/events/events_server.h"
#include "services/events/validation/validate.h"

namespace argonaut::events::api::testing {

// A loopback TCP port nothing listens on right now.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// The seed's webhook EventSource ("webhook", event "example") on `port`.
inline nlohmann::json WebhookSource(int port, const std::string& ns = "default") {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "EventSource"},
          {"metadata", {{"name", "webhook"}, {"namespace", ns}}},
          {"spec",
           {{"webhook",
             {{"example",
               {{"port", std::to_string(port)}, {"endpoint", "/example"}, {"method", "POST"}}}}}}}};
}

// A Sensor on webhook/example with a `log` trigger named "log-trigger".
inline nlohmann::json LogSensor(const std::string& name = "log-sensor",
                                const std::string& ns = "default") {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "Sensor"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"dependencies",
             {{{"name", "payload"}, {"eventSourceName", "webhook"}, {"eventName", "example"}}}},
            {"triggers",
             {{{"template", {{"name", "log-trigger"}, {"log", nlohmann::json::object()}}}}}}}}};
}

class EventsFixture {
 public:
  using json = nlohmann::json;

  // grpc_port / http_port as server::ServerOptions (0: a free loopback port, -1: none).
  // `configure_http` (may be empty) adds routes; it runs inside Start.
  absl::Status Start(int grpc_port, int http_port,
                     std::function<void(httplib::Server&, server::Server&)> configure_http = {}) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/events-api-", getpid(), "-", ++count_);
    std::filesystem::remove_all(dir_);
    auto kinds = resource::KindsOfService("events");
    auto store =
        store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
    api_ =
        std::make_unique<resource::ResourceApi>(store_.get(), kinds, validation::EventsValidator());
    // Statuses (and so log lines) every 200 ms instead of 2 s, so tests wait little.
    events_ = std::make_unique<EventsServer>(
        api_.get(),
        EventsServerOptions{.data_dir = dir_, .status_period = absl::Milliseconds(200)});
    events_api_ = std::make_unique<EventsApi>(api_.get(), events_.get());
    server_ = std::make_unique<server::Server>(server::ServerOptions{
        .name = "events-test", .grpc_port = grpc_port, .http_port = http_port});
    server_->AddService(events_api_->event_sources());
    server_->AddService(events_api_->sensors());
    server_->AddService(events_api_->events());
    if (configure_http) {
      server::Server* raw = server_.get();
      server_->ConfigureHttp(
          [configure_http, raw](httplib::Server& http) { configure_http(http, *raw); });
    }
    if (absl::Status s = server_->Start(); !s.ok()) return s;
    return events_->Start();
  }

  void Stop() {
    if (server_) server_->Shutdown(absl::Seconds(5));
    if (events_) events_->Stop();
  }

  // Polls `get` (every 50 ms, up to `timeout`) until `done` holds for it; returns the last value.
  static json WaitFor(const std::function<json()>& get,
                      const std::function<bool(const json&)>& done,
                      absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time end = absl::Now() + timeout;
    json v = get();
    while (!done(v) && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(50));
      v = get();
    }
    return v;
  }

  // The stored object, or null.
  json Object(const std::string& kind, const std::string& name, const std::string& ns = "default") {
    auto o = api_->GetObject(kind, ns, name);
    return o.ok() ? *o : json();
  }

  resource::ResourceApi& store() { return *api_; }
  EventsServer& events() { return *events_; }
  server::Server& server() { return *server_; }

  ~EventsFixture() { Stop(); }

 private:
  static inline int count_ = 0;
  std::string dir_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<EventsServer> events_;
  std::unique_ptr<EventsApi> events_api_;
  std::unique_ptr<server::Server> server_;
};

}  // namespace argonaut::events::api::testing
