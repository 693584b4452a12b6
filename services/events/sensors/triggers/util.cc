#include "services/events/sensors/triggers/util.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace argonaut::events::sensors {

absl::StatusOr<Backoff> ParseBackoff(const nlohmann::json& backoff, const std::string& field) {
  Backoff b;
  if (!backoff.is_object()) return b;
  if (backoff.contains("duration")) {
    const auto& d = backoff["duration"];
    if (d.is_number_integer()) {
      b.duration = absl::Nanoseconds(d.get<int64_t>());
    } else if (!d.is_string() || !absl::ParseDuration(d.get<std::string>(), &b.duration)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".duration: ", d.dump(), " is not a duration"));
    }
  }
  auto number = [&](const char* key, double* out) -> absl::Status {
    if (!backoff.contains(key)) return absl::OkStatus();
    const auto& v = backoff[key];
    if (v.is_number()) {
      *out = v.get<double>();
    } else if (v.is_string()) {
      // Argo's Amount is a decimal string ("1.5").
      char* end = nullptr;
      std::string s = v.get<std::string>();
      *out = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0')
        return absl::InvalidArgumentError(absl::StrCat(field, ".", key, ": \"", s, "\""));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(field, ".", key, " must be a number"));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = number("factor", &b.factor); !s.ok()) return s;
  if (absl::Status s = number("jitter", &b.jitter); !s.ok()) return s;
  if (backoff.contains("steps")) {
    if (!backoff["steps"].is_number_integer() || backoff["steps"].get<int>() < 0)
      return absl::InvalidArgumentError(absl::StrCat(field, ".steps must be a count"));
    b.steps = std::max(1, backoff["steps"].get<int>());
  }
  return b;
}

absl::Duration BackoffDelay(const Backoff& b, int attempt, double rand01) {
  absl::Duration d = b.duration;
  for (int i = 1; i < attempt; ++i) d = d * (b.factor > 0 ? b.factor : 1);
  if (b.jitter > 0) d += d * (b.jitter * rand01);
  return d;
}

void SleepFor(controller::Clock* clock, absl::Duration d) {
  if (clock == nullptr) clock = controller::RealClock::Get();
  absl::Mutex mu;
  absl::MutexLock lock(&mu);
  bool never = false;
  clock->AwaitWithDeadline(&mu, absl::Condition(&never), clock->Now() + d);
}

absl::StatusOr<nlohmann::json> ResolveResource(const FireRequest& request,
                                               const nlohmann::json& spec, const char* type) {
  if (!spec.contains("source") || !spec["source"].is_object())
    return absl::InvalidArgumentError(absl::StrCat(type, ".source is required"));
  const auto& source = spec["source"];
  nlohmann::json resource;
  if (source.contains("resource") && source["resource"].is_object()) {
    resource = source["resource"];
  } else if (source.contains("inline") && source["inline"].is_string()) {
    resource = nlohmann::json::parse(source["inline"].get<std::string>(), nullptr, false);
    if (resource.is_discarded() || !resource.is_object())
      return absl::InvalidArgumentError(
          absl::StrCat(type, ".source.inline must hold a JSON object (YAML is not read here)"));
  } else {
    return absl::UnimplementedError(absl::StrCat(
        type,
        ".source: only resource and inline are supported (not file, url, configmap, git, s3)"));
  }
  if (absl::Status s =
          ApplyParameters(spec.value("parameters", nlohmann::json()), request.events, resource);
      !s.ok())
    return absl::InvalidArgumentError(absl::StrCat(type, ".", s.message()));
  return resource;
}

absl::Status WaitForK8sPolicy(const nlohmann::json& trigger, controller::Clock* clock,
                              const std::function<absl::StatusOr<nlohmann::json>()>& get) {
  if (!trigger.contains("policy") || !trigger["policy"].is_object() ||
      !trigger["policy"].contains("k8s"))
    return absl::OkStatus();
  const nlohmann::json& k8s = trigger["policy"]["k8s"];
  nlohmann::json want = k8s.value("labels", nlohmann::json::object());
  auto backoff = ParseBackoff(k8s.value("backoff", nlohmann::json()), "policy.k8s.backoff");
  if (!backoff.ok()) return backoff.status();
  for (int attempt = 1; attempt <= backoff->steps; ++attempt) {
    auto obj = get();
    if (obj.ok()) {
      nlohmann::json labels = obj->contains("metadata")
                                  ? (*obj)["metadata"].value("labels", nlohmann::json::object())
                                  : nlohmann::json::object();
      bool all = true;
      for (auto it = want.begin(); it != want.end(); ++it)
        if (!labels.contains(it.key()) || labels[it.key()] != *it) all = false;
      if (all) return absl::OkStatus();
    }
    if (attempt < backoff->steps) SleepFor(clock, BackoffDelay(*backoff, attempt, 0));
  }
  if (k8s.value("errorOnBackoffTimeout", false))
    return absl::DeadlineExceededError(
        absl::StrCat("policy.k8s: labels ", want.dump(), " not reached within the backoff"));
  return absl::OkStatus();
}

}  // namespace argonaut::events::sensors
