#!/usr/bin/env bash
# Workflow archive, ttlStrategy and podGC against `argonaut up` (archive on by default):
# - a finished workflow is copied into the archive (label workflow-archiving-status=Archived);
# - ttlStrategy.secondsAfterCompletion deletes the live workflow, and the archived copy stays
#   listed and gettable over Argo Server's REST paths (/api/v1/archived-workflows...), label keys
#   and values included; the list body is Argo's WorkflowList;
# - podGC OnPodSuccess removes the pod of a succeeded step while the node keeps its status;
# - `argonaut archive list|get|delete` on the same archive.
source tests/lib.sh

DATA="$WORK/data"
UP_FLAGS="${UP_FLAGS:---isolation plain}"
start_up "$DATA"
API="http://127.0.0.1:${PORT}/api/v1"
json_field() { python3 -c "import json,sys; w=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# 1. podGC OnPodSuccess: the pod goes once the node succeeded; the node's status stays.
cat >"$WORK/podgc.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: podgc
spec:
  entrypoint: main
  podGC:
    strategy: OnPodSuccess
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "echo hi"]
YAML
timeout 120 "$ARGONAUT" submit --wait "$WORK/podgc.yaml" >"$WORK/podgc.out" 2>&1 ||
  { cat "$WORK/podgc.out" >&2; fail "podgc workflow did not finish"; }
gone=0
for _ in $(seq 1 100); do
  pods=$("$ARGONAUT" get pods -o json 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin); items=d.get("items", d) if isinstance(d, dict) else d
print(sum(1 for p in items if p["metadata"].get("labels",{}).get("workflows.argoproj.io/workflow")=="podgc"))' 2>/dev/null || echo err)
  [[ "$pods" == "0" ]] && { gone=1; break; }
  sleep 0.2
done
[[ $gone -eq 1 ]] || fail "podGC OnPodSuccess left the pod of workflow podgc (count: $pods)"
phase=$("$ARGONAUT" get wf podgc -o json | json_field '[n["phase"] for n in w["status"]["nodes"].values() if n["type"]=="Pod"][0]')
[[ "$phase" == "Succeeded" ]] || fail "the node lost its status after pod GC: $phase"

# 2. TTL + archive.
cat >"$WORK/ttl.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: ttl-wf
  labels:
    team: retention
spec:
  entrypoint: main
  ttlStrategy:
    secondsAfterCompletion: 3
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "echo done"]
YAML
timeout 120 "$ARGONAUT" submit --wait -o json "$WORK/ttl.yaml" >"$WORK/ttl.json" 2>"$WORK/ttl.err" ||
  { cat "$WORK/ttl.err" >&2; fail "ttl workflow did not finish"; }
UID_=$("$ARGONAUT" get wf ttl-wf -o json | json_field 'w["metadata"]["uid"]')
[[ -n "$UID_" ]] || fail "no uid"
deleted=0
for _ in $(seq 1 150); do
  if ! "$ARGONAUT" get wf ttl-wf >/dev/null 2>&1; then deleted=1; break; fi
  sleep 0.1
done
[[ $deleted -eq 1 ]] || fail "ttlStrategy.secondsAfterCompletion=3 did not delete ttl-wf within 15 s"

code=$(curl -s -o "$WORK/list.json" -w '%{http_code}' "$API/archived-workflows?listOptions.labelSelector=team%3Dretention")
[[ "$code" == 200 ]] || fail "archived-workflows list: HTTP $code $(cat "$WORK/list.json")"
names=$(json_field '",".join(i["metadata"]["name"] for i in w["items"])' <"$WORK/list.json")
[[ "$names" == "ttl-wf" ]] || fail "archived list by label: '$names'"
json_field '"metadata" in w and w["items"][0]["metadata"]["uid"]' <"$WORK/list.json" | grep -q "$UID_" ||
  fail "list item lacks the uid: $(cat "$WORK/list.json")"

code=$(curl -s -o "$WORK/get.json" -w '%{http_code}' "$API/archived-workflows/$UID_")
[[ "$code" == 200 ]] || fail "archived-workflows get: HTTP $code $(cat "$WORK/get.json")"
[[ $(json_field 'w["status"]["phase"]' <"$WORK/get.json") == Succeeded ]] || fail "archived phase"
json_field 'len(w["status"]["nodes"])' <"$WORK/get.json" | grep -qv '^0$' || fail "archived copy has no nodes"

# Pagination and name prefix.
page=$(curl -s "$API/archived-workflows?listOptions.limit=1")
[[ $(json_field 'len(w["items"])' <<<"$page") == 1 ]] || fail "limit=1: $page"
[[ $(json_field 'w["metadata"].get("continue","")' <<<"$page") == 1 ]] || fail "no continue token: $page"
[[ $(curl -s "$API/archived-workflows?namePrefix=ttl-" | json_field '[i["metadata"]["name"] for i in w["items"]]') == "['ttl-wf']" ]] ||
  fail "namePrefix"

keys=$(curl -s "$API/archived-workflows-label-keys")
json_field '"team" in w["items"]' <<<"$keys" | grep -q True || fail "label keys: $keys"
values=$(curl -s "$API/archived-workflows-label-values?listOptions.labelSelector=team")
[[ $(json_field 'w["items"]' <<<"$values") == "['retention']" ]] || fail "label values: $values"
code=$(curl -s -o "$WORK/err.json" -w '%{http_code}' "$API/archived-workflows/no-such-uid")
[[ "$code" == 404 ]] || fail "missing uid: HTTP $code"
json_field 'w["code"]' <"$WORK/err.json" | grep -q 5 || fail "error body: $(cat "$WORK/err.json")"

# Every body validates against Argo's definitions (the walker of //tests:api_parity_test).
SWAGGER="${API_PARITY_SWAGGER:-$(workspace_dir)/../shared/api/argo-workflows.swagger.json}"
if [[ -f "$SWAGGER" ]]; then
  printf '%s' "$keys" >"$WORK/keys.json"
  printf '%s' "$values" >"$WORK/values.json"
  python3 - "$SWAGGER" "$WORK" <<'PY' || fail "archive responses do not validate against Argo's document"
import json, sys
sys.path.insert(0, "tests")
from api_parity_test import Validator
v = Validator(json.load(open(sys.argv[1])))
bad = 0
for name, definition in [("list.json", "WorkflowList"), ("get.json", "Workflow"),
                         ("keys.json", "LabelKeys"), ("values.json", "LabelValues"),
                         ("err.json", None)]:
    body = json.load(open(f"{sys.argv[2]}/{name}"))
    if definition is None:
        problems = v.check(body, {"$ref": "#/definitions/grpc.gateway.runtime.Error"})
    else:
        problems = v.check_def(body, f"io.argoproj.workflow.v1alpha1.{definition}")
    for p in problems:
        print(f"{name}: {p}", file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
else
  echo "skipping schema checks: $SWAGGER not found"
fi

# Resubmit from the archive makes a new live workflow.
new=$(curl -s -X PUT -d '{}' "$API/archived-workflows/$UID_/resubmit" | json_field 'w["metadata"]["name"]')
[[ "$new" == ttl-wf-* ]] || fail "resubmit from the archive: '$new'"

# The CLI on the same archive.
out=$(run_cli archive list)
grep -q "ttl-wf" <<<"$out" || fail "argonaut archive list: $out"
out=$(run_cli archive get "$UID_")
grep -q "Succeeded" <<<"$out" || fail "argonaut archive get: $out"
run_cli archive delete "$UID_" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/archived-workflows/$UID_")
[[ "$code" == 404 ]] || fail "archive delete left the copy: HTTP $code"
echo PASS
