# Helpers for the CD end-to-end tests (source after tests/lib.sh and
# tests/git_fixture.sh): start `argonaut up` with a short repository poll
# interval when it has the flag, read an Application through the CLI, count
# pods by image, ask a Service's loopback port, post a push webhook. Every
# wait polls with a generous deadline (a loaded 2-core machine) and, on
# timeout, fails with what the CLI shows.

APP=""        # the Application the dumps describe; each test sets it
POLL_SECS=""  # the repo poll interval `up` was started with ("" = its default)
FAIL_HOOK=cd_fail

# The test's runfiles (//examples/cd), else the source tree.
cd_examples_dir() {
  if [[ -f "$PWD/examples/cd/app/my-app.yaml" ]]; then
    echo "$PWD/examples/cd"
  else
    echo "$(workspace_dir)/examples/cd"
  fi
}

cd_dump() {
  {
    echo "===== diagnostics ($(date -u +%H:%M:%S))"
    if [[ -n $APP ]]; then
      echo "--- argonaut app get $APP"
      "$ARGONAUT" app get "$APP" 2>&1 | head -n 60 || true
      echo "--- argonaut app get $APP -o json (status, operation)"
      "$ARGONAUT" app get "$APP" -o json 2>&1 | python3 -c 'import json,sys
try:
    a=json.load(sys.stdin)
    s=a.get("status") or {}
    s["resources"] = [" ".join(str(x) for x in (r.get("kind"), r.get("namespace"), r.get("name"), r.get("status"), (r.get("health") or {}).get("status"))) for r in s.get("resources") or []]
    print(json.dumps({"operation": a.get("operation"), "status": s}, indent=1))
except Exception as e:
    print("unreadable:", e)' | head -n 150 || true
    echo "--- argonaut app manifests $APP (kinds and names)"
    "$ARGONAUT" app manifests "$APP" 2>&1 | grep -E "^kind:|^  name:" | head -n 40 || true
    fi
    echo "--- argonaut get deploy,rs,jobs,pods"
    "$ARGONAUT" get deployments 2>&1 | head -n 20 || true
    "$ARGONAUT" get rs 2>&1 | head -n 20 || true
    "$ARGONAUT" get jobs 2>&1 | head -n 20 || true
    "$ARGONAUT" get pods 2>&1 | head -n 40 || true
    echo "--- up.log (tail)"
    tail -n 60 "$WORK/up.log" 2>/dev/null || true
  } >&2
}

cd_fail() {
  cd_dump
  fail "$*"
}

# cli ARGS...: run_cli (tests/lib.sh) under the CD tests' name.
cli() { run_cli "$@"; }

# up_has_flag FLAG: whether `argonaut up` knows --FLAG (an unknown flag is
# refused before the port is looked at).
up_has_flag() {
  local out
  out=$("$ARGONAUT" up "--$1" 5s --port not-a-port 2>&1 || true)
  ! grep -q "unknown flag" <<<"$out"
}

# cd_start_up DATA_DIR POLL_SECONDS: `argonaut up` with --repo-poll-interval
# when it exists (POLL_SECS says what was used), else as start_up does.
cd_start_up() {
  local data=$1 poll=$2
  if up_has_flag repo-poll-interval; then
    POLL_SECS=$poll
    PORT=$(free_port)
    HTTP_PORT=$PORT
    export ARGONAUT_SERVER="127.0.0.1:${PORT}"
    "$ARGONAUT" up --data "$data" --port "$PORT" --repo-poll-interval "${poll}s" \
      >"$WORK/up.log" 2>&1 &
    UP_PID=$!
    wait_ready "argonaut up" "$UP_PID" "http://127.0.0.1:${HTTP_PORT}/readyz" "$WORK/up.log"
    export_token "$data"
  else
    echo "note: argonaut up has no --repo-poll-interval; polling at its default (3m)" >&2
    POLL_SECS=""
    start_up "$data"
  fi
}

# app_check NAME PYTHON-EXPR: exit 0 when EXPR holds; `a` is the Application,
# `s` its status, `sync`/`health` the status fields' `status`.
app_check() {
  "$ARGONAUT" app get "$1" -o json 2>/dev/null | python3 -c "import json,sys
a=json.load(sys.stdin)
s=a.get('status') or {}
sync=(s.get('sync') or {}).get('status')
health=(s.get('health') or {}).get('status')
sys.exit(0 if ($2) else 1)" 2>/dev/null
}

# app_eval NAME PYTHON-EXPR: prints EXPR (same names as app_check).
app_eval() {
  "$ARGONAUT" app get "$1" -o json 2>/dev/null | python3 -c "import json,sys
a=json.load(sys.stdin)
s=a.get('status') or {}
sync=(s.get('sync') or {}).get('status')
health=(s.get('health') or {}).get('status')
v=($2)
print(v if isinstance(v, str) else json.dumps(v))" 2>/dev/null
}

# wait_app NAME DESCRIPTION SECONDS PYTHON-EXPR
wait_app() {
  local name=$1 what=$2 secs=$3 expr=$4
  local deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    app_check "$name" "$expr" && return 0
    sleep 0.5
  done
  APP=$name cd_fail "app $name: timed out after ${secs}s waiting for $what ($expr)"
}

# pods SELECTOR: "N image[,image...]" for the Running pods not being deleted.
pods() {
  local json
  json=$("$ARGONAUT" get pods -l "$1" -o json 2>/dev/null) || json='{}'
  python3 - "$json" <<'PY'
import json, sys
items = json.loads(sys.argv[1]).get("items") or []
live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
running = [p for p in live if (p.get("status") or {}).get("phase") == "Running"]
images = sorted({c.get("image", "") for p in live for c in p["spec"].get("containers", [])})
print(len(running) if len(running) == len(live) else f"{len(running)}/{len(live)}", ",".join(images))
PY
}

# wait_pods SELECTOR N IMAGE SECONDS: exactly N pods, all Running, all IMAGE.
wait_pods() {
  local sel=$1 n=$2 image=$3 secs=${4:-120}
  local deadline=$((SECONDS + secs)) got=""
  while ((SECONDS < deadline)); do
    got=$(pods "$sel")
    [[ $got == "$n $image" ]] && return 0
    sleep 0.5
  done
  cd_fail "pods $sel: expected '$n $image' (running image), got '$got'"
}

# svc_bodies PORT N: N GETs of / on new connections; prints the distinct
# bodies with their counts as JSON (sed-free: "error" for failures).
svc_bodies() {
  python3 - "$1" "$2" <<'PY'
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
seen = {}
for _ in range(n):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read().decode(errors="replace").strip() if r.status == 200 else f"HTTP {r.status}"
        c.close()
    except Exception as e:
        body = "error"
    seen[body] = seen.get(body, 0) + 1
print(json.dumps(seen, sort_keys=True))
PY
}

# wait_svc_version SERVICE N-REQUESTS VERSION SECONDS: every answer of the
# bootcamp Service ends in "| v=VERSION".
wait_svc_version() {
  local svc=$1 n=$2 v=$3 secs=${4:-60}
  local port deadline got=""
  port=$(svc_port "$svc")
  deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    got=$(svc_bodies "$port" "$n")
    if python3 -c 'import json,sys
c=json.loads(sys.argv[1])
sys.exit(0 if c and all(k.endswith("| v="+sys.argv[2]) for k in c) else 1)' "$got" "$v"; then
      echo "Service $svc answers $got" >&2
      return 0
    fi
    sleep 0.5
  done
  cd_fail "Service $svc: expected every answer to end in '| v=$v', got $got"
}

# github_push URL SHA BEFORE FILE...: POSTs a GitHub push event for master to
# /api/webhook; prints the HTTP status.
github_push() {
  local url=$1 sha=$2 before=$3
  shift 3
  local body
  body=$(python3 - "$url" "$sha" "$before" "$@" <<'PY'
import json, sys
url, sha, before, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
print(json.dumps({
    "ref": "refs/heads/master", "before": before, "after": sha,
    "repository": {"html_url": url, "clone_url": url, "default_branch": "master",
                   "full_name": "argonaut/" + url.rsplit("/", 1)[-1]},
    "commits": [{"id": sha, "added": [], "modified": files, "removed": []}],
    "head_commit": {"id": sha, "added": [], "modified": files, "removed": []},
}))
PY
)
  curl -s -o "$WORK/webhook.out" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-GitHub-Delivery: $(date +%s%N)" \
    --data "$body" "http://127.0.0.1:${HTTP_PORT}/api/webhook"
}
