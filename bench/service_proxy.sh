#!/usr/bin/env bash
# Cost of the local Service proxy (lib/cluster/proxy) on an HTTP workload.
# Starts the built-in kubernetes-bootcamp demo server and a ServiceProxy in
# front of it, all on 127.0.0.1, and runs the same wrk load (keep-alive GETs)
# against the server directly and through the proxy, one after the other in
# this run. Prints requests/s, mean and p99 latency of both and the ratios
# proxy/direct.
#
#   bazel build //bench:proxy_bench //lib/cluster/images:builtin_images && bench/service_proxy.sh
#   WRK_THREADS=2 WRK_CONNECTIONS=50 WRK_DURATION=5s PROXY_THREADS=1 bench/service_proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bazel-bin
THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNECTIONS:-50}
DURATION=${WRK_DURATION:-5s}
PROXY_THREADS=${PROXY_THREADS:-1}
command -v wrk >/dev/null || { echo "wrk not found (Debian package wrk)" >&2; exit 1; }
for b in "$BIN/lib/cluster/images/builtin_images" "$BIN/bench/proxy_bench"; do
  [[ -x $b ]] || { echo "missing $b: run the bazel build in the header first" >&2; exit 1; }
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits (at most 5 s) for "... port N" in a log file and prints N.
port_from_log() {
  for _ in $(seq 1 50); do
    local p
    p=$(grep -oE 'port [0-9]+' "$1" 2>/dev/null | head -1 | awk '{print $2}') || true
    if [[ -n $p ]]; then echo "$p"; return 0; fi
    sleep 0.1
  done
  echo "no port in $1:" >&2
  cat "$1" >&2
  return 1
}

PORT=0 POD_NAME=bench-pod "$BIN/lib/cluster/images/builtin_images" kubernetes-bootcamp 1 \
  >"$WORK/server.log" 2>&1 &
PIDS+=($!)
DIRECT=$(port_from_log "$WORK/server.log")
"$BIN/bench/proxy_bench" --target="127.0.0.1:$DIRECT" --threads="$PROXY_THREADS" \
  >"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
PROXY=$(port_from_log "$WORK/proxy.log")

body_direct=$(curl -sf "http://127.0.0.1:$DIRECT/")
body_proxy=$(curl -sf "http://127.0.0.1:$PROXY/")
[[ $body_direct == "$body_proxy" ]] || { echo "bodies differ: $body_direct / $body_proxy" >&2; exit 1; }
echo "server says: $body_direct"

# wrk prints latencies as 1.23us / 4.56ms / 1.2s; convert to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.3f", n }'
}
run_wrk() {  # name port
  local out="$WORK/wrk_$1.txt"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$2/" >"$out"
  local rps avg p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  avg=$(to_ms "$(awk '$1 == "Latency" {print $2; exit}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ')
  echo "$rps $avg $p99" >"$WORK/res_$1"
  printf '%-8s %12s req/s   avg %9s ms   p99 %9s ms   %s\n' "$1" "$rps" "$avg" "$p99" "$errors"
}

echo "wrk -t$THREADS -c$CONNS -d$DURATION, keep-alive GET /, $(nproc) CPUs, proxy threads $PROXY_THREADS"
run_wrk direct "$DIRECT"
run_wrk proxy "$PROXY"
read -r d_rps d_avg d_p99 <"$WORK/res_direct"
read -r p_rps p_avg p_p99 <"$WORK/res_proxy"
awk -v a="$p_rps" -v b="$d_rps" -v c="$p_avg" -v d="$d_avg" -v e="$p_p99" -v f="$d_p99" 'BEGIN {
  printf "ratio proxy/direct: throughput %.2f   avg latency %.2f   p99 latency %.2f\n",
         a / b, c / d, e / f }'
