// Entry points (manifest decoding, the store Validator, EventBus rules) and the small parsers
// the per-kind files share: condition expressions, Go durations, cron, ports, zones.

#include "services/events/validation/validate.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "lib/base/go_duration.h"
#include "lib/cron/schedule.h"
#include "lib/manifest/codec.h"
#include "services/events/validation/checks.h"

namespace argonaut::events::validation {
namespace internal {

std::string Key(absl::string_view path, absl::string_view key) {
  bool simple = !key.empty();
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      simple = false;
      break;
    }
  }
  if (simple) return absl::StrCat(path, ".", key);
  return absl::StrCat(path, "[",
                      nlohmann::json(std::string(key))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "]");
}

bool IsPort(absl::string_view text) {
  int port = 0;
  if (text.empty() || text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return false;
  }
  return absl::SimpleAtoi(text, &port) && port >= 1 && port <= 65535;
}

bool IsTimeZone(absl::string_view name) {
  if (name.empty() || name == "UTC" || name == "Local") return true;
  absl::TimeZone zone;
  return absl::LoadTimeZone(std::string(name), &zone);
}

void CheckDuration(absl::string_view path, const std::string& value, Errors* errors) {
  if (value.empty()) return;
  absl::StatusOr<absl::Duration> d = ParseGoDuration(value);
  if (!d.ok()) errors->Add(path, d.status().message());
}

void CheckCron(absl::string_view path, const std::string& cron, const std::string& timezone,
               Errors* errors) {
  // Argo builds its parser from the five fields only, so descriptors (@daily, @every) fail.
  absl::string_view body = cron;
  for (absl::string_view prefix : {"CRON_TZ=", "TZ="}) {
    if (body.substr(0, prefix.size()) == prefix) {
      const size_t space = body.find(' ');
      body = space == absl::string_view::npos ? absl::string_view() : body.substr(space + 1);
    }
  }
  body = absl::StripLeadingAsciiWhitespace(body);
  if (!body.empty() && body[0] == '@') {
    errors->Add(path, absl::StrCat("descriptors such as \"", body,
                                   "\" are not accepted: use 5 fields (minute hour "
                                   "day-of-month month day-of-week), or `interval`"));
    return;
  }
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!timezone.empty() && !absl::LoadTimeZone(timezone, &zone)) return;  // reported apart
  absl::StatusOr<::argonaut::cron::Schedule> s = ::argonaut::cron::Schedule::Parse(cron, zone);
  if (!s.ok())
    errors->Add(path, absl::StrCat("invalid cron \"", cron, "\": ", s.status().message()));
}

}  // namespace internal

namespace {

using internal::Errors;

template <typename T>
absl::Status Check(google::protobuf::Message& object, absl::Status (*fn)(const T&)) {
  T* typed = dynamic_cast<T*>(&object);
  if (typed != nullptr) return fn(*typed);
  // The store may hand a dynamic message of the same type; convert through the wire format.
  T copy;
  if (!copy.ParseFromString(object.SerializeAsString())) {
    return absl::InternalError("cannot read the object as " + T::descriptor()->full_name());
  }
  return fn(copy);
}

template <typename T>
absl::Status DecodeAndValidate(const nlohmann::json& doc, absl::Status (*fn)(const T&)) {
  T msg;
  if (absl::Status s = manifest::FromJson(doc, &msg); !s.ok()) return s;
  return fn(msg);
}

}  // namespace

absl::Status ValidateEventBus(const v1::EventBus& event_bus) {
  Errors errors;
  if (event_bus.metadata().name().empty() && event_bus.metadata().generate_name().empty()) {
    errors.Add("metadata.name", "required");
  }
  const v1::EventBusSpec& spec = event_bus.spec();
  const int set = (spec.has_nats() ? 1 : 0) + (spec.has_jetstream() ? 1 : 0) +
                  (spec.has_kafka() ? 1 : 0) + (spec.has_jetstream_exotic() ? 1 : 0);
  if (set == 0) {
    errors.Add("spec", "one of nats, jetstream, jetstreamExotic or kafka is required");
  } else if (set > 1) {
    errors.Add("spec", "only one of nats, jetstream, jetstreamExotic or kafka may be set");
  }
  if (spec.has_nats()) {
    const bool native = spec.nats().has_native();
    const bool exotic = spec.nats().has_exotic();
    if (native == exotic) errors.Add("spec.nats", "exactly one of native or exotic is required");
    if (exotic) {
      if (spec.nats().exotic().cluster_id().empty()) {
        errors.Add("spec.nats.exotic.clusterID", "required");
      }
      if (spec.nats().exotic().url().empty()) errors.Add("spec.nats.exotic.url", "required");
    }
  }
  if (spec.has_jetstream()) {
    if (spec.jetstream().version().empty()) errors.Add("spec.jetstream.version", "required");
    if (spec.jetstream().has_replicas() && spec.jetstream().replicas() != 1 &&
        spec.jetstream().replicas() < 3) {
      errors.Add("spec.jetstream.replicas", "must be 1 or at least 3 (Raft needs a majority)");
    }
  }
  if (spec.has_kafka() && spec.kafka().url().empty()) errors.Add("spec.kafka.url", "required");
  if (spec.has_jetstream_exotic() && spec.jetstream_exotic().url().empty()) {
    errors.Add("spec.jetstreamExotic.url", "required");
  }
  return errors.ToStatus();
}

bool IsEventsKind(absl::string_view kind) {
  return kind == "EventSource" || kind == "Sensor" || kind == "EventBus";
}

absl::Status ValidateManifest(const nlohmann::json& doc) {
  const std::string kind = doc.is_object() && doc.contains("kind") && doc["kind"].is_string()
                               ? doc["kind"].get<std::string>()
                               : "";
  if (kind == "EventSource") return DecodeAndValidate<v1::EventSource>(doc, &ValidateEventSource);
  if (kind == "Sensor") return DecodeAndValidate<v1::Sensor>(doc, &ValidateSensor);
  if (kind == "EventBus") return DecodeAndValidate<v1::EventBus>(doc, &ValidateEventBus);
  return absl::InvalidArgumentError(
      absl::StrCat("kind: \"", kind, "\" is not an events kind (EventSource, Sensor, EventBus)"));
}

resource::Validator EventsValidator() {
  return [](const resource::KindInfo& kind, google::protobuf::Message& object) -> absl::Status {
    if (kind.kind == "EventSource") return Check<v1::EventSource>(object, &ValidateEventSource);
    if (kind.kind == "Sensor") return Check<v1::Sensor>(object, &ValidateSensor);
    if (kind.kind == "EventBus") return Check<v1::EventBus>(object, &ValidateEventBus);
    return absl::OkStatus();
  };
}

std::vector<std::string> SourceTypes(const v1::EventSourceSpec& spec) {
  std::vector<std::string> out;
  const google::protobuf::Reflection* r = spec.GetReflection();
  const google::protobuf::Descriptor* d = spec.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->is_map() && r->FieldSize(spec, f) > 0) out.push_back(f->json_name());
  }
  return out;
}

std::vector<std::string> TriggerTypes(const v1::TriggerTemplate& tmpl) {
  std::vector<std::string> out;
  const google::protobuf::Reflection* r = tmpl.GetReflection();
  const google::protobuf::Descriptor* d = tmpl.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    // Every singular message field of a template is a trigger type (conditionsReset is a list).
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
        r->HasField(tmpl, f)) {
      out.push_back(f->json_name());
    }
  }
  return out;
}

const std::vector<std::string>& RuntimeSourceTypes() {
  static const auto* types = new std::vector<std::string>{
      "webhook",  "github", "gitlab", "bitbucket",   "calendar", "file",
      "resource", "nats",   "redis",  "redisStream", "mqtt",     "amqp"};
  return *types;
}

const std::vector<std::string>& RuntimeTriggerTypes() {
  // kafka is Argo's API but no Debian Kafka broker runs here, so the runtime refuses it.
  static const auto* types = new std::vector<std::string>{
      "argoWorkflow", "k8s", "http", "awsLambda", "log", "nats", "amqp", "rollout"};
  return *types;
}

bool RuntimeSupportsSource(absl::string_view type) {
  for (const std::string& t : RuntimeSourceTypes()) {
    if (t == type) return true;
  }
  return false;
}

bool RuntimeSupportsTrigger(absl::string_view type) {
  for (const std::string& t : RuntimeTriggerTypes()) {
    if (t == type) return true;
  }
  return false;
}

namespace {

// Recursive descent over `a && (b || c)`; names are collected as they are read.
class ConditionParser {
 public:
  explicit ConditionParser(absl::string_view text) : text_(text) {}

  absl::Status Parse(std::vector<std::string>* names) {
    names_ = names;
    if (absl::Status s = Or(0); !s.ok()) return s;
    Skip();
    if (pos_ != text_.size()) return Error("unexpected input");
    return absl::OkStatus();
  }

 private:
  static constexpr int kMaxDepth = 64;

  static bool NameChar(char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  }
  void Skip() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool Eat(absl::string_view token) {
    Skip();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(what, " at offset ", pos_, " in \"", text_,
                                                   "\" (expected dependency names joined by "
                                                   "&&, || and parentheses)"));
  }
  absl::Status Or(int depth) {
    if (absl::Status s = And(depth); !s.ok()) return s;
    while (Eat("||")) {
      if (absl::Status s = And(depth); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::Status And(int depth) {
    if (absl::Status s = Primary(depth); !s.ok()) return s;
    while (Eat("&&")) {
      if (absl::Status s = Primary(depth); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::Status Primary(int depth) {
    if (depth > kMaxDepth) return Error("too deeply nested");
    if (Eat("(")) {
      if (absl::Status s = Or(depth + 1); !s.ok()) return s;
      if (!Eat(")")) return Error("missing )");
      return absl::OkStatus();
    }
    Skip();
    const size_t start = pos_;
    while (pos_ < text_.size() && NameChar(text_[pos_])) ++pos_;
    if (pos_ == start) return Error(pos_ == text_.size() ? "missing name" : "unexpected character");
    const std::string name(text_.substr(start, pos_ - start));
    bool seen = false;
    for (const std::string& n : *names_) seen = seen || n == name;
    if (!seen) names_->push_back(name);
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
  std::vector<std::string>* names_ = nullptr;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ConditionNames(absl::string_view expression) {
  std::vector<std::string> names;
  ConditionParser parser(expression);
  if (absl::Status s = parser.Parse(&names); !s.ok()) return s;
  return names;
}

absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text) {
  return base::ParseGoDuration(text);
}

}  // namespace argonaut::events::validation
