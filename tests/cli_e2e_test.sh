#!/usr/bin/env bash
# `argonaut up` + the CLI and REST API against it: apply, get in every
# output format, label selectors, delete, errors, restart persistence.
source tests/lib.sh

start_up "$WORK/data"

cat >"$WORK/wf.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: hello
  labels: {app: demo}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [echo, hi]}
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: tmpl
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: a
        template: main
YAML
out=$("$ARGONAUT" apply -f "$WORK/wf.yaml")
grep -q "workflow.argoproj.io/hello created" <<<"$out" || fail "apply output: $out"
grep -q "workflowtemplate.argoproj.io/tmpl created" <<<"$out" || fail "apply output: $out"
out=$("$ARGONAUT" apply -f "$WORK/wf.yaml")
grep -q "workflow.argoproj.io/hello configured" <<<"$out" || fail "re-apply output: $out"

# Kinds resolve as kubectl does: short names, plural, singular, Kind.
for k in wf workflows workflow Workflow; do
  "$ARGONAUT" get "$k" hello -o name | grep -qx "workflow.argoproj.io/hello" || fail "get $k"
done
"$ARGONAUT" get wftmpl | grep -q "^tmpl " || fail "table"
"$ARGONAUT" get wf -o json | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert d["kind"]=="List" and len(d["items"])==1, d
assert d["items"][0]["spec"]["templates"][0]["container"]["command"]==["echo","hi"]
' || fail "get -o json"
"$ARGONAUT" get wf hello -o yaml | grep -q "entrypoint: main" || fail "get -o yaml"
"$ARGONAUT" get wf -l app=demo -o name | grep -q hello || fail "selector match"
[[ -z $("$ARGONAUT" get wf -l app=other -o name) ]] || fail "selector mismatch"
"$ARGONAUT" get wf -A -o wide | grep -q "app=demo" || fail "wide"

# Errors are one line, name the document and field, and exit non-zero.
cat >"$WORK/bad.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: good}
spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad}
spec:
  entrypoint: main
  templates:
  - name: main
  - name: other
    contaner: {image: alpine}
YAML
set +e
err=$("$ARGONAUT" apply -f "$WORK/bad.yaml" 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "bad apply exit code"
grep -q "doc 2: spec.templates\[1\].contaner: unknown field" <<<"$err" || fail "error text: $err"
[[ $(wc -l <<<"$err") -eq 1 ]] || fail "error is not one line: $err"
"$ARGONAUT" get wf good -o name >/dev/null || fail "valid doc of a bad file not applied"
set +e
"$ARGONAUT" get wf bad >/dev/null 2>&1 && fail "invalid doc stored"
"$ARGONAUT" get nosuchkind >/dev/null 2>&1 && fail "unknown kind accepted"
ARGONAUT_SERVER=127.0.0.1:1 "$ARGONAUT" get wf 2>"$WORK/err" && fail "unreachable server"
set -e
grep -q "cannot reach the Argonaut server" "$WORK/err" || fail "unreachable message"

# A null or numeric namespace is a field error, never a crash.
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: n, namespace: 123}\nspec: {entrypoint: m}\n' >"$WORK/ns.yaml"
set +e
err=$("$ARGONAUT" apply -f "$WORK/ns.yaml" 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "numeric namespace: exit $rc"
grep -q "metadata.namespace" <<<"$err" || fail "numeric namespace error: $err"

# REST, Argo Server paths.
curl -sf "http://127.0.0.1:${HTTP_PORT}/api/v1/workflows/default/hello" | grep -q '"name":"hello"' ||
  fail "REST get"
curl -sf "http://127.0.0.1:${HTTP_PORT}/api/v1/workflow-templates/default" | grep -q '"items"' ||
  fail "REST list"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"workflow":{"metadata":{"name":"x"},"spec":{"entrypointt":"m"}}}' \
  "http://127.0.0.1:${HTTP_PORT}/api/v1/workflows/default")
[[ $code == 400 ]] || fail "REST invalid create gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
  -d '{"workflow":{"metadata":{"name":"viarest"},"spec":{"entrypoint":"m","templates":[{"name":"m","container":{"image":"alpine","command":["true"]}}]}}}' \
  "http://127.0.0.1:${HTTP_PORT}/api/v1/workflows/default")
[[ $code == 200 ]] || fail "REST create gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${HTTP_PORT}/api/v1/workflows/default/nope")
[[ $code == 404 ]] || fail "REST missing gave $code"
curl -sf "http://127.0.0.1:${HTTP_PORT}/metrics" | grep -q "process_resident_memory_bytes" ||
  fail "metrics"

"$ARGONAUT" delete wf hello | grep -q 'workflow.argoproj.io "hello" deleted' || fail "delete"
set +e
"$ARGONAUT" get wf hello >/dev/null 2>&1 && fail "deleted object still there"
set -e

# A graceful restart keeps everything.
stop_up TERM
start_up "$WORK/data"
"$ARGONAUT" get wf viarest -o name >/dev/null || fail "lost after restart"
"$ARGONAUT" get wftmpl tmpl -o name >/dev/null || fail "lost after restart"
echo "PASS"
