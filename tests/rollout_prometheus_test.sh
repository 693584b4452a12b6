#!/usr/bin/env bash
# The Prometheus analysis (examples/rollouts/analysis-prometheus.yaml) against
# `argonaut up` and a real Prometheus on loopback that scrapes the demo app's
# pods (file_sd targets kept up to date from `argonaut get pods`), while a
# client sends a steady stream of /color requests through the Service. A
# `bad-` image (half of its /color answers are 500, about 10% of the
# Service's at setWeight 20) fails the error-rate metric and is rolled back:
# Degraded, every pod stable, the AnalysisRun Failed. A good color passes the
# three measurements and is promoted to Healthy.
source tests/lib.sh
source tests/rollout_lib.sh

RO=rollouts-demo-prometheus
PROM=$(free_port)
PROM_PID=""
SD_PID=""
LOAD_PID=""
cleanup() {
  for pid in $LOAD_PID $SD_PID $PROM_PID; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $LOAD_PID $SD_PID $PROM_PID; do
    wait "$pid" 2>/dev/null || true
  done
  stop_up TERM
}
trap cleanup EXIT

start_up "$WORK/data"

# Prometheus: the pods' /metrics on port 8080, every second, as job
# rollouts-demo (the template's default `job` argument).
echo '[]' >"$WORK/targets.json"
cat >"$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: rollouts-demo
  file_sd_configs: [{files: ["$WORK/targets.json"], refresh_interval: 1s}]
YAML
/usr/bin/prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:${PROM}" >"$WORK/prom.log" 2>&1 &
PROM_PID=$!
(
  while true; do
    "$ARGONAUT" get pods -l "app=$RO" -o json 2>/dev/null | python3 -c '
import json,sys
pods=json.load(sys.stdin).get("items",[])
t=[p["status"]["podIP"]+":8080" for p in pods
   if p.get("status",{}).get("phase")=="Running" and p["status"].get("podIP")]
print(json.dumps([{"targets":sorted(t)}]))' >"$WORK/targets.tmp" 2>/dev/null &&
      mv "$WORK/targets.tmp" "$WORK/targets.json"
    sleep 1
  done
) &
SD_PID=$!

# The template's Prometheus address is ours, and its rate window 10 s: rate()
# over [30s] of the canary pod's young series counts only the part of the
# window the series covers, so the seed's 3 measurements (0, 10, 20 s) see at
# most 2/3 of the bad pod's 10% (about 6% against the 5% limit, measured
# 0 / 2.3% / 5.8%): too close to decide reliably on a loaded machine.
python3 - "$(examples_dir)/analysis-prometheus.yaml" "$PROM" >"$WORK/prometheus-rollout.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
addr = "value: http://127.0.0.1:9090"
assert addr in text and text.count("[30s]") == 2, "analysis-prometheus.yaml changed shape"
text = text.replace(addr, "value: http://127.0.0.1:%s" % sys.argv[2]).replace("[30s]", "[10s]")
print(text, end="")
PY
run_cli apply -f "$WORK/prometheus-rollout.yaml" >/dev/null
wait_ro $RO "the first revision Healthy" 120 \
  's.get("phase")=="Healthy" and s.get("availableReplicas")==5 and s.get("stableRS") and s.get("stableRS")==s.get("currentPodHash")'
V1=$(ro_field $RO stableRS)
wait_colors $RO 'c == {"blue": 20}'

# Steady traffic on /color through the Service, one connection per request.
PORT=$(svc_port $RO)
python3 - "$PORT" <<'PY' >/dev/null 2>&1 &
import http.client, sys, time
port = int(sys.argv[1])
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/color")
        c.getresponse().read()
        c.close()
    except Exception:
        pass
    time.sleep(0.02)
PY
LOAD_PID=$!

# error_rate: the template's query now ("" while Prometheus has no answer).
error_rate() {
  curl -sf "http://127.0.0.1:${PROM}/api/v1/query" --data-urlencode \
    'query=sum(rate(requests_total{job="rollouts-demo",status=~"5.."}[10s])) / sum(rate(requests_total{job="rollouts-demo"}[10s]))' \
    2>/dev/null | python3 -c 'import json,sys
r=json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null || true
}
# wait_error_rate PYTHON-EXPR-ON-v DESCRIPTION
wait_error_rate() {
  local deadline=$((SECONDS + 120)) v=""
  while ((SECONDS < deadline)); do
    v=$(error_rate)
    if [[ -n $v ]] && python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if ($1) else 1)" "$v"; then
      echo "error rate $v ($2)" >&2
      return 0
    fi
    sleep 1
  done
  cat "$WORK/targets.json" >&2
  tail -n 20 "$WORK/prom.log" >&2
  ro_fail "Prometheus: error rate '$v', expected $2"
}
wait_error_rate 'v == 0' "Prometheus scrapes the stable pods under traffic"

# A bad image is rolled back by the analysis.
run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:bad-yellow >/dev/null
wait_ro $RO "the bad update observed" 120 "s.get('currentPodHash') not in (None, '', '$V1')"
V2=$(ro_field $RO currentPodHash)
wait_ro $RO "Degraded after the error-rate analysis failed" 180 \
  's.get("phase")=="Degraded" and s.get("abort") is True'
echo "bad image: $(ro_field $RO message)" >&2
"$ARGONAUT" get analysisruns -o json | python3 -c '
import json,sys
runs=[a for a in json.load(sys.stdin)["items"] if a["metadata"]["name"].startswith(sys.argv[1]+"-"+sys.argv[2])]
assert runs, "no AnalysisRun for the bad revision"
st=runs[0].get("status") or {}
ms=[m.get("value") for r in st.get("metricResults",[]) for m in r.get("measurements",[])]
print("AnalysisRun", runs[0]["metadata"]["name"], st.get("phase"), "measurements", ms, file=sys.stderr)
assert st.get("phase")=="Failed", st.get("phase")' $RO "$V2" || ro_fail "the bad revision's AnalysisRun did not fail"
wait_replicas $RO "$V2" 0
wait_replicas $RO "$V1" 5
wait_colors $RO 'c == {"blue": 20}'

# The bad pod's answers leave the 10 s window before the next update.
wait_error_rate 'v == 0' "the bad pod's 500s out of the window"

# A good color passes and is promoted.
run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:green >/dev/null
wait_ro $RO "the good color Healthy" 240 \
  "s.get('phase')=='Healthy' and s.get('stableRS') not in (None, '', '$V1', '$V2') and s.get('availableReplicas')==5"
V3=$(ro_field $RO stableRS)
wait_replicas $RO "$V3" 5
wait_colors $RO 'c == {"green": 20}'
"$ARGONAUT" get analysisruns | grep -E "^$RO-$V3-.*Successful" >&2 ||
  ro_fail "no Successful AnalysisRun for the good revision"
echo "PASS"
