#include "services/events/sources/broker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"

namespace argonaut::events::sources {

using json = nlohmann::json;

absl::StatusOr<Backoff> ParseBackoff(const EventSpec& spec) {
  Backoff b;
  if (!spec.config.contains("connectionBackoff") || spec.config["connectionBackoff"].is_null()) {
    return b;
  }
  const json& c = spec.config["connectionBackoff"];
  const std::string field = spec.path() + ".connectionBackoff";
  if (!c.is_object()) return absl::InvalidArgumentError(field + ": must be an object");
  if (c.contains("duration") && !c["duration"].is_null()) {
    const json& d = c["duration"];
    absl::Duration parsed;
    int64_t nanos = 0;
    if (d.is_number_integer()) {
      parsed = absl::Nanoseconds(d.get<int64_t>());
    } else if (d.is_string() && absl::SimpleAtoi(d.get<std::string>(), &nanos)) {
      parsed = absl::Nanoseconds(nanos);
    } else if (!d.is_string() || !absl::ParseDuration(d.get<std::string>(), &parsed)) {
      return absl::InvalidArgumentError(field +
                                        ".duration: must be a duration (\"1s\") or nanoseconds");
    }
    if (parsed <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(field + ".duration: must be positive");
    }
    b.initial = parsed;
    b.max = std::max(b.max, parsed);
  }
  if (c.contains("factor") && !c["factor"].is_null()) {
    // Argo types factor as an Amount (a string or a number).
    double f = 0;
    if (c["factor"].is_number()) {
      f = c["factor"].get<double>();
    } else if (!c["factor"].is_string() || !absl::SimpleAtod(c["factor"].get<std::string>(), &f)) {
      return absl::InvalidArgumentError(field + ".factor: must be a number");
    }
    if (f < 1) return absl::InvalidArgumentError(field + ".factor: must be at least 1");
    b.factor = f;
  }
  return b;
}

json BodyOf(const std::string& payload, bool json_body, bool raw_is_string) {
  if (json_body) {
    json parsed = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
    return payload;
  }
  if (raw_is_string) return payload;
  return absl::Base64Escape(payload);
}

absl::StatusOr<HostPort> ParseHostPort(const EventSpec& spec, const char* field,
                                       const std::string& value,
                                       std::initializer_list<const char*> schemes,
                                       int default_port) {
  const std::string where = absl::StrCat(spec.path(), ".", field);
  std::string rest = value;
  const size_t scheme_end = rest.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = rest.substr(0, scheme_end);
    if (std::find_if(schemes.begin(), schemes.end(), [&](const char* s) { return scheme == s; }) ==
        schemes.end()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": scheme \"", scheme,
                                                     "\" is not supported here (use ",
                                                     absl::StrJoin(schemes, "://, "), "://)"));
    }
    rest = rest.substr(scheme_end + 3);
  }
  // Credentials in the URL are the caller's business; drop them here.
  if (const size_t at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (const size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  HostPort hp;
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) {
    hp.host = rest;
    hp.port = default_port;
  } else {
    hp.host = rest.substr(0, colon);
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &hp.port) || hp.port <= 0 || hp.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": invalid port in \"", value, "\""));
    }
  }
  if (hp.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": no host in \"", value, "\""));
  }
  return hp;
}

BrokerListener::~BrokerListener() { Stop(); }

void BrokerListener::Run() {
  SetError(absl::StrCat("connecting to ", target_));
  thread_ = std::thread([this] { Loop(); });
}

void BrokerListener::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void BrokerListener::Connected() {
  connected_ = true;
  SetListening(absl::StrCat("connected to ", target_));
}

void BrokerListener::Loop() {
  absl::Duration wait = backoff_.initial;
  while (!stopping_) {
    connected_ = false;
    absl::Status ended = Session();
    if (stopping_) break;
    if (connected_) wait = backoff_.initial;  // it worked for a while: start over
    const std::string message =
        absl::StrCat(target_, ": ", ended.ok() ? "connection closed" : ended.message(),
                     "; reconnecting in ", absl::FormatDuration(wait));
    SetError(message);
    LogInfo("events-source", "broker connection lost",
            {{"event", spec().path()}, {"error", message}});
    const absl::Time until = absl::Now() + wait;
    while (!stopping_ && absl::Now() < until) absl::SleepFor(kPoll);
    wait = std::min(backoff_.max, wait * backoff_.factor);
  }
}

}  // namespace argonaut::events::sources
