// git input artifacts (Argo's `git` location) on libgit2: Load clones the repository into `dst`
// as a working tree with its .git directory (as Argo's), checked out at `revision`.
//
//   {"name": "src", "path": "/src", "git": {"repo": "https://h/r.git", "revision": "v1.2",
//    "usernameSecret": {"name": "s", "key": "u"}, "passwordSecret": {"name": "s", "key": "p"}}}
//
// Fields: `repo` (required), `revision` (branch, tag, full or short SHA, or any rev-parse
// expression; default: the remote's HEAD), `fetch` (extra refspecs fetched after the clone),
// `branch` (checked out when there is no revision; with `singleBranch` only that branch is
// fetched), `disableSubmodules`, `usernameSecret`/`passwordSecret` (http basic),
// `sshPrivateKeySecret` (ssh key, unencrypted PEM/OpenSSH), `insecureIgnoreHostKey` (ssh),
// `insecureSkipTLS` (https). `depth` is accepted and ignored: libgit2 1.5 cannot fetch
// shallow, so the whole history is fetched. Without `insecureIgnoreHostKey` an ssh host key must
// be listed (plain host names, not hashed) in $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts.
// Save, Delete, OpenStream and ListObjects are Unimplemented: git locations are read-only
// directories.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/artifacts/driver.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

// `artifact` is the artifact (with its `git` field) or the `git` location itself.
absl::StatusOr<std::unique_ptr<Driver>> MakeGitDriver(const nlohmann::json& artifact,
                                                      const DriverOptions& options);

// Pure, exposed for tests: whether `known_hosts` (OpenSSH's file format) lists `key` (the raw
// public key blob) for `host`; entries for "[host]:port" count for `host`. Hashed entries
// (|1|...) and @revoked / @cert-authority markers are never a match.
bool KnownHostsAccept(std::string_view known_hosts, std::string_view host, std::string_view key);

}  // namespace argonaut::artifacts
