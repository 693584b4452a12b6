// A trigger's `conditions`: a boolean expression over dependency names with
// `&&`, `||` and parentheses (names may contain `-`, `_`, `.`); empty means
// the AND of every dependency of the sensor (Argo Events' listener.go).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::events::sensors {

class Conditions {
 public:
  // `dependencies` are the sensor's dependency names; a name in `expr` that is
  // not one of them is an error naming it.
  static absl::StatusOr<Conditions> Parse(std::string_view expr,
                                          const std::vector<std::string>& dependencies);

  // True when the expression holds with exactly `present` set to true.
  bool Eval(const std::set<std::string>& present) const;
  // The names the expression references (the dependencies this trigger
  // listens to).
  const std::set<std::string>& names() const { return names_; }
  // No `&&`: every passing event fires the trigger on its own.
  bool or_only() const { return or_only_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::set<std::string> names_;
  bool or_only_ = true;
};

}  // namespace argonaut::events::sensors
