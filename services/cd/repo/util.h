// Internal pieces of the repo-server, exposed for its tests.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace argonaut::cd::repo {

// "host/path" form used for comparing repository URLs (see SameRepo): lower-case host, no user
// info, no default port, no trailing ".git" or "/", ssh and scp-like forms folded together, http
// and https folded together. Local paths and file:// URLs become "file:<absolute path>".
std::string NormalizeRepoUrl(absl::string_view url);

// Pure: whether two repository URLs name the same repository, ignoring a trailing ".git" or "/",
// user info, the case of the host, http vs https, default ports, and the scp-like ssh form
// (git@host:path == ssh://git@host/path).
bool SameRepo(std::string_view a, std::string_view b);

// The URL without user info ("https://user:pw@h/x" -> "https://h/x"): safe to log and to use as a
// metric label.
std::string RedactUrl(absl::string_view url);

// `text` with every URL's user info and every non-empty `secret` replaced by "***".
std::string Redact(absl::string_view text, const std::vector<std::string>& secrets);

// Argo CD's directory include/exclude globs (gobwas/glob without separators): `*` matches any run
// of characters including '/', `?` one character, `[abc]`, `[!a-z]` classes, `{a,b}` alternatives
// (which may themselves contain wildcards), `\` escapes.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

struct ExecResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string stdout_text, stderr_text;
};
// Runs `argv` (argv[0] looked up on PATH when it has no '/') in `dir` with the current
// environment plus `env`. After `timeout` the process group gets SIGTERM, then SIGKILL 5 s later,
// and the result is DEADLINE_EXCEEDED. NOT_FOUND when the binary does not exist.
absl::StatusOr<ExecResult> Exec(const std::vector<std::string>& argv, const std::string& dir,
                                const std::map<std::string, std::string>& env,
                                absl::Duration timeout);
// Absolute path of `name` on $PATH, or "" when absent.
std::string FindOnPath(absl::string_view name);

// `rel` (a repository-relative path, "" or "." for the root) joined to `root`. InvalidArgument
// naming `field` when it is absolute or climbs out of the root, lexically or through a symlink.
absl::StatusOr<std::filesystem::path> ResolveInside(const std::filesystem::path& root,
                                                    absl::string_view rel, absl::string_view field);
// FailedPrecondition naming the first symlink under `dir` whose target lies outside `root`.
absl::Status CheckSymlinksInside(const std::filesystem::path& root,
                                 const std::filesystem::path& dir);

}  // namespace argonaut::cd::repo
