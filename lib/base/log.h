// Structured one-line logs: `ts=... level=info component=store msg="opened" path=/x`.
//
// Logs go to stderr, one line per call, written with a single write(2) so
// lines from different threads never interleave.
//
//   LogInfo("store", "opened", {{"path", dir}, {"kinds", "4"}});
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace argonaut {

using LogFields = std::vector<std::pair<std::string, std::string>>;

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Lines below this level are dropped. Default: info (ARGONAUT_LOG_LEVEL overrides).
void SetLogLevel(LogLevel level);

void Log(LogLevel level, std::string_view component, std::string_view msg,
         const LogFields& fields = {});

inline void LogInfo(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kInfo, c, m, f);
}
inline void LogWarn(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kWarn, c, m, f);
}
inline void LogError(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kError, c, m, f);
}
inline void LogDebug(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kDebug, c, m, f);
}

}  // namespace argonaut
