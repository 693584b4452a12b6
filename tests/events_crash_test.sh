#!/usr/bin/env bash
# The events service's delivery promise under a crash: the standalone events
# service (its own data directory, the embedded RocksDB bus) with a webhook
# EventSource and a Sensor whose http trigger (atLeastOnce) posts each
# event's sequence number and CloudEvent id to a loopback sink. A bounded
# client sends CRASH_EVENTS (10,000) POSTs, each with a unique sequence
# number, CRASH_CONCURRENCY at a time, retrying a POST until it gets
# `200 success`; the service is SIGKILLed twice mid-stream and restarted.
# Asserts: every sequence number that was answered `success` reached the
# sink (none lost); the same event id delivered twice (the bus' at-least-once
# redelivery of an event fired but not yet acknowledged when the process
# died) happens at most once per kill. Then the sink is stopped, 200 events
# are accepted while it is down, and all arrive once it is back.
# Prints the counts (acknowledged, delivered, duplicates by kind).
# The CLI calls the service's own gRPC port with an admin token.
source tests/lib.sh
source tests/distributed_auth.sh

EVENTS_BIN="$PWD/services/events/events"
N=${CRASH_EVENTS:-10000}
CONC=${CRASH_CONCURRENCY:-16}
DOWN_N=${CRASH_DOWN_EVENTS:-200}
KILLS=2

EV_GRPC=$(free_port)
EV_HTTP=$(free_port)
HOOK=$(free_port)
SINK=$(free_port)
export ARGONAUT_SERVER="127.0.0.1:${EV_GRPC}"
make_deployment_tokens "$EVENTS_BIN"
EV_PID=""
SINK_PID=""
LOAD_PID=""
stop_all() {
  stop_pid "$LOAD_PID" TERM
  stop_pid "$EV_PID" TERM
  stop_pid "$SINK_PID" TERM
  LOAD_PID="" EV_PID="" SINK_PID=""
}
trap stop_all EXIT

# The trigger's target: appends "seq id" per request to a file (flushed per
# line), so that a restarted sink continues the same record.
cat >"$WORK/sink.py" <<'PY'
import http.server, json, sys, threading
port, path = int(sys.argv[1]), sys.argv[2]
out = open(path, "a", buffering=1)
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            d = json.loads(body)
            line = "%s %s\n" % (int(d["seq"]), d["id"])
        except Exception as e:
            line = "bad %r\n" % body[:200]
        with lock:
            out.write(line)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
srv.daemon_threads = True
srv.serve_forever()
PY

# The bounded client: CONC threads, one keep-alive connection each; a POST
# is retried (same seq) until `200 success` or the deadline. Writes the
# acknowledged count to PROGRESS, and the acknowledged seqs to OUT.
cat >"$WORK/load.py" <<'PY'
import http.client, json, sys, threading, time
port, first, n, conc, progress, out, deadline_s = sys.argv[1:8]
port, first, n, conc, deadline_s = int(port), int(first), int(n), int(conc), float(deadline_s)
deadline = time.time() + deadline_s
lock = threading.Lock()
next_seq = [first]
acked, stats = [], {"retries": 0, "sent_then_failed": 0, "503": 0}
def worker():
    conn = None
    while True:
        with lock:
            if next_seq[0] >= first + n:
                return
            seq = next_seq[0]; next_seq[0] += 1
        body = json.dumps({"seq": seq, "sent": time.time()})
        while time.time() < deadline:
            sent = False
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/crash", body, {"Content-Type": "application/json"})
                sent = True
                r = conn.getresponse(); text = r.read().decode()
                if r.status == 200 and text == "success":
                    with lock: acked.append(seq)
                    break
                with lock:
                    stats["retries"] += 1
                    if r.status == 503: stats["503"] += 1
                time.sleep(0.05)
            except Exception:
                if conn is not None: conn.close()
                conn = None
                with lock:
                    stats["retries"] += 1
                    if sent: stats["sent_then_failed"] += 1
                time.sleep(0.1)
threads = [threading.Thread(target=worker, daemon=True) for _ in range(conc)]
for t in threads: t.start()
start = time.time()
while any(t.is_alive() for t in threads):
    with lock: k = len(acked)
    open(progress + ".tmp", "w").write(str(k)); __import__("os").replace(progress + ".tmp", progress)
    time.sleep(0.1)
with lock:
    open(progress, "w").write(str(len(acked)))
    json.dump({"acked": sorted(acked), "stats": stats, "seconds": time.time() - start}, open(out, "w"))
PY

start_sink() {
  python3 "$WORK/sink.py" "$SINK" "$WORK/delivered.txt" >>"$WORK/sink.log" 2>&1 &
  SINK_PID=$!
  for _ in $(seq 1 50); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
      "$SINK" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "sink did not listen on $SINK"
}

start_events() {
  "$EVENTS_BIN" --grpc_port="$EV_GRPC" --http_port="$EV_HTTP" --webhook_host=127.0.0.1 \
    --data_dir="$WORK/events-data" "${AUTH_FLAGS[@]}" >>"$WORK/events.log" 2>&1 &
  EV_PID=$!
  wait_ready events "$EV_PID" "http://127.0.0.1:${EV_HTTP}/readyz" "$WORK/events.log"
}

dump() {
  echo "--- events.log (tail)" >&2
  tail -n 40 "$WORK/events.log" >&2 || true
  echo "--- sink.log" >&2
  tail -n 20 "$WORK/sink.log" >&2 || true
}

# delivered_count FIRST N: how many distinct seqs in [FIRST, FIRST+N) reached the sink.
delivered_count() {
  python3 - "$WORK/delivered.txt" "$1" "$2" <<'PY'
import sys
first, n = int(sys.argv[2]), int(sys.argv[3])
seen = set()
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 2 and p[0].lstrip("-").isdigit() and first <= int(p[0]) < first + n:
        seen.add(int(p[0]))
print(len(seen))
PY
}

# post SEQ: one POST, prints the HTTP code.
post() {
  curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"seq\": $1}" "http://127.0.0.1:${HOOK}/crash" || true
}

start_sink
start_events

"$ARGONAUT" apply -f - >/dev/null <<YAML || { dump; fail "apply"; }
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: crash
  namespace: default
spec:
  webhook:
    crash:
      port: "${HOOK}"
      endpoint: /crash
      method: POST
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: crash
  namespace: default
spec:
  dependencies:
    - name: dep
      eventSourceName: crash
      eventName: crash
  triggers:
    - template:
        name: sink
        http:
          url: http://127.0.0.1:${SINK}/event
          method: POST
          timeout: 10
          payload:
            - src: {dependencyName: dep, dataKey: body.seq}
              dest: seq
            - src: {dependencyName: dep, contextKey: id}
              dest: id
      policy:
        status:
          allow: [200]
      atLeastOnce: true
      retryStrategy:
        steps: 3
        duration: 100ms
YAML

# The chain is up when a probe (seq -1) reaches the sink: the webhook
# listens and the sensor's bus consumer is registered.
ok=""
for _ in $(seq 1 100); do
  post -1 >/dev/null
  if grep -q '^-1 ' "$WORK/delivered.txt" 2>/dev/null; then ok=1; break; fi
  sleep 0.3
done
[[ -n "$ok" ]] || { dump; fail "no probe event reached the sink"; }

# Phase 1: N POSTs, SIGKILL at 30% and 65% of the acknowledged ones.
T0=$(date +%s)
python3 "$WORK/load.py" "$HOOK" 0 "$N" "$CONC" "$WORK/progress" "$WORK/acked.json" 180 \
  >>"$WORK/load.log" 2>&1 &
LOAD_PID=$!
kills=0
for pct in 30 65; do
  target=$((N * pct / 100))
  while kill -0 "$LOAD_PID" 2>/dev/null && [[ $(cat "$WORK/progress" 2>/dev/null || echo 0) -lt $target ]]; do
    sleep 0.05
  done
  kill -0 "$LOAD_PID" 2>/dev/null || break
  echo "SIGKILL at $(cat "$WORK/progress") acknowledged POSTs" >&2
  kill -KILL "$EV_PID"
  wait "$EV_PID" 2>/dev/null || true
  kills=$((kills + 1))
  start_events
done
wait "$LOAD_PID" || { cat "$WORK/load.log" >&2; fail "the client failed"; }
LOAD_PID=""
[[ $kills -eq $KILLS ]] || fail "the stream ended before $KILLS kills ($kills): raise CRASH_EVENTS"
T1=$(date +%s)

# Every acknowledged seq reaches the sink (bounded wait).
acked=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["acked"]))' "$WORK/acked.json")
deadline=$((SECONDS + 120))
while [[ $SECONDS -lt $deadline ]]; do
  [[ $(delivered_count 0 "$N") -ge $acked ]] && break
  sleep 0.5
done
sleep 1  # late redeliveries, if any, are counted too

python3 - "$WORK/acked.json" "$WORK/delivered.txt" "$N" "$kills" "$((T1 - T0))" <<'PY' || { dump; fail "delivery check"; }
import collections, json, sys
a = json.load(open(sys.argv[1])); n, kills, secs = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
acked = set(a["acked"])
by_seq = collections.defaultdict(list)
for line in open(sys.argv[2]):
    p = line.split()
    if len(p) == 2 and p[0].isdigit():
        by_seq[int(p[0])].append(p[1])
delivered = set(by_seq)
lost = sorted(acked - delivered)
ids = collections.Counter(i for v in by_seq.values() for i in v)
same_id = sum(c - 1 for c in ids.values() if c > 1)
# The same seq under two ids: a POST whose answer was lost (the process
# died after storing it) was sent again by the client as a new event.
resent = sum(len(set(v)) - 1 for v in by_seq.values() if len(set(v)) > 1)
unacked_delivered = len(delivered - acked)
print(f"events_crash: {n} POSTs, {len(acked)} acknowledged in {secs}s with {kills} SIGKILLs; "
      f"client retries {a['stats']['retries']} (answer lost after sending: {a['stats']['sent_then_failed']}, "
      f"503: {a['stats']['503']})")
print(f"events_crash: delivered {len(delivered)} distinct seqs, lost {len(lost)}; duplicates: "
      f"same event id redelivered {same_id}, same seq re-sent as a new event {resent}; "
      f"delivered but never acknowledged {unacked_delivered}")
ok = True
if len(acked) != n:
    print(f"FAIL: only {len(acked)} of {n} POSTs were acknowledged before the client's deadline"); ok = False
if lost:
    print(f"FAIL: {len(lost)} acknowledged events never reached the trigger, e.g. {lost[:10]}"); ok = False
# One event at a time is fired before its ack: at most one redelivery per kill.
if same_id > kills:
    print(f"FAIL: {same_id} redeliveries of an event id for {kills} kills (at most one per kill)"); ok = False
sys.exit(0 if ok else 1)
PY

# Phase 2: the trigger's target is down; accepted events wait on the bus.
stop_pid "$SINK_PID" TERM
SINK_PID=""
FIRST=$((N + 1000))
for i in $(seq 0 $((DOWN_N - 1))); do
  code=$(post $((FIRST + i)))
  [[ "$code" == "200" ]] || { dump; fail "POST while the sink is down answered $code"; }
done
sleep 2  # the sensor retries against the closed port meanwhile
start_sink
got=0
deadline=$((SECONDS + 60))
while [[ $SECONDS -lt $deadline ]]; do
  got=$(delivered_count "$FIRST" "$DOWN_N")
  [[ $got -ge $DOWN_N ]] && break
  sleep 0.5
done
echo "events_crash: $DOWN_N events accepted while the trigger's target was down, $got delivered once it was back"
[[ $got -eq $DOWN_N ]] || { dump; fail "only $got of $DOWN_N events delivered after the target came back"; }
echo PASS
