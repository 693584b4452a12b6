#!/usr/bin/env bash
# The two quick-start commands:
#   scripts/run.sh up [argonaut up flags]   install, build, run the platform
#   scripts/run.sh test                     install, build, run every test
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
shift || true
scripts/install-deps.sh

case "$cmd" in
  up)
    bazel build //cli:argonaut
    exec bazel-bin/cli/argonaut up "$@"
    ;;
  test)
    set +e
    # Results are never taken from the cache: some tests read inputs Bazel
    # does not track (../shared/corpus, the prometheus binary).
    bazel test --nocache_test_results //... "$@" 2>&1 | tee /tmp/argonaut-test.log
    rc=${PIPESTATUS[0]}
    set -e
    # One plain summary line for CI readers: "N passed, N failed, N skipped".
    # A test that lacks a privilege it needs (root for pod namespaces and
    # cgroups) prints "SKIPPED: ..." (shell) or "[  SKIPPED ]" (GoogleTest)
    # and exits 0; Bazel calls that PASSED, so such targets are counted as
    # skipped here instead, and named.
    passed=0
    skipped=0
    skipped_names=()
    while read -r target; do
      log="bazel-testlogs/${target#//}"
      log="${log/://}/test.log"
      if [[ -f $log ]] && grep -qE '^SKIPPED:|^\[  SKIPPED \]' "$log"; then
        skipped=$((skipped + 1))
        skipped_names+=("$target")
      else
        passed=$((passed + 1))
      fi
    done < <(grep -E '^//.* (PASSED|\(cached\) PASSED)' /tmp/argonaut-test.log | awk '{print $1}')
    failed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' /tmp/argonaut-test.log || true)
    if ((skipped > 0)); then echo "skipped (in part or whole): ${skipped_names[*]}"; fi
    echo "${passed} passed, ${failed} failed, ${skipped} skipped"
    exit "$rc"
    ;;
  *)
    echo "usage: scripts/run.sh up|test" >&2
    exit 2
    ;;
esac
