#!/usr/bin/env bash
# The distributed mode of the workflow path: the cluster service, the
# workflow service (--cluster) and the gateway as three processes on loopback
# ports with their own data directories, driven through the gateway by the
# CLI. A steps workflow passes an output parameter and its logs come back
# through the gateway; a workflow survives SIGKILL of the workflow service
# in the middle of a step. Authentication is on (the default --auth-mode
# client): the processes share one token store, the workflow service reaches
# the cluster service with the system:service token, the gateway relays the
# caller's token, and the CLI and curl use an admin token; a call to a
# service's own gRPC port without a token is refused.
source tests/lib.sh
source tests/distributed_auth.sh

CLUSTER_BIN="$PWD/services/cluster/cluster"
WORKFLOW_BIN="$PWD/services/workflow/workflow"
GATEWAY_BIN="$PWD/gateway/gateway"

CLUSTER_GRPC=$(free_port)
CLUSTER_HTTP=$(free_port)
WF_GRPC=$(free_port)
WF_HTTP=$(free_port)
GW_PORT=$(free_port)
# Never the default ports of other services: only the two started here.
UNUSED=$(free_port)
export ARGONAUT_SERVER="127.0.0.1:${GW_PORT}"
make_deployment_tokens "$CLUSTER_BIN"
# A readonly account, to show that each service authorizes the caller itself.
printf 'g, alice, role:readonly\n' >"$WORK/policy.csv"
AUTH_FLAGS+=(--rbac-policy="$WORK/policy.csv")
"$CLUSTER_BIN" --auth-file="$WORK/auth/tokens.json" --create-token-account=alice \
  --create-token-file="$WORK/tokens/alice.token" >>"$WORK/tokens.log" 2>&1 || fail "alice's token"

CLUSTER_PID=""
WF_PID=""
GW_PID=""

stop_all() {
  # The gateway first, then the workflow service, then the cluster, which
  # stops every pod and its network.
  stop_pid "$GW_PID" TERM
  stop_pid "$WF_PID" TERM
  stop_pid "$CLUSTER_PID" TERM
  GW_PID="" WF_PID="" CLUSTER_PID=""
}
trap stop_all EXIT

start_cluster() {
  "$CLUSTER_BIN" --grpc_port="$CLUSTER_GRPC" --http_port="$CLUSTER_HTTP" \
    --data_dir="$WORK/cluster-data/cluster" --encryption_key_file="$WORK/encryption.key" \
    --artifact_dir="$WORK/artifacts" \
    "${AUTH_FLAGS[@]}" >>"$WORK/cluster.log" 2>&1 &
  CLUSTER_PID=$!
  wait_ready cluster "$CLUSTER_PID" "http://127.0.0.1:${CLUSTER_HTTP}/readyz" "$WORK/cluster.log"
}

start_workflow() {
  "$WORKFLOW_BIN" --grpc_port="$WF_GRPC" --http_port="$WF_HTTP" \
    --data_dir="$WORK/workflow-data/workflow" --cluster="127.0.0.1:${CLUSTER_GRPC}" \
    --artifact_dir="$WORK/artifacts" "${AUTH_FLAGS[@]}" >>"$WORK/workflow.log" 2>&1 &
  WF_PID=$!
  wait_ready workflow "$WF_PID" "http://127.0.0.1:${WF_HTTP}/readyz" "$WORK/workflow.log"
}

start_gateway() {
  "$GATEWAY_BIN" --port="$GW_PORT" --workflow="127.0.0.1:${WF_GRPC}" \
    --cluster="127.0.0.1:${CLUSTER_GRPC}" --rollout="127.0.0.1:${UNUSED}" \
    --events="127.0.0.1:${UNUSED}" --cd="127.0.0.1:${UNUSED}" "${AUTH_FLAGS[@]}" \
    >>"$WORK/gateway.log" 2>&1 &
  GW_PID=$!
  wait_ready gateway "$GW_PID" "http://127.0.0.1:${GW_PORT}/readyz" "$WORK/gateway.log"
}

dump_logs() {
  for f in cluster workflow gateway; do
    echo "--- $f.log (tail)" >&2
    tail -n 40 "$WORK/$f.log" >&2 || true
  done
}

start_cluster
start_workflow
start_gateway
grep -q "no cluster" "$WORK/workflow.log" && fail "workflow service runs without its controller"

# 0. The services' own ports and the gateway refuse calls without a token.
for port in "$CLUSTER_GRPC" "$WF_GRPC"; do
  st=$(grpc_refused "$port" /argonaut.api.v1.ResourceService/ListKinds)
  [[ $st == 16 ]] || fail "gRPC call without a token to 127.0.0.1:$port: grpc-status $st, want 16"
  st=$(grpc_status "$port" /argonaut.api.v1.ResourceService/ListKinds "$(cat "$WORK/tokens/admin.token")")
  [[ $st == 0 ]] || fail "gRPC call with the admin token to 127.0.0.1:$port: grpc-status $st"
  st=$(grpc_refused "$port" /argonaut.api.v1.ResourceService/ListKinds "argn_000000000000_forged")
  [[ $st == 16 ]] || fail "gRPC call with a forged token to 127.0.0.1:$port: grpc-status $st"
done
code=$(command curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${GW_PORT}/api/v1/workflows/default")
[[ $code == 401 ]] || fail "REST without a token through the gateway: HTTP $code, want 401"
ARGONAUT_TOKEN="" ARGONAUT_DATA="$WORK/no-data" "$ARGONAUT" list >"$WORK/notoken.out" 2>&1 &&
  fail "the CLI without a token was served"
# alice (readonly) reads, through the gateway and on the workflow service's
# own port, but creates nowhere: the service checks the relayed token too.
ALICE=$(cat "$WORK/tokens/alice.token")
ARGONAUT_TOKEN="$ALICE" "$ARGONAUT" list >"$WORK/alice.out" 2>&1 ||
  { cat "$WORK/alice.out" >&2; fail "alice cannot list through the gateway"; }
ARGONAUT_TOKEN="$ALICE" ARGONAUT_SERVER="127.0.0.1:${WF_GRPC}" "$ARGONAUT" list \
  >"$WORK/alice.out" 2>&1 || { cat "$WORK/alice.out" >&2; fail "alice cannot list at the service"; }
cat >"$WORK/alice.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: alice}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: alpine, command: ["true"]}}]
YAML
for server in "127.0.0.1:${GW_PORT}" "127.0.0.1:${WF_GRPC}"; do
  if ARGONAUT_TOKEN="$ALICE" ARGONAUT_SERVER="$server" "$ARGONAUT" submit "$WORK/alice.yaml" \
    >"$WORK/alice.out" 2>&1; then
    fail "a readonly token submitted a workflow at $server"
  fi
  grep -q 'may not create workflows' "$WORK/alice.out" ||
    { cat "$WORK/alice.out" >&2; fail "alice's refusal at $server does not name the permission"; }
done

# 1. Two steps, the second consuming the first's output parameter.
cat >"$WORK/pass.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: pass
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: produce
        template: produce
    - - name: consume
        template: consume
        arguments:
          parameters:
          - name: msg
            value: "{{steps.produce.outputs.parameters.msg}}"
  - name: produce
    container:
      image: alpine
      command: [sh, -c]
      args: ["echo producing; printf handed-over > /tmp/msg"]
    outputs:
      parameters:
      - name: msg
        valueFrom: {path: /tmp/msg}
  - name: consume
    inputs:
      parameters:
      - name: msg
    container:
      image: alpine
      command: [sh, -c]
      args: ["echo consumed {{inputs.parameters.msg}}"]
YAML
if ! timeout 120 "$ARGONAUT" submit "$WORK/pass.yaml" --wait >"$WORK/submit.out" 2>&1; then
  cat "$WORK/submit.out" >&2
  dump_logs
  fail "submit --wait through the gateway"
fi
phase=$("$ARGONAUT" get wf pass -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["phase"])')
[[ $phase == Succeeded ]] || { dump_logs; fail "pass: phase $phase"; }
"$ARGONAUT" logs pass >"$WORK/logs.out" 2>&1 || { cat "$WORK/logs.out" >&2; fail "argonaut logs"; }
grep -q "producing" "$WORK/logs.out" || { cat "$WORK/logs.out" >&2; fail "first step's log"; }
grep -q "consumed handed-over" "$WORK/logs.out" || { cat "$WORK/logs.out" >&2; fail "second step's log"; }
# The pods live in the cluster service, reached through the gateway.
n=$("$ARGONAUT" get pods -l workflows.argoproj.io/workflow=pass -o name | wc -l)
[[ $n -eq 2 ]] || fail "expected 2 step pods in the cluster service, got $n"
# Pod logs go from the gateway to the cluster service.
pod=$("$ARGONAUT" get pods -l workflows.argoproj.io/workflow=pass -o name | head -n 1)
"$ARGONAUT" logs "$pod" -c main >"$WORK/pod.out" 2>&1 || { cat "$WORK/pod.out" >&2; fail "logs $pod"; }
grep -Eq "producing|consumed handed-over" "$WORK/pod.out" || { cat "$WORK/pod.out" >&2; fail "pod log"; }
# REST workflow paths go to the workflow service too.
curl -sf -H "Authorization: Bearer ${ARGONAUT_TOKEN}" \
  "http://127.0.0.1:${GW_PORT}/api/v1/workflows/default/pass/log?logOptions.container=main" |
  grep -q "consumed handed-over" || fail "REST workflow log"

# An output artifact through the local repository: the pods (with a user
# namespace when isolated) write it in the cluster service's --artifact_dir.
if ! timeout 120 "$ARGONAUT" submit "$PWD/examples/workflows/artifact-passing.yaml" \
  --name art --wait >"$WORK/art.out" 2>&1; then
  cat "$WORK/art.out" >&2
  "$ARGONAUT" get wf art -o json >&2 || true
  dump_logs
  fail "artifact-passing in distributed mode"
fi
phase=$("$ARGONAUT" get wf art -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["phase"])')
[[ $phase == Succeeded ]] || { "$ARGONAUT" get wf art >&2; dump_logs; fail "artifact-passing: phase $phase"; }
find "$WORK/artifacts" -name 'message.tgz' | grep -q . || fail "no artifact in the repository"

# The cluster service admits hostPath volumes only under --host_path_allow.
cat >"$WORK/hostroot.json" <<'JSON'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hostroot"},
 "spec": {"containers": [{"name": "main", "image": "alpine", "command": ["true"]}],
          "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}
JSON
if "$ARGONAUT" apply -f "$WORK/hostroot.json" >"$WORK/hostroot.out" 2>&1; then
  fail "the cluster service admitted a pod mounting the host's /"
fi
grep -q 'spec.volumes\[0\].hostPath.path' "$WORK/hostroot.out" ||
  { cat "$WORK/hostroot.out" >&2; fail "the hostPath refusal does not name the field"; }

# 2. SIGKILL the workflow service while a step sleeps; the restarted service
# finishes the workflow.
cat >"$WORK/slow.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: slow
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: nap
        template: nap
    - - name: after
        template: after
  - name: nap
    container: {image: alpine, command: [sh, -c, "sleep 6; echo rested"]}
  - name: after
    container: {image: alpine, command: [echo, after-restart]}
YAML
"$ARGONAUT" submit "$WORK/slow.yaml" >/dev/null || fail "submit slow"
running=""
# Pods take seconds to start on a loaded machine: wait for one by the clock.
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  if "$ARGONAUT" get pods -l workflows.argoproj.io/workflow=slow -o json 2>/dev/null |
    python3 -c 'import json,sys
d=json.load(sys.stdin)
sys.exit(0 if any(p.get("status",{}).get("phase")=="Running" for p in d.get("items",[])) else 1)'; then
    running=yes
    break
  fi
  sleep 0.1
done
[[ -n $running ]] || { dump_logs; fail "the sleep step never ran"; }
kill -KILL "$WF_PID"
wait "$WF_PID" 2>/dev/null || true
WF_PID=""
# The step keeps running in the cluster service while no controller watches it.
sleep 1
start_workflow
if ! timeout 90 "$ARGONAUT" wait slow >"$WORK/wait.out" 2>&1; then
  cat "$WORK/wait.out" >&2
  dump_logs
  fail "slow did not finish after the workflow service restarted"
fi
phase=$("$ARGONAUT" get wf slow -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["phase"])')
[[ $phase == Succeeded ]] || { dump_logs; fail "slow: phase $phase"; }
"$ARGONAUT" logs slow >"$WORK/slow.out" 2>&1 || true
grep -q "rested" "$WORK/slow.out" || { cat "$WORK/slow.out" >&2; fail "slow: nap log"; }
grep -q "after-restart" "$WORK/slow.out" || { cat "$WORK/slow.out" >&2; fail "slow: after log"; }
# The nap step ran once: the restart did not start it again.
n=$("$ARGONAUT" get pods -l workflows.argoproj.io/workflow=slow -o name | wc -l)
[[ $n -eq 2 ]] || fail "slow: expected 2 pods, got $n"

# Each service stops cleanly on SIGTERM (exit 0), the cluster with its pods.
stop_pid "$GW_PID" TERM
[[ $STOP_RC -eq 0 ]] || fail "gateway exited $STOP_RC on SIGTERM"
GW_PID=""
stop_pid "$WF_PID" TERM
[[ $STOP_RC -eq 0 ]] || { dump_logs; fail "workflow service exited $STOP_RC on SIGTERM"; }
WF_PID=""
stop_pid "$CLUSTER_PID" TERM
[[ $STOP_RC -eq 0 ]] || { dump_logs; fail "cluster service exited $STOP_RC on SIGTERM"; }
CLUSTER_PID=""
echo "PASS"
