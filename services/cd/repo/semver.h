// Semantic-version constraints over tags, for a targetRevision such as `1.2.*`, `>=1.0 <2.0`,
// `^1.2` or `~1.2.3 || 2.x` (the Masterminds/semver syntax Argo CD accepts).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace argonaut::cd::repo {

struct SemVer {
  long major = 0, minor = 0, patch = 0;
  std::string prerelease;  // "" for a release
};

// "v1.2.3", "1.2", "1.2.3-rc.1+build" -> SemVer; nullopt when not a version.
std::optional<SemVer> ParseSemVer(absl::string_view text);

// Whether `text` is a constraint with at least one operator, wildcard or range, or a partial
// version ("1.2"): i.e. whether it says more than one exact version.
bool IsSemVerConstraint(absl::string_view text);

// The tag (key of `tags`, short name) with the highest version satisfying `constraint`; "" when
// none does or the constraint does not parse. Prereleases match only when the constraint names
// a prerelease.
std::string MaxSatisfying(absl::string_view constraint,
                          const std::map<std::string, std::string>& tags);

}  // namespace argonaut::cd::repo
