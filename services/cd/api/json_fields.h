// The cd API's lenient readers of Argo CD JSON are lib/base's, named here so
// the package's files keep their short spelling.
#pragma once

#include "lib/base/json_fields.h"

namespace argonaut::cd::api::internal {

using ::argonaut::base::json_fields::Field;
using ::argonaut::base::json_fields::Str;

}  // namespace argonaut::cd::api::internal
