#include "lib/buildinfo/build_info.h"

#include <string_view>

#include "absl/time/time.h"

namespace argonaut::buildinfo {
namespace internal {
// Defined in build_info_linkstamp.cc, compiled when a binary is linked.
extern const char kScmRevision[];
extern const char kScmStatus[];
extern const long long kTimestamp;
}  // namespace internal

namespace {

// An unstamped build (tests, --nostamp) leaves Bazel's placeholders: "", "0", "redacted".
std::string OrUnknown(std::string_view v) {
  return v.empty() || v == "0" || v == "redacted" ? "unknown" : std::string(v);
}

}  // namespace

BuildInfo FromStamp(std::string_view revision, std::string_view status, long long timestamp) {
  // scripts/workspace_status.sh writes BUILD_SCM_STATUS as "<tree state> <tag>".
  const size_t space = status.find(' ');
  const std::string_view tree = status.substr(0, space);
  const std::string_view tag =
      space == std::string_view::npos ? std::string_view() : status.substr(space + 1);
  return BuildInfo{
      .git_commit = OrUnknown(revision),
      .git_tree_state = OrUnknown(tree),
      .git_tag = OrUnknown(tag),
      .build_date = timestamp > 0
                        ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(timestamp),
                                           absl::UTCTimeZone())
                        : "unknown",
  };
}

const BuildInfo& Stamp() {
  static const BuildInfo* const info =
      new BuildInfo(FromStamp(internal::kScmRevision, internal::kScmStatus, internal::kTimestamp));
  return *info;
}

}  // namespace argonaut::buildinfo
