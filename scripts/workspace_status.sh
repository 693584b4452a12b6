#!/usr/bin/env bash
# Bazel's --workspace_status_command (.bazelrc): what the build stamps into binaries for
# `argonaut version` and /api/v1/version (lib/buildinfo). Runs before every build, so it stays
# cheap, and prints "unknown" for anything it cannot learn (no git, no .git directory: a source
# tarball). It must never fail: a failing status command fails the build.
#
# The keys are volatile (no STABLE_ prefix): a new commit alone relinks nothing, so tests that
# run the binaries keep their cached results; a binary records the commit, tree state and date
# of the build that last linked it.
cd "$(dirname "$0")/.." 2>/dev/null || true
# A checkout owned by another user (a CI clone) would make git refuse it ("dubious ownership").
git() { command git -c safe.directory="$PWD" "$@"; }

commit=unknown
tree_state=unknown
tag=unknown
if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  commit=$(git rev-parse HEAD 2>/dev/null) || commit=unknown
  # --no-optional-locks: never take the index lock a concurrent `git commit` needs.
  if changes=$(git --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null); then
    if [[ -z $changes ]]; then tree_state=clean; else tree_state=dirty; fi
  fi
  # As Argo's build: the tag at HEAD, else "untagged".
  tag=$(git describe --exact-match --tags HEAD 2>/dev/null) || tag=untagged
fi

# Bazel 4 gives a C++ linkstamp only its own keys (build-info-volatile.h: BUILD_TIMESTAMP,
# BUILD_SCM_REVISION, BUILD_SCM_STATUS), not custom ones: the tree state and the tag share
# BUILD_SCM_STATUS as two words (neither has spaces); the build date is BUILD_TIMESTAMP.
echo "BUILD_SCM_REVISION ${commit:-unknown}"
echo "BUILD_SCM_STATUS ${tree_state} ${tag:-untagged}"
exit 0
