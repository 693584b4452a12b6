#!/usr/bin/env bash
# Self-heal against `argonaut up`: two automated apps from one git repository.
# `heal` (selfHeal on): replicas changed by hand go back to 3, and a deleted
# Deployment comes back. `noheal` (selfHeal off): the same changes stay,
# the app shows OutOfSync, `app diff` exits 1 showing the replicas change, and
# the Deployment stays deleted until `app sync`.
source tests/lib.sh
source tests/git_fixture.sh
source tests/cd_lib.sh

EX=$(cd_examples_dir)
SRC="$WORK/src"
mkdir -p "$SRC/heal" "$SRC/noheal"
cp "$EX/app/my-app.yaml" "$SRC/heal/"
sed 's/my-app/noheal-app/g' "$EX/app/my-app.yaml" >"$SRC/noheal/noheal-app.yaml"
SHA=$(git_repo_from_dir "$SRC" selfheal)
start_git_daemon
URL=$(git_url selfheal)
cd_start_up "$WORK/data" 60

cli app create heal --repo "$URL" --path heal --dest-server https://kubernetes.default.svc \
  --dest-namespace default --sync-policy automated --self-heal >/dev/null
cat >"$WORK/noheal.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: noheal
spec:
  project: default
  source: {repoURL: "$URL", path: noheal, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: default}
  syncPolicy:
    automated: {prune: false, selfHeal: false}
YAML
cli app create -f "$WORK/noheal.yaml" >/dev/null
for a in heal noheal; do
  wait_app $a "Synced and Healthy" 180 \
    "sync=='Synced' and health=='Healthy' and (s.get('sync') or {}).get('revision')=='$SHA'"
done
app_check heal "a['spec']['syncPolicy']['automated'].get('selfHeal') is True" ||
  APP=heal cd_fail "heal: selfHeal is not on"
app_check noheal "not a['spec']['syncPolicy']['automated'].get('selfHeal')" ||
  APP=noheal cd_fail "noheal: selfHeal is on"
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v1
wait_pods app=noheal-app 3 jocatalin/kubernetes-bootcamp:v1

# scale DEPLOYMENT N: a change by hand, through the generic apply.
scale() {
  "$ARGONAUT" get deployment "$1" -o json >"$WORK/dep.json" || cd_fail "get deployment $1"
  python3 - "$WORK/dep.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["spec"]["replicas"] = int(sys.argv[2])
for k in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
    d["metadata"].pop(k, None)
d.pop("status", None)
json.dump(d, open(sys.argv[1], "w"))
PY
  cli apply -f "$WORK/dep.json" >/dev/null
}
replicas_of() {
  "$ARGONAUT" get deployment "$1" -o json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["replicas"])' 2>/dev/null || echo none
}
uid_of() {
  "$ARGONAUT" get deployment "$1" -o json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])' 2>/dev/null || echo none
}
# wait_replicas_of DEPLOYMENT N SECONDS
wait_replicas_of() {
  local deadline=$((SECONDS + $3)) got=""
  while ((SECONDS < deadline)); do
    got=$(replicas_of "$1")
    [[ $got == "$2" ]] && return 0
    sleep 0.3
  done
  cd_fail "deployment $1: spec.replicas is $got, want $2"
}

# selfHeal on: replicas changed by hand are reverted.
APP=heal
scale my-app 1
wait_replicas_of my-app 3 60
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v1
wait_app heal "Synced and Healthy after the self-heal" 120 "sync=='Synced' and health=='Healthy'"
app_check heal "((s.get('operationState') or {}).get('operation') or {}).get('initiatedBy',{}).get('automated') is True" ||
  cd_fail "heal: the last operation was not started by automated sync"

# selfHeal on: a deleted Deployment comes back (a new object).
old_uid=$(uid_of my-app)
cli delete deployment my-app >/dev/null
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  new_uid=$(uid_of my-app)
  [[ $new_uid != none && $new_uid != "$old_uid" ]] && break
  sleep 0.3
done
[[ $new_uid != none && $new_uid != "$old_uid" ]] || cd_fail "the deleted Deployment was not recreated"
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v1
wait_app heal "Synced and Healthy after the Deployment came back" 120 "sync=='Synced' and health=='Healthy'"

# selfHeal off: the change stays and is shown.
APP=noheal
scale noheal-app 1
wait_app noheal "OutOfSync after the change by hand" 60 "sync=='OutOfSync'"
sleep 5
[[ $(replicas_of noheal-app) == 1 ]] || cd_fail "noheal: the change by hand was reverted without selfHeal"
app_check noheal "sync=='OutOfSync'" || cd_fail "noheal: not OutOfSync 5 s later"
app_check noheal "any(r.get('kind')=='Deployment' and r.get('status')=='OutOfSync' for r in s.get('resources') or [])" ||
  cd_fail "noheal: status.resources does not mark the Deployment OutOfSync"
set +e
"$ARGONAUT" app diff noheal >"$WORK/diff.out" 2>&1
rc=$?
set -e
cat "$WORK/diff.out" >&2
[[ $rc -eq 1 ]] || cd_fail "app diff exited $rc, want 1"
grep -q "replicas" "$WORK/diff.out" || cd_fail "app diff does not show the replicas change"
grep -q "replicas: 1" "$WORK/diff.out" || cd_fail "app diff does not show the live replicas 1"
grep -q "replicas: 3" "$WORK/diff.out" || cd_fail "app diff does not show the desired replicas 3"

# selfHeal off: a deleted Deployment stays deleted until a sync.
cli delete deployment noheal-app >/dev/null
# (The app's health stays that of the Service: Argo CD calls an app Missing
# only when all of its resources are.)
wait_app noheal "OutOfSync, the Deployment Missing, after the delete" 60 \
  "sync=='OutOfSync' and any(r.get('kind')=='Deployment' and r.get('status')=='OutOfSync' and (r.get('health') or {}).get('status')=='Missing' for r in s.get('resources') or [])"
sleep 5
[[ $(uid_of noheal-app) == none ]] || cd_fail "noheal: the deleted Deployment came back without selfHeal"
cli app sync noheal >/dev/null
wait_app noheal "Synced and Healthy after app sync" 180 "sync=='Synced' and health=='Healthy'"
wait_pods app=noheal-app 3 jocatalin/kubernetes-bootcamp:v1
set +e
"$ARGONAUT" app diff noheal >"$WORK/diff2.out" 2>&1
rc=$?
set -e
[[ $rc -eq 0 ]] || { cat "$WORK/diff2.out" >&2; cd_fail "app diff exited $rc after the sync, want 0"; }
echo "PASS"
