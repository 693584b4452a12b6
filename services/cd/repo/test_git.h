// Test-only: git repositories made with the git command line, in fresh temporary directories.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace argonaut::cd::repo::testing {

// A fresh, empty directory $TEST_TMPDIR/<name> (removed first if it exists).
std::string FreshDir(const std::string& name);

// Runs `git <args>` in `dir` with a fixed identity; its stdout without the trailing newline.
absl::StatusOr<std::string> Git(const std::string& dir, const std::vector<std::string>& args);

// `git init -b main` in a fresh directory $TEST_TMPDIR/<name>; returns its path.
absl::StatusOr<std::string> InitRepo(const std::string& name);

// Writes `content` to dir/rel, creating parent directories.
void WriteFile(const std::string& dir, const std::string& rel, const std::string& content);

// `git add -A && git commit -m message`; the new commit's SHA.
absl::StatusOr<std::string> CommitAll(const std::string& dir, const std::string& message);

// Copies a directory tree (regular files and directories).
void CopyTree(const std::string& from, const std::string& to);

}  // namespace argonaut::cd::repo::testing
