#!/usr/bin/env bash
# The rollout path distributed: the cluster service, the rollout service
# (--cluster) and the gateway as three processes on loopback ports with
# their own data directories, driven through the gateway by the CLI. The
# seed's 5-replica canary goes to 1 canary pod at setWeight 20 and waits for
# promote; the rollout service is SIGKILLed during a timed pause and
# restarted; the rollout then completes with no step repeated and no extra
# ReplicaSet. Authentication is on: one token store, the rollout service
# reaches the cluster service with the system:service token, the CLI uses an
# admin token, and the services' ports refuse calls without one.
source tests/lib.sh
source tests/distributed_auth.sh

CLUSTER_BIN="$PWD/services/cluster/cluster"
ROLLOUT_BIN="$PWD/services/rollout/rollout"
GATEWAY_BIN="$PWD/gateway/gateway"

CLUSTER_GRPC=$(free_port)
CLUSTER_HTTP=$(free_port)
RO_GRPC=$(free_port)
RO_HTTP=$(free_port)
GW_PORT=$(free_port)
# Never the default ports of other services: only the three started here.
UNUSED=$(free_port)
export ARGONAUT_SERVER="127.0.0.1:${GW_PORT}"
make_deployment_tokens "$CLUSTER_BIN"

CLUSTER_PID=""
RO_PID=""
GW_PID=""
REC_PID=""

stop_all() {
  stop_pid "$REC_PID" TERM
  stop_pid "$GW_PID" TERM
  stop_pid "$RO_PID" TERM
  stop_pid "$CLUSTER_PID" TERM
  REC_PID="" GW_PID="" RO_PID="" CLUSTER_PID=""
}
trap stop_all EXIT

start_cluster() {
  "$CLUSTER_BIN" --grpc_port="$CLUSTER_GRPC" --http_port="$CLUSTER_HTTP" --isolation=plain \
    --data_dir="$WORK/cluster-data/cluster" --encryption_key_file="$WORK/encryption.key" \
    "${AUTH_FLAGS[@]}" >>"$WORK/cluster.log" 2>&1 &
  CLUSTER_PID=$!
  wait_ready cluster "$CLUSTER_PID" "http://127.0.0.1:${CLUSTER_HTTP}/readyz" "$WORK/cluster.log"
}

start_rollout() {
  "$ROLLOUT_BIN" --grpc_port="$RO_GRPC" --http_port="$RO_HTTP" \
    --data_dir="$WORK/rollout-data/rollout" --cluster="127.0.0.1:${CLUSTER_GRPC}" \
    "${AUTH_FLAGS[@]}" >>"$WORK/rollout.log" 2>&1 &
  RO_PID=$!
  wait_ready rollout "$RO_PID" "http://127.0.0.1:${RO_HTTP}/readyz" "$WORK/rollout.log"
}

start_gateway() {
  "$GATEWAY_BIN" --port="$GW_PORT" --rollout="127.0.0.1:${RO_GRPC}" \
    --cluster="127.0.0.1:${CLUSTER_GRPC}" --workflow="127.0.0.1:${UNUSED}" \
    --events="127.0.0.1:${UNUSED}" --cd="127.0.0.1:${UNUSED}" "${AUTH_FLAGS[@]}" \
    >>"$WORK/gateway.log" 2>&1 &
  GW_PID=$!
  wait_ready gateway "$GW_PID" "http://127.0.0.1:${GW_PORT}/readyz" "$WORK/gateway.log"
}

dump_logs() {
  for f in cluster rollout gateway; do
    echo "--- $f.log (tail)" >&2
    tail -n 40 "$WORK/$f.log" >&2 || true
  done
  echo "--- rollout status" >&2
  "$ARGONAUT" get rollout canary -o json 2>&1 | tail -n 60 >&2 || true
}

# The rollout's status field FIELD ("" when absent).
status_field() {
  "$ARGONAUT" get rollout canary -o json 2>/dev/null |
    python3 -c 'import json,sys
s=json.load(sys.stdin).get("status",{})
v=s.get(sys.argv[1],"")
print("" if v is None else v)' "$1"
}

# wait_until DESCRIPTION SECONDS PYTHON-EXPRESSION-ON-status
wait_until() {
  local what=$1 secs=$2 expr=$3
  for _ in $(seq 1 $((secs * 5))); do
    if "$ARGONAUT" get rollout canary -o json 2>/dev/null |
      python3 -c "import json,sys
s=json.load(sys.stdin).get('status',{})
sys.exit(0 if ($expr) else 1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  dump_logs
  fail "timed out waiting for $what"
}

# Running pods of revision HASH.
running_pods() {
  "$ARGONAUT" get pods -l "rollouts-pod-template-hash=$1" -o json 2>/dev/null |
    python3 -c 'import json,sys
d=json.load(sys.stdin)
print(sum(1 for p in d.get("items",[]) if p.get("status",{}).get("phase")=="Running"
          and not p.get("metadata",{}).get("deletionTimestamp")))' 2>/dev/null || echo -1
}

# expect_pods HASH N: waits up to 30 s for exactly N running pods.
expect_pods() {
  local n=""
  for _ in $(seq 1 150); do
    n=$(running_pods "$1")
    [[ $n -eq $2 ]] && return 0
    sleep 0.2
  done
  dump_logs
  fail "revision $1: expected $2 running pods, got $n"
}

manifest() {
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: canary
spec:
  replicas: 5
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: canary}
  template:
    metadata:
      labels: {app: canary}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: debian:12
        command: [sleep, "$1"]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 40
      - pause: {duration: 10s}
      - setWeight: 60
      - pause: {duration: 2s}
      - setWeight: 80
      - pause: {duration: 2s}
YAML
}

promote() {
  if "$ARGONAUT" rollouts promote canary >"$WORK/promote.out" 2>&1; then
    return 0
  fi
  # Without the rollouts commands: what promote patches, through apply.
  "$ARGONAUT" get rollout canary -o json |
    python3 -c 'import json,sys
r=json.load(sys.stdin); r.get("status",{}).pop("pauseConditions",None); print(json.dumps(r))' |
    "$ARGONAUT" apply -f - >/dev/null || { cat "$WORK/promote.out" >&2; fail "promote"; }
}

start_cluster
start_rollout
start_gateway
st=$(grpc_refused "$RO_GRPC" /argonaut.rollout.v1.RolloutService/ListRollouts)
[[ $st == 16 ]] || fail "gRPC call without a token to the rollout service: grpc-status $st, want 16"
grep -q "no cluster" "$WORK/rollout.log" && fail "rollout service runs without its controllers"

manifest 3600 | "$ARGONAUT" apply -f - >/dev/null || fail "apply the first revision"
wait_until "first revision Healthy" 60 's.get("phase")=="Healthy" and s.get("availableReplicas")==5'
V1=$(status_field stableRS)
[[ -n $V1 ]] || fail "no stableRS"
expect_pods "$V1" 5

# Every status the rollout goes through, as seen through the gateway.
(
  while true; do
    "$ARGONAUT" get rollout canary -o json 2>/dev/null |
      python3 -c 'import json,sys
s=json.load(sys.stdin).get("status",{})
print(s.get("currentPodHash",""), s.get("currentStepIndex",""), s.get("phase",""))' || true
    sleep 0.2
  done
) >"$WORK/steps.log" 2>/dev/null &
REC_PID=$!

manifest 3601 | "$ARGONAUT" apply -f - >/dev/null || fail "apply the second revision"
wait_until "pause at step 1" 60 's.get("currentStepIndex")==1 and s.get("phase")=="Paused"'
V2=$(status_field currentPodHash)
[[ -n $V2 && $V2 != "$V1" ]] || fail "no new revision ($V2)"
expect_pods "$V2" 1
expect_pods "$V1" 4
# An indefinite pause holds.
sleep 2
[[ $(status_field currentStepIndex) == 1 ]] || fail "the indefinite pause did not hold"

promote
wait_until "pause at step 3" 60 's.get("currentStepIndex")==3 and s.get("phase")=="Paused"'
expect_pods "$V2" 2
expect_pods "$V1" 3

# SIGKILL the rollout service inside the 10 s pause; the pods stay in the
# cluster service while no controller watches them.
kill -KILL "$RO_PID"
wait "$RO_PID" 2>/dev/null || true
RO_PID=""
sleep 1
start_rollout
wait_until "Healthy at the new revision" 90 \
  "s.get('phase')=='Healthy' and s.get('stableRS')=='$V2' and s.get('availableReplicas')==5"
expect_pods "$V2" 5
expect_pods "$V1" 0
stop_pid "$REC_PID" TERM
REC_PID=""

# No extra ReplicaSet: one per revision.
n=$("$ARGONAUT" get replicasets -l rollouts-pod-template-hash -o name | wc -l)
[[ $n -eq 2 ]] || { dump_logs; fail "expected 2 ReplicaSets, got $n"; }
# No step repeated: the new revision's step index only moved forward.
python3 - "$WORK/steps.log" "$V2" <<'PY' || { dump_logs; fail "a step repeated"; }
import sys
steps = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 2 and parts[0] == sys.argv[2] and parts[1].isdigit():
        s = int(parts[1])
        if not steps or steps[-1] != s:
            steps.append(s)
print("steps of the new revision:", steps)
if any(b < a for a, b in zip(steps, steps[1:])) or not steps or steps[-1] != 8:
    sys.exit(1)
PY

# The rollout service exports Argo's rollout metrics.
curl -sf "http://127.0.0.1:${RO_HTTP}/metrics" >"$WORK/metrics.txt" || fail "rollout /metrics"
grep -q '^rollout_info{.*name="canary".*phase="Completed"' "$WORK/metrics.txt" ||
  { grep '^rollout_' "$WORK/metrics.txt" >&2; fail "rollout_info of a completed rollout"; }
grep -q '^rollout_reconcile_bucket' "$WORK/metrics.txt" || fail "rollout_reconcile histogram"

# Each service stops cleanly on SIGTERM (exit 0), the cluster with its pods.
stop_pid "$GW_PID" TERM
[[ $STOP_RC -eq 0 ]] || fail "gateway exited $STOP_RC on SIGTERM"
GW_PID=""
stop_pid "$RO_PID" TERM
[[ $STOP_RC -eq 0 ]] || { dump_logs; fail "rollout service exited $STOP_RC on SIGTERM"; }
RO_PID=""
stop_pid "$CLUSTER_PID" TERM
[[ $STOP_RC -eq 0 ]] || { dump_logs; fail "cluster service exited $STOP_RC on SIGTERM"; }
CLUSTER_PID=""
echo "PASS"
