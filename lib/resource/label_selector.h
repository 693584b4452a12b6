// Kubernetes label selectors: `app=web,tier!=db,env in (prod,stage),!legacy`.
//
//   ASSIGN_OR_RETURN(LabelSelector s, LabelSelector::Parse("app=web"));
//   s.Matches(labels);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace argonaut::resource {

class LabelSelector {
 public:
  // Accepts the equality-based (=, ==, !=) and set-based (in, notin, key,
  // !key) forms, comma-separated. An empty selector matches everything.
  static absl::StatusOr<LabelSelector> Parse(absl::string_view text);

  bool Matches(const google::protobuf::Map<std::string, std::string>& labels) const;
  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return requirements_.empty(); }

 private:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kNotExists };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  template <typename M>
  bool MatchesImpl(const M& labels) const;

  std::vector<Requirement> requirements_;
};

}  // namespace argonaut::resource
