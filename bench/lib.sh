# Shared by the bench scripts that drive a whole `argonaut up` (source it).
# Loopback only: the runtime binds 127.0.0.1 on a free port.

# bench_start_up ISOLATION DATA_DIR LOG: starts "$ARGONAUT" up and waits for
# /readyz (20 s at most). Sets PORT, UP_PID and API (the REST base); exports
# ARGONAUT_SERVER and ARGONAUT_TOKEN for the CLI. Returns 1, with the log on
# stderr, when the runtime exits first.
bench_start_up() {
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$ARGONAUT" up --isolation "$1" --data "$2" --port "$PORT" >"$3" 2>&1 &
  UP_PID=$!
  local ready=""
  for _ in $(seq 1 200); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$UP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$ready" ]]; then
    echo "argonaut up did not become ready:" >&2
    cat "$3" >&2
    return 1
  fi
  export ARGONAUT_SERVER="127.0.0.1:$PORT"
  ARGONAUT_TOKEN=$(cat "$2/admin.token")
  export ARGONAUT_TOKEN
  API="http://127.0.0.1:$PORT/api/v1"
}
