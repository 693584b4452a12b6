// Field-path error lists for validators: every violation is collected as
// "<path>: <message>" (Kubernetes' field.ErrorList), so one bad manifest reports
// all of its problems at once, each located.
//
//   FieldErrors errors;
//   errors.Add(Index(Field("spec", "steps"), 2), "must be between 0 and 100 (got 150)");
//   return errors.ToStatus();  // INVALID_ARGUMENT "spec.steps[2]: must be ..."
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace argonaut::base {

class FieldErrors {
 public:
  void Add(absl::string_view path, absl::string_view message) {
    items_.push_back(absl::StrCat(path, ": ", message));
  }
  bool empty() const { return items_.empty(); }
  // OK when empty, else INVALID_ARGUMENT with every violation joined by "; ".
  absl::Status ToStatus() const {
    if (items_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(items_, "; "));
  }

 private:
  std::vector<std::string> items_;
};

inline std::string Field(absl::string_view path, absl::string_view name) {
  return absl::StrCat(path, ".", name);
}
inline std::string Index(absl::string_view path, int i) { return absl::StrCat(path, "[", i, "]"); }

}  // namespace argonaut::base
