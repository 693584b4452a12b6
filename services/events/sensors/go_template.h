// The Go text/template subset Argo Events' `template` fields need here:
// literal text and actions `{{ .Input }}` / `{{ .Input.a.b }}` (with `-`
// trim markers). Values print as Go does for strings, numbers and bools;
// objects/arrays print as compact JSON (Go would print map[...]), a missing
// field as `<no value>`. Pipelines, functions (sprig) and control structures
// are refused with an error naming them.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::events::sensors {

absl::StatusOr<std::string> RenderGoTemplate(std::string_view text, const nlohmann::json& input);

}  // namespace argonaut::events::sensors
