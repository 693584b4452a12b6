#!/usr/bin/env bash
# The seed's analysis demo (examples/rollouts/analysis-job.yaml) through the
# CLI against `argonaut up`, with its chance check pinned: a Job metric whose
# busybox check always fails (`exit 1`, 2 measurements > failureLimit 1) fails
# the step AnalysisRun, which aborts the update: Degraded, every pod and all
# of the Service's traffic back on the stable version. Beside it, a copy whose
# check always passes (`exit 0`) completes Healthy. Then the failing template
# is fixed and the aborted update retried: it completes.
source tests/lib.sh
source tests/rollout_lib.sh

FAILING=rollouts-analysis
PASSING=rollouts-analysis-pass
start_up "$WORK/data"

# manifest CHECK [SUFFIX]: the seed's file with its check replaced by CHECK and
# every name (template, rollout, labels, Service) suffixed.
manifest() {
  python3 - "$(examples_dir)/analysis-job.yaml" "$1" "${2:-}" <<'PY'
import sys
text = open(sys.argv[1]).read()
check = "'[[ $(expr $RANDOM % 2) -eq 1 ]]'"
assert check in text, "analysis-job.yaml changed shape"
text = text.replace(check, sys.argv[2])
if sys.argv[3]:
    text = text.replace("rollouts-analysis", "rollouts-analysis" + sys.argv[3])
    text = text.replace("random-pass", "random-pass" + sys.argv[3])
print(text, end="")
PY
}

# analysis_runs ROLLOUT: "name phase failed successful" per AnalysisRun the
# rollout owns, one a line.
analysis_runs() {
  "$ARGONAUT" get analysisruns -o json 2>/dev/null | python3 -c '
import json,sys
for a in json.load(sys.stdin).get("items", []):
    owners = [o.get("name") for o in a["metadata"].get("ownerReferences", []) or []]
    if sys.argv[1] not in owners:
        continue
    st = a.get("status") or {}
    mr = (st.get("metricResults") or [{}])[0]
    print(a["metadata"]["name"], st.get("phase", ""), mr.get("failed", 0), mr.get("successful", 0))
' "$1"
}

manifest 'exit 1' >"$WORK/failing.yaml"
manifest 'exit 0' -pass >"$WORK/passing.yaml"
run_cli apply -f "$WORK/failing.yaml" >/dev/null
run_cli apply -f "$WORK/passing.yaml" >/dev/null
for RO in $FAILING $PASSING; do
  wait_ro $RO "the first revision Healthy" 120 \
    's.get("phase")=="Healthy" and s.get("availableReplicas")==5 and s.get("stableRS") and s.get("stableRS")==s.get("currentPodHash")'
done
F1=$(ro_field $FAILING stableRS)
P1=$(ro_field $PASSING stableRS)
RO=$FAILING
wait_colors $FAILING 'c == {"blue": 20}'

# Both updated at once; no AnalysisRun for the first deploys.
[[ -z $(analysis_runs $FAILING) ]] || ro_fail "an AnalysisRun for the first deploy: $(analysis_runs $FAILING)"
run_cli rollouts set image $FAILING rollouts-demo=argoproj/rollouts-demo:yellow >/dev/null
run_cli rollouts set image $PASSING rollouts-demo=argoproj/rollouts-demo:yellow >/dev/null

# The failing check: the step's AnalysisRun fails, the update is aborted.
RO=$FAILING
wait_ro $FAILING "the update observed" 120 \
  "s.get('currentPodHash') not in (None, '', '$F1')"
F2=$(ro_field $FAILING currentPodHash)
wait_ro $FAILING "Degraded after the failed analysis" 120 \
  's.get("phase")=="Degraded" and s.get("abort") is True'
echo "failing rollout: $(ro_field $FAILING message)" >&2
runs=$(analysis_runs $FAILING)
echo "AnalysisRuns of $FAILING: $runs" >&2
[[ $(wc -l <<<"$runs") -eq 1 ]] || ro_fail "expected 1 AnalysisRun, got: $runs"
read -r run phase failed _ <<<"$runs"
[[ $phase == Failed && $failed -ge 2 ]] || ro_fail "AnalysisRun $run: phase $phase, $failed failed measurements"
wait_replicas $FAILING "$F2" 0
wait_replicas $FAILING "$F1" 5
wait_colors $FAILING 'c == {"blue": 20}'
[[ $(ro_field $FAILING stableRS) == "$F1" ]] || ro_fail "stableRS changed by the failed analysis"
"$ARGONAUT" get analysisruns | grep -q "$run" || ro_fail "get analysisruns does not list $run"

# The passing check: the rollout completes.
RO=$PASSING
wait_ro $PASSING "Healthy after the passing analysis" 180 \
  "s.get('phase')=='Healthy' and s.get('stableRS') not in (None, '', '$P1') and s.get('availableReplicas')==5"
P2=$(ro_field $PASSING stableRS)
wait_replicas $PASSING "$P2" 5
wait_replicas $PASSING "$P1" 0
wait_colors $PASSING 'c == {"yellow": 20}'
runs=$(analysis_runs $PASSING)
echo "AnalysisRuns of $PASSING: $runs" >&2
read -r run phase failed ok <<<"$runs"
[[ $phase == Successful && $failed -eq 0 && $ok -ge 2 ]] ||
  ro_fail "AnalysisRun $run of the passing rollout: phase $phase, failed $failed, successful $ok"

# Fix the failing template and retry the aborted update: it completes.
RO=$FAILING
# Only the template (the file's first document): the rollout keeps its image.
manifest 'exit 0' | awk '/^---$/ {exit} {print}' >"$WORK/fixed.yaml"
grep -q "kind: AnalysisTemplate" "$WORK/fixed.yaml" && ! grep -q "kind: Rollout" "$WORK/fixed.yaml" ||
  fail "the template document was not split off: $(cat "$WORK/fixed.yaml")"
run_cli apply -f "$WORK/fixed.yaml" >/dev/null
if ! "$ARGONAUT" rollouts retry rollout $FAILING >"$WORK/retry.out" 2>&1; then
  run_cli rollouts retry $FAILING >/dev/null
fi
wait_ro $FAILING "Healthy after retry with a passing check" 180 \
  "s.get('phase')=='Healthy' and s.get('stableRS')=='$F2' and s.get('availableReplicas')==5"
wait_replicas $FAILING "$F2" 5
wait_replicas $FAILING "$F1" 0
runs=$(analysis_runs $FAILING)
echo "AnalysisRuns of $FAILING after retry: $runs" >&2
grep -q " Successful " <<<"$runs" || ro_fail "no Successful AnalysisRun after retry: $runs"
echo "PASS"
