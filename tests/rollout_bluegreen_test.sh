#!/usr/bin/env bash
# The seed's blue-green demo (examples/rollouts/bluegreen.yaml with a 15 s
# scaleDownDelaySeconds) through the CLI against `argonaut up`: after
# `rollouts set image` the new version answers on the preview Service while
# the active one still answers the old; the rollout waits (autoPromotionEnabled
# false) until `rollouts promote`, which switches the active Service; the old
# ReplicaSet keeps its pods for scaleDownDelaySeconds after the switch and is
# then scaled to zero.
source tests/lib.sh
source tests/rollout_lib.sh

RO=rollout-bluegreen
ACTIVE=rollout-bluegreen-active
PREVIEW=rollout-bluegreen-preview
DELAY=15
start_up "$WORK/data"

python3 - "$(examples_dir)/bluegreen.yaml" "$DELAY" >"$WORK/bluegreen.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
key = "      autoPromotionEnabled: false\n"
assert key in text, "bluegreen.yaml changed shape"
print(text.replace(key, key + "      scaleDownDelaySeconds: %s\n" % sys.argv[2]), end="")
PY
run_cli apply -f "$WORK/bluegreen.yaml" >/dev/null

wait_ro $RO "the first revision Healthy" 120 \
  's.get("phase")=="Healthy" and s.get("availableReplicas")==2 and s.get("stableRS") and s.get("stableRS")==s.get("currentPodHash")'
V1=$(ro_field $RO stableRS)
wait_replicas $RO "$V1" 2
wait_colors $ACTIVE 'c == {"blue": 20}'
wait_colors $PREVIEW 'c == {"blue": 20}'

# The new version behind preview; active unchanged; paused for promotion.
run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:green >/dev/null
wait_ro $RO "the new revision up and paused before the switch" 120 \
  "s.get('phase')=='Paused' and s.get('currentPodHash') not in (None, '', '$V1')"
V2=$(ro_field $RO currentPodHash)
wait_replicas $RO "$V2" 2
wait_replicas $RO "$V1" 2
wait_colors $PREVIEW 'c == {"green": 20}'
wait_colors $ACTIVE 'c == {"blue": 20}'
ro_check $RO "(s.get('blueGreen') or {}).get('activeSelector')=='$V1' and (s.get('blueGreen') or {}).get('previewSelector')=='$V2'" ||
  ro_fail "status.blueGreen selectors are not active=$V1 preview=$V2"
sleep 4
ro_check $RO "s.get('phase')=='Paused' and s.get('stableRS')=='$V1'" ||
  ro_fail "the blue-green pause did not hold"
wait_colors $ACTIVE 'c == {"blue": 20}' 1

# Promote: active switches; the old pods stay for the delay, then go.
PROMOTED_AT=$(date +%s.%N)
run_cli rollouts promote $RO >/dev/null
wait_colors $ACTIVE 'c == {"green": 20}'
SWITCHED_AT=$(date +%s.%N)
expect_replicas $RO "$V1" 2
echo "old ReplicaSet still has 2 pods $(python3 -c "print(round($SWITCHED_AT-$PROMOTED_AT,1))") s after promote" >&2
"$ARGONAUT" get rs "$RO-$V1" -o json | python3 -c '
import json,sys
a=json.load(sys.stdin)["metadata"].get("annotations") or {}
assert "scale-down-deadline" in a, a
print("scale-down-deadline:", a["scale-down-deadline"], file=sys.stderr)' ||
  ro_fail "the old ReplicaSet has no scale-down-deadline annotation"
wait_ro $RO "Healthy at the new revision" 120 \
  "s.get('phase')=='Healthy' and s.get('stableRS')=='$V2'"
wait_replicas $RO "$V1" 0 120
GONE_AT=$(date +%s.%N)
python3 -c "
d=$GONE_AT-$PROMOTED_AT
print('old ReplicaSet scaled to 0 %.1f s after promote (scaleDownDelaySeconds $DELAY)' % d)
assert d >= $DELAY - 1, 'scaled down after %.1f s, before scaleDownDelaySeconds' % d" >&2 ||
  ro_fail "the old ReplicaSet was scaled down before scaleDownDelaySeconds"
wait_replicas $RO "$V2" 2
wait_colors $ACTIVE 'c == {"green": 20}'
wait_colors $PREVIEW 'c == {"green": 20}'
echo "PASS"
