#include "services/rollout/analysis/assess.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "lib/base/status_macros.h"
#include "lib/expr/exprlang.h"
#include "re2/re2.h"
#include "services/rollout/analysis/build.h"
#include "services/rollout/analysis/json_fields.h"

namespace argonaut::rollout::analysis {
namespace {

using json_fields::Field;
using json_fields::Int;
using json_fields::Str;
using nlohmann::json;

absl::StatusOr<std::optional<absl::Duration>> DurationField(const json& metric, const char* key) {
  const std::string text = Str(metric, key);
  if (text.empty()) return std::optional<absl::Duration>();
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration() ||
      d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", text, "\""));
  }
  return std::optional<absl::Duration>(d);
}

// Argo's Metric.EffectiveCount: nil/0 count without interval means one
// measurement; with an interval and no count the metric runs until stopped.
std::optional<int64_t> EffectiveCount(const json& metric) {
  const std::optional<int64_t> count = IntOrString(metric, "count");
  if (!count.has_value() || *count == 0) {
    if (Str(metric, "interval").empty()) return 1;
    return std::nullopt;
  }
  return count;
}

int64_t LimitOr(const json& metric, const char* field, int64_t def) {
  return IntOrString(metric, field).value_or(def);
}

std::string ProviderCountMessage(const json& provider, int& count) {
  count = 0;
  if (!provider.is_object()) return "";
  static const char* const kProviders[] = {"prometheus", "job",      "web",       "wavefront",
                                           "kayenta",    "datadog",  "newRelic",  "cloudWatch",
                                           "graphite",   "influxdb", "skywalking"};
  for (const char* p : kProviders) {
    if (provider.contains(p) && !provider[p].is_null()) ++count;
  }
  if (provider.contains("plugin") && provider["plugin"].is_object()) {
    count += static_cast<int>(provider["plugin"].size());
  }
  return "";
}

// utils/analysis ValidateMetric, with Argo's messages.
absl::Status ValidateMetric(const json& metric) {
  const int64_t count = IntOrString(metric, "count").value_or(0);
  const int64_t failure_limit = LimitOr(metric, "failureLimit", 0);
  const int64_t success_limit = LimitOr(metric, "consecutiveSuccessLimit", 0);
  const int64_t inconclusive_limit = LimitOr(metric, "inconclusiveLimit", 0);
  if (success_limit < 0) return absl::InvalidArgumentError("consecutiveSuccessLimit must be >= 0");
  if (failure_limit < -1) {
    return absl::InvalidArgumentError("failureLimit must be >= 0, or -1 to be disabled");
  }
  if (success_limit == 0 && failure_limit == -1) {
    return absl::InvalidArgumentError(
        "failureLimit and consecutiveSuccessLimit cannot both be disabled");
  }
  if (inconclusive_limit < 0) return absl::InvalidArgumentError("inconclusiveLimit must be >= 0");
  if (IntOrString(metric, "consecutiveErrorLimit").value_or(0) < 0) {
    return absl::InvalidArgumentError("consecutiveErrorLimit must be >= 0");
  }
  if (count > 0) {
    if (success_limit >= 0 && failure_limit >= 0) {
      if (count < failure_limit + success_limit) {
        return absl::InvalidArgumentError(
            absl::StrCat("count (", count, ") must be >= failureLimit + consecutiveSuccessLimit (",
                         failure_limit, " + ", success_limit, ") if both >= 0"));
      }
    } else if (success_limit >= 0 && failure_limit < 0 && count < success_limit) {
      return absl::InvalidArgumentError("count must be >= consecutiveSuccessLimit");
    }
    if (count < inconclusive_limit) {
      return absl::InvalidArgumentError("count must be >= inconclusiveLimit");
    }
  }
  if (count > 1 && Str(metric, "interval").empty()) {
    return absl::InvalidArgumentError("interval must be specified when count > 1");
  }
  if (auto d = DurationField(metric, "interval"); !d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid interval string: ", d.status().message()));
  }
  if (auto d = DurationField(metric, "initialDelay"); !d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid startDelay string: ", d.status().message()));
  }
  int providers = 0;
  ProviderCountMessage(Field(metric, "provider"), providers);
  if (providers == 0) return absl::InvalidArgumentError("no provider specified");
  if (providers > 1) return absl::InvalidArgumentError("multiple providers specified");
  return absl::OkStatus();
}

absl::Status ValidateMetrics(const std::vector<json>& metrics) {
  if (metrics.empty()) return absl::InvalidArgumentError("no metrics specified");
  std::map<std::string, bool> seen;
  for (size_t i = 0; i < metrics.size(); ++i) {
    const std::string name = Str(metrics[i], "name");
    if (seen[name]) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics[", i, "]: duplicate name '", name, "'"));
    }
    seen[name] = true;
    if (absl::Status s = ValidateMetric(metrics[i]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("metrics[", i, "]: ", s.message()));
    }
  }
  return absl::OkStatus();
}

// dryRun / measurementRetention rules: metricName is an unanchored regexp.
// Returns, per metric name, the index of the last rule matching it.
absl::StatusOr<std::map<std::string, size_t>> MatchRules(const json& rules, const char* field,
                                                         const std::vector<json>& metrics) {
  std::map<std::string, size_t> out;
  if (!rules.is_array()) return out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const RE2 re(Str(rules[i], "metricName"), RE2::Quiet);
    int matched = 0;
    if (re.ok()) {
      for (const json& m : metrics) {
        const std::string name = Str(m, "name");
        if (RE2::PartialMatch(name, re)) {
          out[name] = i;
          ++matched;
        }
      }
    }
    if (matched < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: Rule didn't match any metric name(s)"));
    }
  }
  return out;
}

// The run's metrics resolved and checked, as Argo does at the top of every
// reconcile.
struct Prepared {
  std::vector<json> raw;
  std::vector<json> resolved;
  std::map<std::string, bool> dry_run;
  std::map<std::string, int64_t> retention;  // limit > 0 only
};

absl::StatusOr<Prepared> Prepare(const json& spec) {
  Prepared p;
  const json& metrics = Field(spec, "metrics");
  if (metrics.is_array()) {
    for (const json& m : metrics) p.raw.push_back(m);
  }
  absl::StatusOr<std::map<std::string, std::string>> values = PlainArgValues(Field(spec, "args"));
  if (!values.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Unable to resolve metric arguments: ", values.status().message()));
  }
  for (const json& m : p.raw) {
    absl::StatusOr<json> r = ResolveMetricArgs(m, *values);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unable to resolve metric arguments: ", r.status().message()));
    }
    p.resolved.push_back(*std::move(r));
  }
  if (absl::Status s = ValidateMetrics(p.resolved); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("Analysis spec invalid: ", s.message()));
  }
  absl::StatusOr<std::map<std::string, size_t>> dry =
      MatchRules(Field(spec, "dryRun"), "dryRun", p.resolved);
  if (!dry.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Analysis spec invalid: ", dry.status().message()));
  }
  for (const auto& [name, i] : *dry) p.dry_run[name] = true;
  const json& retention_rules = Field(spec, "measurementRetention");
  absl::StatusOr<std::map<std::string, size_t>> ret =
      MatchRules(retention_rules, "measurementRetention", p.resolved);
  if (!ret.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Analysis spec invalid: ", ret.status().message()));
  }
  for (const auto& [name, i] : *ret) {
    const int64_t limit = Int(retention_rules[i], "limit");
    if (limit > 0) p.retention[name] = limit;
  }
  return p;
}

json* FindResult(json& status, const std::string& name) {
  json& results = status["metricResults"];
  if (!results.is_array()) results = json::array();
  for (json& r : results) {
    if (Str(r, "name") == name) return &r;
  }
  return nullptr;
}

const json* FindResult(const json& status, const std::string& name) {
  const json& results = Field(status, "metricResults");
  if (!results.is_array()) return nullptr;
  for (const json& r : results) {
    if (Str(r, "name") == name) return &r;
  }
  return nullptr;
}

const json* LastMeasurement(const json* result) {
  if (result == nullptr) return nullptr;
  const json& ms = Field(*result, "measurements");
  if (!ms.is_array() || ms.empty()) return nullptr;
  return &ms.back();
}

bool MetricCompleted(const json& status, const std::string& name) {
  const json* r = FindResult(status, name);
  return r != nullptr && PhaseCompleted(Str(*r, "phase"));
}

bool IsTerminating(const json& spec, const json& status) {
  const json& t = Field(spec, "terminate");
  if (t.is_boolean() && t.get<bool>()) return true;
  const json& results = Field(status, "metricResults");
  if (!results.is_array()) return false;
  for (const json& r : results) {
    const json& dry = Field(r, "dryRun");
    if (dry.is_boolean() && dry.get<bool>()) continue;
    const std::string phase = Str(r, "phase");
    if (phase == kPhaseFailed || phase == kPhaseError || phase == kPhaseInconclusive) return true;
  }
  return false;
}

// Order from best to worst (utils/analysis analysisStatusOrder).
int PhaseRank(const std::string& phase) {
  static const char* const kOrder[] = {kPhasePending,      kPhaseRunning, kPhaseSuccessful,
                                       kPhaseInconclusive, kPhaseError,   kPhaseFailed};
  for (int i = 0; i < 6; ++i) {
    if (phase == kOrder[i]) return i;
  }
  return 0;
}

bool IsWorse(const std::string& current, const std::string& next) {
  return PhaseRank(next) > PhaseRank(current);
}

// assessMetricFailureInconclusiveOrError: later checks override earlier ones.
std::pair<std::string, std::string> FailureInconclusiveOrError(const json& metric,
                                                               const json& result) {
  std::string phase, message;
  const int64_t failure_limit = LimitOr(metric, "failureLimit", 0);
  const int64_t failed = Int(result, "failed");
  if (failure_limit >= 0 && failed > failure_limit) {
    phase = kPhaseFailed;
    message = absl::StrCat("failed (", failed, ") > failureLimit (", failure_limit, ")");
  }
  const int64_t inconclusive_limit = LimitOr(metric, "inconclusiveLimit", 0);
  const int64_t inconclusive = Int(result, "inconclusive");
  if (inconclusive > inconclusive_limit) {
    phase = kPhaseInconclusive;
    message = absl::StrCat("inconclusive (", inconclusive, ") > inconclusiveLimit (",
                           inconclusive_limit, ")");
  }
  const int64_t error_limit =
      LimitOr(metric, "consecutiveErrorLimit", kDefaultConsecutiveErrorLimit);
  const int64_t consecutive_error = Int(result, "consecutiveError");
  if (consecutive_error > error_limit) {
    phase = kPhaseError;
    message = absl::StrCat("consecutiveErrors (", consecutive_error, ") > consecutiveErrorLimit (",
                           error_limit, ")");
  }
  return {phase, message};
}

std::string AssessMetricStatus(const json& metric, const json& result, bool terminating) {
  const std::string current = Str(result, "phase");
  if (PhaseCompleted(current)) return current;
  const json* last = LastMeasurement(&result);
  if (last == nullptr) return terminating ? kPhaseSuccessful : kPhasePending;
  if (!PhaseCompleted(Str(*last, "phase"))) return kPhaseRunning;
  if (auto [phase, message] = FailureInconclusiveOrError(metric, result); !phase.empty()) {
    return phase;
  }
  const int64_t success_limit = LimitOr(metric, "consecutiveSuccessLimit", 0);
  if (success_limit > 0 && Int(result, "consecutiveSuccess") >= success_limit) {
    return kPhaseSuccessful;
  }
  const std::optional<int64_t> count = EffectiveCount(metric);
  if (count.has_value() && Int(result, "count") >= *count) {
    const std::optional<int64_t> failure_limit = IntOrString(metric, "failureLimit");
    const bool failure_applicable = !failure_limit.has_value() || *failure_limit >= 0;
    const bool success_applicable = success_limit > 0;
    if (failure_applicable && success_applicable) return kPhaseInconclusive;
    if (success_applicable) return kPhaseFailed;
    return kPhaseSuccessful;
  }
  return terminating ? kPhaseSuccessful : kPhaseRunning;
}

json EmptySummary() {
  return json{{"count", 0}, {"successful", 0}, {"failed", 0}, {"inconclusive", 0}, {"error", 0}};
}

void CountSummary(json& summary, const std::string& phase) {
  if (phase == kPhaseError) {
    summary["error"] = Int(summary, "error") + 1;
  } else if (phase == kPhaseFailed) {
    summary["failed"] = Int(summary, "failed") + 1;
  } else if (phase == kPhaseInconclusive) {
    summary["inconclusive"] = Int(summary, "inconclusive") + 1;
  } else {
    summary["successful"] = Int(summary, "successful") + 1;
  }
}

// assessRunStatus: returns the run phase and message; updates metric phases
// and the summaries in `status`.
std::pair<std::string, std::string> AssessRunStatus(const json& spec, json& status,
                                                    const Prepared& p, absl::Time now) {
  std::string worst, worst_message;
  const bool terminating = IsTerminating(spec, status);
  bool everything_completed = true;
  if (!ParseTimeText(Field(status, "startedAt")).has_value()) status["startedAt"] = TimeText(now);
  const json& t = Field(spec, "terminate");
  if (t.is_boolean() && t.get<bool>()) worst_message = "Run Terminated";
  json run_summary = EmptySummary(), dry_summary = EmptySummary();
  for (const json& metric : p.resolved) {
    const std::string name = Str(metric, "name");
    const bool dry = p.dry_run.count(name) > 0;
    json& summary = dry ? dry_summary : run_summary;
    summary["count"] = Int(summary, "count") + 1;
    json* result = FindResult(status, name);
    if (result == nullptr) {
      everything_completed = false;
      continue;
    }
    const std::string metric_status = AssessMetricStatus(metric, *result, terminating);
    if (Str(*result, "phase") != metric_status) {
      if (const json* last = LastMeasurement(result); last != nullptr) {
        const std::string m = Str(*last, "message");
        if (m.empty()) {
          result->erase("message");
        } else {
          (*result)["message"] = m;
        }
      }
      (*result)["phase"] = metric_status;
    }
    if (!PhaseCompleted(metric_status)) {
      everything_completed = false;
      continue;
    }
    auto [phase, message] = FailureInconclusiveOrError(metric, *result);
    if (!dry) {
      if (worst.empty() || IsWorse(worst, metric_status)) {
        worst = metric_status;
        if (!message.empty()) {
          worst_message =
              absl::StrCat("Metric \"", name, "\" assessed ", metric_status, " due to ", message);
          const std::string rm = Str(*result, "message");
          if (!rm.empty()) absl::StrAppend(&worst_message, ": \"Error Message: ", rm, "\"");
        }
      }
    } else {
      if (worst.empty()) worst = kPhaseSuccessful;
      if (!message.empty()) {
        (*result)["message"] = absl::StrCat("Metric assessed ", metric_status, " due to ", message);
      }
    }
    CountSummary(summary, phase);
  }
  status["runSummary"] = run_summary;
  status["dryRunSummary"] = dry_summary;
  worst_message = std::string(absl::StripAsciiWhitespace(worst_message));
  if (terminating) {
    if (worst.empty()) return {kPhaseSuccessful, worst_message};
    return {worst, worst_message};
  }
  if (!everything_completed || worst.empty()) return {kPhaseRunning, ""};
  return {worst, worst_message};
}

void ApplyUpdate(json& status, const MeasurementUpdate& u, const Prepared& p, absl::Time now) {
  json* result = FindResult(status, u.metric);
  if (result == nullptr) {
    json fresh = {{"name", u.metric}, {"phase", kPhaseRunning}};
    if (p.dry_run.count(u.metric) > 0) fresh["dryRun"] = true;
    status["metricResults"].push_back(std::move(fresh));
    result = &status["metricResults"].back();
  }
  json m = u.measurement;
  const std::string phase = Str(m, "phase");
  if (PhaseCompleted(phase)) {
    if (!ParseTimeText(Field(m, "finishedAt")).has_value()) m["finishedAt"] = TimeText(now);
    m.erase("resumeAt");
    json& r = *result;
    auto inc = [&r](const char* k) { r[k] = Int(r, k) + 1; };
    if (phase == kPhaseSuccessful) {
      inc("successful");
      inc("count");
      r["consecutiveError"] = 0;
      inc("consecutiveSuccess");
    } else if (phase == kPhaseFailed) {
      inc("failed");
      inc("count");
      r["consecutiveError"] = 0;
      r["consecutiveSuccess"] = 0;
    } else if (phase == kPhaseInconclusive) {
      inc("inconclusive");
      inc("count");
      r["consecutiveError"] = 0;
      r["consecutiveSuccess"] = 0;
    } else {
      inc("error");
      inc("consecutiveError");
      r["consecutiveSuccess"] = 0;
    }
  }
  json& ms = (*result)["measurements"];
  if (!ms.is_array()) ms = json::array();
  if (u.replace_last && !ms.empty()) {
    ms.back() = std::move(m);
  } else {
    ms.push_back(std::move(m));
  }
}

void TrimMeasurements(json& status, const Prepared& p) {
  json& results = status["metricResults"];
  if (!results.is_array()) return;
  for (json& r : results) {
    json& ms = r["measurements"];
    if (!ms.is_array()) {
      r.erase("measurements");
      continue;
    }
    const std::string name = Str(r, "name");
    int64_t limit = kDefaultMeasurementHistoryLimit;
    if (auto it = p.retention.find(name); it != p.retention.end()) limit = it->second;
    if (static_cast<int64_t>(ms.size()) > limit) {
      ms.erase(ms.begin(), ms.begin() + (static_cast<int64_t>(ms.size()) - limit));
    }
  }
}

// calculateNextReconcileTime, plus a poll for in-flight measurements.
std::optional<absl::Time> NextReconcile(const json& status, const Prepared& p, absl::Time now) {
  std::optional<absl::Time> next;
  auto consider = [&next](absl::Time t) {
    if (!next.has_value() || t < *next) next = t;
  };
  for (const json& metric : p.resolved) {
    const std::string name = Str(metric, "name");
    if (MetricCompleted(status, name)) continue;
    const json* result = FindResult(status, name);
    const json* last = LastMeasurement(result);
    if (last == nullptr) {
      absl::StatusOr<std::optional<absl::Duration>> delay = DurationField(metric, "initialDelay");
      if (delay.ok() && delay->has_value()) {
        const absl::Time start = ParseTimeText(Field(status, "startedAt")).value_or(now);
        consider(start + **delay);
      }
      continue;
    }
    if (!ParseTimeText(Field(*last, "finishedAt")).has_value()) {
      if (auto resume = ParseTimeText(Field(*last, "resumeAt")); resume.has_value()) {
        consider(*resume);
      } else {
        consider(now + kInFlightPollInterval);
      }
      continue;
    }
    const std::optional<int64_t> count = EffectiveCount(metric);
    if (count.has_value() && Int(*result, "count") >= *count) continue;
    absl::Duration interval;
    if (Str(*last, "phase") == kPhaseError) {
      interval = kDefaultErrorRetryInterval;
    } else {
      absl::StatusOr<std::optional<absl::Duration>> d = DurationField(metric, "interval");
      if (!d.ok() || !d->has_value()) continue;
      interval = **d;
    }
    consider(*ParseTimeText(Field(*last, "finishedAt")) + interval);
  }
  return next;
}

json ErrorStatus(json status, const std::string& message, absl::Time now) {
  status["phase"] = kPhaseError;
  status["message"] = message;
  if (!status.contains("metricResults")) status["metricResults"] = json::array();
  if (!ParseTimeText(Field(status, "startedAt")).has_value()) status["startedAt"] = TimeText(now);
  if (!ParseTimeText(Field(status, "completedAt")).has_value())
    status["completedAt"] = TimeText(now);
  return status;
}

}  // namespace

std::optional<absl::Duration> TimeToDeletion(const json& run, absl::Time now) {
  const json& status = Field(run, "status");
  const std::string phase = Str(status, "phase");
  const json& ttl = Field(Field(run, "spec"), "ttlStrategy");
  if (!PhaseCompleted(phase) || !ttl.is_object()) return std::nullopt;
  const std::optional<absl::Time> completed = ParseTimeText(Field(status, "completedAt"));
  if (!completed.has_value()) return std::nullopt;
  const json* seconds = nullptr;
  if (phase == kPhaseSuccessful && Field(ttl, "secondsAfterSuccess").is_number()) {
    seconds = &ttl["secondsAfterSuccess"];
  } else if (phase == kPhaseFailed && Field(ttl, "secondsAfterFailure").is_number()) {
    seconds = &ttl["secondsAfterFailure"];
  } else if (Field(ttl, "secondsAfterCompletion").is_number()) {
    seconds = &ttl["secondsAfterCompletion"];
  }
  if (seconds == nullptr) return std::nullopt;
  // Deleted once the elapsed whole seconds exceed the TTL: at TTL + 1 s.
  return *completed + absl::Seconds(seconds->get<int64_t>() + 1) - now;
}

json RunErrorStatus(const json& status, std::string_view message, absl::Time now) {
  return ErrorStatus(status.is_object() ? status : json::object(), std::string(message), now);
}

std::map<std::string, bool> DryRunMetrics(const json& spec) {
  std::map<std::string, bool> out;
  const json& rules = Field(spec, "dryRun");
  const json& metrics = Field(spec, "metrics");
  if (!rules.is_array() || !metrics.is_array()) return out;
  for (const json& rule : rules) {
    const RE2 re(Str(rule, "metricName"), RE2::Quiet);
    if (!re.ok()) continue;
    for (const json& m : metrics) {
      if (RE2::PartialMatch(Str(m, "name"), re)) out[Str(m, "name")] = true;
    }
  }
  return out;
}

bool PhaseCompleted(std::string_view phase) {
  return phase == kPhaseSuccessful || phase == kPhaseFailed || phase == kPhaseError ||
         phase == kPhaseInconclusive;
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::FromUnixSeconds(absl::ToUnixSeconds(t)),
                          absl::UTCTimeZone());
}

std::optional<absl::Time> ParseTimeText(const json& v) {
  if (!v.is_string()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) return std::nullopt;
  return t;
}

std::optional<int64_t> IntOrString(const json& metric, const char* field) {
  const json& v = Field(metric, field);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(v.get<std::string>(), &n)) return 0;
    return n;
  }
  return std::nullopt;
}

std::string ProviderType(const json& metric) {
  const json& provider = Field(metric, "provider");
  static const std::pair<const char*, const char*> kTypes[] = {{"prometheus", "Prometheus"},
                                                               {"job", "Job"},
                                                               {"web", "Web"},
                                                               {"wavefront", "Wavefront"},
                                                               {"kayenta", "Kayenta"},
                                                               {"datadog", "Datadog"},
                                                               {"newRelic", "NewRelic"},
                                                               {"cloudWatch", "CloudWatch"},
                                                               {"graphite", "Graphite"},
                                                               {"influxdb", "Influxdb"},
                                                               {"skywalking", "SkyWalking"},
                                                               {"plugin", "Plugin"}};
  for (const auto& [key, type] : kTypes) {
    if (provider.is_object() && provider.contains(key) && !provider[key].is_null()) return type;
  }
  return "";
}

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (!s.empty()) text = absl::StrReplaceAll(text, {{s, "*****"}});
  }
  return text;
}

std::pair<std::string, std::string> EvaluateResult(const json& metric, const json& result) {
  const std::string success = Str(metric, "successCondition");
  const std::string failure = Str(metric, "failureCondition");
  const json env = {{"result", result}};
  expr::ExprOptions options;
  options.extra_functions = &expr::RolloutsFunctions();
  auto eval = [&](const std::string& condition, const char* which) -> absl::StatusOr<bool> {
    absl::StatusOr<bool> value = [&]() -> absl::StatusOr<bool> {
      ASSIGN_OR_RETURN(expr::ExprProgram program, expr::ExprProgram::Compile(condition, options));
      return program.EvalBool(env);
    }();
    if (value.ok()) return value;
    const bool empty = result.is_null() || (result.is_array() && result.empty());
    if (empty) {
      return absl::InvalidArgumentError(absl::StrCat(
          "could not evaluate ", which, " \"", condition,
          "\": metric result is nil or empty: no data returned from the metric provider"));
    }
    return absl::InvalidArgumentError(absl::StrCat("could not evaluate ", which, " \"", condition,
                                                   "\": ", value.status().message()));
  };
  bool success_value = false, failure_value = false;
  if (!success.empty()) {
    absl::StatusOr<bool> v = eval(success, "successCondition");
    if (!v.ok()) return {kPhaseError, std::string(v.status().message())};
    success_value = *v;
  }
  if (!failure.empty()) {
    absl::StatusOr<bool> v = eval(failure, "failureCondition");
    if (!v.ok()) return {kPhaseError, std::string(v.status().message())};
    failure_value = *v;
  }
  if (success.empty() && failure.empty()) return {kPhaseSuccessful, ""};
  if (!success.empty() && failure.empty()) failure_value = !success_value;
  if (success.empty() && !failure.empty()) success_value = !failure_value;
  if (failure_value) return {kPhaseFailed, ""};
  if (!success_value) return {kPhaseInconclusive, ""};
  return {kPhaseSuccessful, ""};
}

json MeasurementFromResult(const json& metric, const json& result, absl::Time started,
                           absl::Time finished) {
  auto [phase, message] = EvaluateResult(metric, result);
  json m = {{"phase", phase},
            {"startedAt", TimeText(started)},
            {"finishedAt", TimeText(finished)},
            {"value", result.is_string() ? result.get<std::string>() : result.dump()}};
  if (!message.empty()) m["message"] = message;
  return m;
}

json ErrorMeasurement(std::string_view message, absl::Time started, absl::Time finished) {
  return json{{"phase", kPhaseError},
              {"message", std::string(message)},
              {"startedAt", TimeText(started)},
              {"finishedAt", TimeText(finished)}};
}

Plan PlanMeasurements(const json& run, absl::Time now) {
  Plan plan;
  const json& spec = Field(run, "spec");
  const json& status = Field(run, "status");
  if (PhaseCompleted(Str(status, "phase"))) {
    plan.completed = true;
    return plan;
  }
  absl::StatusOr<Prepared> p = Prepare(spec);
  if (!p.ok()) {
    plan.error_status = ErrorStatus(status.is_object() ? status : json::object(),
                                    std::string(p.status().message()), now);
    return plan;
  }
  const bool terminating = IsTerminating(spec, status);
  for (size_t i = 0; i < p->resolved.size(); ++i) {
    const json& metric = p->resolved[i];
    const std::string name = Str(metric, "name");
    if (MetricCompleted(status, name)) continue;
    MetricTask task{.metric = name,
                    .spec = metric,
                    .raw_spec = p->raw[i],
                    .dry_run = p->dry_run.count(name) > 0};
    const json* result = FindResult(status, name);
    const json* last = LastMeasurement(result);
    if (last != nullptr && !ParseTimeText(Field(*last, "finishedAt")).has_value()) {
      // In flight: always looked at (Argo waits for resumeAt; here Job events
      // and finished workers wake the run, so a look is cheap and prompt).
      task.in_flight = *last;
      task.terminate = terminating;
      plan.tasks.push_back(std::move(task));
      continue;
    }
    if (terminating) continue;
    if (last == nullptr) {
      absl::StatusOr<std::optional<absl::Duration>> delay = DurationField(metric, "initialDelay");
      if (!delay.ok()) continue;
      if (delay->has_value()) {
        std::optional<absl::Time> started = ParseTimeText(Field(status, "startedAt"));
        if (!started.has_value() || *started + **delay > now) continue;
      }
      plan.tasks.push_back(std::move(task));
      continue;
    }
    const std::optional<int64_t> count = EffectiveCount(metric);
    if (count.has_value() && Int(*result, "count") >= *count) continue;
    absl::Duration interval = kDefaultErrorRetryInterval;
    if (Str(*last, "phase") != kPhaseError) {
      absl::StatusOr<std::optional<absl::Duration>> d = DurationField(metric, "interval");
      if (!d.ok()) continue;
      if (d->has_value()) interval = **d;
    }
    // Argo requires now to be strictly after; at the exact instant the
    // requeue lands on, a fake clock would otherwise never get there.
    if (now >= *ParseTimeText(Field(*last, "finishedAt")) + interval) {
      plan.tasks.push_back(std::move(task));
    }
  }
  return plan;
}

Assessment Assess(const json& run, const std::vector<MeasurementUpdate>& updates, absl::Time now) {
  Assessment out;
  const json& spec = Field(run, "spec");
  json status = Field(run, "status").is_object() ? Field(run, "status") : json::object();
  if (PhaseCompleted(Str(status, "phase"))) {
    out.status = std::move(status);
    out.completed = true;
    return out;
  }
  absl::StatusOr<Prepared> p = Prepare(spec);
  if (!p.ok()) {
    out.status = ErrorStatus(std::move(status), std::string(p.status().message()), now);
    out.completed = true;
    return out;
  }
  if (!status["metricResults"].is_array()) status["metricResults"] = json::array();
  for (const MeasurementUpdate& u : updates) ApplyUpdate(status, u, *p, now);
  auto [phase, message] = AssessRunStatus(spec, status, *p, now);
  if (Str(status, "phase") != phase) {
    status["phase"] = phase;
    if (message.empty()) {
      status.erase("message");
    } else {
      status["message"] = message;
    }
    if (PhaseCompleted(phase) && !ParseTimeText(Field(status, "completedAt")).has_value()) {
      status["completedAt"] = TimeText(now);
    }
  }
  TrimMeasurements(status, *p);
  out.completed = PhaseCompleted(phase);
  if (!out.completed) {
    if (std::optional<absl::Time> next = NextReconcile(status, *p, now); next.has_value()) {
      out.requeue_after = std::max(*next - now, absl::ZeroDuration());
    }
  }
  out.status = std::move(status);
  return out;
}

}  // namespace argonaut::rollout::analysis
