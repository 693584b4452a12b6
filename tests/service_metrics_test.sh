#!/usr/bin/env bash
# A real Prometheus server on loopback scrapes a running service (the
# standalone workflow service) and returns its series through the HTTP
# query API.
source tests/lib.sh

SERVICE="$PWD/services/workflow/workflow"
GRPC=$(free_port)
HTTP=$(free_port)
PROM=$(free_port)
"$SERVICE" --grpc_port="$GRPC" --http_port="$HTTP" --data_dir="$WORK/wf" >"$WORK/svc.log" 2>&1 &
SVC_PID=$!
cat >"$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: argonaut-workflow
  static_configs: [{targets: ["127.0.0.1:${HTTP}"]}]
YAML
/usr/bin/prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:${PROM}" >"$WORK/prom.log" 2>&1 &
PROM_PID=$!
trap 'kill -TERM $SVC_PID $PROM_PID 2>/dev/null || true; sleep 0.5; kill -KILL $SVC_PID $PROM_PID 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${HTTP}/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:${HTTP}/metrics" | promtool check metrics || fail "promtool"

value=""
for _ in $(seq 1 60); do
  value=$(curl -sf "http://127.0.0.1:${PROM}/api/v1/query" \
    --data-urlencode 'query=process_resident_memory_bytes{job="argonaut-workflow"}' 2>/dev/null |
    python3 -c 'import json,sys
r=json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
  [[ -n "$value" ]] && break
  sleep 0.5
done
[[ -n "$value" ]] || { cat "$WORK/prom.log" >&2; fail "no series from Prometheus"; }
echo "PASS: Prometheus scraped the workflow service: process_resident_memory_bytes=$value"
