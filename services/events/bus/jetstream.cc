#include "services/events/bus/jetstream.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"

namespace argonaut::events::bus {
namespace {

absl::Status FromNats(natsStatus s, jsErrCode jerr, std::string_view what) {
  if (s == NATS_OK) return absl::OkStatus();
  std::string message =
      absl::StrCat("jetstream bus: ", std::string(what), ": ", natsStatus_GetText(s));
  if (jerr != 0) absl::StrAppend(&message, " (JetStream error ", static_cast<int>(jerr), ")");
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') absl::StrAppend(&message, ": ", last);
  switch (s) {
    case NATS_TIMEOUT:
      return absl::DeadlineExceededError(message);
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_NO_RESPONDERS:
      return absl::UnavailableError(message);
    case NATS_NOT_FOUND:
      return absl::NotFoundError(message);
    case NATS_INVALID_ARG:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

// One subject token: NATS tokens cannot hold '.', '*', '>' or whitespace,
// so such names (and the empty one) are replaced; the event itself keeps
// the real names.
std::string Token(std::string_view name) {
  if (name.empty()) return "_";
  std::string out(name);
  for (char& c : out) {
    if (c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f) c = '_';
  }
  return out;
}

// Durable names allow fewer characters still; a name with any other
// character is hex-encoded whole so that two names never collide.
std::string DurableName(std::string_view consumer) {
  bool plain = true;
  for (char c : consumer) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) plain = false;
  }
  if (plain) return std::string(consumer);
  return absl::StrCat("x", absl::BytesToHexString(std::string(consumer)));
}

int64_t Millis(absl::Duration d) { return std::max<int64_t>(1, absl::ToInt64Milliseconds(d)); }

struct Held {
  uint64_t seq = 0;
  natsMsg* msg = nullptr;
  std::optional<StoredEvent> event;  // empty: not a CloudEvent, never returned
};

struct ConsumerState {
  absl::Mutex mu;
  natsSubscription* sub ABSL_GUARDED_BY(mu) = nullptr;
  std::deque<Held> held ABSL_GUARDED_BY(mu);  // delivered, not acked, seq order
  uint64_t high ABSL_GUARDED_BY(mu) = 0;      // highest seq seen this session
};

class JetStreamBus : public EventBus {
 public:
  JetStreamBus(JetStreamOptions options, natsConnection* nc, jsCtx* js)
      : options_(std::move(options)), nc_(nc), js_(js) {}

  ~JetStreamBus() override {
    for (auto& [name, state] : consumers_) {
      absl::MutexLock lock(&state->mu);
      // Hand unacknowledged messages back at once rather than after
      // AckWait, so that the next owner of the consumer gets them.
      for (Held& h : state->held) {
        natsMsg_Nak(h.msg, nullptr);
        natsMsg_Destroy(h.msg);
      }
      // Destroy (not Unsubscribe): the durable consumer must stay.
      if (state->sub != nullptr) natsSubscription_Destroy(state->sub);
    }
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }

  absl::Status EnsureStream() {
    std::string subjects = absl::StrCat(options_.stream, ".>");
    const char* subject_list[] = {subjects.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = options_.stream.c_str();
    cfg.Subjects = subject_list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Discard = js_DiscardOld;
    cfg.MaxMsgs = options_.max_msgs;
    cfg.MaxBytes = options_.max_bytes;
    cfg.MaxAge = absl::ToInt64Nanoseconds(options_.max_age);
    cfg.Duplicates = absl::ToInt64Nanoseconds(options_.duplicates);
    cfg.Replicas = options_.replicas;
    cfg.MaxMsgSize = static_cast<int32_t>(options_.max_event_bytes);
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
      jerr = static_cast<jsErrCode>(0);
      s = js_UpdateStream(&si, js_, &cfg, nullptr, &jerr);
    }
    if (si != nullptr) jsStreamInfo_Destroy(si);
    return FromNats(s, jerr, absl::StrCat("create stream ", options_.stream));
  }

  absl::StatusOr<uint64_t> Publish(const CloudEvent& event) override {
    CloudEvent stored = event;
    if (stored.id.empty()) stored.id = NewEventId();
    if (stored.time == absl::UnixEpoch()) stored.time = absl::Now();
    std::string json =
        stored.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (json.size() > options_.max_event_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "jetstream bus: event ", stored.source, "/", stored.subject, " is ", json.size(),
          " bytes, over the ", options_.max_event_bytes, "-byte limit (max_event_bytes)"));
    }
    std::string subject =
        absl::StrCat(options_.stream, ".", Token(stored.source), ".", Token(stored.subject));
    natsMsg* msg = nullptr;
    natsStatus s =
        natsMsg_Create(&msg, subject.c_str(), nullptr, json.data(), static_cast<int>(json.size()));
    // Argo's dedup key: the server drops a repeat within `duplicates`.
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = Millis(options_.timeout);
    po.MsgId = stored.id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (s == NATS_OK) s = js_PublishMsg(&ack, js_, msg, &po, &jerr);
    natsMsg_Destroy(msg);
    absl::Status status = FromNats(s, jerr, absl::StrCat("publish to ", subject));
    uint64_t seq = ack != nullptr ? ack->Sequence : 0;
    if (ack != nullptr) jsPubAck_Destroy(ack);
    RETURN_IF_ERROR(status);
    return seq;
  }

  absl::StatusOr<std::vector<StoredEvent>> Read(std::string_view consumer, size_t max,
                                                absl::Time deadline) override {
    ASSIGN_OR_RETURN(ConsumerState * state, State(consumer));
    std::vector<StoredEvent> out;
    if (max == 0) return out;
    absl::MutexLock lock(&state->mu);
    while (true) {
      size_t events = 0;
      for (const Held& h : state->held) events += h.event.has_value() ? 1 : 0;
      // What is held and not yet acked comes first; top it up from the
      // server, briefly when there is something to return already.
      const bool have_some = events > 0;
      if (events < max) {
        absl::Duration left = have_some ? absl::Milliseconds(5) : deadline - absl::Now();
        RETURN_IF_ERROR(FetchLocked(state, max - events, left));
      }
      for (const Held& h : state->held) {
        if (out.size() >= max) break;
        if (h.event.has_value()) out.push_back(*h.event);
      }
      if (!out.empty() || absl::Now() >= deadline) return out;
    }
  }

  absl::Status FetchLocked(ConsumerState* state, size_t want, absl::Duration left)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
    {
      int batch = static_cast<int>(std::min<size_t>(want, 256));
      natsMsgList list{};
      jsErrCode jerr = static_cast<jsErrCode>(0);
      natsStatus s = natsSubscription_Fetch(&list, state->sub, batch, Millis(left), &jerr);
      if (s == NATS_TIMEOUT) return absl::OkStatus();
      RETURN_IF_ERROR(FromNats(s, jerr, "fetch"));
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* msg = list.Msgs[i];
        list.Msgs[i] = nullptr;
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
          natsMsg_Destroy(msg);
          continue;
        }
        uint64_t seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        if (seq <= state->high) {  // redelivered after AckWait: held already
          natsMsg_Destroy(msg);
          continue;
        }
        state->high = seq;
        Held h{seq, msg, std::nullopt};
        std::string_view data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        nlohmann::json json = nlohmann::json::parse(data, nullptr, false);
        if (!json.is_discarded()) {
          absl::StatusOr<CloudEvent> event = CloudEvent::FromJson(json);
          if (event.ok()) h.event = StoredEvent{seq, *std::move(event)};
        }
        state->held.push_back(std::move(h));
      }
      natsMsgList_Destroy(&list);
    }
    return absl::OkStatus();
  }

  absl::Status Ack(std::string_view consumer, uint64_t offset) override {
    ASSIGN_OR_RETURN(ConsumerState * state, State(consumer));
    absl::MutexLock lock(&state->mu);
    // AckAll: acking the newest delivered message at or below offset acks
    // every earlier one with it.
    auto last = state->held.end();
    for (auto it = state->held.begin(); it != state->held.end() && it->seq <= offset; ++it) {
      last = it;
    }
    if (last == state->held.end()) return absl::OkStatus();
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = Millis(options_.timeout);
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus acked = natsMsg_AckSync(last->msg, &jo, &jerr);
    RETURN_IF_ERROR(FromNats(acked, jerr, absl::StrCat("ack offset ", last->seq)));
    while (!state->held.empty() && state->held.front().seq <= offset) {
      natsMsg_Destroy(state->held.front().msg);
      state->held.pop_front();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<StoredEvent>> Recent(std::string_view source, size_t max) override {
    // A bounded backwards scan: JetStream has no per-subject reverse index.
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    RETURN_IF_ERROR(FromNats(js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr),
                             jerr, "stream info"));
    uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    std::vector<StoredEvent> out;
    const std::string prefix = absl::StrCat(options_.stream, ".", Token(source), ".");
    uint64_t scanned = 0;
    for (uint64_t seq = last;
         seq >= first && seq > 0 && out.size() < max && scanned < options_.recent_scan_limit;
         --seq, ++scanned) {
      natsMsg* msg = nullptr;
      jerr = static_cast<jsErrCode>(0);
      natsStatus s = js_GetMsg(&msg, js_, options_.stream.c_str(), seq, nullptr, &jerr);
      if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;  // deleted
      RETURN_IF_ERROR(FromNats(s, jerr, absl::StrCat("get message ", seq)));
      std::string_view subject = natsMsg_GetSubject(msg);
      if (subject.substr(0, prefix.size()) == prefix) {
        std::string_view data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        nlohmann::json json = nlohmann::json::parse(data, nullptr, false);
        if (!json.is_discarded()) {
          absl::StatusOr<CloudEvent> event = CloudEvent::FromJson(json);
          if (event.ok() && event->source == source) {
            out.push_back(StoredEvent{seq, *std::move(event)});
          }
        }
      }
      natsMsg_Destroy(msg);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  absl::Status RemoveConsumer(std::string_view consumer) override {
    std::unique_ptr<ConsumerState> state;
    {
      absl::MutexLock lock(&mu_);
      auto it = consumers_.find(std::string(consumer));
      if (it != consumers_.end()) {
        state = std::move(it->second);
        consumers_.erase(it);
      }
    }
    if (state != nullptr) {
      absl::MutexLock lock(&state->mu);
      for (Held& h : state->held) natsMsg_Destroy(h.msg);
      state->held.clear();
      if (state->sub != nullptr) natsSubscription_Destroy(state->sub);
      state->sub = nullptr;
    }
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_DeleteConsumer(js_, options_.stream.c_str(), DurableName(consumer).c_str(),
                                     nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) return absl::OkStatus();
    return FromNats(s, jerr, "delete consumer");
  }

 private:
  // The consumer's state, creating the durable consumer at the head of the
  // stream (DeliverNew) on first contact, or binding to it.
  absl::StatusOr<ConsumerState*> State(std::string_view consumer) {
    if (consumer.empty())
      return absl::InvalidArgumentError("jetstream bus: consumer name is empty");
    absl::MutexLock lock(&mu_);
    auto it = consumers_.find(std::string(consumer));
    if (it != consumers_.end()) return it->second.get();
    const std::string durable = DurableName(consumer);
    const std::string filter = absl::StrCat(options_.stream, ".>");
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s =
        js_GetConsumerInfo(&ci, js_, options_.stream.c_str(), durable.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
      jsConsumerConfig cfg;
      jsConsumerConfig_Init(&cfg);
      cfg.Durable = durable.c_str();
      cfg.DeliverPolicy = js_DeliverNew;
      cfg.AckPolicy = js_AckAll;
      cfg.AckWait = absl::ToInt64Nanoseconds(options_.ack_wait);
      cfg.FilterSubject = filter.c_str();
      cfg.MaxAckPending = -1;
      jerr = static_cast<jsErrCode>(0);
      s = js_AddConsumer(&ci, js_, options_.stream.c_str(), &cfg, nullptr, &jerr);
    }
    if (ci != nullptr) jsConsumerInfo_Destroy(ci);
    RETURN_IF_ERROR(FromNats(s, jerr, absl::StrCat("consumer ", durable)));
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = options_.stream.c_str();
    so.Consumer = durable.c_str();
    natsSubscription* sub = nullptr;
    jerr = static_cast<jsErrCode>(0);
    RETURN_IF_ERROR(
        FromNats(js_PullSubscribe(&sub, js_, filter.c_str(), durable.c_str(), nullptr, &so, &jerr),
                 jerr, absl::StrCat("subscribe ", durable)));
    auto state = std::make_unique<ConsumerState>();
    {
      absl::MutexLock state_lock(&state->mu);
      state->sub = sub;
    }
    ConsumerState* raw = state.get();
    consumers_[std::string(consumer)] = std::move(state);
    return raw;
  }

  const JetStreamOptions options_;
  natsConnection* nc_;
  jsCtx* js_;
  absl::Mutex mu_;
  // unique_ptr: the states do not move while a Read holds one.
  std::map<std::string, std::unique_ptr<ConsumerState>> consumers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventBus>> ConnectJetStream(const JetStreamOptions& options) {
  if (options.stream.empty() || Token(options.stream) != options.stream) {
    return absl::InvalidArgumentError(
        absl::StrCat("jetstream bus: stream name \"", options.stream,
                     "\" must be non-empty without '.', '*', '>' or spaces"));
  }
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, options.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, Millis(options.timeout));
  natsConnection* nc = nullptr;
  if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  RETURN_IF_ERROR(FromNats(s, static_cast<jsErrCode>(0), absl::StrCat("connect ", options.url)));
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, nullptr);
  if (s != NATS_OK) {
    natsConnection_Destroy(nc);
    return FromNats(s, static_cast<jsErrCode>(0), "jetstream context");
  }
  auto bus = std::make_unique<JetStreamBus>(options, nc, js);
  RETURN_IF_ERROR(bus->EnsureStream());
  return bus;
}

}  // namespace argonaut::events::bus
