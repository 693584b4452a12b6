#include "lib/cluster/workloads/probe.h"

#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::workloads {
namespace {

ProbeResult InitialResult(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kReadiness:
      return ProbeResult::kFailure;  // not ready until proven
    case ProbeKind::kLiveness:
      return ProbeResult::kSuccess;  // alive until proven otherwise
    case ProbeKind::kStartup:
      return ProbeResult::kUnknown;
  }
  return ProbeResult::kUnknown;
}

}  // namespace

absl::StatusOr<ProbeSpec> ParseProbe(const Json& probe, ProbeKind kind, std::string_view path) {
  const std::string p(path);
  if (!probe.is_object()) return absl::InvalidArgumentError(p + ": expected object");
  int handlers = 0;
  for (const char* h : {"exec", "httpGet", "tcpSocket", "grpc"}) {
    if (Field(probe, h) != nullptr) ++handlers;
  }
  if (handlers != 1) {
    return absl::InvalidArgumentError(
        p + ": must specify exactly one handler (exec, httpGet, tcpSocket or grpc)");
  }
  ProbeSpec s;
  struct F {
    const char* key;
    int32_t* out;
    int32_t min;
  } fields[] = {{"initialDelaySeconds", &s.initial_delay_seconds, 0},
                {"periodSeconds", &s.period_seconds, 1},
                {"timeoutSeconds", &s.timeout_seconds, 1},
                {"successThreshold", &s.success_threshold, 1},
                {"failureThreshold", &s.failure_threshold, 1}};
  for (const F& f : fields) {
    const std::string fp = absl::StrCat(p, ".", f.key);
    ASSIGN_OR_RETURN(*f.out, Int32Field(probe, f.key, *f.out, fp));
    if (*f.out < f.min) {
      return absl::InvalidArgumentError(absl::StrCat(fp, ": must be at least ", f.min));
    }
  }
  if (kind != ProbeKind::kReadiness && s.success_threshold != 1) {
    return absl::InvalidArgumentError(
        p + ".successThreshold: must be 1 for liveness and startup probes");
  }
  return s;
}

ProbeResult ClassifyAttempt(bool succeeded, absl::Duration took, const ProbeSpec& spec) {
  if (took > absl::Seconds(spec.timeout_seconds)) return ProbeResult::kFailure;
  return succeeded ? ProbeResult::kSuccess : ProbeResult::kFailure;
}

ProbeWorker::ProbeWorker(ProbeKind kind, ProbeSpec spec)
    : kind_(kind), spec_(spec), result_(InitialResult(kind)) {}

bool ProbeWorker::Due(absl::Time started_at, absl::Time now) const {
  if (on_hold_) return false;
  if (now - started_at < absl::Seconds(spec_.initial_delay_seconds)) return false;
  return !last_attempt_ || now - *last_attempt_ >= absl::Seconds(spec_.period_seconds);
}

ProbeWorker::Outcome ProbeWorker::Record(ProbeResult r, absl::Time now) {
  Outcome out;
  last_attempt_ = now;
  if (r == last_) {
    ++run_;
  } else {
    last_ = r;
    run_ = 1;
  }
  out.result = result_;
  if ((r == ProbeResult::kFailure && run_ < spec_.failure_threshold) ||
      (r == ProbeResult::kSuccess && run_ < spec_.success_threshold) ||
      r == ProbeResult::kUnknown) {
    return out;
  }
  out.changed = result_ != r;
  result_ = r;
  out.result = r;
  if (kind_ != ProbeKind::kReadiness && r == ProbeResult::kFailure) {
    // The container will be killed; stop probing this instance.
    out.kill_container = true;
    on_hold_ = true;
    run_ = 0;
  }
  return out;
}

void ProbeWorker::Reset() {
  result_ = InitialResult(kind_);
  last_ = ProbeResult::kUnknown;
  run_ = 0;
  on_hold_ = false;
  last_attempt_.reset();
}

absl::StatusOr<ContainerProbes> ProbesForContainer(const Json& container, std::string_view path) {
  ContainerProbes out;
  struct K {
    const char* key;
    ProbeKind kind;
    std::optional<ProbeWorker>* slot;
  } kinds[] = {{"startupProbe", ProbeKind::kStartup, &out.startup},
               {"livenessProbe", ProbeKind::kLiveness, &out.liveness},
               {"readinessProbe", ProbeKind::kReadiness, &out.readiness}};
  for (const K& k : kinds) {
    const Json* probe = Field(container, k.key);
    if (probe == nullptr) continue;
    ASSIGN_OR_RETURN(ProbeSpec spec,
                     ParseProbe(*probe, k.kind, absl::StrCat(AbslView(path), ".", k.key)));
    k.slot->emplace(k.kind, spec);
  }
  return out;
}

}  // namespace argonaut::cluster::workloads
