#include "services/events/log_buffer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace argonaut::events {
namespace {

using nlohmann::json;

const json& Field(const json& o, const std::string& key) {
  static const json* null = new json();
  if (!o.is_object()) return *null;
  auto it = o.find(key);
  return it == o.end() ? *null : *it;
}

std::string Str(const json& o, const char* key) {
  const json& v = Field(o, key);
  return v.is_string() ? v.get<std::string>() : "";
}

int64_t Int(const json& o, const char* key) {
  const json& v = Field(o, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::string Plural(int64_t n, const char* what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

// The listener of `before` with the same type and name as `l`.
const json& SameListener(const json& before, const json& l) {
  static const json* null = new json();
  const json& list = Field(before, "listeners");
  if (!list.is_array()) return *null;
  for (const json& b : list) {
    if (Str(b, "type") == Str(l, "type") && Str(b, "name") == Str(l, "name")) return b;
  }
  return *null;
}

void SourceLines(const json& before, const json& after, std::vector<LogLine>& out) {
  const json& list = Field(after, "listeners");
  if (!list.is_array()) return;
  for (const json& l : list) {
    const json& b = SameListener(before, l);
    std::map<std::string, std::string> fields = {{"eventSourceType", Str(l, "type")},
                                                 {"eventName", Str(l, "name")}};
    const std::string state = Str(l, "state");
    if (state != Str(b, "state") && !state.empty()) {
      std::string msg = absl::StrCat("listener ", state);
      if (const std::string m = Str(l, "message"); !m.empty()) absl::StrAppend(&msg, ": ", m);
      out.push_back({.level = state == "error" ? "error" : "info", .msg = msg, .fields = fields});
    }
    if (int64_t sent = Int(l, "eventsSent") - Int(b, "eventsSent"); sent > 0) {
      out.push_back({.msg = absl::StrCat(Plural(sent, "event"), " published"), .fields = fields});
    }
    if (int64_t failed = Int(l, "eventsFailed") - Int(b, "eventsFailed"); failed > 0) {
      std::string msg = absl::StrCat(Plural(failed, "event"), " failed to publish");
      if (const std::string m = Str(l, "message"); !m.empty()) absl::StrAppend(&msg, ": ", m);
      out.push_back({.level = "error", .msg = msg, .fields = fields});
    }
  }
}

void SensorLines(const json& before, const json& after, std::vector<LogLine>& out) {
  const json& deps = Field(after, "dependencies");
  if (deps.is_object()) {
    for (const auto& [name, d] : deps.items()) {
      const json& b = Field(Field(before, "dependencies"), name);
      if (!Field(d, "lastEvent").is_object() || Field(d, "lastEvent") == Field(b, "lastEvent")) {
        continue;
      }
      json context = Field(d, "lastEvent");
      context.erase("data");
      const bool passed = !Field(d, "passed").is_boolean() || Field(d, "passed").get<bool>();
      std::string msg = absl::StrCat("dependency ", name, ": event ", Str(context, "id"),
                                     passed ? " passed the filters" : " filtered out");
      if (const std::string r = Str(d, "reason"); !passed && !r.empty()) {
        absl::StrAppend(&msg, ": ", r);
      }
      out.push_back(
          {.msg = msg, .fields = {{"dependencyName", name}, {"eventContext", context.dump()}}});
    }
  }
  const json& triggers = Field(after, "triggers");
  if (triggers.is_object()) {
    for (const auto& [name, t] : triggers.items()) {
      const json& b = Field(Field(before, "triggers"), name);
      std::map<std::string, std::string> fields = {{"triggerName", name}};
      if (int64_t fired = Int(t, "fired") - Int(b, "fired"); fired > 0) {
        std::string msg = absl::StrCat("trigger fired (", Plural(fired, "time"), ")");
        if (const std::string m = Str(t, "lastMessage"); !m.empty()) absl::StrAppend(&msg, ": ", m);
        out.push_back({.msg = msg, .fields = fields});
      }
      if (int64_t failed = Int(t, "failed") - Int(b, "failed"); failed > 0) {
        out.push_back({.level = "error",
                       .msg = absl::StrCat("trigger failed (", Plural(failed, "time"),
                                           "): ", Str(t, "lastError")),
                       .fields = fields});
      } else if (before.is_null() && !Str(t, "lastError").empty()) {
        // A trigger that can never fire says so once, when the sensor starts.
        out.push_back({.level = "error",
                       .msg = absl::StrCat("trigger not usable: ", Str(t, "lastError")),
                       .fields = fields});
      }
    }
  }
}

}  // namespace

void LogBuffer::Add(LogLine line) {
  absl::MutexLock lock(&mu_);
  line.seq = ++last_seq_;
  std::deque<LogLine>& ring = lines_[line.key];
  ring.push_back(std::move(line));
  while (ring.size() > per_object_) ring.pop_front();
}

void LogBuffer::Forget(const std::string& key) {
  absl::MutexLock lock(&mu_);
  lines_.erase(key);
}

std::vector<LogLine> LogBuffer::Since(uint64_t after,
                                      const std::function<bool(const LogLine&)>& match) const {
  std::vector<LogLine> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, ring] : lines_) {
      for (const LogLine& l : ring) {
        if (l.seq > after && match(l)) out.push_back(l);
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LogLine& a, const LogLine& b) { return a.seq < b.seq; });
  return out;
}

uint64_t LogBuffer::Wait(uint64_t after, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto newer = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return last_seq_ > after; };
  mu_.AwaitWithDeadline(absl::Condition(&newer), deadline);
  return last_seq_;
}

uint64_t LogBuffer::last_seq() const {
  absl::MutexLock lock(&mu_);
  return last_seq_;
}

std::vector<LogLine> StatusLines(const std::string& kind, const json& before, const json& after) {
  std::vector<LogLine> out;
  if (kind == "Sensor") {
    SensorLines(before, after, out);
  } else {
    SourceLines(before, after, out);
  }
  return out;
}

}  // namespace argonaut::events
