# Shared helpers for the end-to-end shell tests: start and stop `argonaut up`
# on free loopback ports, and locate the shared corpus beside the workspace.

set -euo pipefail

ARGONAUT="${ARGONAUT:-$PWD/cli/argonaut}"
WORK="${TEST_TMPDIR:-$(mktemp -d)}"
UP_PID=""
# Bazel runs tests without HOME; `argonaut up` keeps its Secret encryption key
# under it (~/.config/argonaut) unless told otherwise.
if [[ -z "${HOME:-}" ]]; then
  export HOME="$WORK/home"
  mkdir -p "$HOME"
fi

# The workspace is where this (symlinked) script really lives.
workspace_dir() {
  local self
  self=$(readlink -f "${BASH_SOURCE[0]}")
  dirname "$(dirname "$self")"
}

corpus_dir() {
  local d
  d="$(workspace_dir)/../shared/corpus"
  if [[ ! -d "$d" ]]; then
    echo "corpus not found at $d" >&2
    return 1
  fi
  readlink -f "$d"
}

# `argonaut up` requires a token (auth-mode client). Once it is ready,
# export_token DATA_DIR exports the admin token it wrote, which the CLI reads
# from ARGONAUT_TOKEN, and the curl below sends to the gateway's port.
export_token() {
  local data=$1
  if [[ -f "$data/admin.token" ]]; then
    ARGONAUT_TOKEN=$(cat "$data/admin.token")
    export ARGONAUT_TOKEN
  fi
}

# curl for the tests: a request to the gateway ($PORT on loopback) carries the
# admin token, and a body without a Content-Type is sent as JSON (curl -d
# would say form-urlencoded, which the REST API refuses on writes). Other
# servers get neither. `command curl` bypasses this.
curl() {
  local a to_gateway=0 has_type=0 has_auth=0 extra=()
  for a in "$@"; do
    case "$a" in
      *127.0.0.1:"${PORT:-none}"/* | *localhost:"${PORT:-none}"/*) to_gateway=1 ;;
      [Cc]ontent-[Tt]ype:*) has_type=1 ;;
      [Aa]uthorization:*) has_auth=1 ;;
    esac
  done
  if [[ $to_gateway -eq 1 ]]; then
    if [[ $has_auth -eq 0 && -n "${ARGONAUT_TOKEN:-}" ]]; then
      extra+=(-H "Authorization: Bearer ${ARGONAUT_TOKEN}")
    fi
    [[ $has_type -eq 1 ]] || extra+=(-H "Content-Type: application/json")
  fi
  command curl "${extra[@]}" "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_up DATA_DIR: runs `argonaut up` in the background and waits until
# the gateway answers.
start_up() {
  local data=$1
  # gRPC and REST share one port, as on Argo Server.
  PORT=$(free_port)
  HTTP_PORT=$PORT
  export ARGONAUT_SERVER="127.0.0.1:${PORT}"
  "$ARGONAUT" up --data "$data" --port "$PORT" ${UP_FLAGS:-} >"$WORK/up.log" 2>&1 &
  UP_PID=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:${HTTP_PORT}/readyz" >/dev/null 2>&1; then
      export_token "$data"
      return 0
    fi
    if ! kill -0 "$UP_PID" 2>/dev/null; then
      echo "argonaut up exited early:" >&2
      cat "$WORK/up.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "argonaut up did not become ready" >&2
  cat "$WORK/up.log" >&2
  return 1
}

stop_up() {
  local sig=${1:-TERM}
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill "-$sig" "$UP_PID" 2>/dev/null || true
    # A graceful stop tears down pods and the pod network; give it 20 s.
    for _ in $(seq 1 200); do
      kill -0 "$UP_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  UP_PID=""
}

# pod_reachable_host: the address to bind a local server (s3rver, git daemon,
# HTTP) to so that pods of the running `argonaut up` reach it: the pod
# bridge's gateway when pods have their own network namespace (its
# "pod network up ... gateway=IP" line in up.log), else 127.0.0.1 (plain
# isolation shares the host's network).
pod_reachable_host() {
  local ip
  ip=$(sed -n 's/.*pod network up.* gateway=\([0-9.]*\).*/\1/p' "$WORK/up.log" 2>/dev/null | tail -n 1)
  echo "${ip:-127.0.0.1}"
}

# On any exit, stop gracefully so that no pod network is left on the host.
trap 'stop_up TERM' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# For tests that run services as separate processes:

# stop_pid PID SIGNAL: signal, wait up to 20 s (a cluster stops its pods),
# then KILL. STOP_RC is the process' exit status.
STOP_RC=0
stop_pid() {
  local pid=$1 sig=$2
  STOP_RC=0
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || STOP_RC=$?
}

# wait_ready NAME PID URL LOG: polls URL for up to 15 s; fails, showing LOG, if PID
# exits first or URL never answers.
wait_ready() {
  local name=$1 pid=$2 url=$3 log=$4
  for _ in $(seq 1 150); do
    curl -sf "$url" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      fail "$name exited early"
    fi
    sleep 0.1
  done
  cat "$log" >&2
  fail "$name did not become ready"
}

# For tests against `argonaut up` that share helpers (cd_lib.sh,
# rollout_lib.sh): FAIL_HOOK names the function that dumps the state and fails
# (each helper library sets its own; plain `fail` otherwise).
FAIL_HOOK=fail

# run_cli ARGS...: runs the CLI; on a non-zero exit fails with its output.
# Capture its output before grepping it (out=$(run_cli ...)): piped into `grep -q`, whose early
# exit can kill the printf below with SIGPIPE, and pipefail then fails the test.
run_cli() {
  local out rc=0
  out=$("$ARGONAUT" "$@" 2>&1) || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "$out" >&2
    "$FAIL_HOOK" "argonaut $* exited $rc"
  fi
  printf '%s\n' "$out"
}

# svc_port SERVICE: the Service's loopback port (status.loadBalancer).
svc_port() {
  local deadline=$((SECONDS + 60)) port=""
  while ((SECONDS < deadline)); do
    port=$("$ARGONAUT" get svc "$1" -o json 2>/dev/null |
      python3 -c 'import json,sys
s=json.load(sys.stdin)
print(s["status"]["loadBalancer"]["ingress"][0]["ports"][0]["port"])' 2>/dev/null) || port=""
    [[ -n $port ]] && {
      echo "$port"
      return 0
    }
    sleep 0.5
  done
  "$FAIL_HOOK" "Service $1 has no loopback port"
}
