#!/usr/bin/env bash
# Issue 13, the artifact door: a workflow's pods see only their own workflow's part of the
# local artifact repository (read-write) and the inputs they name from elsewhere (read-only).
# Workflow "victim" stores an artifact; a pod of workflow "thief" then tries to read it and to
# overwrite it, through the repository's mount in the pod and through its host path, and
# must fail both ways; the victim's file is unchanged on the host. The thief still passes an
# artifact between its own steps, and a pod naming the victim's artifact as an input reads it
# without being able to change it.
#
# Needs root (pod namespaces: without them a pod shares the host's filesystem). Without it
# the test prints "SKIPPED: ..." and exits 0.
source tests/lib.sh
source tests/artifacts_lib.sh

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: artifact_isolation_test needs root for pod namespaces"
  exit 0
fi

DATA="$WORK/data"
REPO="$DATA/artifacts"
UP_FLAGS="--isolation namespaces --user-namespaces true" start_up "$DATA"

echo "--- the victim stores an artifact"
cat >"$WORK/victim.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: victim}
spec:
  entrypoint: write
  templates:
  - name: write
    container:
      image: debian:12
      command: [sh, -c, "echo victim-secret > /tmp/s.txt"]
    outputs:
      artifacts: [{name: secret, path: /tmp/s.txt, archive: {none: {}}}]
YAML
submit_wait "$WORK/victim.yaml"
[[ $(field 'w["status"]["phase"]' <"$WORK/wf.json") == Succeeded ]] || fail "victim workflow"
KEY=$(artifact_key "$(pod_node <"$WORK/wf.json")" secret local <"$WORK/wf.json")
[[ $KEY == victim/* && $(cat "$REPO/$KEY") == victim-secret ]] || fail "victim's artifact: $KEY"
before=$(sha256sum "$REPO/$KEY")

echo "--- the thief's pod goes for it"
cat >"$WORK/thief.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: thief}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: steal, template: steal}
    - - name: use
        template: use
        arguments:
          artifacts: [{name: in, from: "{{steps.steal.outputs.artifacts.report}}"}]
  - name: steal
    container:
      image: debian:12
      command: [sh, -c]
      args:
      - |
        {
        for p in /tmp/.argonaut-artifacts/$KEY $REPO/$KEY; do
          cat \$p 2>/dev/null && echo READ || echo read-refused
          (echo stolen > \$p) 2>/dev/null && echo WROTE || echo write-refused
        done
        ls /tmp/.argonaut-artifacts
        ls $REPO
        (touch $REPO/planted) 2>/dev/null && echo WROTE-repo || echo repo-write-refused
        } > /tmp/r.txt
    outputs:
      artifacts: [{name: report, path: /tmp/r.txt, archive: {none: {}}}]
  - name: use
    inputs:
      artifacts: [{name: in, path: /tmp/in.txt}]
    container:
      image: debian:12
      command: [cat, /tmp/in.txt]
YAML
submit_wait "$WORK/thief.yaml"
[[ $(field 'w["status"]["phase"]' <"$WORK/wf.json") == Succeeded ]] ||
  { cat "$WORK/wf.json" >&2; fail "thief workflow did not succeed (its own artifacts must pass)"; }
steal=$(field '[k for k,n in w["status"]["nodes"].items() if n.get("displayName")=="steal"][0]' <"$WORK/wf.json")
REPORT=$(artifact_key "$steal" report local <"$WORK/wf.json")
[[ $REPORT == thief/* ]] || fail "the thief's report is not in its own part: $REPORT"
out=$(cat "$REPO/$REPORT")
echo "$out"
expected="read-refused
write-refused
read-refused
write-refused
thief
thief
repo-write-refused"
[[ $out == "$expected" ]] || fail "the thief's pod reached another workflow's artifacts; expected:
$expected"
[[ $(sha256sum "$REPO/$KEY") == "$before" ]] || fail "the victim's artifact changed"
[[ ! -e "$REPO/planted" ]] || fail "the thief wrote at the top of the repository"
# The use step read the report (argoexec fails a step whose input cannot be loaded).

echo "--- a declared input from another workflow is read, read-only"
cat >"$WORK/reader.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: reader}
spec:
  entrypoint: read
  templates:
  - name: read
    inputs:
      artifacts: [{name: in, path: /tmp/in.txt, local: {key: "$KEY"}, archive: {none: {}}}]
    container:
      image: debian:12
      command: [sh, -c]
      args:
      - |
        {
        cat /tmp/in.txt
        (echo stolen > /tmp/.argonaut-artifacts/$KEY) 2>/dev/null && echo WROTE || echo write-refused
        } > /tmp/r.txt
    outputs:
      artifacts: [{name: report, path: /tmp/r.txt, archive: {none: {}}}]
YAML
submit_wait "$WORK/reader.yaml"
[[ $(field 'w["status"]["phase"]' <"$WORK/wf.json") == Succeeded ]] ||
  { cat "$WORK/wf.json" >&2; fail "reader workflow"; }
out=$(cat "$REPO/$(artifact_key "$(pod_node <"$WORK/wf.json")" report local <"$WORK/wf.json")")
[[ $out == "victim-secret
write-refused" ]] || fail "the declared input: $out"
[[ $(sha256sum "$REPO/$KEY") == "$before" ]] || fail "the victim's artifact changed"

echo "PASS"
