// Small pieces of validate.cc: field access that tolerates any JSON shape, Argo's duration and
// integer rules, and the {{...}} tag scanner. Internal to //services/workflow/api.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace argonaut::workflow::api::validate_internal {

// INVALID_ARGUMENT "<path>: <message>".
absl::Status Err(std::string_view path, std::string_view message);
std::string Quote(std::string_view s);
// Present and not null, empty or "".
bool Present(const nlohmann::json& obj, const char* key);
// The string at `key`, "" when absent or not a string.
std::string Str(const nlohmann::json& obj, const char* key);
// The value at `key`, null when absent or `obj` is no object.
const nlohmann::json& Field(const nlohmann::json& obj, const char* key);
bool HasTag(std::string_view s);
// A bare integer (seconds) or a Go duration string; templated values pass.
bool ValidDuration(const nlohmann::json& v);
bool ValidInt(const nlohmann::json& v, bool allow_negative);
// Parameter names: alphanumerics, '-' and '_', at most 128 characters.
bool IsValidParamName(std::string_view name);
// Every {{...}} tag in a string, trimmed; expression tags ({{=...}}) are skipped.
std::vector<std::string> Tags(std::string_view s);
// Replaces every tag by a bare word, as Argo substitutes before parsing `when`.
std::string Placeholders(std::string_view s);

using TagVisitor = std::function<absl::Status(const std::string& path, const std::string& tag)>;
// Visits every tag in string values of `v` with its field path, skipping object keys in `skip`.
absl::Status WalkTags(const nlohmann::json& v, const std::string& path,
                      const std::set<std::string>& skip, const TagVisitor& visit, int depth = 0);
// The step/task named by a `steps.X...` / `tasks.X...` tag; nullopt for other tags and for
// {{steps.name}} / {{tasks.name}} (the current step's own name).
std::optional<std::string> RefName(const std::string& tag, std::string_view prefix);

// Argo's synchronization object: a mutex needs a name, a semaphore a configMapKeyRef {name, key}
// (or database.key). Database locks are valid specs; the controller (local locks only) fails
// them when they run. Errors name the field under `path`.
absl::Status ValidateSynchronization(const nlohmann::json& sync, const std::string& path);

}  // namespace argonaut::workflow::api::validate_internal
