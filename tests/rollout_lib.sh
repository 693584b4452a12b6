# Helpers for the rollout end-to-end tests (source after tests/lib.sh): read a
# Rollout's status, its ReplicaSets and pods by `rollouts-pod-template-hash`,
# and the colors a Service answers, all through the CLI against `argonaut up`.
# Every wait polls with a generous deadline (a loaded 2-core machine) and, on
# timeout, fails with what the CLI shows.

# The rollout the dumps describe; each test sets it.
RO=""
FAIL_HOOK=ro_fail

# The test's runfiles (//examples/rollouts), else the source tree.
examples_dir() {
  if [[ -f "$PWD/examples/rollouts/canary.yaml" ]]; then
    echo "$PWD/examples/rollouts"
  else
    echo "$(workspace_dir)/examples/rollouts"
  fi
}

dump_state() {
  {
    echo "===== diagnostics ($(date -u +%H:%M:%S))"
    if [[ -n $RO ]]; then
      echo "--- argonaut rollouts get $RO"
      "$ARGONAUT" rollouts get "$RO" 2>&1 | head -n 60 || true
      echo "--- argonaut get rollout $RO -o json (status)"
      "$ARGONAUT" get rollout "$RO" -o json 2>&1 |
        python3 -c 'import json,sys
try:
    print(json.dumps(json.load(sys.stdin).get("status", {}), indent=1))
except Exception as e:
    print("unreadable:", e)' | head -n 120 || true
    fi
    echo "--- argonaut get rs"
    "$ARGONAUT" get rs 2>&1 | head -n 30 || true
    echo "--- argonaut get pods"
    "$ARGONAUT" get pods 2>&1 | head -n 40 || true
    echo "--- argonaut get analysisruns"
    "$ARGONAUT" get analysisruns 2>&1 | head -n 20 || true
    echo "--- argonaut get svc"
    "$ARGONAUT" get svc 2>&1 | head -n 20 || true
    echo "--- up.log (tail)"
    tail -n 40 "$WORK/up.log" 2>/dev/null || true
  } >&2
}

ro_fail() {
  dump_state
  fail "$*"
}

# ro_check NAME PYTHON-EXPR: exit 0 when EXPR holds; `r` is the rollout, `s`
# its status.
ro_check() {
  "$ARGONAUT" get rollout "$1" -o json 2>/dev/null |
    python3 -c "import json,sys
r=json.load(sys.stdin)
s=r.get('status') or {}
sys.exit(0 if ($2) else 1)" 2>/dev/null
}

# ro_field NAME FIELD: a top-level status field, "" when absent.
ro_field() {
  "$ARGONAUT" get rollout "$1" -o json 2>/dev/null |
    python3 -c 'import json,sys
s=json.load(sys.stdin).get("status") or {}
v=s.get(sys.argv[1],"")
print("" if v is None else v)' "$2"
}

# wait_ro NAME DESCRIPTION SECONDS PYTHON-EXPR
wait_ro() {
  local name=$1 what=$2 secs=$3 expr=$4
  local deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    ro_check "$name" "$expr" && return 0
    sleep 0.5
  done
  ro_fail "rollout $name: timed out after ${secs}s waiting for $what ($expr)"
}

# replicas NAME HASH: "<RS spec.replicas> <running pods>" for the rollout's
# revision HASH (pods being deleted do not count; no RS gives spec 0).
replicas() {
  local rs pods
  rs=$("$ARGONAUT" get rs -l "rollouts-pod-template-hash=$2" -o json 2>/dev/null) || rs='{}'
  pods=$("$ARGONAUT" get pods -l "rollouts-pod-template-hash=$2" -o json 2>/dev/null) || pods='{}'
  python3 - "$1" "$rs" "$pods" <<'PY'
import json, sys
name, rs, pods = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
spec = sum(int(o.get("spec", {}).get("replicas", 0) or 0) for o in rs.get("items", [])
           if o["metadata"]["name"].startswith(name + "-"))
running = sum(1 for p in pods.get("items", [])
              if p["metadata"]["name"].startswith(name + "-")
              and p.get("status", {}).get("phase") == "Running"
              and not p["metadata"].get("deletionTimestamp"))
print(spec, running)
PY
}

# wait_replicas NAME HASH N SECONDS: the RS of HASH wants N and N pods run.
wait_replicas() {
  local name=$1 hash=$2 n=$3 secs=${4:-120}
  local deadline=$((SECONDS + secs)) got=""
  while ((SECONDS < deadline)); do
    got=$(replicas "$name" "$hash")
    [[ $got == "$n $n" ]] && return 0
    sleep 0.5
  done
  ro_fail "rollout $name revision $hash: expected $n replicas and $n running pods, got '$got' (spec running)"
}

# expect_replicas NAME HASH N: the state holds now (no waiting).
expect_replicas() {
  local got
  got=$(replicas "$1" "$2")
  [[ $got == "$3 $3" ]] || ro_fail "rollout $1 revision $2: expected $3 replicas and $3 running pods, got '$got'"
}

# colors PORT N [CONCURRENCY]: N requests to /color, each on a new connection
# (the proxy balances connections); prints a JSON object color -> count
# ("error" for failures).
colors() {
  python3 - "$1" "$2" "${3:-1}" <<'PY'
import http.client, json, sys, threading
port, n, conc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
counts, lock, next_i = {}, threading.Lock(), [0]
def worker():
    while True:
        with lock:
            if next_i[0] >= n:
                return
            next_i[0] += 1
        key = "error"
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/color", headers={"Connection": "close"})
            resp = c.getresponse()
            body = resp.read().decode().strip()
            c.close()
            key = json.loads(body) if resp.status == 200 else "http%d" % resp.status
        except Exception:
            pass
        with lock:
            counts[key] = counts.get(key, 0) + 1
threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(counts, sort_keys=True))
PY
}

# wait_colors SERVICE PYTHON-EXPR-ON-c SECONDS: 20 requests whose color counts
# `c` satisfy EXPR (e.g. 'c == {"blue": 20}').
wait_colors() {
  local svc=$1 expr=$2 secs=${3:-60}
  local port deadline got=""
  port=$(svc_port "$svc")
  deadline=$((SECONDS + secs))
  while true; do
    got=$(colors "$port" 20)
    if python3 -c "import json,sys
c=json.loads(sys.argv[1])
sys.exit(0 if ($expr) else 1)" "$got"; then
      echo "Service $svc answers $got" >&2
      return 0
    fi
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  ro_fail "Service $svc (port $port): expected $expr, last 20 requests gave $got"
}

# expect_cli_fails ARGS...: the command must exit non-zero.
expect_cli_fails() {
  if "$ARGONAUT" "$@" >"$WORK/cli.out" 2>&1; then
    cat "$WORK/cli.out" >&2
    ro_fail "argonaut $* succeeded, expected a failure"
  fi
}
