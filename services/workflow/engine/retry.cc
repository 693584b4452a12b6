// retryStrategy (Argo operator.go processNodeRetries): limit, retryPolicy, backoff, expression.
#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/expr/exprlang.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

// Argo's built-in transient error list (util/errors IsTransientErr), by message.
bool IsTransient(const std::string& m) {
  for (const char* s :
       {"connection reset by peer", "connection refused", "i/o timeout", "TLS handshake timeout",
        "EOF", "etcdserver: leader changed", "the object has been modified", "Too many requests",
        "ServerTimeout", "net/http: request canceled", "resource quota", "exceeded quota"}) {
    if (absl::StrContains(m, s)) return true;
  }
  return false;
}

}  // namespace

bool Operator::ProcessRetries(json& node, const json& strategy) {
  if (NodeFulfilled(node)) return true;
  const json children = node.value("children", json::array());
  if (children.empty()) return true;
  const json* last = NodeById(children.back().get<std::string>());
  if (last == nullptr || !NodeFulfilled(*last)) return true;
  const std::string lphase = Str(*last, "phase");
  if (!PhaseFailedOrError(lphase)) {
    if (last->contains("outputs")) node["outputs"] = (*last)["outputs"];
    MarkPhase(node, "Succeeded", "");
    return true;
  }
  if (!shutdown_.empty()) {
    MarkPhase(node, lphase, ShutdownMessage());
    return true;
  }
  if (deadline_exceeded_) {
    MarkPhase(node, lphase, "retry exceeded workflow deadline");
    return true;
  }
  const size_t attempts = children.size();
  const std::optional<int64_t> limit = strategy.contains("limit")
                                           ? IntOrString(strategy["limit"])
                                           : std::optional<int64_t>(kMaxRetries);
  if (strategy.contains("backoff") && strategy["backoff"].is_object()) {
    const json& b = strategy["backoff"];
    absl::Time max_deadline = absl::InfiniteFuture();
    if (b.contains("maxDuration")) {
      std::optional<absl::Duration> md = ParseArgoDuration(ItemText(b["maxDuration"]));
      if (!md.has_value()) {
        MarkPhase(node, "Error", "retryStrategy.backoff.maxDuration: invalid duration");
        return true;
      }
      const json* first = NodeById(children.front().get<std::string>());
      max_deadline = ParseTimestamp(first != nullptr ? (*first)["startedAt"] : json()) + *md;
      if (in_.now > max_deadline) {
        MarkPhase(node, lphase, "Max duration limit exceeded");
        return true;
      }
    }
    std::optional<absl::Duration> base =
        b.contains("duration") ? ParseArgoDuration(ItemText(b["duration"])) : std::nullopt;
    if (!base.has_value()) {
      MarkPhase(node, "Error", "retryStrategy.backoff.duration: missing or invalid");
      return true;
    }
    absl::Duration wait = *base;
    if (auto factor = b.contains("factor") ? IntOrString(b["factor"]) : std::nullopt;
        factor.has_value() && *factor > 0) {
      const double mult = std::pow(static_cast<double>(*factor), static_cast<double>(attempts - 1));
      wait = *base * std::min(mult, 1e9);
    }
    if (b.contains("cap")) {
      if (auto cap = ParseArgoDuration(ItemText(b["cap"])); cap.has_value() && wait > *cap)
        wait = *cap;
    }
    absl::Time finished = ParseTimestamp(last->value("finishedAt", json()));
    if (finished == absl::InfinitePast()) finished = in_.now;
    const absl::Time wait_until = finished + wait;
    if (max_deadline != absl::InfiniteFuture() && wait_until > max_deadline) {
      MarkPhase(node, lphase, "Backoff would exceed max duration limit");
      return true;
    }
    if (in_.now < wait_until && limit.has_value() && static_cast<int64_t>(attempts) <= *limit) {
      Requeue(wait_until - in_.now);
      MarkPhase(node, "Running", absl::StrCat("Backoff for ", absl::FormatDuration(wait)));
      return false;
    }
    if (node.contains("message")) MarkPhase(node, Str(node, "phase"), "");
  }
  std::string policy = Str(strategy, "retryPolicy");
  if (policy.empty()) policy = Str(strategy, "expression").empty() ? "OnFailure" : "Always";
  bool on_failed = false, on_error = false;
  if (policy == "Always") {
    on_failed = on_error = true;
  } else if (policy == "OnError") {
    on_error = true;
  } else if (policy == "OnTransientError") {
    on_failed = on_error = IsTransient(Str(*last, "message"));
  } else if (policy == "OnFailure") {
    on_failed = true;
  } else {
    MarkPhase(node, "Error",
              absl::StrCat("retryStrategy.retryPolicy: ", policy, " is not a valid RetryPolicy"));
    return true;
  }
  if ((lphase == "Failed" && !on_failed) || (lphase == "Error" && !on_error)) {
    MarkPhase(node, lphase, Str(*last, "message"));
    return true;
  }
  if (!Str(strategy, "expression").empty()) {
    const json outs = last->value("outputs", json::object());
    const absl::Time s = ParseTimestamp(last->value("startedAt", json()));
    const absl::Time f = ParseTimestamp(last->value("finishedAt", json()));
    json env = {{"lastRetry",
                 {{"exitCode", outs.contains("exitCode") ? ItemText(outs["exitCode"]) : "-1"},
                  {"status", lphase},
                  {"duration", absl::StrCat(static_cast<int64_t>(absl::ToDoubleSeconds(f - s)))},
                  {"message", Str(*last, "message")}}}};
    absl::StatusOr<expr::ExprProgram> prog =
        expr::ExprProgram::Compile(Str(strategy, "expression"));
    absl::StatusOr<bool> go = prog.ok() ? prog->EvalBool(env) : absl::StatusOr<bool>(prog.status());
    if (!go.ok()) {
      MarkPhase(node, "Error", absl::StrCat("retryStrategy.expression: ", go.status().message()));
      return true;
    }
    if (!*go) {
      MarkPhase(node, lphase, "retryStrategy.expression evaluated to false");
      return true;
    }
  }
  if (!limit.has_value() ||
      static_cast<int64_t>(attempts) > std::min<int64_t>(*limit, kMaxRetries)) {
    MarkPhase(node, lphase, "No more retries left");
    return true;
  }
  return true;
}

}  // namespace argonaut::workflow::engine::internal
