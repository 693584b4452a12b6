// The Sprig v3 function map Argo exposes as `sprig.<fn>(...)`. Sprig puts the
// subject argument last (replace(old, new, s)) and tends to swallow errors
// (atoi("x") is 0), both kept here on purpose.
#pragma once

#include <string_view>

#include "lib/expr/exprlang.h"

namespace argonaut::expr::internal {

const Function* FindSprig(std::string_view name);

}  // namespace argonaut::expr::internal
