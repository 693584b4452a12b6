#include "lib/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace argonaut {
namespace {

LogLevel InitialLevel() {
  const char* env = std::getenv("ARGONAUT_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kInfo;
  std::string_view v(env);
  if (v == "debug") return LogLevel::kDebug;
  if (v == "warn") return LogLevel::kWarn;
  if (v == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<int>& Level() {
  static std::atomic<int> level{static_cast<int>(InitialLevel())};
  return level;
}

// Quotes a value when it holds spaces, quotes or '=' so that lines stay parseable.
std::string Quote(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') plain = false;
  }
  if (plain) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

const char* Name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetLogLevel(LogLevel level) { Level().store(static_cast<int>(level)); }

void Log(LogLevel level, std::string_view component, std::string_view msg,
         const LogFields& fields) {
  if (static_cast<int>(level) < Level().load()) return;
  std::string line = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", Name(level), " component=", Quote(component), " msg=", Quote(msg));
  for (const auto& [k, v] : fields) absl::StrAppend(&line, " ", k, "=", Quote(v));
  line.push_back('\n');
  // One write per line keeps concurrent lines whole.
  ssize_t unused = ::write(2, line.data(), line.size());
  (void)unused;
}

}  // namespace argonaut
