// The analysis sources' lenient readers of manifest JSON are lib/base's, named
// here so the package's files keep their short spelling. Internal to this
// package.
#ifndef SERVICES_ROLLOUT_ANALYSIS_JSON_FIELDS_H_
#define SERVICES_ROLLOUT_ANALYSIS_JSON_FIELDS_H_

#include "lib/base/json_fields.h"

namespace argonaut::rollout::analysis::json_fields {

using ::argonaut::base::json_fields::Bool;
using ::argonaut::base::json_fields::Field;
using ::argonaut::base::json_fields::Int;
using ::argonaut::base::json_fields::Str;

}  // namespace argonaut::rollout::analysis::json_fields

#endif  // SERVICES_ROLLOUT_ANALYSIS_JSON_FIELDS_H_
