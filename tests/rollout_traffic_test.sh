#!/usr/bin/env bash
# Traffic routing (examples/rollouts/canary-traffic.yaml: trafficRouting.smi
# with a root Service) against `argonaut up`: at setWeight 20, 10,000 requests
# to /color through the root Service's loopback port, each on a new
# connection, reach the canary 20% +- 2% (the measured share is printed); the
# canary and stable Services answer one version each; the stable ReplicaSet
# stays at 5 pods; an abort sends every request back to stable at once and
# scales the canary away after abortScaleDownDelaySeconds; retry and
# promote --full complete.
source tests/lib.sh
source tests/rollout_lib.sh

RO=rollouts-traffic
start_up "$WORK/data"
run_cli apply -f "$(examples_dir)/canary-traffic.yaml" >/dev/null

wait_ro $RO "the first revision Healthy" 120 \
  's.get("phase")=="Healthy" and s.get("availableReplicas")==5 and s.get("stableRS") and s.get("stableRS")==s.get("currentPodHash")'
V1=$(ro_field $RO stableRS)
wait_replicas $RO "$V1" 5
wait_colors $RO 'c == {"blue": 20}'

run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:yellow >/dev/null
wait_ro $RO "the update paused at setWeight 20" 120 \
  "s.get('phase')=='Paused' and s.get('currentStepIndex')==1 and s.get('currentPodHash') not in (None, '', '$V1')"
V2=$(ro_field $RO currentPodHash)
wait_replicas $RO "$V2" 1
wait_replicas $RO "$V1" 5
ro_check $RO "((s.get('canary') or {}).get('weights') or {}).get('canary',{}).get('weight')==20" ||
  ro_fail "status.canary.weights.canary.weight is not 20"
wait_colors $RO-canary 'c == {"yellow": 20}'
wait_colors $RO-stable 'c == {"blue": 20}'
"$ARGONAUT" get svc $RO -o json | python3 -c '
import json,sys
s=json.load(sys.stdin)
sel=s["spec"]["selector"]
assert "rollouts-pod-template-hash" not in sel, sel
print("root Service split:", (s["metadata"].get("annotations") or {}).get("argonaut.io/traffic-split"), file=sys.stderr)' ||
  ro_fail "the root Service selects one version only"

PORT=$(svc_port $RO)
start=$SECONDS
counts=$(colors "$PORT" 10000 8)
echo "10000 requests through Service $RO (port $PORT) in $((SECONDS - start)) s: $counts" >&2
python3 - "$counts" <<'PY' || ro_fail "traffic split at setWeight 20 out of bounds: $counts"
import json, sys
c = json.loads(sys.argv[1])
total = sum(c.values())
assert total == 10000, total
assert set(c) <= {"blue", "yellow"}, "failed or unexpected answers: %s" % c
share = c.get("yellow", 0) / total
print("canary share: %.2f%% (setWeight 20)" % (100 * share))
assert 0.18 <= share <= 0.22, share
PY

# Abort: all traffic back to stable at once; the canary pod is kept for
# abortScaleDownDelaySeconds (30 s by default) before it is scaled away.
ABORTED_AT=$(date +%s.%N)
run_cli rollouts abort $RO >/dev/null
wait_ro $RO "Degraded after abort" 120 's.get("phase")=="Degraded" and s.get("abort") is True'
wait_colors $RO 'c == {"blue": 20}'
expect_replicas $RO "$V2" 1
wait_replicas $RO "$V2" 0 120
python3 -c "
d=$(date +%s.%N)-$ABORTED_AT
print('canary scaled to 0 %.1f s after abort (abortScaleDownDelaySeconds 30)' % d)
assert d >= 29, d" >&2 || ro_fail "the canary was scaled down before abortScaleDownDelaySeconds"
wait_replicas $RO "$V1" 5

if ! "$ARGONAUT" rollouts retry rollout $RO >"$WORK/retry.out" 2>&1; then
  run_cli rollouts retry $RO >/dev/null
fi
wait_ro $RO "the retried update paused at setWeight 20" 120 \
  "s.get('phase')=='Paused' and s.get('currentStepIndex')==1 and not s.get('abort')"
run_cli rollouts promote $RO --full >/dev/null
wait_ro $RO "Healthy after promote --full" 120 \
  "s.get('phase')=='Healthy' and s.get('stableRS')=='$V2' and s.get('availableReplicas')==5"
wait_replicas $RO "$V2" 5
wait_colors $RO 'c == {"yellow": 20}'
echo "PASS"
