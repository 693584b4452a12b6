#!/usr/bin/env bash
# Webhook events through the events service, next to the same load against a
# server that does nothing, in one run; then the JetStream bus next to raw
# libnats publishes.
#
# 1. wrk (bench/events_webhook.lua: keep-alive POST /webhook, a small JSON
#    body) against nginx answering `200 success` on loopback (the reference),
#    then against the standalone events service: a webhook EventSource ->
#    the embedded durable bus (RocksDB, fsync'd group commits; the webhook
#    answers after the event is durable) -> a Sensor with a `log` trigger.
#    Prints both request rates and the ratio, the trigger side's sustained
#    events/s (triggers fired / first webhook receipt to last trigger), and
#    webhook-to-trigger latency p50/p99: the event's CloudEvent `time` (set by
#    the listener when the POST arrived, ns) to the `ts` of the log trigger's
#    line (when the trigger ran; ms resolution, truncated). Not the
#    argo_events_event_processing_duration_milliseconds histogram: in one
#    process the source's publish and the sensor's processing share its series.
# 2. nats-server -js on loopback and bench/events_jetstream: EventBus::Publish
#    of the JetStream backend vs raw js_Publish (ratio bus/raw).
#
#   bazel build //services/events //cli:argonaut //bench:events_jetstream && bench/events_webhook.sh
#   Env: WRK_DURATION (10s), WRK_CONNECTIONS (8), WRK_THREADS (2), JS_EVENTS (20000), JS_THREADS (1)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bazel-bin
DURATION=${WRK_DURATION:-10s}
CONNS=${WRK_CONNECTIONS:-8}
THREADS=${WRK_THREADS:-2}
JS_EVENTS=${JS_EVENTS:-20000}
JS_THREADS=${JS_THREADS:-1}
LUA="$PWD/bench/events_webhook.lua"
for c in wrk nginx nats-server; do
  command -v "$c" >/dev/null || { echo "$c not found (Debian package $c)" >&2; exit 1; }
done
for b in services/events/events cli/argonaut bench/events_jetstream; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b: run the bazel build in the header first" >&2; exit 1; }
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {  # port seconds
  for _ in $(seq 1 $(($2 * 10))); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
      "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.3f", n }'
}
run_wrk() {  # name port [threads connections]
  local out="$WORK/wrk_$1.txt"
  wrk -t"${3:-$THREADS}" -c"${4:-$CONNS}" -d"$DURATION" --latency -s "$LUA" \
    "http://127.0.0.1:$2/webhook" -- "$1" >"$out"
  local rps p50 p99 total errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  total=$(awk '/requests in/ {print $1}' "$out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ')
  echo "$rps $total" >"$WORK/res_$1"
  printf '%-7s %10s req/s  (%s requests)  HTTP p50 %8s ms  p99 %8s ms  %s\n' \
    "$1" "$rps" "$total" "$p50" "$p99" "$errors"
}

# The reference: nginx answering every POST /webhook with 200 "success".
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /webhook { return 200 "success"; }
  }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/out.log" 2>&1 &
PIDS+=($!)
wait_port "$NGINX_PORT" 5

# The events service alone, with a webhook source and a log-trigger sensor.
EV_GRPC=$(free_port)
EV_HTTP=$(free_port)
HOOK=$(free_port)
"$BIN/services/events/events" --grpc_port="$EV_GRPC" --http_port="$EV_HTTP" \
  --webhook_host=127.0.0.1 --data_dir="$WORK/events-data" >"$WORK/events.log" 2>&1 &
PIDS+=($!)
wait_port "$EV_HTTP" 15
ARGONAUT_SERVER="127.0.0.1:$EV_GRPC" "$BIN/cli/argonaut" apply -f - >/dev/null <<YAML
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: bench, namespace: default}
spec:
  webhook:
    example: {port: "$HOOK", endpoint: /webhook, method: POST}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: bench, namespace: default}
spec:
  dependencies:
    - {name: dep, eventSourceName: bench, eventName: example}
  triggers:
    - template: {name: log, log: {}}
YAML
fired() { grep -c 'msg="trigger fired"' "$WORK/events.log" || true; }
# analyze TAG ACCEPTED: the log trigger's lines of one wrk run.
analyze() {
  python3 - "$WORK/events.log" "$2" "$1" <<'PY'
import re, sys, datetime
log, accepted, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def t(s):  # RFC 3339 UTC with up to 9 fraction digits -> seconds
    s = s.rstrip("Z")
    base, _, frac = s.partition(".")
    d = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return d.timestamp() + (float("0." + frac) if frac else 0.0)
lat, first, last_ts = [], None, None
mine = re.compile(r'message\\*"\s*:\s*\\*"%s\\*"' % re.escape(tag))
for line in open(log):
    if 'msg="trigger fired"' not in line or not mine.search(line):
        continue
    ts = re.search(r"ts=(\S+)", line).group(1)
    ev = re.search(r'time\\*"\s*:\s*\\*"([0-9T:.\-]+Z)', line)
    if not ev:
        continue
    a, b = t(ev.group(1)), t(ts)
    lat.append((b - a) * 1000)
    first = a if first is None else min(first, a)
    last_ts = b if last_ts is None else max(last_ts, b)
if not lat:
    sys.exit("no trigger lines with an event time")
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
span = max(last_ts - first, 1e-3)
print(f"{tag}: triggers fired: {len(lat)} of {accepted} webhook requests in {span:.2f} s: {len(lat)/span:.0f} events/s sustained")
print(f"{tag}: webhook-to-trigger latency (event time -> log trigger ts, 1 ms resolution): "
      f"p50 {q(0.50):.1f} ms  p99 {q(0.99):.1f} ms  max {lat[-1]:.1f} ms")
PY
}
drain() {  # waits (at most 120 s) until the trigger count stops growing
  local last=-1 now
  for _ in $(seq 1 240); do
    now=$(fired)
    [[ $now -eq $last ]] && return 0
    last=$now
    sleep 0.5
  done
}
for i in $(seq 1 100); do  # the chain is up when a probe is logged by the trigger
  curl -s -o /dev/null -X POST -d '{"message":"probe"}' "http://127.0.0.1:$HOOK/webhook" || true
  [[ $(fired) -gt 0 ]] && break
  [[ $i -lt 100 ]] || { tail -n 30 "$WORK/events.log" >&2; echo "no trigger fired" >&2; exit 1; }
  sleep 0.2
done
sleep 0.5

echo "wrk -t$THREADS -c$CONNS -d$DURATION, keep-alive POST /webhook ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
# Latency below the sensor's saturation first: one connection, one request at a time.
run_wrk paced "$HOOK" 1 1
drain
read -r _ p_total <"$WORK/res_paced"
analyze paced "$p_total"
run_wrk nginx "$NGINX_PORT"
run_wrk events "$HOOK"
drain
read -r n_rps _ <"$WORK/res_nginx"
read -r e_rps e_total <"$WORK/res_events"
awk -v a="$e_rps" -v b="$n_rps" 'BEGIN { printf "ratio events/nginx (webhook requests/s): %.3f\n", a / b }'
analyze events "$e_total"

# The JetStream bus next to raw libnats on one nats-server -js.
NATS_PORT=$(free_port)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/js" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
wait_port "$NATS_PORT" 10
"$BIN/bench/events_jetstream" --url="nats://127.0.0.1:$NATS_PORT" --events="$JS_EVENTS" \
  --threads="$JS_THREADS"
