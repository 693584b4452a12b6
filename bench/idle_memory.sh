#!/usr/bin/env bash
# Idle resident memory of each Argonaut service and of the gateway, each as
# its own process with an empty data directory, measured after it is ready
# and has been idle for a few seconds. As a reference from the same run, the
# RSS of an idle Prometheus server (a real Go service of comparable role) is
# measured the same way and every figure is printed as a ratio to it.
#
#   bazel build //services/... //gateway && bench/idle_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bazel-bin
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
wait_ready() {
  for _ in $(seq 1 100); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}

declare -A RSS
for svc in workflow rollout events cd; do
  g=$(free_port) h=$(free_port)
  "$BIN/services/$svc/$svc" --grpc_port="$g" --http_port="$h" --data_dir="$WORK/$svc" \
    >"$WORK/$svc.log" 2>&1 &
  PIDS+=($!)
  wait_ready "http://127.0.0.1:$h/readyz"
  eval "PID_$svc=$!"
done
g=$(free_port)
"$BIN/gateway/gateway" --port="$g" >"$WORK/gw.log" 2>&1 &
PIDS+=($!)
PID_gateway=$!
wait_ready "http://127.0.0.1:$g/readyz"

p=$(free_port)
printf 'global: {scrape_interval: 1h}\nscrape_configs: []\n' >"$WORK/prom.yml"
prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$p" >"$WORK/prom.log" 2>&1 &
PIDS+=($!)
PID_prometheus=$!
wait_ready "http://127.0.0.1:$p/-/ready"

sleep 3
ref=$(rss_kib "$PID_prometheus")
printf '%-12s %10s %10s\n' process "RSS (MiB)" "ratio"
for name in workflow rollout events cd gateway; do
  pid_var="PID_$name"
  kib=$(rss_kib "${!pid_var}")
  awk -v n="$name" -v k="$kib" -v r="$ref" 'BEGIN {printf "%-12s %10.1f %10.2f\n", n, k/1024, k/r}'
done
awk -v r="$ref" 'BEGIN {printf "%-12s %10.1f %10.2f  (reference: idle prometheus)\n", "prometheus", r/1024, 1}'
