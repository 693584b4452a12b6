// What the broker listeners (nats, redis, redisStream, mqtt, amqp) share: a
// thread that connects, consumes until the connection fails or Stop(), and
// reconnects with backoff (`connectionBackoff`), so that a broker going away
// and coming back only shows as an `error` state in between. A broker that
// is down when the listener starts is the same case: Start succeeds and the
// listener keeps trying, as Argo retries a listener's start.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

// Argo's connectionBackoff {duration, factor, jitter, steps}; duration is a
// Go duration string or nanoseconds. Here the waits grow from `initial` by
// `factor` up to `max` and never give up (a listener that gave up would need
// the EventSource re-applied).
struct Backoff {
  absl::Duration initial = absl::Seconds(1);
  double factor = 2;
  absl::Duration max = absl::Seconds(30);
};
absl::StatusOr<Backoff> ParseBackoff(const EventSpec& spec);

// The event body as Argo puts it: with jsonBody the payload parsed as JSON
// (kept as a string when it is not JSON); without it, bytes as base64 (as Go
// marshals []byte), or the string itself when `raw_is_string` (redis).
nlohmann::json BodyOf(const std::string& payload, bool json_body, bool raw_is_string);

// host and port of "scheme://host:port" (or "host:port"); the scheme, when
// present, must be one of `schemes`. `field` names the config key in errors.
struct HostPort {
  std::string host;
  int port = 0;
};
absl::StatusOr<HostPort> ParseHostPort(const EventSpec& spec, const char* field,
                                       const std::string& value,
                                       std::initializer_list<const char*> schemes,
                                       int default_port);

class BrokerListener : public Listener {
 public:
  BrokerListener(std::unique_ptr<Emitter> emitter, Backoff backoff, std::string target)
      : Listener(std::move(emitter)), backoff_(backoff), target_(std::move(target)) {}
  ~BrokerListener() override;

  // Starts the connect/consume/reconnect thread.
  void Run();
  void Stop() override;

 protected:
  // One connection's life: connect, subscribe, call Connected(), consume
  // until stopping() or the connection fails. Returns why it ended (OK when
  // stopping). Runs on the listener's thread only.
  virtual absl::Status Session() = 0;
  // Marks the listener listening and resets the backoff.
  void Connected();
  bool stopping() const { return stopping_.load(); }
  // How long one blocking read may wait, so that Stop() is noticed.
  static constexpr absl::Duration kPoll = absl::Milliseconds(100);

 private:
  void Loop();

  const Backoff backoff_;
  const std::string target_;  // "nats://host:port" etc, for messages (no secrets)
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace argonaut::events::sources
