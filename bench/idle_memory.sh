#!/usr/bin/env bash
# Idle resident memory of Argonaut as it runs, measured after each process is
# ready and has been idle for a few seconds:
#   - distributed: the cluster service (the local runtime) and each service
#     with its controllers running against it (--cluster), plus the gateway
#     routing to all of them; one token store for the deployment, as an
#     operator sets it up;
#   - `argonaut up`: everything in one process.
# As a reference from the same run, the RSS of an idle Prometheus server (a
# real Go service of comparable role) is measured the same way and every
# figure is printed as a ratio to it.
#
#   bazel build //services/... //gateway //cli:argonaut && bench/idle_memory.sh
#
# Env: IDLE_SECONDS (how long each process idles before it is measured, 3).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bazel-bin
IDLE_SECONDS=${IDLE_SECONDS:-3}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
wait_ready() {
  for _ in $(seq 1 300); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "not ready: $1 (log: $2)" >&2
  tail -n 20 "$2" >&2 || true
  return 1
}
for b in services/cluster/cluster services/workflow/workflow services/rollout/rollout \
  services/events/events services/cd/cd gateway/gateway cli/argonaut; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b: bazel build //services/... //gateway //cli:argonaut" >&2; exit 1; }
done

# One token store for every process, as tests/distributed_auth.sh sets it up.
mkdir -p "$WORK/tokens"
"$BIN/services/cluster/cluster" --auth-file="$WORK/auth/tokens.json" \
  --create-token-file="$WORK/tokens/service.token" >"$WORK/tokens.log" 2>&1
AUTH=(--auth-file="$WORK/auth/tokens.json" --service-token-file="$WORK/tokens/service.token")
printf '%s' "$(head -c 32 /dev/urandom | base64)" >"$WORK/encryption.key"
chmod 600 "$WORK/encryption.key"

declare -A PID GRPC
start_service() {  # NAME EXTRA_FLAGS...
  local name=$1 g h
  shift
  g=$(free_port) h=$(free_port)
  "$BIN/services/$name/$name" --grpc_port="$g" --http_port="$h" --data_dir="$WORK/$name/$name" \
    "${AUTH[@]}" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  PID[$name]=$!
  GRPC[$name]=$g
  wait_ready "http://127.0.0.1:$h/readyz" "$WORK/$name.log"
}
start_service cluster --encryption_key_file="$WORK/encryption.key" --runtime_dir="$WORK/runtime"
C="127.0.0.1:${GRPC[cluster]}"
start_service workflow --cluster="$C"
start_service rollout --cluster="$C"
start_service events --cluster="$C" --workflow="127.0.0.1:${GRPC[workflow]}" \
  --rollout="127.0.0.1:${GRPC[rollout]}" --webhook_host=127.0.0.1
start_service cd --cluster="$C"
g=$(free_port)
"$BIN/gateway/gateway" --port="$g" --cluster="$C" --workflow="127.0.0.1:${GRPC[workflow]}" \
  --rollout="127.0.0.1:${GRPC[rollout]}" --events="127.0.0.1:${GRPC[events]}" \
  --cd="127.0.0.1:${GRPC[cd]}" "${AUTH[@]}" >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
PID[gateway]=$!
wait_ready "http://127.0.0.1:$g/readyz" "$WORK/gateway.log"

u=$(free_port)
"$BIN/cli/argonaut" up --data "$WORK/up" --port "$u" --encryption-key-file "$WORK/encryption.key" \
  >"$WORK/up.log" 2>&1 &
PIDS+=($!)
PID[up]=$!
wait_ready "http://127.0.0.1:$u/readyz" "$WORK/up.log"

p=$(free_port)
printf 'global: {scrape_interval: 1h}\nscrape_configs: []\n' >"$WORK/prom.yml"
prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$p" >"$WORK/prom.log" 2>&1 &
PIDS+=($!)
PID[prometheus]=$!
wait_ready "http://127.0.0.1:$p/-/ready" "$WORK/prom.log"

sleep "$IDLE_SECONDS"
ref=$(rss_kib "${PID[prometheus]}")
printf '%-22s %10s %10s\n' process "RSS (MiB)" "ratio"
total=0
for name in cluster workflow rollout events cd gateway; do
  kib=$(rss_kib "${PID[$name]}")
  total=$((total + kib))
  awk -v n="$name" -v k="$kib" -v r="$ref" 'BEGIN {printf "%-22s %10.1f %10.2f\n", n, k/1024, k/r}'
done
awk -v k="$total" -v r="$ref" 'BEGIN {printf "%-22s %10.1f %10.2f\n", "distributed, all six", k/1024, k/r}'
kib=$(rss_kib "${PID[up]}")
awk -v k="$kib" -v r="$ref" 'BEGIN {printf "%-22s %10.1f %10.2f\n", "argonaut up", k/1024, k/r}'
awk -v r="$ref" 'BEGIN {printf "%-22s %10.1f %10.2f  (reference: idle prometheus)\n", "prometheus", r/1024, 1}'
