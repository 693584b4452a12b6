#!/usr/bin/env bash
# Issue 13, the API doors, against a real `argonaut up` (auth-mode client, the default): every
# attack below must fail. gRPC is driven through the CLI (it speaks gRPC), REST with curl
# (`command curl`: without tests/lib.sh's wrapper, which would add the admin token).
source tests/lib.sh

POLICY="$WORK/policy.csv"
echo "g, viewer, role:readonly" >"$POLICY"
UP_FLAGS="--rbac-policy $POLICY" start_up "$WORK/data"
URL="http://127.0.0.1:${PORT}"
ADMIN=$ARGONAUT_TOKEN
[[ -n $ADMIN ]] || fail "argonaut up wrote no admin token to $WORK/data/admin.token"
[[ $(stat -c %a "$WORK/data/admin.token") == 600 ]] || fail "admin.token is not 0600"
grep -q "admin token is in $WORK/data/admin.token" "$WORK/up.log" || fail "up does not say where the admin token is"

# cli_as TOKEN ARGS...: the CLI with exactly that token (empty: none, and no token file to find).
cli_as() {
  local token=$1
  shift
  env -u ARGONAUT_TOKEN HOME="$WORK/nohome" ARGONAUT_DATA="$WORK/nodata" \
    ${token:+ARGONAUT_TOKEN="$token"} "$ARGONAUT" "$@"
}
# http_code ARGS...: curl's status code, the body in $WORK/body.
http_code() { command curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }

WF='{"metadata":{"name":"NAME"},"spec":{"entrypoint":"m","templates":[{"name":"m","container":{"image":"alpine","command":["true"]}}]}}'
wf() { echo "${WF/NAME/$1}"; }
cat >"$WORK/wf.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: viewer-
spec:
  entrypoint: m
  templates:
  - name: m
    container: {image: alpine, command: ["true"]}
YAML

echo "--- gRPC without a token, or with a wrong one: UNAUTHENTICATED"
out=$(cli_as "" list 2>&1) && fail "list without a token succeeded: $out"
grep -q "missing bearer token" <<<"$out" || fail "no token: $out"
grep -q "hint:.*admin.token" <<<"$out" || fail "no hint about the token: $out"
out=$(cli_as "argn_000000000000_garbage" submit "$WORK/wf.yaml" 2>&1) && fail "garbage token submitted: $out"
grep -q "invalid token" <<<"$out" || fail "garbage token: $out"
grep -q "garbage" <<<"$out" && fail "the error echoes the token: $out"
out=$(cli_as "" --token garbage auth can-i get workflows 2>&1) && fail "can-i with --token garbage: $out"
grep -q "invalid token" <<<"$out" || fail "--token garbage: $out"

echo "--- REST without a token, or with a wrong one: 401"
code=$(http_code "$URL/api/v1/workflows/default")
[[ $code == 401 ]] || fail "REST list without a token gave $code"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert b["code"]==16, b' "$WORK/body" ||
  fail "401 body: $(cat "$WORK/body")"
code=$(http_code -X POST -H 'Content-Type: application/json' -d "$(wf anon)" "$URL/api/v1/workflows/default")
[[ $code == 401 ]] || fail "REST create without a token gave $code"
code=$(http_code -H "Authorization: Bearer argn_000000000000_garbage" "$URL/api/v1/workflows/default")
[[ $code == 401 ]] || fail "REST with a garbage token gave $code"

echo "--- the quick start: the CLI finds the admin token in the data directory"
mkdir -p "$WORK/home/.argonaut"
ln -s "$WORK/data" "$WORK/home/.argonaut/data"
env -u ARGONAUT_TOKEN -u ARGONAUT_DATA HOME="$WORK/home" "$ARGONAUT" submit "$WORK/wf.yaml" >/dev/null ||
  fail "submit with the admin token from ~/.argonaut/data/admin.token"

echo "--- a readonly account: reads work, writes are refused on both APIs"
VIEWER=$("$ARGONAUT" account create-token --account viewer --expires-in 1h 2>"$WORK/create.err") ||
  fail "create-token: $(cat "$WORK/create.err")"
[[ $VIEWER == argn_* ]] || fail "create-token printed no token"
accounts=$(run_cli account list)
grep -q viewer <<<"$accounts" || fail "account list does not show viewer: $accounts"
code=$(http_code -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "$(wf seen)" "$URL/api/v1/workflows/default")
[[ $code == 200 ]] || fail "admin REST create gave $code: $(cat "$WORK/body")"
cli_as "$VIEWER" get wf seen >/dev/null || fail "viewer cannot get a workflow"
code=$(http_code -H "Authorization: Bearer $VIEWER" "$URL/api/v1/workflows/default/seen")
[[ $code == 200 ]] || fail "viewer REST get gave $code"
out=$(cli_as "$VIEWER" submit "$WORK/wf.yaml" 2>&1) && fail "viewer submitted a workflow: $out"
grep -q "may not create workflows" <<<"$out" || fail "viewer submit (gRPC): $out"
code=$(http_code -X POST -H "Authorization: Bearer $VIEWER" -H 'Content-Type: application/json' \
  -d "$(wf byviewer)" "$URL/api/v1/workflows/default")
[[ $code == 403 ]] || fail "viewer REST create gave $code"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert b["code"]==7 and "workflows" in b["message"], b' \
  "$WORK/body" || fail "403 body: $(cat "$WORK/body")"
out=$(cli_as "$VIEWER" account create-token --account admin 2>&1) && fail "viewer minted an admin token"
out=$(cli_as "$VIEWER" delete wf seen 2>&1) && fail "viewer deleted a workflow: $out"

echo "--- browsers: a cross-site POST cannot act"
code=$(http_code -X POST -H 'Origin: http://evil.example' -H 'Content-Type: text/plain' \
  -H "Authorization: Bearer $ADMIN" -d "$(wf csrf1)" "$URL/api/v1/workflows/default")
[[ $code == 403 ]] || fail "cross-origin text/plain POST gave $code"
code=$(http_code -X POST -H 'Origin: http://evil.example' -H 'Content-Type: text/plain' \
  -H "Cookie: authorization=Bearer $ADMIN" -d "$(wf csrf2)" "$URL/api/v1/workflows/default")
[[ $code == 403 ]] || fail "cross-origin POST with the cookie gave $code"
code=$(http_code -X POST -H "Authorization: Bearer $ADMIN" -d "$(wf csrf3)" "$URL/api/v1/workflows/default")
[[ $code == 415 ]] || fail "form POST (curl -d) with a valid token gave $code"
code=$(http_code -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: text/plain' \
  -d "$(wf csrf4)" "$URL/api/v1/workflows/default")
[[ $code == 415 ]] || fail "text/plain POST with a valid token gave $code"
code=$(http_code -X POST -H "Origin: $URL" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d "$(wf sameorigin)" "$URL/api/v1/workflows/default")
[[ $code == 200 ]] || fail "same-origin JSON POST gave $code: $(cat "$WORK/body")"
for n in csrf1 csrf2 csrf3 csrf4 byviewer anon; do
  code=$(http_code -H "Authorization: Bearer $ADMIN" "$URL/api/v1/workflows/default/$n")
  [[ $code == 404 ]] || fail "workflow $n exists ($code)"
done

echo "--- denials are counted"
metrics=$(command curl -sf "$URL/metrics")
grep -E '^argonaut_auth_denied_total\{.*workflows' <<<"$metrics" | grep -q create ||
  fail "no argonaut_auth_denied_total for workflows/create: $(grep argonaut_auth <<<"$metrics")"
grep -qE '^argonaut_auth_unauthenticated_total' <<<"$metrics" || fail "no argonaut_auth_unauthenticated_total"

echo "--- can-i"
[[ $(run_cli auth can-i create workflows) == yes ]] || fail "admin can-i create workflows"
out=$(cli_as "$VIEWER" auth can-i create workflows) && fail "viewer can-i create workflows exited 0"
[[ $out == no ]] || fail "viewer can-i create workflows printed $out"
[[ $(cli_as "$VIEWER" auth can-i get workflows default/seen) == yes ]] || fail "viewer can-i get"
[[ $(cli_as "$VIEWER" auth can-i get secrets) == no ]] || fail "viewer can-i get secrets"

echo "--- a deleted token stops working"
id=$(run_cli account list | awk '$1 == "viewer" {print $4}')
[[ -n $id ]] || fail "no token id for viewer"
run_cli account delete-token "$id" --account viewer >/dev/null
out=$(cli_as "$VIEWER" get wf seen 2>&1) && fail "deleted token still works"
grep -q "invalid token" <<<"$out" || fail "deleted token: $out"

echo "--- tokens never reach the log"
for t in "$ADMIN" "$VIEWER"; do
  grep -qF "$t" "$WORK/up.log" && fail "a token is in up.log"
  grep -qF "${t#argn_*_}" "$WORK/up.log" && fail "a token's secret is in up.log"
done
grep -qF "${ADMIN#argn_*_}" "$WORK/data/auth/tokens.json" && fail "the token store holds a secret in clear"

stop_up
echo "PASS"
