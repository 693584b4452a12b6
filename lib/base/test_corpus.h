// Finds the Argo example corpus (<workspace>/../shared/corpus) from a test. The corpus sits
// outside the workspace, so Bazel cannot ship it as a runfile; a test instead declares a small
// anchor file inside its package as `data`, whose runfile is a symlink back into the source tree,
// and the workspace root is found from the anchor's real path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace argonaut::testing {

// The corpus directory: $ARGONAUT_CORPUS_DIR when set and non-empty, otherwise
// <workspace>/../shared/corpus, where <workspace> is found by resolving `anchor` (the
// workspace-relative path of the test's anchor data file, e.g.
// "lib/expr/testdata/corpus_anchor.txt") relative to the working directory or to
// $TEST_SRCDIR/$TEST_WORKSPACE. NotFound when the anchor resolves nowhere. The directory itself
// is not checked for existence: tests report a missing corpus with their own context.
absl::StatusOr<std::filesystem::path> TestCorpusDir(std::string_view anchor);

// The whole content of `path`, read as bytes. NotFound when it cannot be opened.
absl::StatusOr<std::string> ReadTestFile(const std::filesystem::path& path);

}  // namespace argonaut::testing
