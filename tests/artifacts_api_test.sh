#!/usr/bin/env bash
# Artifacts through the API and artifact GC, against `argonaut up` and its local folder
# repository (<data>/artifacts):
# - Argo Server's download paths stream a stored object with its name and type, 404 otherwise;
# - `argonaut cp` writes each output artifact under DIR/<node>/<artifact>, a tar.gz unpacked;
# - spec.artifactGC: OnWorkflowCompletion artifacts go when the workflow completes,
#   OnWorkflowDeletion ones when it is deleted (the artifact-gc finalizer holds the workflow
#   until then), Never ones stay; each deleted one is marked `deleted: true`.
source tests/lib.sh
source tests/artifacts_lib.sh

DATA="$WORK/data"
# Isolation is not what this test is about: plain processes keep it independent of the sandbox.
UP_FLAGS="${UP_FLAGS:---isolation plain}"
start_up "$DATA"
REPO="$DATA/artifacts"

cat >"$WORK/wf.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: art-gc
spec:
  entrypoint: write
  artifactGC:
    strategy: OnWorkflowDeletion
  templates:
  - name: write
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo kept-until-deletion > /tmp/m.txt; echo forever > /tmp/k.txt; mkdir -p /tmp/d/sub; echo scratch > /tmp/d/sub/s.txt"]
    outputs:
      artifacts:
      - name: message
        path: /tmp/m.txt
      - name: keep
        path: /tmp/k.txt
        artifactGC:
          strategy: Never
      - name: scratch
        path: /tmp/d
        artifactGC:
          strategy: OnWorkflowCompletion
YAML
submit_wait "$WORK/wf.yaml"

wf_json() { "$ARGONAUT" get wf art-gc -o json; }

NODE=$(wf_json | pod_node)
key_of() { wf_json | artifact_key "$NODE" "$1" local; }
MSG_KEY=$(key_of message)
KEEP_KEY=$(key_of keep)
SCRATCH_KEY=$(key_of scratch)
[[ -f "$REPO/$MSG_KEY" && -f "$REPO/$KEEP_KEY" ]] || fail "outputs not stored: $MSG_KEY $KEEP_KEY"

# Completion GC: scratch goes, marked deleted; the finalizer stays for the deletion strategy.
for _ in $(seq 1 100); do
  done_=$(wf_json | field 'w["status"].get("artifactGCStatus",{}).get("strategiesProcessed",{}).get("OnWorkflowCompletion",False)')
  [[ $done_ == True ]] && break
  sleep 0.2
done
[[ $done_ == True ]] || { wf_json >&2; fail "OnWorkflowCompletion never processed"; }
[[ ! -e "$REPO/$SCRATCH_KEY" ]] || fail "scratch artifact still stored at $SCRATCH_KEY"
[[ -f "$REPO/$MSG_KEY" ]] || fail "message deleted at completion"
[[ $(wf_json | field "[a.get('deleted',False) for a in w['status']['nodes']['$NODE']['outputs']['artifacts'] if a['name']=='scratch'][0]") == True ]] ||
  fail "scratch not marked deleted"
[[ $(wf_json | field '"workflows.argoproj.io/artifact-gc" in w["metadata"].get("finalizers",[])') == True ]] ||
  fail "no artifact-gc finalizer on a workflow with OnWorkflowDeletion artifacts"
echo "ok: OnWorkflowCompletion"

# Downloads under Argo Server's paths.
BASE="http://127.0.0.1:${PORT}"
UID_=$(wf_json | field 'w["metadata"]["uid"]')
for path in "artifacts/default/art-gc/$NODE/message" "artifact-files/default/workflow/art-gc/$NODE/outputs/message" \
  "artifacts-by-uid/$UID_/$NODE/message"; do
  code=$(curl -s -o "$WORK/dl.tgz" -D "$WORK/headers.txt" -w '%{http_code}' "$BASE/$path")
  [[ $code == 200 ]] || { cat "$WORK/headers.txt" "$WORK/dl.tgz" >&2; fail "GET /$path: $code"; }
  grep -qi '^content-disposition: filename="message.tgz"' "$WORK/headers.txt" || { cat "$WORK/headers.txt" >&2; fail "/$path: Content-Disposition"; }
  cmp -s "$WORK/dl.tgz" "$REPO/$MSG_KEY" || fail "/$path: bytes differ from the stored object"
  tar -xzOf "$WORK/dl.tgz" | grep -q kept-until-deletion || fail "/$path: not the artifact's tar.gz"
done
code=$(curl -s -o "$WORK/dl.txt" -w '%{http_code}' "$BASE/artifacts/default/art-gc/$NODE/nope")
[[ $code == 404 ]] || fail "missing artifact answered $code"
code=$(curl -s -o "$WORK/dl.txt" -w '%{http_code}' "$BASE/artifacts/default/art-gc/$NODE/scratch")
[[ $code != 200 ]] || fail "a GC-deleted artifact was served"
code=$(command curl -s -o /dev/null -w '%{http_code}' "$BASE/artifacts/default/art-gc/$NODE/message")
[[ $code == 401 ]] || fail "a download without a token answered $code"
echo "ok: downloads"

# argonaut cp: every output still stored, tar.gz unpacked at DIR/<node>/<artifact>.
out=$(run_cli cp art-gc "$WORK/cp")
[[ $(cat "$WORK/cp/$NODE/message") == kept-until-deletion ]] || { echo "$out"; ls -R "$WORK/cp" >&2; fail "cp message"; }
[[ $(cat "$WORK/cp/$NODE/keep") == forever ]] || fail "cp keep"
[[ ! -e "$WORK/cp/$NODE/scratch" ]] || fail "cp fetched a deleted artifact"
out=$(run_cli cp art-gc "$WORK/cp2" --artifact-name keep --node-id "$NODE")
[[ $(ls "$WORK/cp2/$NODE") == keep ]] || { ls -R "$WORK/cp2" >&2; fail "cp --artifact-name"; }
echo "ok: cp"

# Deletion GC: the finalizer holds the workflow until message is deleted, then it goes.
run_cli delete art-gc >/dev/null
wait_workflow_gone art-gc 100
[[ ! -e "$REPO/$MSG_KEY" ]] || fail "OnWorkflowDeletion artifact still stored"
[[ -f "$REPO/$KEEP_KEY" ]] || fail "the Never artifact was deleted"
echo "ok: OnWorkflowDeletion"
echo PASS
