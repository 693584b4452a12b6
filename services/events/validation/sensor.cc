// Sensor rules: pkg/reconciler/sensor/validate.go (dependencies, filters, triggers, parameters,
// policies, dlqTrigger), plus what Argo only finds at runtime and Argonaut refuses up front:
// a trigger with no or several template types, conditions or parameters naming unknown
// dependencies, an unparsable conditionsReset cron.

#include <cstdio>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "argonaut/events/v1/events.pb.h"
#include "services/events/validation/checks.h"
#include "services/events/validation/validate.h"

namespace argonaut::events::validation {
namespace {

using internal::Errors;
using internal::Field;
using internal::Index;
using Parameters = google::protobuf::RepeatedPtrField<v1::TriggerParameter>;

void Require(absl::string_view path, bool present, Errors* errors) {
  if (!present) errors->Add(path, "required");
}

void CheckLogicalOperator(absl::string_view path, const std::string& op, Errors* errors) {
  if (!op.empty() && op != "and" && op != "or") {
    errors->Add(path, absl::StrCat("must be \"and\" or \"or\" (got \"", op, "\")"));
  }
}

// "hh:mm:ss" as Go's time.Parse("15:04:05") reads it.
bool ParseClock(const std::string& text, int* seconds) {
  int h = 0, m = 0, s = 0;
  char tail = 0;
  if (text.size() != 8 || std::sscanf(text.c_str(), "%2d:%2d:%2d%c", &h, &m, &s, &tail) != 3) {
    return false;
  }
  if (h > 23 || m > 59 || s > 59 || h < 0 || m < 0 || s < 0) return false;
  *seconds = h * 3600 + m * 60 + s;
  return true;
}

void CheckFilters(absl::string_view path, const v1::EventDependencyFilter& f, Errors* errors) {
  CheckLogicalOperator(Field(path, "exprLogicalOperator"), f.expr_logical_operator(), errors);
  CheckLogicalOperator(Field(path, "dataLogicalOperator"), f.data_logical_operator(), errors);
  for (int i = 0; i < f.exprs_size(); ++i) {
    const std::string at = Index(Field(path, "exprs"), i);
    const v1::ExprFilter& x = f.exprs(i);
    Require(Field(at, "expr"), !x.expr().empty(), errors);
    if (x.fields().empty()) errors->Add(Field(at, "fields"), "required");
    for (int j = 0; j < x.fields_size(); ++j) {
      const std::string fat = Index(Field(at, "fields"), j);
      Require(Field(fat, "path"), !x.fields(j).path().empty(), errors);
      Require(Field(fat, "name"), !x.fields(j).name().empty(), errors);
    }
  }
  static const std::set<absl::string_view> kComparators = {">=", ">", "=", "!=", "<", "<="};
  for (int i = 0; i < f.data_size(); ++i) {
    const std::string at = Index(Field(path, "data"), i);
    const v1::DataFilter& d = f.data(i);
    Require(Field(at, "path"), !d.path().empty(), errors);
    if (d.type().empty()) {
      errors->Add(Field(at, "type"), "required");
    } else if (d.type() != "string" && d.type() != "number" && d.type() != "bool") {
      errors->Add(Field(at, "type"),
                  absl::StrCat("must be string, number or bool (got \"", d.type(), "\")"));
    }
    if (!d.comparator().empty() && kComparators.count(d.comparator()) == 0) {
      errors->Add(
          Field(at, "comparator"),
          absl::StrCat("must be one of >=, >, =, !=, <, <= (got \"", d.comparator(), "\")"));
    }
    if (d.value().empty()) errors->Add(Field(at, "value"), "required");
    for (int j = 0; j < d.value_size(); ++j) {
      if (d.value(j).empty()) errors->Add(Index(Field(at, "value"), j), "must not be empty");
    }
  }
  if (f.has_context()) {
    const v1::EventContext& c = f.context();
    if (c.type().empty() && c.subject().empty() && c.source().empty() &&
        c.datacontenttype().empty()) {
      errors->Add(Field(path, "context"),
                  "set at least one of type, subject, source, datacontenttype (an empty context "
                  "filter discards every event)");
    }
  }
  if (f.has_time()) {
    const std::string at = Field(path, "time");
    const v1::TimeFilter& t = f.time();
    int start = 0, stop = 0;
    const bool start_ok = ParseClock(t.start(), &start);
    const bool stop_ok = ParseClock(t.stop(), &stop);
    if (!start_ok) {
      errors->Add(Field(at, "start"), absl::StrCat("expected hh:mm:ss (got \"", t.start(), "\")"));
    }
    if (!stop_ok) {
      errors->Add(Field(at, "stop"), absl::StrCat("expected hh:mm:ss (got \"", t.stop(), "\")"));
    }
    if (start_ok && stop_ok && start == stop) errors->Add(at, "stop must differ from start");
    if (!t.timezone().empty() && !internal::IsTimeZone(t.timezone())) {
      errors->Add(Field(at, "timezone"), absl::StrCat("unknown time zone \"", t.timezone(), "\""));
    }
  }
}

// Trigger-level parameters apply to the template's JSON before anything else, so they may
// rewrite a type-level parameter (sjson dest `argoWorkflow.parameters.0.src...`, relative to the
// template): such
// a parameter's dependency is only known at run time.
struct Rewrites {
  const Parameters* trigger = nullptr;
  std::string prefix;  // e.g. "argoWorkflow.parameters"
  bool Writes(int i) const {
    if (trigger == nullptr) return false;
    const std::string mine = absl::StrCat(prefix, ".", i, ".");
    for (const v1::TriggerParameter& p : *trigger) {
      if (absl::StartsWith(p.dest(), mine)) return true;
    }
    return false;
  }
};

void CheckParameters(absl::string_view path, const Parameters& params,
                     const std::set<std::string>& deps, bool dest_required, Errors* errors,
                     const Rewrites& rewrites = {}) {
  for (int i = 0; i < params.size(); ++i) {
    const std::string at = Index(path, i);
    const v1::TriggerParameter& p = params[i];
    if (!p.has_src()) {
      errors->Add(Field(at, "src"), "required");
    } else if (p.src().dependency_name().empty()) {
      errors->Add(Field(at, "src.dependencyName"), "required");
    } else if (deps.count(p.src().dependency_name()) == 0 && !rewrites.Writes(i)) {
      errors->Add(Field(at, "src.dependencyName"),
                  absl::StrCat("unknown dependency \"", p.src().dependency_name(), "\""));
    }
    if (dest_required && p.dest().empty()) errors->Add(Field(at, "dest"), "required");
    const std::string& op = p.operation();
    if (!op.empty() && op != "append" && op != "overwrite" && op != "prepend") {
      errors->Add(Field(at, "operation"),
                  absl::StrCat("must be append, overwrite or prepend (got \"", op, "\")"));
    }
  }
}

void CheckSource(absl::string_view path, bool has, const v1::ArtifactLocation& s, Errors* errors) {
  if (!has) {
    errors->Add(path, "required");
    return;
  }
  const int set = (s.has_s3() ? 1 : 0) + (s.has_inline_() ? 1 : 0) + (s.has_file() ? 1 : 0) +
                  (s.has_url() ? 1 : 0) + (s.has_configmap() ? 1 : 0) + (s.has_git() ? 1 : 0) +
                  (s.has_resource() ? 1 : 0);
  if (set == 0) {
    errors->Add(path, "one of resource, inline, file, url, configmap, git or s3 is required");
  } else if (set > 1) {
    errors->Add(path, "only one of resource, inline, file, url, configmap, git or s3 may be set");
  }
}

// The trigger type key at the end of a template path ("spec.triggers[0].template.http").
std::string TypeKey(absl::string_view path) {
  const size_t dot = path.rfind('.');
  return std::string(dot == absl::string_view::npos ? path : path.substr(dot + 1));
}

// Whether some parameter writes `field` of a trigger type: the type's own parameters (dest
// relative to it) or the trigger's (dest relative to the template).
bool ParameterWrites(const Parameters& own, absl::string_view field, const Parameters& trigger,
                     absl::string_view template_path) {
  for (const v1::TriggerParameter& p : own) {
    if (p.dest() == field) return true;
  }
  for (const v1::TriggerParameter& p : trigger) {
    if (p.dest() == absl::StrCat(template_path, ".", field)) return true;
  }
  return false;
}

void CheckBackoff(absl::string_view path, const v1::Backoff& b, Errors* errors) {
  if (!b.duration().empty()) {
    // An integer is nanoseconds in Argo's Int64OrString; a string is a Go duration.
    const std::string& d = b.duration();
    const bool integer = d.find_first_not_of("0123456789") == std::string::npos;
    if (!integer) internal::CheckDuration(Field(path, "duration"), d, errors);
  }
  for (const auto& [name, value] : {std::pair<const char*, const google::protobuf::Value*>{
                                        "factor", b.has_factor() ? &b.factor() : nullptr},
                                    {"jitter", b.has_jitter() ? &b.jitter() : nullptr}}) {
    if (value == nullptr) continue;
    if (value->kind_case() != google::protobuf::Value::kNumberValue) {
      errors->Add(Field(path, name), "must be a number");
    } else if (value->number_value() < 0) {
      errors->Add(Field(path, name), "must be >= 0");
    }
  }
  if (b.has_steps() && b.steps() < 0) errors->Add(Field(path, "steps"), "must be >= 0");
}

void CheckTemplate(absl::string_view path, const v1::Trigger& trigger,
                   const std::set<std::string>& deps, Errors* errors) {
  const v1::TriggerTemplate& t = trigger.template_();
  const Parameters& tp = trigger.parameters();
  Require(Field(path, "name"), !t.name().empty(), errors);
  const std::vector<std::string> types = TriggerTypes(t);
  if (types.empty()) {
    errors->Add(path, "no trigger type set (one of argoWorkflow, k8s, http, awsLambda, log, ...)");
  } else if (types.size() > 1) {
    errors->Add(path, absl::StrCat("exactly one trigger type may be set (got ",
                                   absl::StrJoin(types, ", "), ")"));
  }
  if (!t.conditions().empty()) {
    absl::StatusOr<std::vector<std::string>> names = ConditionNames(t.conditions());
    if (!names.ok()) {
      errors->Add(Field(path, "conditions"), names.status().message());
    } else {
      for (const std::string& n : *names) {
        if (deps.count(n) == 0) {
          errors->Add(Field(path, "conditions"), absl::StrCat("unknown dependency \"", n, "\""));
        }
      }
    }
  }
  for (int i = 0; i < t.conditions_reset_size(); ++i) {
    const std::string at = Index(Field(path, "conditionsReset"), i);
    if (!t.conditions_reset(i).has_by_time()) {
      errors->Add(Field(at, "byTime"), "required");
      continue;
    }
    const v1::ConditionsResetByTime& by = t.conditions_reset(i).by_time();
    if (!by.timezone().empty() && !internal::IsTimeZone(by.timezone())) {
      errors->Add(Field(at, "byTime.timezone"),
                  absl::StrCat("unknown time zone \"", by.timezone(), "\""));
    }
    if (by.cron().empty()) {
      errors->Add(Field(at, "byTime.cron"), "required");
    } else {
      internal::CheckCron(Field(at, "byTime.cron"), by.cron(), by.timezone(), errors);
    }
  }
  if (t.has_k8s()) {
    const std::string at = Field(path, "k8s");
    CheckSource(Field(at, "source"), t.k8s().has_source(), t.k8s().source(), errors);
    const std::string& op = t.k8s().operation();
    if (!op.empty() && op != "create" && op != "update" && op != "patch" && op != "delete") {
      errors->Add(Field(at, "operation"),
                  absl::StrCat("must be create, update, patch or delete (got \"", op, "\")"));
    }
    CheckParameters(Field(at, "parameters"), t.k8s().parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
  }
  if (t.has_argo_workflow()) {
    const std::string at = Field(path, "argoWorkflow");
    CheckSource(Field(at, "source"), t.argo_workflow().has_source(), t.argo_workflow().source(),
                errors);
    static const std::set<absl::string_view> kOps = {
        "", "submit", "submit-from", "resubmit", "resume", "retry", "suspend", "terminate", "stop"};
    if (kOps.count(t.argo_workflow().operation()) == 0) {
      errors->Add(Field(at, "operation"),
                  absl::StrCat("must be one of submit, submit-from, resubmit, resume, retry, "
                               "suspend, terminate, stop (got \"",
                               t.argo_workflow().operation(), "\")"));
    }
    CheckParameters(Field(at, "parameters"), t.argo_workflow().parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
  }
  if (t.has_http()) {
    const std::string at = Field(path, "http");
    const v1::HTTPTrigger& h = t.http();
    if (h.url().empty() && !ParameterWrites(h.parameters(), "url", tp, "http")) {
      errors->Add(Field(at, "url"), "required");
    }
    static const std::set<absl::string_view> kMethods = {"",      "GET",  "DELETE",
                                                         "PATCH", "POST", "PUT"};
    if (kMethods.count(h.method()) == 0) {
      errors->Add(
          Field(at, "method"),
          absl::StrCat("must be GET, DELETE, PATCH, POST or PUT (got \"", h.method(), "\")"));
    }
    if (h.has_timeout() && h.timeout() < 0) errors->Add(Field(at, "timeout"), "must be >= 0");
    CheckParameters(Field(at, "parameters"), h.parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
    // An empty dest in an HTTP payload makes the value the whole body.
    CheckParameters(Field(at, "payload"), h.payload(), deps, false, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".payload")});
    CheckParameters(Field(at, "dynamicHeaders"), h.dynamic_headers(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".dynamicHeaders")});
    for (int i = 0; i < h.secure_headers_size(); ++i) {
      const std::string sat = Index(Field(at, "secureHeaders"), i);
      Require(Field(sat, "name"), !h.secure_headers(i).name().empty(), errors);
      const v1::ValueFromSource& v = h.secure_headers(i).value_from();
      if (v.has_secret_key_ref() == v.has_config_map_key_ref()) {
        errors->Add(Field(sat, "valueFrom"),
                    "exactly one of secretKeyRef or configMapKeyRef is required");
      }
    }
  }
  if (t.has_aws_lambda()) {
    const std::string at = Field(path, "awsLambda");
    const v1::AWSLambdaTrigger& l = t.aws_lambda();
    Require(Field(at, "functionName"), !l.function_name().empty(), errors);
    Require(Field(at, "region"), !l.region().empty(), errors);
    if (l.payload().empty()) errors->Add(Field(at, "payload"), "required");
    if (l.has_invocation_type() && l.invocation_type() != "RequestResponse" &&
        l.invocation_type() != "Event" && l.invocation_type() != "DryRun") {
      errors->Add(Field(at, "invocationType"),
                  absl::StrCat("must be RequestResponse, Event or DryRun (got \"",
                               l.invocation_type(), "\")"));
    }
    CheckParameters(Field(at, "parameters"), l.parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
    CheckParameters(Field(at, "payload"), l.payload(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".payload")});
  }
  if (t.has_kafka()) {
    const std::string at = Field(path, "kafka");
    Require(Field(at, "url"), !t.kafka().url().empty(), errors);
    Require(Field(at, "topic"), !t.kafka().topic().empty(), errors);
    if (t.kafka().payload().empty()) errors->Add(Field(at, "payload"), "required");
    CheckParameters(Field(at, "parameters"), t.kafka().parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
    CheckParameters(Field(at, "payload"), t.kafka().payload(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".payload")});
  }
  if (t.has_nats()) {
    const std::string at = Field(path, "nats");
    Require(Field(at, "url"), !t.nats().url().empty(), errors);
    Require(Field(at, "subject"), !t.nats().subject().empty(), errors);
    if (t.nats().payload().empty()) errors->Add(Field(at, "payload"), "required");
    CheckParameters(Field(at, "parameters"), t.nats().parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
    CheckParameters(Field(at, "payload"), t.nats().payload(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".payload")});
  }
  if (t.has_slack()) {
    const std::string at = Field(path, "slack");
    Require(Field(at, "slackToken"), t.slack().has_slack_token(), errors);
    CheckParameters(Field(at, "parameters"), t.slack().parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
  }
  if (t.has_open_whisk()) {
    const std::string at = Field(path, "openWhisk");
    const v1::OpenWhiskTrigger& o = t.open_whisk();
    Require(Field(at, "actionName"), !o.action_name().empty(), errors);
    Require(Field(at, "host"), !o.host().empty(), errors);
    if (o.has_auth_token() && (o.auth_token().name().empty() || o.auth_token().key().empty())) {
      errors->Add(Field(at, "authToken"), "name and key are required");
    }
    if (o.payload().empty()) errors->Add(Field(at, "payload"), "required");
    CheckParameters(Field(at, "parameters"), o.parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
    CheckParameters(Field(at, "payload"), o.payload(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".payload")});
  }
  if (t.has_custom()) {
    const std::string at = Field(path, "custom");
    const v1::CustomTrigger& c = t.custom();
    Require(Field(at, "serverURL"), !c.server_url().empty(), errors);
    if (c.spec().empty()) errors->Add(Field(at, "spec"), "required");
    if (c.secure() && !c.has_cert_secret()) {
      errors->Add(Field(at, "certSecret"), "required when secure");
    }
    CheckParameters(Field(at, "parameters"), c.parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
  }
  if (t.has_email()) {
    const std::string at = Field(path, "email");
    Require(Field(at, "host"), !t.email().host().empty(), errors);
    if (t.email().port() < 0 || t.email().port() > 65535) {
      errors->Add(Field(at, "port"), "must be between 0 and 65535");
    }
    CheckParameters(Field(at, "parameters"), t.email().parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
  }
  if (t.has_rollout()) {
    const std::string at = Field(path, "rollout");
    const v1::RolloutTrigger& r = t.rollout();
    static const std::set<absl::string_view> kOps = {"promote", "promote-full", "abort",    "retry",
                                                     "pause",   "resume",       "set-image"};
    const bool op_from_param = ParameterWrites(r.parameters(), "operation", tp, "rollout");
    if (r.operation().empty() && !op_from_param) {
      errors->Add(Field(at, "operation"), "required");
    } else if (!r.operation().empty() && kOps.count(r.operation()) == 0) {
      errors->Add(Field(at, "operation"),
                  absl::StrCat("must be one of promote, promote-full, abort, retry, pause, "
                               "resume, set-image (got \"",
                               r.operation(), "\")"));
    }
    if (r.name().empty() && !ParameterWrites(r.parameters(), "name", tp, "rollout")) {
      errors->Add(Field(at, "name"), "required (or set by a parameter with dest \"name\")");
    }
    if (r.operation() == "set-image" && r.image().empty() &&
        !ParameterWrites(r.parameters(), "image", tp, "rollout")) {
      errors->Add(Field(at, "image"), "required for set-image (or set by a parameter)");
    }
    CheckParameters(Field(at, "parameters"), r.parameters(), deps, true, errors,
                    Rewrites{&tp, absl::StrCat(TypeKey(at), ".parameters")});
  }
  if (t.has_amqp()) {
    const std::string at = Field(path, "amqp");
    const v1::AMQPTrigger& a = t.amqp();
    const bool url_from_param = ParameterWrites(a.parameters(), "url", tp, "amqp");
    if (a.url().empty() && !a.has_url_secret() && !url_from_param) {
      errors->Add(at, "one of url or urlSecret is required");
    } else if (!a.url().empty() && a.has_url_secret()) {
      errors->Add(at, "url and urlSecret are mutually exclusive");
    }
    if (a.has_exchange_declare() && a.exchange_type().empty()) {
      errors->Add(Field(at, "exchangeType"), "required to declare the exchange");
    }
    if (a.exchange_name().empty() && a.routing_key().empty()) {
      errors->Add(Field(at, "routingKey"),
                  "required with the default exchange (it names the queue)");
    }
    if (a.payload().empty()) errors->Add(Field(at, "payload"), "required");
    CheckParameters(Field(at, "parameters"), a.parameters(), deps, true, errors,
                    Rewrites{&tp, "amqp.parameters"});
    CheckParameters(Field(at, "payload"), a.payload(), deps, true, errors,
                    Rewrites{&tp, "amqp.payload"});
  }
  if (t.has_azure_event_hubs()) {
    CheckParameters(Field(path, "azureEventHubs.parameters"), t.azure_event_hubs().parameters(),
                    deps, true, errors);
  }
  if (t.has_pulsar()) {
    CheckParameters(Field(path, "pulsar.parameters"), t.pulsar().parameters(), deps, true, errors);
  }
  if (t.has_azure_service_bus()) {
    CheckParameters(Field(path, "azureServiceBus.parameters"), t.azure_service_bus().parameters(),
                    deps, true, errors);
  }
}

void CheckTrigger(absl::string_view path, const v1::Trigger& trigger,
                  const std::set<std::string>& deps, bool is_dlq, Errors* errors) {
  if (!trigger.has_template_()) {
    errors->Add(Field(path, "template"), "required");
  } else {
    CheckTemplate(Field(path, "template"), trigger, deps, errors);
  }
  CheckParameters(Field(path, "parameters"), trigger.parameters(), deps, true, errors);
  if (trigger.has_policy() && trigger.has_template_()) {
    const v1::TriggerTemplate& t = trigger.template_();
    if (trigger.policy().has_k8s() && (t.has_k8s() || t.has_argo_workflow()) &&
        trigger.policy().k8s().labels().empty()) {
      errors->Add(Field(path, "policy.k8s.labels"), "required");
    }
    if (trigger.policy().has_status() && (t.has_http() || t.has_aws_lambda()) &&
        trigger.policy().status().allow().empty()) {
      errors->Add(Field(path, "policy.status.allow"), "required");
    }
    if (trigger.policy().has_k8s() && trigger.policy().k8s().has_backoff()) {
      CheckBackoff(Field(path, "policy.k8s.backoff"), trigger.policy().k8s().backoff(), errors);
    }
  }
  if (trigger.has_retry_strategy()) {
    CheckBackoff(Field(path, "retryStrategy"), trigger.retry_strategy(), errors);
  }
  if (trigger.has_rate_limit()) {
    const std::string& unit = trigger.rate_limit().unit();
    if (!unit.empty() && unit != "Second" && unit != "Minute" && unit != "Hour") {
      errors->Add(Field(path, "rateLimit.unit"),
                  absl::StrCat("must be Second, Minute or Hour (got \"", unit, "\")"));
    }
    if (trigger.rate_limit().requests_per_unit() < 0) {
      errors->Add(Field(path, "rateLimit.requestsPerUnit"), "must be >= 0");
    }
  }
  if (trigger.has_dlq_trigger()) {
    if (is_dlq) {
      errors->Add(Field(path, "dlqTrigger"), "a dlqTrigger cannot have its own dlqTrigger");
      return;
    }
    if (!trigger.at_least_once()) {
      errors->Add(Field(path, "atLeastOnce"), "must be true to use dlqTrigger");
    }
    if (!trigger.dlq_trigger().at_least_once()) {
      errors->Add(Field(path, "dlqTrigger.atLeastOnce"), "must be true");
    }
    CheckTrigger(Field(path, "dlqTrigger"), trigger.dlq_trigger(), deps, true, errors);
  }
}

}  // namespace

absl::Status ValidateSensor(const v1::Sensor& sensor) {
  Errors errors;
  if (sensor.metadata().name().empty() && sensor.metadata().generate_name().empty()) {
    errors.Add("metadata.name", "required");
  }
  const v1::SensorSpec& spec = sensor.spec();
  if (spec.dependencies().empty()) {
    errors.Add("spec.dependencies", "at least one dependency is required");
  }
  std::set<std::string> deps;
  for (int i = 0; i < spec.dependencies_size(); ++i) {
    const std::string at = Index("spec.dependencies", i);
    const v1::EventDependency& d = spec.dependencies(i);
    if (d.name().empty()) {
      errors.Add(Field(at, "name"), "required");
    } else if (!deps.insert(d.name()).second) {
      errors.Add(Field(at, "name"), absl::StrCat("duplicate dependency name \"", d.name(), "\""));
    }
    Require(Field(at, "eventSourceName"), !d.event_source_name().empty(), &errors);
    Require(Field(at, "eventName"), !d.event_name().empty(), &errors);
    if (d.has_filters()) CheckFilters(Field(at, "filters"), d.filters(), &errors);
    CheckLogicalOperator(Field(at, "filtersLogicalOperator"), d.filters_logical_operator(),
                         &errors);
  }
  if (spec.triggers().empty()) errors.Add("spec.triggers", "at least one trigger is required");
  std::set<std::string> trigger_names;
  for (int i = 0; i < spec.triggers_size(); ++i) {
    const std::string at = Index("spec.triggers", i);
    CheckTrigger(at, spec.triggers(i), deps, false, &errors);
    const std::string& name = spec.triggers(i).template_().name();
    if (!name.empty() && !trigger_names.insert(name).second) {
      errors.Add(Field(at, "template.name"), absl::StrCat("duplicate trigger name \"", name, "\""));
    }
  }
  if (spec.has_replicas() && spec.replicas() < 0) errors.Add("spec.replicas", "must be >= 0");
  return errors.ToStatus();
}

}  // namespace argonaut::events::validation
