#!/usr/bin/env bash
# podGC at scale (issue 15): one workflow of N pods (a step withSequence {count: N}, parallelism P,
# each pod busybox `true`) with podGC {strategy: OnPodCompletion} under `argonaut up`. Prints
# - the workflow's run time (status.startedAt to finishedAt): the reference;
# - the pods left when it ended and 60 s later (must be 0);
# - how long pods outlived their node: each pod's deletion as seen by a watch on the pods (REST
#   `GET /api/v1/pods/default?watch=true`, timestamped on arrival) against its node's
#   status.finishedAt (1 s resolution) and against the watch event that showed the pod completed
#   (the runtime's own record, same clock as the deletion); for the last pod deleted, the maximum
#   and the median, each also as a ratio to the run time.
#
#   bazel build //cli:argonaut && bench/podgc_scale.sh [N=1000] [P=50]
#
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), ISOLATION (plain: the runtime's
# plain-process mode; `namespaces` for isolated pods), RUN_TIMEOUT (whole run, 1800 s), KEEP=1
# keeps the work dir (up.log, the watch record pods.log, the workflow wf.json).
set -euo pipefail

N=${1:-1000}
P=${2:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
ARGONAUT=${ARGONAUT:-$HERE/../bazel-bin/cli/argonaut}
ISOLATION=${ISOLATION:-plain}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
WF=podgc-scale
[[ $N =~ ^[1-9][0-9]*$ && $P =~ ^[1-9][0-9]*$ ]] || { echo "N, P: expected positive numbers" >&2; exit 2; }
[[ -x "$ARGONAUT" ]] || { echo "no argonaut binary at $ARGONAUT (bazel build //cli:argonaut)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/podgc_scale.XXXXXX)
DATA="$WORK/data"
UP_PID=""
WATCH_PID=""
cleanup() {
  [[ -n "$WATCH_PID" ]] && kill "$WATCH_PID" 2>/dev/null || true
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
START=$(date +%s)
left() { echo $((START + RUN_TIMEOUT - $(date +%s))); }

# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
bench_start_up "$ISOLATION" "$DATA" "$WORK/up.log" || exit 1
SEL="workflows.argoproj.io%2Fworkflow%3D$WF"
count_pods() {
  curl -sf -H "Authorization: Bearer $ARGONAUT_TOKEN" "$API/pods/default?labelSelector=$SEL" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("items") or []))'
}

# The watch: one line per event, "<unix time> <type> <pod> <phase> <node-id>".
python3 -u - "$API/pods/default?watch=true&labelSelector=$SEL" "$ARGONAUT_TOKEN" \
  >"$WORK/pods.log" 2>"$WORK/watch.err" <<'PY' &
import json, sys, time, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": f"Bearer {sys.argv[2]}"})
with urllib.request.urlopen(req, timeout=None) as stream:
    print(f"{time.time():.3f} OPEN - - -")
    for line in stream:
        t = time.time()
        if not line.strip():
            continue
        e = json.loads(line)
        e = e.get("result", e)
        o = e.get("object") or {}
        meta = o.get("metadata") or {}
        node = (meta.get("annotations") or {}).get("workflows.argoproj.io/node-id", "-")
        phase = (o.get("status") or {}).get("phase") or "-"
        print(f"{t:.3f} {e.get('type')} {meta.get('name')} {phase} {node}")
PY
WATCH_PID=$!
for _ in $(seq 1 100); do
  [[ -s "$WORK/pods.log" ]] && break
  sleep 0.1
done
[[ -s "$WORK/pods.log" ]] || { echo "the pod watch did not open: $(cat "$WORK/watch.err")" >&2; exit 1; }

cat >"$WORK/wf.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: $WF
spec:
  entrypoint: main
  parallelism: $P
  podGC:
    strategy: OnPodCompletion
  templates:
  - name: main
    steps:
    - - name: pod
        template: one
        withSequence:
          count: "$N"
  - name: one
    container:
      image: busybox
      command: [sh, -c, "true"]
YAML
echo "argonaut up --isolation $ISOLATION ($ARGONAUT): one workflow of $N pods, parallelism $P," \
  "podGC OnPodCompletion"
"$ARGONAUT" submit "$WORK/wf.yaml" >/dev/null
phase=$(timeout "$(left)" "$ARGONAUT" wait "$WF" 2>/dev/null | awk '{print $2}' || true)
t_end=$(date +%s.%N)
left_at_end=$(count_pods)
[[ "$phase" == Succeeded ]] || { echo "FAIL: workflow ended '${phase:-not finished}'" >&2; exit 1; }
left_later=$left_at_end
for _ in $(seq 1 60); do
  [[ $left_later == 0 ]] && break
  sleep 1
  left_later=$(count_pods)
done
"$ARGONAUT" get wf "$WF" -o json >"$WORK/wf.json"
sleep 1  # the watch's last events
kill "$WATCH_PID" 2>/dev/null || true
WATCH_PID=""

python3 - "$WORK/wf.json" "$WORK/pods.log" "$N" "$left_at_end" "$left_later" "$t_end" <<'PY'
import datetime, json, statistics, sys
wf = json.load(open(sys.argv[1]))
n, left_end, left_later, t_end = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
ts = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
st = wf["status"]
run = ts(st["finishedAt"]) - ts(st["startedAt"])
nodes = {k: v for k, v in st["nodes"].items() if v.get("type") == "Pod"}
done_seen, deleted, node_of = {}, {}, {}
for line in open(sys.argv[2]):
    t, typ, pod, phase, node = line.split()
    t = float(t)
    if node != "-":
        node_of[pod] = node
    if phase in ("Succeeded", "Failed") and pod not in done_seen:
        done_seen[pod] = t
    if typ == "DELETED":
        deleted[pod] = t
after_node, after_seen = [], []
for pod, t in deleted.items():
    node = nodes.get(node_of.get(pod, ""))
    if node and node.get("finishedAt"):
        after_node.append((t - ts(node["finishedAt"]), pod))
    if pod in done_seen:
        after_seen.append((t - done_seen[pod], pod))
ok_nodes = sum(1 for v in nodes.values() if v.get("phase") == "Succeeded")
print(f"workflow: {ok_nodes} of {n} pod nodes Succeeded, run time {run:.0f} s (startedAt to finishedAt)")
print(f"pods left: {left_end} when the workflow ended, {left_later} after waiting up to 60 s more; "
      f"the watch saw {len(deleted)} of {n} pods deleted")
if after_node:
    last = max(deleted, key=deleted.get)
    ln = next((d for d, p in after_node if p == last), None)
    ls = next((d for d, p in after_seen if p == last), None)
    mx, mxp = max(after_node)
    md = statistics.median(d for d, _ in after_node)
    print(f"last pod deleted ({last}): {ln:.1f} s after its node's finishedAt"
          + (f", {ls:.2f} s after the watch showed it completed" if ls is not None else "")
          + f"; deleted {deleted[last] - t_end:+.1f} s from the end of `argonaut wait`")
    print(f"pod lifetime after its node completed (finishedAt, 1 s resolution), over {len(after_node)} "
          f"pods: median {md:.1f} s, max {mx:.1f} s ({mxp}); ratio max/run time {mx / run:.3f}")
if after_seen:
    xs = sorted(d for d, _ in after_seen)
    print(f"after the watch showed the pod completed: median {statistics.median(xs):.2f} s, "
          f"p99 {xs[int(0.99 * (len(xs) - 1))]:.2f} s, max {xs[-1]:.2f} s")
sys.exit(0 if left_later == 0 and len(deleted) == n else 1)
PY
