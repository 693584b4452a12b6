// A gRPC server stream served as a chunked HTTP response of newline-delimited JSON, the shape of
// Argo Server's watch and log endpoints: one {"result": ...} per message, and a final
// {"error": {"code", "message"}} line when the stream fails other than by cancellation.
// A stream that fails OUT_OF_RANGE before its first message (a watch from a resourceVersion
// the change log no longer holds) is answered as Kubernetes does: 410 Gone with a Status
// (reason Expired), so that a client re-lists instead of reading a 200.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/sync_stream.h"
#include "httplib.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {

// State of one streamed response. A pump thread reads the gRPC stream into a queue that the
// chunked HTTP response drains, so that the HTTP side notices a departed client
// (sink.is_writable) even while no message arrives. Fill `reader` from a call made with `ctx`.
template <typename Msg>
struct StreamPump {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderInterface<Msg>> reader;
  std::thread thread;
  absl::Mutex mu;
  std::deque<std::string> lines ABSL_GUARDED_BY(mu);
  bool ended ABSL_GUARDED_BY(mu) = false;
  // Bytes in `lines`: past kMaxQueuedBytes the pump stops reading until the client catches up,
  // so a client that does not read holds that much, not the whole stream.
  static constexpr size_t kMaxQueuedBytes = 1 << 20;
  size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;
  // The response is done (or the pump is going): stop waiting for room.
  bool stopping ABSL_GUARDED_BY(mu) = false;
  // Messages read so far, and how the stream ended.
  size_t results ABSL_GUARDED_BY(mu) = 0;
  grpc::StatusCode end_code ABSL_GUARDED_BY(mu) = grpc::StatusCode::OK;
  std::string end_message ABSL_GUARDED_BY(mu);

  ~StreamPump() {
    {
      absl::MutexLock lock(&mu);
      stopping = true;
    }
    ctx.TryCancel();
    if (thread.joinable()) thread.join();
  }
};

// Kubernetes' Status for a watch from a version too old (HTTP 410, reason Expired).
inline std::string ExpiredStatusBody(const std::string& message) {
  return manifest::ToJsonText(nlohmann::json{{"kind", "Status"},
                                             {"apiVersion", "v1"},
                                             {"metadata", nlohmann::json::object()},
                                             {"status", "Failure"},
                                             {"message", message},
                                             {"reason", "Expired"},
                                             {"code", 410}},
                              false);
}

// Starts the pump thread and makes `res` a chunked response of its lines; `to_json` gives the
// "result" of one message. The response owns the pump: it cancels the call when it is done.
template <typename Msg>
void ServeStream(std::shared_ptr<StreamPump<Msg>> pump,
                 std::function<nlohmann::json(const Msg&)> to_json, httplib::Response& res) {
  using nlohmann::json;
  StreamPump<Msg>* p = pump.get();
  p->thread = std::thread([p, to_json] {
    Msg msg;
    while (p->reader->Read(&msg)) {
      std::string line = manifest::ToJsonText(json{{"result", to_json(msg)}}, false) + "\n";
      absl::MutexLock lock(&p->mu);
      p->queued_bytes += line.size();
      p->lines.push_back(std::move(line));
      ++p->results;
      auto room = [p]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu) {
        return p->queued_bytes <= StreamPump<Msg>::kMaxQueuedBytes || p->stopping;
      };
      p->mu.Await(absl::Condition(&room));
      if (p->stopping) break;  // the response is over: read no further
    }
    grpc::Status s = p->reader->Finish();
    absl::MutexLock lock(&p->mu);
    p->end_code = s.error_code();
    p->end_message = s.error_message();
    if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
      p->lines.push_back(
          manifest::ToJsonText(
              json{{"error", {{"code", s.error_code()}, {"message", s.error_message()}}}}, false) +
          "\n");
    }
    p->ended = true;
  });
  {
    // The status line goes out with the first chunk: wait briefly for the stream to either
    // produce or fail, so an expired version gets its 410 (a quiet watch starts after this).
    absl::MutexLock lock(&p->mu);
    auto started = [p]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu) {
      return !p->lines.empty() || p->ended;
    };
    p->mu.AwaitWithTimeout(absl::Condition(&started), absl::Milliseconds(250));
    if (p->ended && p->results == 0 && p->end_code == grpc::StatusCode::OUT_OF_RANGE) {
      res.status = 410;
      res.set_content(ExpiredStatusBody(p->end_message), "application/json");
      return;
    }
  }
  res.set_chunked_content_provider(
      "application/json",
      [pump](size_t, httplib::DataSink& sink) {
        std::deque<std::string> lines;
        bool ended = false;
        {
          absl::MutexLock lock(&pump->mu);
          auto ready = [q = pump.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu) {
            return !q->lines.empty() || q->ended;
          };
          pump->mu.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
          lines.swap(pump->lines);
          pump->queued_bytes = 0;
          ended = pump->ended;
        }
        for (const std::string& line : lines) {
          if (!sink.write(line.data(), line.size())) return false;
        }
        if (ended) {
          sink.done();
          return true;
        }
        return sink.is_writable();
      },
      [pump](bool) {
        absl::MutexLock lock(&pump->mu);
        pump->stopping = true;
        pump->ctx.TryCancel();
      });
}

}  // namespace argonaut::gateway
