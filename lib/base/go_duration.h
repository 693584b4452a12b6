// Go's time.ParseDuration, which Argo's manifests use for intervals, pauses and
// timeouts ("1h30m", "1.5s", "300ms"; a bare "0" is zero). Errors read
// `invalid duration "X"` with the reason (missing unit, unknown unit, out of range).
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace argonaut::base {

absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text);

}  // namespace argonaut::base
