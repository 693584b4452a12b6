// Command-line arguments the kubectl way: positionals and flags mixed in any
// order, `-n ns`, `--namespace=ns`, `--namespace ns`, boolean `-A`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cli {

struct FlagSpec {
  std::string name;         // long name without dashes: "namespace"
  std::string short_name;   // "n", or empty
  bool takes_value = true;  // false: boolean switch
  bool repeated = false;    // may be given more than once
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;  // by long name

  bool Has(std::string_view name) const { return values.count(std::string(name)) > 0; }
  // Last value given, or `fallback`.
  std::string Get(std::string_view name, std::string_view fallback = "") const;
  const std::vector<std::string>& All(std::string_view name) const;
};

// Unknown flags and missing values are errors naming the flag.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& specs);

}  // namespace argonaut::cli
