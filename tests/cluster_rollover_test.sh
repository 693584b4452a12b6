#!/usr/bin/env bash
# The local cluster runtime end to end, as a user drives it: a Deployment of
# three kubernetes-bootcamp pods behind a Service answers from every pod;
# rolling the image to :v2 never leaves the Service without a ready endpoint
# (requests sent throughout all succeed); no pod process outlives the runtime,
# whether it is stopped with SIGTERM or killed with SIGKILL.
source "$(dirname "$0")/lib.sh"

manifest() {
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bootcamp
spec:
  replicas: 3
  selector:
    matchLabels: {app: bootcamp}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: bootcamp}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: jocatalin/kubernetes-bootcamp:$1
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: bootcamp
spec:
  type: LoadBalancer
  selector: {app: bootcamp}
  ports:
  - port: 80
    targetPort: 8080
YAML
}

json_field() {  # json_field EXPR: evaluates EXPR on the JSON from stdin as `o`
  python3 -c "import json,sys; o=json.load(sys.stdin); print($1)"
}

# wait_for DESCRIPTION COMMAND...: retries for up to 60 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail "timed out waiting for $what"
}

deployment_settled() {  # deployment_settled VERSION
  local d
  d=$("$ARGONAUT" get deploy bootcamp -o json) || return 1
  [[ $(json_field 'o["status"].get("updatedReplicas",0)' <<<"$d") == 3 ]] || return 1
  [[ $(json_field 'o["status"].get("readyReplicas",0)' <<<"$d") == 3 ]] || return 1
  [[ $(json_field 'o["status"].get("replicas",0)' <<<"$d") == 3 ]] || return 1
  "$ARGONAUT" get pods -l app=bootcamp -o json |
    json_field 'all("'"$1"'" in p["spec"]["containers"][0]["image"] for p in o["items"]) and len(o["items"]) == 3' |
    grep -qx True
}

service_port() {
  "$ARGONAUT" get svc bootcamp -o json |
    json_field 'o["status"]["loadBalancer"]["ingress"][0]["ports"][0]["port"]'
}

pod_pids() {
  "$ARGONAUT" get pods -l app=bootcamp -o json |
    json_field '" ".join(c["containerID"].split("//")[1] for p in o["items"] for c in p["status"].get("containerStatuses",[]) if "containerID" in c)'
}

assert_gone() {  # assert_gone PID...: every pid exits within 10 s
  for _ in $(seq 1 100); do
    local alive=""
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [[ -z "$alive" ]] && return 0
    sleep 0.1
  done
  alive=${alive# }
  ps -o pid,ppid,user,stat,cmd -p "${alive// /,}" >&2 || true
  tail -n 30 "$WORK/up.log" >&2 || true
  fail "pod processes outlived the runtime:$alive"
}

start_up "$WORK/data"
manifest v1 | "$ARGONAUT" apply -f - >/dev/null
wait_for "3 ready v1 pods" deployment_settled v1
wait_for "the service's local port" service_port
SVC="127.0.0.1:$(service_port)"

# Every pod answers through the Service, round-robin.
seen=$(for _ in $(seq 1 30); do curl -sf -m 2 "http://$SVC/"; done |
  sed -n 's/.*Running on: \([^ ]*\) .*/\1/p' | sort -u | wc -l)
[[ "$seen" == 3 ]] || fail "expected answers from 3 pods, got $seen"
"$ARGONAUT" get svc | grep -q "127.0.0.1" || fail "get services shows no address"
pod=$("$ARGONAUT" get pods -l app=bootcamp -o name | head -1)
"$ARGONAUT" logs "$pod" | grep -q "listening on port 8080" || fail "logs $pod"

# Roll to v2 under load: a bounded loop of requests, every one must succeed.
load() {
  local ok=0 bad=0 end=$((SECONDS + 45))
  while [[ $SECONDS -lt $end && ! -e "$WORK/stop-load" ]]; do
    if curl -sf -m 2 "http://$SVC/" >>"$WORK/answers"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
  done
  echo "$ok $bad" >"$WORK/load-result"
}
load &
LOAD_PID=$!
sleep 1
manifest v2 | "$ARGONAUT" apply -f - >/dev/null
wait_for "3 ready v2 pods" deployment_settled v2
sleep 1
touch "$WORK/stop-load"
wait "$LOAD_PID"
read -r ok bad <"$WORK/load-result"
echo "rollover: $ok requests answered, $bad failed"
[[ "$bad" == 0 ]] || fail "$bad requests failed during the rollover"
[[ "$ok" -gt 20 ]] || fail "too few requests during the rollover ($ok)"
grep -q "v=2" "$WORK/answers" || fail "never answered from v2"
[[ $(tail -1 "$WORK/answers") == *"v=2"* ]] || fail "last answer not from v2"
"$ARGONAUT" get rs | awk 'NR > 1 && $2 == 0 { old++ } END { exit old == 1 ? 0 : 1 }' ||
  fail "old ReplicaSet not scaled to zero: $("$ARGONAUT" get rs)"

# SIGTERM: graceful stop, nothing left behind.
pids=$(pod_pids)
[[ -n "$pids" ]] || fail "no pod pids"
stop_up TERM
# shellcheck disable=SC2086
assert_gone $pids

# A restart adopts the Deployment: the same pods run again.
start_up "$WORK/data"
wait_for "pods back after restart" deployment_settled v2
names_after=$("$ARGONAUT" get pods -l app=bootcamp -o name | wc -l)
[[ "$names_after" == 3 ]] || fail "expected 3 pods after restart, got $names_after"
# SIGKILL: the runtime cannot clean up, the kernel must.
pids=$(pod_pids)
stop_up KILL
# shellcheck disable=SC2086
assert_gone $pids
# The next start removes the bridge the killed run left; a clean stop then
# leaves nothing on the host.
start_up "$WORK/data"
stop_up TERM
echo "PASS"
