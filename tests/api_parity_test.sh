#!/usr/bin/env bash
# Argo Server API parity: tests/api_parity_test.py walks Argo's OpenAPI
# document (../shared/api/argo-workflows.swagger.json beside the workspace, so a
# newer document can be dropped in) against a real `argonaut up`: every GET path
# that does not stream is served, every body validates against its definition,
# every error is a grpc-gateway error body. Prints the counts.
source tests/lib.sh

SWAGGER="${API_PARITY_SWAGGER:-$(workspace_dir)/../shared/api/argo-workflows.swagger.json}"
[[ -f "$SWAGGER" ]] || fail "Argo's OpenAPI document not found at $SWAGGER"
python3 tests/api_parity_test.py --selftest || fail "the validator's own checks misbehave"
start_up "$WORK/data"
rc=0
python3 tests/api_parity_test.py --swagger "$SWAGGER" --base "http://127.0.0.1:${PORT}" \
  --token "${ARGONAUT_TOKEN:-}" || rc=$?
if [[ $rc -ne 0 ]]; then
  echo "--- tail of argonaut up's log" >&2
  tail -n 30 "$WORK/up.log" >&2 || true
  fail "API parity: differences from Argo's document (above)"
fi
# `argonaut cron get` shows every schedule of the CronWorkflow.
out=$(run_cli cron get parity-cron)
grep -q "0 0 1 1 \*" <<<"$out" || fail "argonaut cron get does not show the schedule: $out"
echo PASS
