#!/usr/bin/env bash
# Argo Server API parity: tests/api_parity_test.py walks Argo's OpenAPI
# document (../shared/api/argo-workflows.swagger.json beside the workspace, so a
# newer document can be dropped in) against a real `argonaut up`: every GET path
# that does not stream is served, every body validates against its definition,
# every error is a grpc-gateway error body. Prints the counts.
source tests/lib.sh

SWAGGER="${API_PARITY_SWAGGER:-$(workspace_dir)/../shared/api/argo-workflows.swagger.json}"
[[ -f "$SWAGGER" ]] || fail "Argo's OpenAPI document not found at $SWAGGER"
python3 tests/api_parity_test.py --selftest || fail "the validator's own checks misbehave"
start_up "$WORK/data"
# The controller's ConfigMap names links, columns and a colour, so that /api/v1/info answers
# them (read at each request) and the walk validates a non-empty InfoResponse.
cat >"$WORK/controller-cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: workflow-controller-configmap
  namespace: argo
data:
  navColor: "#1e90ff"
  links: |
    - name: Workflow logs
      scope: workflow
      url: http://logs.example/${metadata.namespace}/${metadata.name}
    - name: Chat
      scope: chat
      url: http://chat.example
      target: _blank
  columns: |
    - name: Team
      type: label
      key: team
YAML
run_cli apply -f "$WORK/controller-cm.yaml" >/dev/null
info=$(curl -sf "http://127.0.0.1:${PORT}/api/v1/info") || fail "/api/v1/info failed"
python3 - "$info" <<'PY' || fail "/api/v1/info does not answer the ConfigMap: $info"
import json, sys
i = json.loads(sys.argv[1])
assert i["navColor"] == "#1e90ff", i
assert [l["name"] for l in i["links"]] == ["Workflow logs", "Chat"], i
assert i["links"][0]["url"] == "http://logs.example/${metadata.namespace}/${metadata.name}", i
assert i["links"][1]["target"] == "_blank" and i["links"][0]["target"] == "", i
assert i["columns"] == [{"name": "Team", "type": "label", "key": "team"}], i
PY
# /api/v1/version: what the build stamped (scripts/workspace_status.sh), and `argonaut version`
# prints the same.
version=$(curl -sf "http://127.0.0.1:${PORT}/api/v1/version") || fail "/api/v1/version failed"
ws=$(workspace_dir)
python3 - "$version" "$ws" <<'PY' || fail "/api/v1/version is not stamped: $version"
import json, re, subprocess, sys
v = json.loads(sys.argv[1])
if subprocess.run(["git", "-C", sys.argv[2], "rev-parse", "--git-dir"],
                  capture_output=True).returncode != 0:
    print("no git checkout: the build stamps nothing")
    assert v["gitCommit"] == "unknown", v
    sys.exit(0)
assert re.fullmatch(r"[0-9a-f]{40}", v["gitCommit"]), v
# The commit of the build that last linked the binary: one of this repository's.
subprocess.run(["git", "-C", sys.argv[2], "cat-file", "-e", v["gitCommit"] + "^{commit}"],
               check=True)
assert v["gitTreeState"] in ("clean", "dirty"), v
assert v["gitTag"] != "unknown", v
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["buildDate"]), v
PY
out=$(run_cli version)
commit=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["gitCommit"])' "$version")
[[ $(grep -c "GitCommit: $commit" <<<"$out") -eq 2 ]] ||
  fail "argonaut version does not print the server's and its own commit $commit: $out"
rc=0
python3 tests/api_parity_test.py --swagger "$SWAGGER" --base "http://127.0.0.1:${PORT}" \
  --token "${ARGONAUT_TOKEN:-}" || rc=$?
if [[ $rc -ne 0 ]]; then
  echo "--- tail of argonaut up's log" >&2
  tail -n 30 "$WORK/up.log" >&2 || true
  fail "API parity: differences from Argo's document (above)"
fi
# `argonaut cron get` shows every schedule of the CronWorkflow.
out=$(run_cli cron get parity-cron)
grep -q "0 0 1 1 \*" <<<"$out" || fail "argonaut cron get does not show the schedule: $out"
echo PASS
