#include "lib/base/test_corpus.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace argonaut::testing {

namespace fs = std::filesystem;

absl::StatusOr<fs::path> TestCorpusDir(std::string_view anchor) {
  if (const char* env = std::getenv("ARGONAUT_CORPUS_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  const fs::path relative(anchor);
  // Bazel runs tests from the workspace's runfiles tree; TEST_SRCDIR/TEST_WORKSPACE name it when
  // the working directory is elsewhere.
  std::vector<fs::path> candidates = {relative};
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    candidates.push_back(fs::path(srcdir) / workspace / relative);
  }
  const auto depth = std::distance(relative.begin(), relative.end());
  for (const fs::path& candidate : candidates) {
    std::error_code ec;
    fs::path root = fs::canonical(candidate, ec);
    if (ec) continue;
    // The real path ends in the anchor's workspace-relative components; dropping as many leaves
    // the workspace root.
    for (auto i = depth; i > 0; --i) root = root.parent_path();
    return root.parent_path() / "shared" / "corpus";
  }
  return absl::NotFoundError(
      absl::StrCat("corpus anchor ", std::string(anchor), " not found; set ARGONAUT_CORPUS_DIR"));
}

absl::StatusOr<std::string> ReadTestFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace argonaut::testing
