#!/usr/bin/env bash
# Conformance of the workflow controller against Argo Workflows' own examples:
# every example INDEX.tsv marks local_runnable=yes is submitted to one
# `argonaut up` and its final phase and key outputs are compared with
# tests/workflow_conformance_expected.tsv (see its header). Prints one line per
# example, then each example that differs from its row (expected vs got, and
# why); fails when any row differs. There is no pass-count threshold.
# Remote artifact locations are served locally (tests/conformance_artifacts.py).
# Env: CONFORMANCE_JOBS (default 8), CONFORMANCE_ONLY (regex over paths).
source tests/lib.sh

python3 tests/workflow_conformance.py --selftest || fail "the runner's checks misbehave"
CORPUS=$(corpus_dir)/argo-workflows
start_up "$WORK/data"
report="${TEST_UNDECLARED_OUTPUTS_DIR:-$WORK}/workflow_conformance.json"
# The artifact examples' git, http and s3 stand-ins bind where pods reach the host.
pod_host=""
if declare -F pod_reachable_host >/dev/null; then pod_host=$(pod_reachable_host); fi
rc=0
python3 tests/workflow_conformance.py \
  --argonaut "$ARGONAUT" \
  --pod-host "$pod_host" \
  --up-log "$WORK/up.log" \
  --work "$WORK/conformance" \
  --corpus "$CORPUS" \
  --expected tests/workflow_conformance_expected.tsv \
  --jobs "${CONFORMANCE_JOBS:-8}" \
  --only "${CONFORMANCE_ONLY:-}" \
  --report "$report" || rc=$?
stop_up TERM
if [[ $rc -ne 0 ]]; then
  echo "--- tail of argonaut up's log" >&2
  tail -n 40 "$WORK/up.log" >&2 || true
  fail "examples differ from tests/workflow_conformance_expected.tsv (listed above; report: $report)"
fi
echo PASS
