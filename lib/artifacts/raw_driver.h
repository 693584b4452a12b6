// Raw artifacts (Argo's `raw` location): the content is the location's `data` string.
// Load writes it to the file dst, OpenStream hands it to the sink; Save and Delete are
// Unimplemented, and ListObjects is empty (nothing is stored anywhere).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "lib/artifacts/driver.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

// `artifact` is the artifact (with its `raw` field) or the `raw` location itself; InvalidArgument
// naming `raw.data` when it is not a string.
absl::StatusOr<std::unique_ptr<Driver>> MakeRawDriver(const nlohmann::json& artifact,
                                                      const DriverOptions& options);

}  // namespace argonaut::artifacts
