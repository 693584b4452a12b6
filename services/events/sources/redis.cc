#include "services/events/sources/redis.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/events/sources/broker.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

std::string Str(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
                       r->type != REDIS_REPLY_ERROR)) {
    return "";
  }
  return std::string(r->str, r->len);
}

// A command; an error reply is an error too (its text names Redis's reason).
absl::StatusOr<Reply> Command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (r == nullptr) return absl::UnavailableError(absl::StrCat(args[0], ": ", c->errstr));
  if (r->type == REDIS_REPLY_ERROR) {
    return absl::FailedPreconditionError(absl::StrCat(args[0], ": ", Str(r.get())));
  }
  return r;
}

struct RedisConfig {
  std::string host;
  int port = 6379;
  std::string username, password;
  int db = 0;
};

absl::StatusOr<Context> Connect(const RedisConfig& cfg) {
  const timeval timeout = {2, 0};
  Context c(redisConnectWithTimeout(cfg.host.c_str(), cfg.port, timeout));
  if (c == nullptr) return absl::ResourceExhaustedError("connect: out of memory");
  if (c->err != 0) return absl::UnavailableError(absl::StrCat("connect: ", c->errstr));
  redisSetTimeout(c.get(), timeout);
  if (!cfg.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!cfg.username.empty()) auth.push_back(cfg.username);
    auth.push_back(cfg.password);
    if (absl::StatusOr<Reply> r = Command(c.get(), auth); !r.ok()) return r.status();
  }
  if (cfg.db != 0) {
    if (absl::StatusOr<Reply> r = Command(c.get(), {"SELECT", std::to_string(cfg.db)}); !r.ok()) {
      return r.status();
    }
  }
  return c;
}

// The next reply on a subscribed connection, or null after kPoll without one.
absl::StatusOr<Reply> NextPush(redisContext* c, absl::Duration wait) {
  void* raw = nullptr;
  if (redisReaderGetReply(c->reader, &raw) != REDIS_OK) {
    return absl::UnavailableError("receive: protocol error");
  }
  if (raw != nullptr) return Reply(static_cast<redisReply*>(raw));
  pollfd p = {c->fd, POLLIN, 0};
  const int n = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(wait)));
  if (n <= 0) return Reply();
  if (redisBufferRead(c) != REDIS_OK)
    return absl::UnavailableError(absl::StrCat("receive: ", c->errstr));
  if (redisReaderGetReply(c->reader, &raw) != REDIS_OK) {
    return absl::UnavailableError("receive: protocol error");
  }
  return Reply(static_cast<redisReply*>(raw));
}

class RedisListener : public BrokerListener {
 public:
  RedisListener(std::unique_ptr<Emitter> emitter, Backoff backoff, std::string target,
                RedisConfig cfg, std::vector<std::string> channels, bool json_body)
      : BrokerListener(std::move(emitter), backoff, std::move(target)),
        cfg_(std::move(cfg)),
        channels_(std::move(channels)),
        json_body_(json_body) {}
  ~RedisListener() override { Stop(); }

 protected:
  absl::Status Session() override {
    absl::StatusOr<Context> c = Connect(cfg_);
    if (!c.ok()) return c.status();
    std::vector<std::string> cmd = {"PSUBSCRIBE"};
    cmd.insert(cmd.end(), channels_.begin(), channels_.end());
    // The first confirmation comes back here, the others as pushes below.
    if (absl::StatusOr<Reply> r = Command(c->get(), cmd); !r.ok()) return r.status();
    Connected();
    while (!stopping()) {
      absl::StatusOr<Reply> r = NextPush(c->get(), kPoll);
      if (!r.ok()) return r.status();
      const redisReply* m = r->get();
      // ["pmessage", pattern, channel, payload]; confirmations are skipped.
      if (m == nullptr || m->type != REDIS_REPLY_ARRAY || m->elements != 4 ||
          Str(m->element[0]) != "pmessage") {
        continue;
      }
      (void)emitter_->Emit({{"channel", Str(m->element[2])},
                            {"pattern", Str(m->element[1])},
                            {"body", BodyOf(Str(m->element[3]), json_body_, true)}});
    }
    return absl::OkStatus();
  }

 private:
  const RedisConfig cfg_;
  const std::vector<std::string> channels_;
  const bool json_body_;
};

class RedisStreamListener : public BrokerListener {
 public:
  RedisStreamListener(std::unique_ptr<Emitter> emitter, Backoff backoff, std::string target,
                      RedisConfig cfg, std::vector<std::string> streams, std::string group,
                      int count)
      : BrokerListener(std::move(emitter), backoff, std::move(target)),
        cfg_(std::move(cfg)),
        streams_(std::move(streams)),
        group_(std::move(group)),
        count_(count),
        consumer_(absl::StrCat("argonaut-", spec().source_name, "-", spec().name)) {}
  ~RedisStreamListener() override { Stop(); }

 protected:
  absl::Status Session() override {
    absl::StatusOr<Context> c = Connect(cfg_);
    if (!c.ok()) return c.status();
    for (const std::string& s : streams_) {
      absl::StatusOr<Reply> r = Command(c->get(), {"XGROUP", "CREATE", s, group_, "$", "MKSTREAM"});
      if (!r.ok() && !absl::StrContains(r.status().message(), "BUSYGROUP")) return r.status();
    }
    // Per stream where to read: first this consumer's pending messages (from
    // "0", moving past each one read), then new ones (">").
    std::map<std::string, std::string> cursor;
    for (const std::string& s : streams_) cursor[s] = "0";
    Connected();
    while (!stopping()) {
      bool all_new = true;
      for (const auto& [s, id] : cursor) all_new = all_new && id == ">";
      std::vector<std::string> cmd = {"XREADGROUP", "GROUP", group_,
                                      consumer_,    "COUNT", std::to_string(count_)};
      if (all_new) {
        cmd.push_back("BLOCK");
        cmd.push_back(std::to_string(absl::ToInt64Milliseconds(kPoll)));
      }
      cmd.push_back("STREAMS");
      for (const auto& [s, id] : cursor) cmd.push_back(s);
      for (const auto& [s, id] : cursor) cmd.push_back(id);
      absl::StatusOr<Reply> r = Command(c->get(), cmd);
      if (!r.ok()) return r.status();
      std::map<std::string, bool> got;
      const redisReply* top = r->get();
      if (top->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < top->elements; ++i) {
          const redisReply* sr = top->element[i];
          if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) continue;
          const std::string stream = Str(sr->element[0]);
          const redisReply* entries = sr->element[1];
          if (entries->type != REDIS_REPLY_ARRAY) continue;
          for (size_t j = 0; j < entries->elements; ++j) {
            const redisReply* e = entries->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
            const std::string id = Str(e->element[0]);
            got[stream] = true;
            if (cursor[stream] != ">") cursor[stream] = id;
            json values = json::object();
            const redisReply* fv = e->element[1];
            // A pending entry that was trimmed from the stream has no fields.
            if (fv->type != REDIS_REPLY_ARRAY) continue;
            for (size_t k = 0; k + 1 < fv->elements; k += 2) {
              values[Str(fv->element[k])] = Str(fv->element[k + 1]);
            }
            absl::Status sent = emitter_->Emit(
                {{"stream", stream}, {"message_id", id}, {"values", std::move(values)}});
            // Not durable: stays pending, read again after a reconnect.
            if (!sent.ok()) continue;
            if (absl::StatusOr<Reply> ack = Command(c->get(), {"XACK", stream, group_, id});
                !ack.ok()) {
              return ack.status();
            }
          }
        }
      }
      for (auto& [s, id] : cursor) {
        if (id != ">" && !got[s]) id = ">";
      }
    }
    return absl::OkStatus();
  }

 private:
  const RedisConfig cfg_;
  const std::vector<std::string> streams_;
  const std::string group_;
  const int count_;
  const std::string consumer_;
};

absl::StatusOr<RedisConfig> ParseRedis(const Emitter& emitter) {
  const EventSpec& spec = emitter.spec();
  RedisConfig cfg;
  absl::StatusOr<std::string> address = StringField(spec, "hostAddress", true);
  if (!address.ok()) return address.status();
  absl::StatusOr<HostPort> hp = ParseHostPort(spec, "hostAddress", *address, {"redis"}, 6379);
  if (!hp.ok()) return hp.status();
  cfg.host = hp->host;
  cfg.port = hp->port;
  if (spec.config.contains("tls") && !spec.config["tls"].is_null()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".tls: not supported here"));
  }
  if (spec.config.contains("password") && !spec.config["password"].is_null()) {
    absl::StatusOr<std::string> p =
        ReadSecret(emitter.ctx(), spec.ns, spec.config["password"], spec.path() + ".password");
    if (!p.ok()) return p.status();
    cfg.password = *p;
  }
  absl::StatusOr<std::string> user = StringField(spec, "username", false);
  if (!user.ok()) return user.status();
  cfg.username = *user;
  if (spec.config.contains("db") && !spec.config["db"].is_null()) {
    if (!spec.config["db"].is_number_integer() || spec.config["db"].get<int64_t>() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path(), ".db: must be a non-negative integer"));
    }
    cfg.db = spec.config["db"].get<int>();
  }
  return cfg;
}

absl::StatusOr<std::vector<std::string>> StringList(const EventSpec& spec, const char* key) {
  const std::string field = absl::StrCat(spec.path(), ".", key);
  if (!spec.config.contains(key) || !spec.config[key].is_array() || spec.config[key].empty()) {
    return absl::InvalidArgumentError(field + ": required (a list of names)");
  }
  std::vector<std::string> out;
  for (const json& v : spec.config[key]) {
    if (!v.is_string() || v.get<std::string>().empty()) {
      return absl::InvalidArgumentError(field + ": every entry must be a non-empty string");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartRedis(std::unique_ptr<Emitter> emitter) {
  absl::StatusOr<RedisConfig> cfg = ParseRedis(*emitter);
  if (!cfg.ok()) return cfg.status();
  const EventSpec& spec = emitter->spec();
  absl::StatusOr<std::vector<std::string>> channels = StringList(spec, "channels");
  if (!channels.ok()) return channels.status();
  absl::StatusOr<bool> json_body = BoolField(spec, "jsonBody");
  if (!json_body.ok()) return json_body.status();
  absl::StatusOr<Backoff> backoff = ParseBackoff(spec);
  if (!backoff.ok()) return backoff.status();
  const std::string target = absl::StrCat("redis://", cfg->host, ":", cfg->port);
  auto listener = std::make_unique<RedisListener>(
      std::move(emitter), *backoff, target, std::move(*cfg), std::move(*channels), *json_body);
  listener->Run();
  return listener;
}

absl::StatusOr<std::unique_ptr<Listener>> StartRedisStream(std::unique_ptr<Emitter> emitter) {
  absl::StatusOr<RedisConfig> cfg = ParseRedis(*emitter);
  if (!cfg.ok()) return cfg.status();
  const EventSpec& spec = emitter->spec();
  absl::StatusOr<std::vector<std::string>> streams = StringList(spec, "streams");
  if (!streams.ok()) return streams.status();
  absl::StatusOr<std::string> group = StringField(spec, "consumerGroup", false);
  if (!group.ok()) return group.status();
  if (group->empty()) *group = "argo-events-cg";
  int count = 10;
  if (spec.config.contains("maxMsgCountPerRead") && !spec.config["maxMsgCountPerRead"].is_null()) {
    const json& v = spec.config["maxMsgCountPerRead"];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > 100000) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path(), ".maxMsgCountPerRead: must be a positive integer"));
    }
    count = v.get<int>();
  }
  absl::StatusOr<Backoff> backoff = ParseBackoff(spec);
  if (!backoff.ok()) return backoff.status();
  const std::string target = absl::StrCat("redis://", cfg->host, ":", cfg->port);
  auto listener = std::make_unique<RedisStreamListener>(
      std::move(emitter), *backoff, target, std::move(*cfg), std::move(*streams), *group, count);
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
