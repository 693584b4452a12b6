// The JetStream event bus (services/events/bus, ConnectJetStream) next to a
// raw libnats publish loop on the same nats-server -js, in one run: N
// webhook-shaped CloudEvents through EventBus::Publish (serialize, subject,
// Nats-Msg-Id = event id, wait for the stream's ack) against js_Publish of
// the same bytes with a Nats-Msg-Id (the same server-side work: file
// storage, duplicate window) to a stream configured like the bus'. Both
// sides publish synchronously from --threads threads over one connection.
// Rounds alternate raw/bus; the best round of each is reported.
//
//   bench/events_webhook.sh starts nats-server -js and runs this binary;
//   alone: bazel-bin/bench/events_jetstream --url=nats://127.0.0.1:4222
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/events/bus/bus.h"
#include "services/events/event.h"

ABSL_FLAG(std::string, url, "nats://127.0.0.1:4222", "the nats-server -js to publish to");
ABSL_FLAG(int, events, 20000, "events per round and side");
ABSL_FLAG(int, threads, 1, "publishing threads per side (one connection each side)");
ABSL_FLAG(int, rounds, 2, "rounds, alternating raw and bus; the best of each is reported");

namespace {

using argonaut::events::CloudEvent;

CloudEvent WebhookEvent(int n) {
  CloudEvent e;
  e.source = "bench";
  e.subject = "example";
  e.type = "webhook";
  e.data = {{"header", {{"Content-Type", {"application/json"}}}},
            {"body", {{"message", "hello"}, {"n", n}}}};
  return e;
}

// Runs fn(i) for i in [0, n) over `threads` threads; returns the wall time
// or the first error.
template <typename Fn>
absl::StatusOr<absl::Duration> Timed(int n, int threads, Fn fn) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  absl::Status first_error;
  absl::Mutex mu;
  absl::Time start = absl::Now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n && !failed; i = next++) {
        absl::Status s = fn(i);
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (first_error.ok()) first_error = s;
          failed = true;
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  if (!first_error.ok()) return first_error;
  return absl::Now() - start;
}

// The reference: a plain libnats JetStream context and stream.
class RawPublisher {
 public:
  ~RawPublisher() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }

  absl::Status Connect(const std::string& url, const std::string& stream) {
    natsStatus s = natsConnection_ConnectTo(&nc_, url.c_str());
    if (s == NATS_OK) s = natsConnection_JetStream(&js_, nc_, nullptr);
    if (s != NATS_OK)
      return absl::UnavailableError(absl::StrCat("connect ", url, ": ", natsStatus_GetText(s)));
    std::string subjects = stream + ".>";
    const char* list[] = {subjects.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream.c_str();
    cfg.Subjects = list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.MaxMsgs = 50000;  // the bus' defaults (Argo's)
    cfg.Duplicates = absl::ToInt64Nanoseconds(absl::Seconds(300));
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (si != nullptr) jsStreamInfo_Destroy(si);
    if (s != NATS_OK && jerr != JSStreamNameExistErr)
      return absl::InternalError(absl::StrCat("add stream ", stream, ": ", natsStatus_GetText(s),
                                              " (", static_cast<int>(jerr), ")"));
    subject_ = stream + ".bench.example";
    return absl::OkStatus();
  }

  absl::Status Publish(const std::string& id, const std::string& bytes) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, js_, subject_.c_str(), bytes.data(),
                              static_cast<int>(bytes.size()), &po, &jerr);
    if (ack != nullptr) jsPubAck_Destroy(ack);
    if (s != NATS_OK)
      return absl::UnavailableError(absl::StrCat("js_Publish: ", natsStatus_GetText(s)));
    return absl::OkStatus();
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::string subject_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string url = absl::GetFlag(FLAGS_url);
  const int n = absl::GetFlag(FLAGS_events);
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));

  auto bus = argonaut::events::bus::ConnectJetStream({.url = url, .stream = "benchbus"});
  if (!bus.ok()) {
    std::fprintf(stderr, "jetstream bus: %s\n", bus.status().ToString().c_str());
    return 1;
  }
  RawPublisher raw;
  if (absl::Status s = raw.Connect(url, "benchraw"); !s.ok()) {
    std::fprintf(stderr, "raw: %s\n", s.ToString().c_str());
    return 1;
  }
  // The raw side publishes what the bus would store, prepared outside the
  // timed loop: the reference is the library and the server alone.
  std::vector<std::string> bytes(n), ids(n);
  for (int i = 0; i < n; ++i) {
    CloudEvent e = WebhookEvent(i);
    e.id = argonaut::events::NewEventId();
    e.time = absl::Now();
    ids[i] = e.id;
    bytes[i] = e.ToJson().dump();
  }
  std::printf("events_jetstream: %d events per side and round, %d thread(s), %zu-byte events\n", n,
              threads, bytes[0].size());
  absl::Duration best_raw = absl::InfiniteDuration(), best_bus = absl::InfiniteDuration();
  for (int r = 0; r < rounds; ++r) {
    auto raw_time = Timed(
        n, threads, [&](int i) { return raw.Publish(absl::StrCat(ids[i], "-", r), bytes[i]); });
    auto bus_time =
        Timed(n, threads, [&](int i) { return (*bus)->Publish(WebhookEvent(i)).status(); });
    for (const auto* t : {&raw_time, &bus_time}) {
      if (!t->ok()) {
        std::fprintf(stderr, "round %d: %s\n", r + 1, t->status().ToString().c_str());
        return 1;
      }
    }
    std::printf("round %d: raw js_Publish %.0f events/s, bus Publish %.0f events/s\n", r + 1,
                n / absl::ToDoubleSeconds(*raw_time), n / absl::ToDoubleSeconds(*bus_time));
    best_raw = std::min(best_raw, *raw_time);
    best_bus = std::min(best_bus, *bus_time);
  }
  double raw_rate = n / absl::ToDoubleSeconds(best_raw);
  double bus_rate = n / absl::ToDoubleSeconds(best_bus);
  std::printf("raw js_Publish: %.0f events/s (%.1f us/event)\n", raw_rate, 1e6 / raw_rate);
  std::printf("jetstream bus:  %.0f events/s (%.1f us/event)\n", bus_rate, 1e6 / bus_rate);
  std::printf("ratio bus/raw: %.2f\n", bus_rate / raw_rate);
  return 0;
}
