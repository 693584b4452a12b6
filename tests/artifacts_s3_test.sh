#!/usr/bin/env bash
# Artifacts in an S3 repository configured as Argo configures it, against a
# real S3-compatible server (npm's s3rver) started here, bound where the
# pods reach it (pod_reachable_host):
# 1. the controller's ConfigMap (examples/artifact-repository/
#    workflow-controller-configmap.yaml, endpoint pointed at s3rver) is the
#    default: Argo's artifact-passing example stores hello-art in the bucket at
#    Argo's default key <wf>/<pod>/hello-art.tgz, the second step reads it
#    back, and the status records {default: true, artifactRepository};
# 2. spec.artifactRepositoryRef picks the other key of the
#    artifact-repositories ConfigMap (its own bucket and keyFormat);
# 3. a ref to a key that exists nowhere ends the workflow in Error naming it.
source tests/lib.sh

S3RVER=/opt/argonaut-npm/node_modules/.bin/s3rver
[[ -x $S3RVER ]] || fail "s3rver is not installed at $S3RVER (scripts/install-deps.sh installs it)"
EXAMPLE="$(corpus_dir)/argo-workflows/examples/artifact-passing.yaml"

start_up "$WORK/data"
HOST=$(pod_reachable_host)
S3PORT=$(free_port)
S3="http://$HOST:$S3PORT"
mkdir -p "$WORK/s3"
"$S3RVER" -d "$WORK/s3" -a "$HOST" -p "$S3PORT" >"$WORK/s3rver.log" 2>&1 &
S3_PID=$!
trap 'stop_pid "$S3_PID" TERM; stop_up TERM' EXIT

# s3rver's built-in credentials, which the example Secret holds too.
s3() {
  command curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
for _ in $(seq 1 150); do
  [[ $(command curl -s -o /dev/null -w '%{http_code}' "$S3/" 2>/dev/null) != 000 ]] && break
  kill -0 "$S3_PID" 2>/dev/null || { cat "$WORK/s3rver.log" >&2; fail "s3rver exited"; }
  sleep 0.1
done
for b in my-bucket other-bucket; do s3 -f -X PUT "$S3/$b" >/dev/null || fail "create bucket $b"; done

for f in workflow-controller-configmap artifact-repositories; do
  sed "s/10\.0\.0\.1:4568/$HOST:$S3PORT/" "examples/artifact-repository/$f.yaml" >"$WORK/$f.yaml"
done
run_cli apply -f "$WORK/workflow-controller-configmap.yaml" >/dev/null

# submit FILE: runs it to completion; sets NAME and PHASE, leaves $WORK/wf.json.
# (`submit --wait` exits non-zero for a workflow that did not succeed, as argo's.)
submit() {
  timeout 180 "$ARGONAUT" submit --wait -o json "$1" >"$WORK/wf.json" 2>"$WORK/err.txt" || true
  if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))["status"]["phase"]' "$WORK/wf.json" 2>/dev/null; then
    cat "$WORK/err.txt" "$WORK/wf.json" >&2
    fail "submit --wait $1"
  fi
  read -r NAME PHASE < <(python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print(w["metadata"]["name"], w["status"]["phase"])' "$WORK/wf.json")
}
# ref_field FIELD: status.artifactRepositoryRef's field (JSON) of $WORK/wf.json.
ref_field() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["status"].get("artifactRepositoryRef", {}); print(json.dumps(r.get(sys.argv[2])))' "$WORK/wf.json" "$1"
}
# check_object BUCKET KEY_REGEX: one object of the bucket matches; it is a
# tar.gz holding "hello world".
check_object() {
  local bucket=$1 re=$2 key
  s3 -f "$S3/$bucket?list-type=2" >"$WORK/list.xml" || fail "list $bucket"
  key=$(grep -o '<Key>[^<]*</Key>' "$WORK/list.xml" | sed 's/<[^>]*>//g' | grep -E "^$re\$" | head -n 1)
  [[ -n $key ]] || { cat "$WORK/list.xml" >&2; fail "no object in $bucket matches $re"; }
  s3 -f -o "$WORK/obj.tgz" "$S3/$bucket/$key" || fail "GET $bucket/$key"
  tar -xzOf "$WORK/obj.tgz" | grep -q "hello world" || fail "$bucket/$key does not hold hello world"
  # The key's middle part is the producer's pod.
  local pod=${key%/hello-art.tgz}
  pod=${pod##*/}
  run_cli get pod "$pod" -o name >/dev/null
  echo "ok: $bucket/$key"
}
consumer_read_it() {
  "$ARGONAUT" logs "$NAME" >"$WORK/logs.txt" 2>&1 || { cat "$WORK/logs.txt" >&2; fail "logs $NAME"; }
  grep -q "consume-artifact.*hello world\|print-message-from-file.*hello world" "$WORK/logs.txt" ||
    { cat "$WORK/logs.txt" >&2; fail "$NAME: the consumer did not print the artifact"; }
}

# 1. The controller's default repository.
submit "$EXAMPLE"
[[ $PHASE == Succeeded ]] || { cat "$WORK/wf.json" >&2; fail "$NAME ended $PHASE"; }
[[ $(ref_field default) == true ]] || { cat "$WORK/wf.json" >&2; fail "status.artifactRepositoryRef is not the default"; }
[[ $(ref_field artifactRepository) == *'"bucket": "my-bucket"'* ]] || fail "status.artifactRepositoryRef has no repository"
check_object my-bucket "$NAME/$NAME-hello-world-to-file-[0-9]+/hello-art\.tgz"
consumer_read_it
# Only references reach the status, never the Secret's values.
! grep -q S3RVER "$WORK/wf.json" || fail "a credential is in the workflow status"
echo "ok: default repository ($NAME)"

# 2. artifactRepositoryRef: the other key of artifact-repositories.
run_cli apply -f "$WORK/artifact-repositories.yaml" >/dev/null
sed 's/^spec:$/spec:\n  artifactRepositoryRef: {configMap: artifact-repositories, key: other-bucket}/' \
  "$EXAMPLE" >"$WORK/ref.yaml"
submit "$WORK/ref.yaml"
[[ $PHASE == Succeeded ]] || { cat "$WORK/wf.json" >&2; fail "$NAME ended $PHASE"; }
[[ $(ref_field key) == '"other-bucket"' && $(ref_field configMap) == '"artifact-repositories"' &&
  $(ref_field namespace) == '"default"' ]] || { cat "$WORK/wf.json" >&2; fail "status.artifactRepositoryRef"; }
check_object other-bucket "$(date -u +%Y)/$NAME/$NAME-hello-world-to-file-[0-9]+/hello-art\.tgz"
consumer_read_it
echo "ok: artifactRepositoryRef ($NAME)"

# 3. A ref that resolves nowhere.
sed 's/^spec:$/spec:\n  artifactRepositoryRef: {key: no-such-key}/' "$EXAMPLE" >"$WORK/bad.yaml"
submit "$WORK/bad.yaml"
[[ $PHASE == Error ]] || { cat "$WORK/wf.json" >&2; fail "$NAME ended $PHASE, want Error"; }
grep -q 'no key \\"no-such-key\\"' "$WORK/wf.json" || { cat "$WORK/wf.json" >&2; fail "the message does not name the key"; }
echo "ok: missing key is an Error ($NAME)"
echo PASS
