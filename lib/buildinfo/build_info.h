// What the build stamped into this binary: the git commit, tree state and tag, and the build
// date, from scripts/workspace_status.sh (Bazel's workspace status, compiled into the binary by
// the linkstamp of //lib/buildinfo at link time). "unknown" for whatever was not stamped (tests,
// builds without a git checkout).
//
//   const buildinfo::BuildInfo& b = buildinfo::Stamp();
//   out << b.git_commit << " " << b.git_tree_state;
#pragma once

#include <string>
#include <string_view>

namespace argonaut::buildinfo {

struct BuildInfo {
  std::string git_commit;      // full SHA of HEAD
  std::string git_tree_state;  // clean | dirty
  std::string git_tag;         // the tag at HEAD, or "untagged"
  std::string build_date;      // RFC 3339 UTC, second precision
};

// The same object for the life of the process.
const BuildInfo& Stamp();

// The fields from Bazel's stamp keys: BUILD_SCM_REVISION (the commit), BUILD_SCM_STATUS ("<tree
// state> <tag>", as scripts/workspace_status.sh writes it) and BUILD_TIMESTAMP (Unix seconds).
// Bazel's placeholders of an unstamped build ("", "0", "redacted", 0) read "unknown".
BuildInfo FromStamp(std::string_view revision, std::string_view status, long long timestamp);

}  // namespace argonaut::buildinfo
