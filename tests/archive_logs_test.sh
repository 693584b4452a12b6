#!/usr/bin/env bash
# archiveLogs against `argonaut up` (archive on by default, local artifact repository):
# - the main container's log is saved to the repository at Argo's default key
#   <workflow>/<pod>/main.log and listed in the node's outputs.artifacts as `main-logs`;
# - `argonaut logs WF` and REST /api/v1/workflows/{ns}/{name}/log (and .../{podName}/log) still
#   return it after podGC deleted the pod, and after the live workflow was deleted (read from
#   the workflow archive and the artifact repository);
# - the archived workflow's artifact path /artifacts-by-uid/{uid}/{nodeId}/main-logs serves it.
source tests/lib.sh

DATA="$WORK/data"
UP_FLAGS="${UP_FLAGS:---isolation plain}"
start_up "$DATA"
API="http://127.0.0.1:${PORT}/api/v1"
json_field() { python3 -c "import json,sys; w=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

cat >"$WORK/logs.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: archive-logs
spec:
  entrypoint: main
  archiveLogs: true
  podGC:
    strategy: OnPodCompletion
  templates:
  - name: main
    steps:
    - - name: first
        template: say
        arguments: {parameters: [{name: word, value: alpha-line}]}
    - - name: second
        template: say
        arguments: {parameters: [{name: word, value: beta-line}]}
  - name: say
    inputs:
      parameters:
      - name: word
    container:
      image: busybox
      command: [sh, -c, "echo out-{{inputs.parameters.word}}; echo err-{{inputs.parameters.word}} >&2"]
YAML
timeout 120 "$ARGONAUT" submit --wait "$WORK/logs.yaml" >"$WORK/submit.out" 2>&1 ||
  { cat "$WORK/submit.out" >&2; fail "archive-logs workflow did not finish"; }
"$ARGONAUT" get wf archive-logs -o json >"$WORK/wf.json"
phase=$(json_field 'w["status"]["phase"]' <"$WORK/wf.json")
[[ "$phase" == Succeeded ]] || fail "archive-logs ended $phase"
UID_=$(json_field 'w["metadata"]["uid"]' <"$WORK/wf.json")

# 1. Each pod node lists main-logs at <workflow>/<pod>/main.log, and the object is there.
python3 - "$WORK/wf.json" "$DATA/artifacts" >"$WORK/nodes.txt" <<'PY' || fail "main-logs artifacts: $(cat "$WORK/nodes.txt")"
import json, os, sys
w = json.load(open(sys.argv[1]))
repo = sys.argv[2]
pods = [n for n in w["status"]["nodes"].values() if n["type"] == "Pod"]
assert len(pods) == 2, "expected 2 pod nodes, got %d" % len(pods)
for n in pods:
    arts = [a for a in n.get("outputs", {}).get("artifacts", []) if a["name"] == "main-logs"]
    assert arts, "node %s has no main-logs artifact: %s" % (n["displayName"], n.get("outputs"))
    a = arts[0]
    loc = [v for k, v in a.items() if isinstance(v, dict) and "key" in v]
    assert loc, "main-logs has no location: %s" % a
    key = loc[0]["key"]
    # Argo's default keyFormat: {{workflow.name}}/{{pod.name}}, plus main.log.
    parts = key.split("/")
    assert len(parts) == 3 and parts[0] == "archive-logs" and parts[2] == "main.log", key
    pod = parts[1]
    word = "alpha-line" if n["displayName"] == "first" else "beta-line"
    path = os.path.join(repo, key)
    assert os.path.isfile(path), "no object at %s" % path
    text = open(path).read()
    assert "out-" + word in text and "err-" + word in text, "%s holds %r" % (path, text)
    print(n["id"], pod, word)
PY
read -r NODE1 POD1 _ < <(grep alpha-line "$WORK/nodes.txt")

# 2. The pods are gone (OnPodCompletion).
gone=0
for _ in $(seq 1 100); do
  pods=$("$ARGONAUT" get pods -o json 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin); items=d.get("items", d) if isinstance(d, dict) else d
print(sum(1 for p in items if p["metadata"].get("labels",{}).get("workflows.argoproj.io/workflow")=="archive-logs"))' 2>/dev/null || echo err)
  [[ "$pods" == "0" ]] && { gone=1; break; }
  sleep 0.2
done
[[ $gone -eq 1 ]] || fail "podGC OnPodCompletion left pods of archive-logs ($pods)"

# check_logs WHEN: the CLI and REST both return both steps' lines, prefixed by their pods.
check_logs() {
  local when=$1 out
  out=$("$ARGONAUT" logs archive-logs 2>&1) || fail "argonaut logs $when: $out"
  for line in "$POD1: out-alpha-line" "$POD1: err-alpha-line" "out-beta-line" "err-beta-line"; do
    grep -qF -- "$line" <<<"$out" || fail "argonaut logs $when lacks '$line':"$'\n'"$out"
  done
  out=$(curl -sf "$API/workflows/default/archive-logs/log?logOptions.container=main") ||
    fail "REST log $when: $(curl -s "$API/workflows/default/archive-logs/log")"
  printf '%s\n' "$out" >"$WORK/rest.log"
  python3 - "$POD1" "$WORK/rest.log" <<'PY' || fail "REST log $when:"$'\n'"$out"
import json, sys
entries = [json.loads(l)["result"] for l in open(sys.argv[2]) if l.strip()]
lines = [(e.get("podName"), e.get("content")) for e in entries]
assert (sys.argv[1], "out-alpha-line") in lines, lines
assert any(c == "err-beta-line" for _, c in lines), lines
PY
  out=$(curl -sf "$API/workflows/default/archive-logs/$POD1/log") || fail "REST pod log $when"
  grep -q "out-alpha-line" <<<"$out" || fail "REST pod log $when lacks the first step's line: $out"
  if grep -q "beta-line" <<<"$out"; then fail "REST pod log $when has the other pod's lines: $out"; fi
}
check_logs "after pod GC"

# 3. The live workflow deleted: the archive and the repository still answer.
"$ARGONAUT" delete wf archive-logs >/dev/null 2>&1 || run_cli delete workflow archive-logs >/dev/null
deleted=0
for _ in $(seq 1 100); do
  if ! "$ARGONAUT" get wf archive-logs >/dev/null 2>&1; then deleted=1; break; fi
  sleep 0.1
done
[[ $deleted -eq 1 ]] || fail "archive-logs still live after delete"
code=$(curl -s -o "$WORK/archived.json" -w '%{http_code}' "$API/archived-workflows/$UID_")
[[ "$code" == 200 ]] || fail "archived workflow $UID_: HTTP $code"
check_logs "after the workflow was deleted"
out=$(curl -sf "http://127.0.0.1:${PORT}/artifacts-by-uid/$UID_/$NODE1/main-logs") ||
  fail "/artifacts-by-uid/$UID_/$NODE1/main-logs: $(curl -s "http://127.0.0.1:${PORT}/artifacts-by-uid/$UID_/$NODE1/main-logs")"
grep -q "out-alpha-line" <<<"$out" || fail "archived main-logs artifact: $out"
echo PASS
