// Go reference-time layouts ("2006-01-02T15:04:05Z07:00") for sprig's date
// functions, evaluated in UTC.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace argonaut::expr::internal {

std::string FormatGoLayout(std::string_view layout, absl::Time t);

}  // namespace argonaut::expr::internal
