#!/usr/bin/env bash
# The seed's canary (examples/rollouts/canary.yaml, 5 replicas of the demo app)
# through the CLI against `argonaut up`: the first deploy goes to 100% at once;
# an update stops at setWeight 20 with 1 new pod and 4 old ones and stays
# paused until `rollouts promote`; 40% is 2 new / 3 old; the timed pauses
# proceed by themselves to Healthy with all pods new and the old ReplicaSet at
# 0. A second update is aborted (Degraded, every pod stable), retried (back to
# step 1), fully promoted, and undone. The Service's loopback port answers the
# colors of the pods behind it at each stage.
source tests/lib.sh
source tests/rollout_lib.sh

RO=rollouts-demo
start_up "$WORK/data"

out=$(run_cli apply -f "$(examples_dir)/canary.yaml")
grep -q "rollout.argoproj.io/$RO created" <<<"$out" || ro_fail "apply output: $out"

# First deploy: no steps, straight to Healthy with 5 pods.
wait_ro $RO "the first revision Healthy" 120 \
  's.get("phase")=="Healthy" and s.get("availableReplicas")==5 and s.get("stableRS") and s.get("stableRS")==s.get("currentPodHash")'
V1=$(ro_field $RO stableRS)
wait_replicas $RO "$V1" 5
wait_colors $RO 'c == {"blue": 20}'
run_cli rollouts status $RO --timeout 60s >/dev/null
listed=$(run_cli rollouts list)
grep -q "^$RO " <<<"$listed" || ro_fail "rollouts list does not show $RO"

# Update: 20% is 1 pod of 5, and the indefinite pause holds.
run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:yellow >/dev/null
wait_ro $RO "the update paused at step 1 (setWeight 20 done)" 120 \
  's.get("phase")=="Paused" and s.get("currentStepIndex")==1 and s.get("currentPodHash") not in (None, "", s.get("stableRS"))'
V2=$(ro_field $RO currentPodHash)
[[ $(ro_field $RO stableRS) == "$V1" ]] || ro_fail "stableRS changed during the update"
wait_replicas $RO "$V2" 1
wait_replicas $RO "$V1" 4
wait_colors $RO 'c.get("yellow",0) in range(2,7) and c.get("yellow",0)+c.get("blue",0)==20'
out=$(run_cli rollouts get $RO)
echo "$out" >&2
grep -q "Paused" <<<"$out" || ro_fail "rollouts get does not show Paused"
grep -Eq "Step: +1/8" <<<"$out" || ro_fail "rollouts get does not show Step 1/8"
grep -Eq "SetWeight: +20" <<<"$out" || ro_fail "rollouts get does not show SetWeight 20"
run_cli rollouts list >&2
# Still paused a few seconds later, nothing moved.
sleep 4
ro_check $RO 's.get("phase")=="Paused" and s.get("currentStepIndex")==1' ||
  ro_fail "the indefinite pause did not hold"
expect_replicas $RO "$V2" 1
expect_replicas $RO "$V1" 4
set +e
"$ARGONAUT" rollouts status $RO --timeout 2s >"$WORK/status.out" 2>&1
rc=$?
set -e
[[ $rc -ne 0 ]] || { cat "$WORK/status.out" >&2; ro_fail "rollouts status exited 0 while Paused"; }

# Promote: 40% = 2 new / 3 old, then the 10 s pauses run out by themselves.
run_cli rollouts promote $RO >/dev/null
wait_ro $RO "step 3 (the first timed pause) after promote" 120 \
  's.get("currentStepIndex",0)>=3'
wait_replicas $RO "$V2" 2 30
wait_replicas $RO "$V1" 3 30
ro_check $RO 's.get("currentStepIndex")==3' ||
  ro_fail "the 10 s pause at step 3 did not hold while 40% was reached"
wait_ro $RO "Healthy at the new revision" 120 \
  "s.get('phase')=='Healthy' and s.get('stableRS')=='$V2' and s.get('availableReplicas')==5 and s.get('currentStepIndex')==8"
wait_replicas $RO "$V2" 5
wait_replicas $RO "$V1" 0
wait_colors $RO 'c == {"yellow": 20}'
run_cli rollouts status $RO --timeout 60s >/dev/null

# A second update, aborted at 20%: Degraded, every pod back on the stable one.
run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:green >/dev/null
wait_ro $RO "the second update paused at step 1" 120 \
  "s.get('phase')=='Paused' and s.get('currentStepIndex')==1 and s.get('currentPodHash') not in (None, '', '$V2')"
V3=$(ro_field $RO currentPodHash)
wait_replicas $RO "$V3" 1
wait_replicas $RO "$V2" 4
run_cli rollouts abort $RO >/dev/null
wait_ro $RO "Degraded after abort" 120 \
  's.get("phase")=="Degraded" and s.get("abort") is True and "RolloutAborted" in (s.get("message") or "")'
wait_replicas $RO "$V3" 0
wait_replicas $RO "$V2" 5
wait_colors $RO 'c == {"yellow": 20}'
[[ $(ro_field $RO stableRS) == "$V2" ]] || ro_fail "stableRS changed by the abort"
expect_cli_fails rollouts status $RO --timeout 5s

# Retry: the update starts again from step 0 and pauses at 20%.
if ! "$ARGONAUT" rollouts retry rollout $RO >"$WORK/retry.out" 2>&1; then
  run_cli rollouts retry $RO >/dev/null
fi
wait_ro $RO "the retried update paused at step 1" 120 \
  "s.get('phase')=='Paused' and s.get('currentStepIndex')==1 and not s.get('abort') and s.get('currentPodHash')=='$V3'"
wait_replicas $RO "$V3" 1
wait_replicas $RO "$V2" 4

# promote --full skips the remaining steps.
run_cli rollouts promote $RO --full >/dev/null
wait_ro $RO "Healthy at the third revision after promote --full" 120 \
  "s.get('phase')=='Healthy' and s.get('stableRS')=='$V3' and s.get('availableReplicas')==5"
wait_replicas $RO "$V3" 5
wait_replicas $RO "$V2" 0
wait_colors $RO 'c == {"green": 20}'

# Undo: back to the yellow template (the previous revision's hash), as an
# update that goes through the steps again.
run_cli rollouts undo $RO >/dev/null
wait_ro $RO "undo to the previous revision paused at step 1" 120 \
  "s.get('currentPodHash')=='$V2' and s.get('stableRS')=='$V3' and s.get('phase')=='Paused' and s.get('currentStepIndex')==1"
wait_replicas $RO "$V2" 1
wait_replicas $RO "$V3" 4
"$ARGONAUT" get rollout $RO -o json | python3 -c '
import json,sys
r=json.load(sys.stdin)
img=r["spec"]["template"]["spec"]["containers"][0]["image"]
assert img=="argoproj/rollouts-demo:yellow", img' || ro_fail "undo did not restore the yellow image"
echo "PASS"
