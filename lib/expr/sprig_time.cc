#include "lib/expr/sprig_time.h"

#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {

std::string FormatGoLayout(std::string_view layout, absl::Time t) {
  return FormatGoTime(layout, GoTime{t, 0});
}

}  // namespace argonaut::expr::internal
