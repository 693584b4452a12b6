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
    # One plain summary line for CI readers: "N passed, N failed".
    passed=$(grep -cE '^//.* (PASSED|\(cached\) PASSED)' /tmp/argonaut-test.log || true)
    failed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' /tmp/argonaut-test.log || true)
    echo "${passed} passed, ${failed} failed"
    exit "$rc"
    ;;
  *)
    echo "usage: scripts/run.sh up|test" >&2
    exit 2
    ;;
esac
