#!/usr/bin/env bash
# A 1 GiB output artifact through an S3 repository (npm's s3rver, started here) against curl
# on the same server in the same run. Under `argonaut up` (namespaced pods when root), with the
# repository configured by examples/artifact-repository/workflow-controller-configmap.yaml
# (endpoint pointed at s3rver), a workflow writes SIZE bytes of random data in one step
# (output artifact, `archive: {none: {}}`, so both sides move the same bytes) and reads it
# back in the next. Then curl GETs that same object to a host file and PUTs the file back under
# another key (SigV4 by curl --aws-sigv4, one request each). Prints:
#   upload    lifetime of the executor's `argoexec-artifacts save` process, against curl PUT
#   download  lifetime of its `argoexec-artifacts load` process, against curl GET
#   memory    peak RSS (VmHWM) of the executor's processes (argoexec and argoexec-artifacts),
#             from /proc polled every 20 ms while the workflow runs
# Bounded: each phase has a timeout (PHASE_TIMEOUT seconds, default 600).
#
#   bazel build //cli:argonaut && bench/artifact_s3.sh [SIZE_MIB=1024]
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), S3RVER, PHASE_TIMEOUT.
set -euo pipefail

SIZE_MIB=${1:-1024}
((SIZE_MIB >= 1 && SIZE_MIB <= 4096)) || { echo "SIZE_MIB must be 1..4096" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ARGONAUT=${ARGONAUT:-$ROOT/bazel-bin/cli/argonaut}
S3RVER=${S3RVER:-/opt/argonaut-npm/node_modules/.bin/s3rver}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-600}
[[ -x "$ARGONAUT" ]] || { echo "no argonaut binary at $ARGONAUT (bazel build //cli:argonaut)" >&2; exit 1; }
[[ -x "$S3RVER" ]] || { echo "no s3rver at $S3RVER (scripts/install-deps.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/artifact_s3.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# argonaut up
PORT=$(free_port)
export ARGONAUT_SERVER="127.0.0.1:$PORT"
"$ARGONAUT" up --data "$WORK/data" --port "$PORT" >"$WORK/up.log" 2>&1 &
UP_PID=$!
PIDS+=("$UP_PID")
for _ in $(seq 1 300); do
  command curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$UP_PID" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }
  sleep 0.1
done
[[ -f "$WORK/data/admin.token" ]] && export ARGONAUT_TOKEN=$(cat "$WORK/data/admin.token")
# Where pods reach the host: the pod bridge's gateway, else loopback (plain isolation).
HOST=$(sed -n 's/.*pod network up.* gateway=\([0-9.]*\).*/\1/p' "$WORK/up.log" | tail -n 1)
HOST=${HOST:-127.0.0.1}

# s3rver
S3PORT=$(free_port)
S3="http://$HOST:$S3PORT"
mkdir -p "$WORK/s3"
"$S3RVER" -d "$WORK/s3" -a "$HOST" -p "$S3PORT" -s >"$WORK/s3rver.log" 2>&1 &
PIDS+=("$!")
s3() {
  command curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
for _ in $(seq 1 150); do
  [[ $(command curl -s -o /dev/null -w '%{http_code}' "$S3/" 2>/dev/null) != 000 ]] && break
  sleep 0.1
done
s3 -f -X PUT "$S3/my-bucket" >/dev/null
sed "s/10\.0\.0\.1:4568/$HOST:$S3PORT/" \
  "$ROOT/examples/artifact-repository/workflow-controller-configmap.yaml" >"$WORK/cm.yaml"
"$ARGONAUT" apply -f "$WORK/cm.yaml" >/dev/null

cat >"$WORK/wf.yaml" <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: artifact-s3-bench-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: produce, template: produce}
    - - name: consume
        template: consume
        arguments:
          artifacts: [{name: big, from: "{{steps.produce.outputs.artifacts.big}}"}]
  - name: produce
    container:
      image: busybox
      command: [sh, -c]
      args: ["head -c $((SIZE_MIB * 1048576)) /dev/urandom > /tmp/big.bin"]
    outputs:
      artifacts: [{name: big, path: /tmp/big.bin, archive: {none: {}}}]
  - name: consume
    inputs:
      artifacts: [{name: big, path: /tmp/big.bin}]
    container:
      image: busybox
      command: [sh, -c]
      args: ["stat -c 'consumed %s bytes' /tmp/big.bin"]
EOF

# /proc poller: every process of this run's steps whose command line names argoexec, its first
# and last sighting and its peak RSS.
python3 - "$WORK/procs.json" "$WORK/stop" <<'PY' &
import json, os, sys, time
out, stop = sys.argv[1], sys.argv[2]
seen = {}
while not os.path.exists(stop):
    now = time.time()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if "argoexec" not in cmd:
                continue
            # Only this run's steps (other workflows on the machine run argoexec too).
            with open(f"/proc/{pid}/environ", "rb") as f:
                if b"ARGO_WORKFLOW_NAME=artifact-s3-bench-" not in f.read():
                    continue
            hwm = 0
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
        except OSError:
            continue
        p = seen.setdefault(pid, {"cmd": cmd, "first": now, "last": now, "hwm_kib": 0})
        p["last"] = now
        p["hwm_kib"] = max(p["hwm_kib"], hwm)
    time.sleep(0.02)
json.dump(list(seen.values()), open(out, "w"))
PY
POLL_PID=$!
PIDS+=("$POLL_PID")

start=$(date +%s.%N)
timeout "$PHASE_TIMEOUT" "$ARGONAUT" submit --wait -o json "$WORK/wf.yaml" >"$WORK/out.json"
end=$(date +%s.%N)
touch "$WORK/stop"
wait "$POLL_PID" || true
read -r NAME PHASE < <(python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print(w["metadata"]["name"], w["status"]["phase"])' "$WORK/out.json")
[[ $PHASE == Succeeded ]] || { cat "$WORK/out.json" >&2; echo "workflow $NAME ended $PHASE" >&2; exit 1; }
"$ARGONAUT" logs "$NAME" 2>&1 | grep -q "consumed $((SIZE_MIB * 1048576)) bytes" ||
  { echo "the consumer did not get $SIZE_MIB MiB" >&2; exit 1; }
KEY=$(s3 -f "$S3/my-bucket?list-type=2&prefix=$NAME/" | grep -o '<Key>[^<]*big.bin</Key>' |
  sed 's/<[^>]*>//g' | head -n 1)
[[ -n $KEY ]] || { echo "no big.bin under $NAME/ in the bucket" >&2; exit 1; }

# curl against the same server: GET the object the workflow stored, PUT that file back.
GET_S=$(s3 -f -o "$WORK/big.bin" -w '%{time_total}' --max-time "$PHASE_TIMEOUT" "$S3/my-bucket/$KEY")
PUT_S=$(s3 -f -o /dev/null -w '%{time_total}' --max-time "$PHASE_TIMEOUT" -T "$WORK/big.bin" \
  "$S3/my-bucket/curl-copy/big.bin")
[[ $(stat -c %s "$WORK/big.bin") == $((SIZE_MIB * 1048576)) ]] || { echo "curl GET size" >&2; exit 1; }

python3 - "$WORK/procs.json" "$SIZE_MIB" "$PUT_S" "$GET_S" "$start" "$end" "$KEY" <<'PY'
import json, sys
procs = json.load(open(sys.argv[1]))
size, put_s, get_s = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
wall = float(sys.argv[6]) - float(sys.argv[5])
def span(verb):
    ps = [p for p in procs if "argoexec-artifacts" in p["cmd"] and f" {verb} " in f" {p['cmd']} "]
    if not ps:
        return None
    return max(p["last"] for p in ps) - min(p["first"] for p in ps)
up, down = span("save"), span("load")
helper = max([p["hwm_kib"] for p in procs if "argoexec-artifacts" in p["cmd"]] or [0])
emissary = max([p["hwm_kib"] for p in procs if "argoexec-artifacts" not in p["cmd"]] or [0])
print(f"object      my-bucket/{sys.argv[7]} ({size} MiB), workflow wall {wall:.1f} s")
for name, t, ref, what in (("upload", up, put_s, "curl PUT"), ("download", down, get_s, "curl GET")):
    if t is None:
        print(f"{name:<11} no argoexec-artifacts {('save' if name == 'upload' else 'load')} process seen")
        continue
    print(f"{name:<11} executor {t:6.2f} s ({size / t:7.1f} MiB/s)   {what} {ref:6.2f} s "
          f"({size / ref:7.1f} MiB/s)   ratio {t / ref:5.2f}")
print(f"memory      peak RSS: argoexec {emissary / 1024:.1f} MiB, argoexec-artifacts "
      f"{helper / 1024:.1f} MiB (sampled every 20 ms, {len(procs)} processes)")
PY
