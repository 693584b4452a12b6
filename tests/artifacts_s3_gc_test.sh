#!/usr/bin/env bash
# Artifact GC, downloads and `argonaut cp` with an S3 repository (npm's s3rver started here,
# configured through the controller's ConfigMap as in examples/artifact-repository): the
# workflow service deletes objects in its own process with the credentials Secret read from the
# cluster; a delete that fails (s3rver stopped) is recorded as the ArtifactGCError condition and
# retried, and the finalizer holds the workflow until it succeeds.
source tests/lib.sh
source tests/artifacts_lib.sh

S3RVER=/opt/argonaut-npm/node_modules/.bin/s3rver
[[ -x $S3RVER ]] || fail "s3rver is not installed at $S3RVER (scripts/install-deps.sh installs it)"

start_up "$WORK/data"
HOST=$(pod_reachable_host)
S3PORT=$(free_port)
S3="http://$HOST:$S3PORT"
mkdir -p "$WORK/s3"
S3_PID=""
start_s3() {
  "$S3RVER" -d "$WORK/s3" -a "$HOST" -p "$S3PORT" >>"$WORK/s3rver.log" 2>&1 &
  S3_PID=$!
  for _ in $(seq 1 150); do
    [[ $(command curl -s -o /dev/null -w '%{http_code}' "$S3/" 2>/dev/null) != 000 ]] && return 0
    kill -0 "$S3_PID" 2>/dev/null || { cat "$WORK/s3rver.log" >&2; fail "s3rver exited"; }
    sleep 0.1
  done
  fail "s3rver did not answer"
}
trap 'stop_pid "$S3_PID" TERM; stop_up TERM' EXIT
start_s3
s3() {
  command curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
s3 -f -X PUT "$S3/my-bucket" >/dev/null || fail "create bucket"
sed "s/10\.0\.0\.1:4568/$HOST:$S3PORT/" examples/artifact-repository/workflow-controller-configmap.yaml \
  >"$WORK/cm.yaml"
run_cli apply -f "$WORK/cm.yaml" >/dev/null
# The bucket's keys (none: empty output, not a failure).
keys() {
  s3 -f "$S3/my-bucket?list-type=2" >"$WORK/list.xml" || fail "list my-bucket"
  grep -o '<Key>[^<]*</Key>' "$WORK/list.xml" | sed 's/<[^>]*>//g' || true
}

cat >"$WORK/wf.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: s3-gc
spec:
  entrypoint: write
  artifactGC:
    strategy: OnWorkflowDeletion
  templates:
  - name: write
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo in-s3 > /tmp/m.txt; echo brief > /tmp/t.txt"]
    outputs:
      artifacts:
      - name: message
        path: /tmp/m.txt
      - name: temp
        path: /tmp/t.txt
        artifactGC:
          strategy: OnWorkflowCompletion
YAML
submit_wait "$WORK/wf.yaml"
wf_json() { "$ARGONAUT" get wf s3-gc -o json; }
NODE=$(wf_json | pod_node)
MSG_KEY=$(wf_json | artifact_key "$NODE" message s3)
TMP_KEY=$(wf_json | artifact_key "$NODE" temp s3)

for _ in $(seq 1 100); do
  keys >"$WORK/keys.txt"
  grep -qx "$TMP_KEY" "$WORK/keys.txt" || break
  sleep 0.2
done
grep -qx "$TMP_KEY" "$WORK/keys.txt" && fail "OnWorkflowCompletion object $TMP_KEY still in the bucket"
grep -qx "$MSG_KEY" "$WORK/keys.txt" || { cat "$WORK/keys.txt" >&2; fail "message object $MSG_KEY missing"; }
echo "ok: OnWorkflowCompletion deleted $TMP_KEY from S3"

s3 -f -o "$WORK/obj.tgz" "$S3/my-bucket/$MSG_KEY" || fail "GET $MSG_KEY"
curl -sf -o "$WORK/dl.tgz" "http://127.0.0.1:${PORT}/artifacts/default/s3-gc/$NODE/message" || fail "download"
cmp -s "$WORK/obj.tgz" "$WORK/dl.tgz" || fail "the download differs from the S3 object"
out=$(run_cli cp s3-gc "$WORK/cp")
[[ $(cat "$WORK/cp/$NODE/message") == in-s3 ]] || { echo "$out"; ls -R "$WORK/cp" >&2; fail "cp from S3"; }
echo "ok: download and cp from S3"

# S3 away: the deletion fails, is recorded, and the finalizer keeps the workflow.
stop_pid "$S3_PID" TERM
S3_PID=""
run_cli delete s3-gc >/dev/null
for _ in $(seq 1 100); do
  cond=$(wf_json | field '[c.get("message","") for c in w["status"].get("conditions",[]) if c["type"]=="ArtifactGCError"]' 2>/dev/null || true)
  [[ $cond == *message* ]] && break
  sleep 0.2
done
[[ $cond == *message* ]] || { wf_json >&2; fail "no ArtifactGCError condition after a failed delete"; }
[[ $(wf_json | field '"workflows.argoproj.io/artifact-gc" in w["metadata"].get("finalizers",[])') == True ]] ||
  fail "the finalizer went although the delete failed"
echo "ok: failure recorded: $cond"

# S3 back: a retry deletes the object, then the workflow goes.
start_s3
wait_workflow_gone s3-gc 150
keys >"$WORK/keys.txt"
grep -qx "$MSG_KEY" "$WORK/keys.txt" && fail "OnWorkflowDeletion object $MSG_KEY still in the bucket"
echo "ok: retried after the failure, object and workflow gone"
echo PASS
