#include "services/rollout/validation/checks.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "lib/base/go_duration.h"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout::validation {

absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text) {
  return base::ParseGoDuration(text);
}

absl::StatusOr<absl::Duration> PauseDuration(absl::string_view duration) {
  if (duration.empty()) return absl::InvalidArgumentError("pause has no duration");
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(duration.data(), duration.data() + duration.size(), seconds);
  if (ec == std::errc() && ptr == duration.data() + duration.size()) {
    return absl::Seconds(seconds);
  }
  return ParseGoDuration(duration);
}

namespace internal {

bool IsPlaceholder(absl::string_view text) { return absl::StrContains(text, "{{"); }

absl::StatusOr<std::optional<int64_t>> IntOrStringValue(absl::string_view text) {
  if (text.empty() || IsPlaceholder(text)) return std::optional<int64_t>();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return absl::InvalidArgumentError(absl::StrCat("must be an integer (got \"", text, "\")"));
  }
  return std::optional<int64_t>(v);
}

void CheckIntOrPercent(absl::string_view path, const std::string& value, Errors* errors,
                       std::optional<int>* number) {
  number->reset();
  if (value.empty()) return;
  absl::string_view digits = value;
  if (absl::EndsWith(digits, "%")) digits.remove_suffix(1);
  int v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    errors->Add(path, absl::StrCat("must be an integer or a percentage (got \"", value, "\")"));
    return;
  }
  if (v < 0) {
    errors->Add(path, absl::StrCat("must not be negative (got ", value, ")"));
    return;
  }
  *number = v;
}

bool SelectorMatches(const v1::LabelSelector& selector,
                     const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : selector.match_labels()) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const v1::LabelSelectorRequirement& req : selector.match_expressions()) {
    auto it = labels.find(req.key());
    const bool has = it != labels.end();
    const bool in = has && std::find(req.values().begin(), req.values().end(), it->second) !=
                               req.values().end();
    if (req.operator_() == "In" && !in) return false;
    if (req.operator_() == "NotIn" && in) return false;
    if (req.operator_() == "Exists" && !has) return false;
    if (req.operator_() == "DoesNotExist" && has) return false;
  }
  return true;
}

void CheckSelector(absl::string_view path, const v1::LabelSelector& selector, Errors* errors) {
  for (int i = 0; i < selector.match_expressions_size(); ++i) {
    const v1::LabelSelectorRequirement& req = selector.match_expressions(i);
    const std::string p = Index(Field(path, "matchExpressions"), i);
    if (req.key().empty()) errors->Add(Field(p, "key"), "required");
    const std::string& op = req.operator_();
    if (op == "In" || op == "NotIn") {
      if (req.values().empty()) {
        errors->Add(Field(p, "values"), absl::StrCat("must be non-empty for operator ", op));
      }
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!req.values().empty()) {
        errors->Add(Field(p, "values"), absl::StrCat("must be empty for operator ", op));
      }
    } else {
      errors->Add(Field(p, "operator"),
                  absl::StrCat("must be In, NotIn, Exists or DoesNotExist (got \"", op, "\")"));
    }
  }
}

void CheckGoDuration(absl::string_view path, const std::string& value, Errors* errors) {
  if (value.empty() || IsPlaceholder(value)) return;
  absl::StatusOr<absl::Duration> d = ParseGoDuration(value);
  if (!d.ok()) {
    errors->Add(path,
                absl::StrCat(d.status().message(), " (a Go duration such as 30s, 5m or 1h30m)"));
  } else if (*d < absl::ZeroDuration()) {
    errors->Add(path, absl::StrCat("must not be negative (got ", value, ")"));
  }
}

void CheckNonNegative(absl::string_view path, int64_t value, Errors* errors) {
  if (value < 0)
    errors->Add(path, absl::StrCat("must be greater than or equal to 0 (got ", value, ")"));
}

void CheckAnalysisTemplateRefs(
    absl::string_view path, const google::protobuf::RepeatedPtrField<v1::AnalysisTemplateRef>& refs,
    bool required, Errors* errors) {
  if (required && refs.empty()) errors->Add(path, "at least one template is required");
  for (int i = 0; i < refs.size(); ++i) {
    if (refs[i].template_name().empty()) {
      errors->Add(Field(Index(path, i), "templateName"), "required");
    }
  }
}

void CheckRunArguments(absl::string_view path,
                       const google::protobuf::RepeatedPtrField<v1::AnalysisRunArgument>& args,
                       Errors* errors) {
  std::set<std::string> seen;
  for (int i = 0; i < args.size(); ++i) {
    const v1::AnalysisRunArgument& arg = args[i];
    const std::string p = Index(path, i);
    if (arg.name().empty()) {
      errors->Add(Field(p, "name"), "required");
    } else if (!seen.insert(arg.name()).second) {
      errors->Add(Field(p, "name"), absl::StrCat("duplicate argument \"", arg.name(), "\""));
    }
    if (!arg.has_value_from()) continue;
    const v1::ArgumentValueFrom& from = arg.value_from();
    const std::string fp = Field(p, "valueFrom");
    if (!arg.value().empty()) errors->Add(p, "only one of value and valueFrom may be set");
    const bool hash = !from.pod_template_hash_value().empty();
    if (hash == from.has_field_ref()) {
      errors->Add(fp, "exactly one of podTemplateHashValue and fieldRef must be set");
    }
    if (hash && from.pod_template_hash_value() != "Stable" &&
        from.pod_template_hash_value() != "Latest") {
      errors->Add(
          Field(fp, "podTemplateHashValue"),
          absl::StrCat("must be Stable or Latest (got \"", from.pod_template_hash_value(), "\")"));
    }
    if (from.has_field_ref() && from.field_ref().field_path().empty()) {
      errors->Add(Field(Field(fp, "fieldRef"), "fieldPath"), "required");
    }
  }
}

void CheckDryRun(absl::string_view path,
                 const google::protobuf::RepeatedPtrField<v1::DryRun>& dry_run, Errors* errors) {
  for (int i = 0; i < dry_run.size(); ++i) {
    if (dry_run[i].metric_name().empty()) {
      errors->Add(Field(Index(path, i), "metricName"), "required");
    }
  }
}

void CheckMeasurementRetention(
    absl::string_view path,
    const google::protobuf::RepeatedPtrField<v1::MeasurementRetention>& retention, Errors* errors) {
  for (int i = 0; i < retention.size(); ++i) {
    const std::string p = Index(path, i);
    if (retention[i].metric_name().empty()) errors->Add(Field(p, "metricName"), "required");
    if (retention[i].has_limit()) CheckNonNegative(Field(p, "limit"), retention[i].limit(), errors);
  }
}

void CheckRolloutAnalysis(absl::string_view path, const v1::RolloutAnalysis& analysis,
                          Errors* errors) {
  CheckAnalysisTemplateRefs(Field(path, "templates"), analysis.templates(), /*required=*/true,
                            errors);
  CheckRunArguments(Field(path, "args"), analysis.args(), errors);
  CheckDryRun(Field(path, "dryRun"), analysis.dry_run(), errors);
  CheckMeasurementRetention(Field(path, "measurementRetention"), analysis.measurement_retention(),
                            errors);
}

void CheckArguments(absl::string_view path,
                    const google::protobuf::RepeatedPtrField<v1::Argument>& args, Errors* errors) {
  std::set<std::string> seen;
  for (int i = 0; i < args.size(); ++i) {
    const v1::Argument& arg = args[i];
    const std::string p = Index(path, i);
    if (arg.name().empty()) {
      errors->Add(Field(p, "name"), "required");
    } else if (!seen.insert(arg.name()).second) {
      errors->Add(Field(p, "name"), absl::StrCat("duplicate argument \"", arg.name(), "\""));
    }
    if (!arg.has_value_from()) continue;
    const std::string fp = Field(p, "valueFrom");
    if (arg.has_value()) errors->Add(p, "only one of value and valueFrom may be set");
    const v1::ValueFrom& from = arg.value_from();
    if (from.has_secret_key_ref() == from.has_field_ref()) {
      errors->Add(fp, "exactly one of secretKeyRef and fieldRef must be set");
    }
    if (from.has_secret_key_ref()) {
      const std::string sp = Field(fp, "secretKeyRef");
      if (from.secret_key_ref().name().empty()) errors->Add(Field(sp, "name"), "required");
      if (from.secret_key_ref().key().empty()) errors->Add(Field(sp, "key"), "required");
    }
    if (from.has_field_ref() && from.field_ref().field_path().empty()) {
      errors->Add(Field(Field(fp, "fieldRef"), "fieldPath"), "required");
    }
  }
}

namespace {

// The limit fields of a metric as Argo's IntValue() reads them (placeholders count as unset).
std::optional<int64_t> Limit(absl::string_view path, const std::string& value, Errors* errors) {
  absl::StatusOr<std::optional<int64_t>> v = IntOrStringValue(value);
  if (!v.ok()) {
    errors->Add(path, v.status().message());
    return std::nullopt;
  }
  return *v;
}

std::vector<std::string> ProvidersSet(const v1::MetricProvider& p) {
  std::vector<std::string> set;
  if (p.has_prometheus()) set.push_back("prometheus");
  if (p.has_kayenta()) set.push_back("kayenta");
  if (p.has_web()) set.push_back("web");
  if (p.has_datadog()) set.push_back("datadog");
  if (p.has_wavefront()) set.push_back("wavefront");
  if (p.has_new_relic()) set.push_back("newRelic");
  if (p.has_job()) set.push_back("job");
  if (p.has_cloud_watch()) set.push_back("cloudWatch");
  if (p.has_graphite()) set.push_back("graphite");
  if (p.has_influxdb()) set.push_back("influxdb");
  if (p.has_skywalking()) set.push_back("skywalking");
  for (const auto& [name, config] : p.plugin()) set.push_back(absl::StrCat("plugin ", name));
  return set;
}

void CheckProvider(absl::string_view path, const v1::MetricProvider& provider, Errors* errors) {
  const std::vector<std::string> set = ProvidersSet(provider);
  if (set.size() != 1) {
    errors->Add(path, set.empty() ? "exactly one provider is required (none set)"
                                  : absl::StrCat("exactly one provider is required (got ",
                                                 absl::StrJoin(set, ", "), ")"));
  }
  if (provider.has_web()) {
    const v1::WebMetric& web = provider.web();
    const std::string wp = Field(path, "web");
    if (web.url().empty()) errors->Add(Field(wp, "url"), "required");
    const std::string method = absl::AsciiStrToUpper(web.method());
    if (!method.empty() && method != "GET" && method != "POST" && method != "PUT") {
      errors->Add(Field(wp, "method"),
                  absl::StrCat("must be GET, POST or PUT (got \"", web.method(), "\")"));
    }
    const bool has_body = !web.body().empty() || web.has_json_body();
    if (!web.body().empty() && web.has_json_body()) {
      errors->Add(wp, "only one of body and jsonBody may be set");
    }
    if (has_body && (method.empty() || method == "GET")) {
      errors->Add(Field(wp, web.body().empty() ? "jsonBody" : "body"),
                  "a body needs method POST or PUT");
    }
    if (web.has_timeout_seconds()) {
      CheckNonNegative(Field(wp, "timeoutSeconds"), web.timeout_seconds(), errors);
    }
  }
  if (provider.has_job() && !provider.job().has_spec()) {
    errors->Add(Field(Field(path, "job"), "spec"), "required");
  }
  if (provider.has_prometheus() && provider.prometheus().query().empty()) {
    errors->Add(Field(Field(path, "prometheus"), "query"), "required");
  }
}

void CheckMetric(absl::string_view path, const v1::Metric& metric, Errors* errors) {
  const std::optional<int64_t> count = Limit(Field(path, "count"), metric.count(), errors);
  const std::optional<int64_t> failure =
      Limit(Field(path, "failureLimit"), metric.failure_limit(), errors);
  const std::optional<int64_t> inconclusive =
      Limit(Field(path, "inconclusiveLimit"), metric.inconclusive_limit(), errors);
  const std::optional<int64_t> consecutive_error =
      Limit(Field(path, "consecutiveErrorLimit"), metric.consecutive_error_limit(), errors);
  const std::optional<int64_t> consecutive_success =
      Limit(Field(path, "consecutiveSuccessLimit"), metric.consecutive_success_limit(), errors);

  const int64_t n = count.value_or(0);
  const int64_t fl = failure.value_or(0);
  const int64_t il = inconclusive.value_or(0);
  const int64_t csl = consecutive_success.value_or(0);
  if (n < 0) CheckNonNegative(Field(path, "count"), n, errors);
  if (fl < -1) {
    errors->Add(Field(path, "failureLimit"),
                absl::StrCat("must be greater than or equal to -1 (got ", fl, ")"));
  } else if (fl == -1 && csl <= 0) {
    errors->Add(Field(path, "failureLimit"),
                "-1 (no failure limit) needs consecutiveSuccessLimit greater than 0");
  }
  if (il < 0) CheckNonNegative(Field(path, "inconclusiveLimit"), il, errors);
  if (consecutive_error.value_or(0) < 0) {
    CheckNonNegative(Field(path, "consecutiveErrorLimit"), *consecutive_error, errors);
  }
  if (csl < 0) CheckNonNegative(Field(path, "consecutiveSuccessLimit"), csl, errors);
  if (n > 0) {
    const int64_t needed = std::max<int64_t>(fl, 0) + std::max<int64_t>(csl, 0);
    if (n < needed) {
      errors->Add(Field(path, "count"),
                  csl > 0 ? absl::StrCat("must be >= failureLimit + consecutiveSuccessLimit (",
                                         needed, "), got ", n)
                          : absl::StrCat("must be >= failureLimit (", fl, "), got ", n));
    }
    if (n < il) {
      errors->Add(Field(path, "count"),
                  absl::StrCat("must be >= inconclusiveLimit (", il, "), got ", n));
    }
  }
  if (n > 1 && metric.interval().empty()) {
    errors->Add(Field(path, "interval"),
                absl::StrCat("required when count > 1 (count is ", n, ")"));
  }
  CheckGoDuration(Field(path, "interval"), metric.interval(), errors);
  CheckGoDuration(Field(path, "initialDelay"), metric.initial_delay(), errors);
  CheckProvider(Field(path, "provider"), metric.provider(), errors);
}

}  // namespace

void CheckMetrics(absl::string_view path,
                  const google::protobuf::RepeatedPtrField<v1::Metric>& metrics, bool allow_empty,
                  Errors* errors) {
  if (metrics.empty() && !allow_empty) errors->Add(path, "at least one metric is required");
  std::set<std::string> names;
  for (int i = 0; i < metrics.size(); ++i) {
    const std::string p = Index(path, i);
    const std::string& name = metrics[i].name();
    if (name.empty()) {
      errors->Add(Field(p, "name"), "required");
    } else if (!names.insert(name).second) {
      errors->Add(Field(p, "name"), absl::StrCat("duplicate metric name \"", name, "\""));
    }
    CheckMetric(p, metrics[i], errors);
  }
}

}  // namespace internal
}  // namespace argonaut::rollout::validation
