#!/usr/bin/env bash
# N Rollouts of 3 replicas each taken through a full canary (setWeight 50, pause 1 s, done) by
# the rollout controller, next to the same pods as N Deployments of 3 replicas rolled by the
# local Deployment controller, in the same `argonaut up --isolation plain` run. Prints both wall
# times (from the update to all N complete), the ratio rollouts/deployments, and the CPU the
# argonaut process used over each phase, per object.
#
#   bazel build //cli:argonaut && bench/rollout_vs_deployment.sh [N=100]
#   (or bazel run //bench:rollout_vs_deployment -- [N])
#
# Both kinds run the same pod (argoproj/rollouts-demo, a built-in C++ server) with the same
# template, and both are updated by one `argonaut apply -f` of N manifests with the image
# changed from :blue to :green. "Complete" for a Deployment: observedGeneration current,
# replicas = updatedReplicas = availableReplicas = 3 and every older ReplicaSet at 0 replicas;
# for a Rollout: phase Healthy, currentStepIndex 2 (past both steps), stableRS = currentPodHash = the new hash, replicas =
# updatedReplicas = availableReplicas = 3 and the old ReplicaSet at 0. The Deployments are rolled
# first, then the Rollouts, so that each phase's CPU is its own; all 6N pods stay up
# throughout. Completion is read by polling `argonaut get ... -o json` every POLL seconds
# (default 0.5), so each wall time is up to one poll late; the polling's own cost lands in both
# phases alike.
#
# CPU: utime+stime of the `argonaut up` process (/proc/PID/stat: every thread of the store,
# gateway, kubelet, Deployment/ReplicaSet controllers, rollout and analysis controllers; not the
# pods, which are child processes) over each phase, divided by N. It is the whole process,
# so the rollout phase's figure also contains the kubelet's work for the canary's pods and the
# Deployment phase's the kubelet's work for its pods.
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), RUN_TIMEOUT (seconds per phase, 1200),
# POLL (seconds, 0.5).
set -euo pipefail

N=${1:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
# `bazel run //bench:rollout_vs_deployment` runs from its runfiles, which hold the CLI.
if [[ -z "${ARGONAUT:-}" && -x "$PWD/cli/argonaut" ]]; then ARGONAUT=$PWD/cli/argonaut; fi
ARGONAUT=${ARGONAUT:-$HERE/../bazel-bin/cli/argonaut}
RUN_TIMEOUT=${RUN_TIMEOUT:-1200}
POLL=${POLL:-0.5}
[[ -x "$ARGONAUT" ]] || { echo "no argonaut binary at $ARGONAUT (bazel build //cli:argonaut)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rollout_vs_deployment.XXXXXX)
UP_PID=""
cleanup() {
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# manifests KIND COLOR: N objects of KIND (Rollout or Deployment) running :COLOR.
manifests() {
  python3 - "$1" "$2" "$N" <<'PY'
import sys
kind, color, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
prefix = "ro" if kind == "Rollout" else "dp"
api = "argoproj.io/v1alpha1" if kind == "Rollout" else "apps/v1"
for i in range(n):
    name = f"{prefix}-{i}"
    print(f"""---
apiVersion: {api}
kind: {kind}
metadata:
  name: {name}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: demo
        image: argoproj/rollouts-demo:{color}
        ports: [{{containerPort: 8080}}]""")
    if kind == "Rollout":
        print("""  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {duration: 1}""")
PY
}

# wait_all KIND COLOR: polls until all N objects of KIND are complete on :COLOR; prints the
# seconds from START (epoch seconds) to the poll that saw it. Fails after RUN_TIMEOUT.
wait_all() {
  python3 - "$ARGONAUT" "$1" "$2" "$N" "$START" "$RUN_TIMEOUT" "$POLL" <<'PY'
import json, subprocess, sys, time
argonaut, kind, color, n, start, timeout, poll = sys.argv[1:8]
n, start, timeout, poll = int(n), float(start), float(timeout), float(poll)
prefix = "ro" if kind == "Rollout" else "dp"
image = f"argoproj/rollouts-demo:{color}"

def get(what):
    out = subprocess.run([argonaut, "get", what, "-o", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"argonaut get {what}: {out.stderr.strip()}")
    return json.loads(out.stdout).get("items", [])

def image_of(obj):
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]

def pending():
    """Names of the objects not complete yet, with why."""
    objs = {o["metadata"]["name"]: o for o in get("rollouts" if kind == "Rollout" else "deployments")}
    rs_by_owner = {}
    for rs in get("rs"):
        for ref in rs["metadata"].get("ownerReferences") or []:
            rs_by_owner.setdefault(ref.get("name"), []).append(rs)
    bad = []
    for i in range(n):
        name = f"{prefix}-{i}"
        o = objs.get(name)
        if o is None:
            bad.append(f"{name}: missing"); continue
        s = o.get("status") or {}
        if image_of(o) != image:
            bad.append(f"{name}: spec not updated"); continue
        if not (s.get("replicas") == s.get("updatedReplicas") == s.get("availableReplicas") == 3):
            bad.append(f"{name}: replicas {s.get('replicas')} updated {s.get('updatedReplicas')} "
                       f"available {s.get('availableReplicas')}"); continue
        if kind == "Deployment" and \
                int(s.get("observedGeneration") or 0) < int(o["metadata"].get("generation") or 0):
            bad.append(f"{name}: generation not observed"); continue
        if kind == "Rollout":
            if s.get("phase") != "Healthy" or s.get("currentStepIndex") != 2 or not s.get("stableRS") or s.get("stableRS") != s.get("currentPodHash"):
                bad.append(f"{name}: phase {s.get('phase')} step {s.get('currentStepIndex')} stable {s.get('stableRS')} current {s.get('currentPodHash')}")
                continue
        old = [rs for rs in rs_by_owner.get(name, []) if image_of(rs) != image]
        new = [rs for rs in rs_by_owner.get(name, []) if image_of(rs) == image]
        if len(new) != 1 or any((rs["spec"].get("replicas") or 0) != 0 or
                                ((rs.get("status") or {}).get("replicas") or 0) != 0 for rs in old):
            bad.append(f"{name}: {len(new)} new RS, old RS replicas "
                       f"{[(rs['spec'].get('replicas'), (rs.get('status') or {}).get('replicas')) for rs in old]}")
    return bad

last = []
while True:
    try:
        last = pending()
    except Exception as e:  # the server busy: count it as not done, and say so at the end
        last = [f"poll failed: {e}"]
    if not last:
        print(f"{time.time() - start:.3f}")
        sys.exit(0)
    if time.time() - start > timeout:
        print(f"{kind}s not complete after {timeout:.0f}s; {len(last)} pending, e.g.:", file=sys.stderr)
        for line in last[:10]:
            print("  " + line, file=sys.stderr)
        sys.exit(1)
    time.sleep(poll)
PY
}

cpu_seconds() {
  python3 - "$UP_PID" <<'PY'
import os, sys
f = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
print((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))
PY
}
now() { date +%s.%N; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ARGONAUT" up --isolation plain --data "$WORK/data" --port "$port" >"$WORK/up.log" 2>&1 &
UP_PID=$!
export ARGONAUT_SERVER="127.0.0.1:$port"
ready=""
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$UP_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  echo "argonaut up did not become ready:" >&2
  tail -n 20 "$WORK/up.log" >&2
  exit 1
fi
# Auth is on (auth-mode client): the CLI sends the admin token up wrote.
ARGONAUT_TOKEN=$(cat "$WORK/data/admin.token")
export ARGONAUT_TOKEN

manifests Deployment blue >"$WORK/dp-blue.yaml"
manifests Deployment green >"$WORK/dp-green.yaml"
manifests Rollout blue >"$WORK/ro-blue.yaml"
manifests Rollout green >"$WORK/ro-green.yaml"

# The first revision of both: not measured (a Rollout's first revision skips its steps).
START=$(now)
"$ARGONAUT" apply -f "$WORK/dp-blue.yaml" >/dev/null
"$ARGONAUT" apply -f "$WORK/ro-blue.yaml" >/dev/null
t=$(wait_all Deployment blue) || { tail -n 20 "$WORK/up.log" >&2; exit 1; }
t=$(wait_all Rollout blue) || { tail -n 20 "$WORK/up.log" >&2; exit 1; }
echo "setup: $N Deployments and $N Rollouts of 3 replicas ($((6 * N)) pods) ready after ${t}s"

# phase KIND: update all N to :green, wait; sets WALL and CPU.
phase() {
  local kind=$1 file c0 c1
  [[ $kind == Rollout ]] && file="$WORK/ro-green.yaml" || file="$WORK/dp-green.yaml"
  c0=$(cpu_seconds)
  START=$(now)
  "$ARGONAUT" apply -f "$file" >/dev/null
  WALL=$(wait_all "$kind" green) || { tail -n 20 "$WORK/up.log" >&2; return 1; }
  c1=$(cpu_seconds)
  CPU=$(python3 -c "print(f'{$c1 - $c0:.2f}')")
}

phase Deployment
DP_WALL=$WALL DP_CPU=$CPU
printf 'deployments: %s s  (%d rolled :blue -> :green; argonaut process %s s CPU, %s ms per deployment)\n' \
  "$DP_WALL" "$N" "$DP_CPU" "$(python3 -c "print(f'{$DP_CPU * 1000 / $N:.1f}')")"
phase Rollout
RO_WALL=$WALL RO_CPU=$CPU
printf 'rollouts:    %s s  (%d canaries setWeight 50, pause 1s; argonaut process %s s CPU, %s ms per rollout)\n' \
  "$RO_WALL" "$N" "$RO_CPU" "$(python3 -c "print(f'{$RO_CPU * 1000 / $N:.1f}')")"
echo "ratio rollouts/deployments: wall $(python3 -c "print(f'{$RO_WALL / $DP_WALL:.2f}')")," \
  "CPU $(python3 -c "print(f'{$RO_CPU / $DP_CPU:.2f}' if $DP_CPU > 0 else 'n/a')")"
