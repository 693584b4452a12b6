// Argo Workflows `{{...}}` substitution (util/template in Argo).
//
//   ASSIGN_OR_RETURN(auto t, Template::Parse("echo {{inputs.parameters.msg}} {{=asInt(x) + 1}}"));
//   Scope scope;
//   scope.Set("inputs.parameters.msg", "hello");
//   ASSIGN_OR_RETURN(std::string out, t.Render(scope));
//
// Tags: `{{name}}` looks `name` up (surrounding whitespace ignored); `{{=expr}}` evaluates an
// expr-lang expression over Scope::ToEnv(). Substitution is plain text replacement; nothing is
// ever handed to a shell. Text with `{{` but no closing `}}` is a parse error, as in Argo
// (fasttemplate).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::tmpl {

// Variables visible to a template: flat dotted names ("inputs.parameters.x") with string values,
// plus JSON values for names such as `item` when the loop item is an object or list.
class Scope {
 public:
  void Set(std::string name, std::string value);
  // A string JSON value is stored like Set; objects/arrays/numbers/bools keep their structure.
  void SetJson(std::string name, nlohmann::json value);

  // The substitution text for `name`: a string value as is, a JSON value as compact JSON, and
  // `item.key` (any depth) as the field of a JSON object value (strings raw, others JSON).
  std::optional<std::string> Get(std::string_view name) const;

  // The nested env for `{{=...}}` (Argo util/expand): "inputs.parameters.x" becomes
  // {"inputs":{"parameters":{"x":...}}}; when both "a" and "a.b" exist the less specific "a" is
  // dropped. Values are strings, as in Argo's replace map; object values contribute one string
  // per field ("item.key").
  nlohmann::json ToEnv() const;

  size_t size() const { return strings_.size() + json_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> strings_;
  std::map<std::string, nlohmann::json, std::less<>> json_;
};

enum class Unresolved {
  kError,  // fail with `unresolved reference {{name}}`
  kLeave,  // write the tag back verbatim for a later pass (Argo allowUnresolved)
};

struct RenderOptions {
  Unresolved unresolved = Unresolved::kError;
  // When set, an unresolved simple tag whose name satisfies it is left verbatim even under
  // kError (e.g. names resolved at a later stage: "steps.", "tasks.", "workflow.outputs.").
  std::function<bool(std::string_view name)> leave_if;
  // Evaluate `{{=...}}` tags; when false they are left verbatim.
  bool expressions = true;
  size_t max_output_bytes = size_t{16} << 20;
};

// A predicate for RenderOptions::leave_if that matches names starting with any of the prefixes.
std::function<bool(std::string_view)> LeavePrefixes(std::vector<std::string> prefixes);

namespace internal {
struct Parsed;
}  // namespace internal

class Template {
 public:
  static constexpr size_t kMaxInputBytes = size_t{16} << 20;

  static absl::StatusOr<Template> Parse(std::string_view text);

  absl::StatusOr<std::string> Render(const Scope& scope, const RenderOptions& opts = {}) const;

  // Names of the simple `{{name}}` tags (trimmed), in order of first appearance, deduplicated.
  std::vector<std::string> References() const;
  // Sources of the `{{=...}}` tags, in order.
  std::vector<std::string> Expressions() const;

 private:
  explicit Template(std::shared_ptr<const internal::Parsed> parsed) : parsed_(std::move(parsed)) {}
  std::shared_ptr<const internal::Parsed> parsed_;
};

// Convenience: Parse + Render.
absl::StatusOr<std::string> RenderString(std::string_view text, const Scope& scope,
                                         const RenderOptions& opts = {});

// Substitutes through every string value of a JSON document (object keys are left alone), as
// Argo does over a whole serialised template. The output cap applies to the total.
absl::StatusOr<nlohmann::json> RenderJson(const nlohmann::json& value, const Scope& scope,
                                          const RenderOptions& opts = {});

}  // namespace argonaut::tmpl
