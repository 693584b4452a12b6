#!/usr/bin/env bash
# Argo CD's example apps (../shared/corpus/argocd-example-apps) from a local
# git repository served by `git daemon`, against `argonaut up`:
# - every app INDEX.tsv marks `yes` syncs automatically to Synced and Healthy,
#   each in its own namespace (CreateNamespace=true);
# - sync-waves, pre-post-sync and helm-hooks: a recorder (cd_recorder.py)
#   notes when each object appears and when each hook Job finishes, and the
#   order is Argo CD's: PreSync hooks done before the Sync phase, waves in
#   order with each wave's hooks done before the next, PostSync after; hooks
#   with HookSucceeded are gone at the end;
# - a failing PreSync hook (a small app of this test's own) fails the sync,
#   nothing of the Sync phase is created, and the SyncFail hook runs;
# - sock-shop renders (`app manifests`), diffs (`app diff` exits 1), and once
#   synced its pods are reported Degraded with the image reason.
source tests/lib.sh
source tests/git_fixture.sh
source tests/cd_lib.sh

CORPUS="$(corpus_dir)/argocd-example-apps"
[[ -f "$CORPUS/INDEX.tsv" ]] || fail "no INDEX.tsv in $CORPUS"
RECORDER="$PWD/tests/cd_recorder.py"
[[ -f $RECORDER ]] || RECORDER="$(workspace_dir)/tests/cd_recorder.py"

SRC="$WORK/src"
mkdir -p "$SRC"
cp -R "$CORPUS/." "$SRC/"
mkdir -p "$SRC/presync-fail"
cat >"$SRC/presync-fail/manifests.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: check
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: check
          image: busybox
          command: [sh, -c, "echo the check fails; sleep 1; exit 3"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: never
spec:
  replicas: 1
  selector:
    matchLabels: {app: never}
  template:
    metadata:
      labels: {app: never}
    spec:
      containers:
        - name: app
          image: jocatalin/kubernetes-bootcamp:v1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: on-sync-fail
  annotations:
    argocd.argoproj.io/hook: SyncFail
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: cleanup
          image: busybox
          command: [sh, -c, "echo cleaning up after the failed sync; sleep 1"]
YAML
SHA=$(git_repo_from_dir "$SRC" corpus)
start_git_daemon
URL=$(git_url corpus)
cd_start_up "$WORK/data" 60

# create_app NAME PATH AUTOMATED(yes|no) [SOURCE-EXTRA-YAML]: in namespace NAME.
create_app() {
  local name=$1 path=$2 auto=$3 extra=${4:-}
  {
    echo "apiVersion: argoproj.io/v1alpha1"
    echo "kind: Application"
    echo "metadata: {name: $name}"
    echo "spec:"
    echo "  project: default"
    echo "  source:"
    echo "    repoURL: \"$URL\""
    echo "    targetRevision: HEAD"
    echo "    path: $path"
    [[ -n $extra ]] && printf '%s\n' "$extra"
    echo "  destination: {server: \"https://kubernetes.default.svc\", namespace: $name}"
    echo "  syncPolicy:"
    [[ $auto == yes ]] && echo "    automated: {prune: true}"
    echo "    syncOptions: [CreateNamespace=true]"
  } >"$WORK/app-$name.yaml"
  cli app create -f "$WORK/app-$name.yaml" >/dev/null
}

# order_check FILE NS CONSTRAINT...: CONSTRAINT is "A < B" or "A <= B" over
# terms EVENT:KIND:NAME (EVENT created|complete|failed|deleted; NAME ending
# in * is a prefix), compared by the recorder's sample number of the first
# such event; "never:KIND:NAME" holds when no object of that name appeared.
order_check() {
  python3 - "$@" <<'PY'
import json, sys
path, ns, constraints = sys.argv[1], sys.argv[2], sys.argv[3:]
events = [json.loads(l) for l in open(path) if l.strip()]
events = [e for e in events if e["ns"] == ns]

def first(term):
    ev, kind, name = term.split(":", 2)
    for e in events:
        if e["event"] != ev or e["kind"] != kind:
            continue
        if (name.endswith("*") and e["name"].startswith(name[:-1])) or e["name"] == name:
            return e["sample"]
    return None

bad = []
for c in constraints:
    if c.startswith("never:"):
        _, kind, name = c.split(":", 2)
        if first("created:" + kind + ":" + name) is not None:
            bad.append(f"{c}: it was created")
        continue
    a, op, b = c.split()
    x, y = first(a), first(b)
    if x is None or y is None:
        bad.append(f"{c}: {a if x is None else b} never happened")
    elif not (x < y if op == "<" else x <= y):
        bad.append(f"{c}: samples {x} {op} {y} does not hold")
if bad:
    print(f"order in {ns}:")
    for e in events:
        print(f"  #{e['sample']} {e['t']:7.2f}s {e['event']:8} {e['kind']}/{e['name']}")
    print("violated:")
    print("\n".join("  " + b for b in bad))
    sys.exit(1)
PY
}

# The apps INDEX.tsv marks runnable; each needs a plan here.
mapfile -t YES < <(awk -F'\t' 'NR > 1 && $3 == "yes" {print $1}' "$CORPUS/INDEX.tsv")
((${#YES[@]} > 0)) || fail "INDEX.tsv lists no runnable app"
for app in "${YES[@]}"; do
  case $app in
    guestbook | jsonnet-guestbook | jsonnet-guestbook-tla | kustomize-guestbook | sync-waves | \
      pre-post-sync | helm-hooks) ;;
    *) fail "INDEX.tsv marks $app runnable and this test has no plan for it" ;;
  esac
done

python3 "$RECORDER" "$HTTP_PORT" "$WORK/order.jsonl" sync-waves pre-post-sync helm-hooks \
  presync-fail >"$WORK/recorder.log" 2>&1 &
REC_PID=$!
trap 'stop_pid "$REC_PID" TERM; stop_git_daemon; stop_up TERM' EXIT
sleep 1

TLA='    directory:
      jsonnet:
        tlas:
          - {name: name, value: tla-guestbook-ui}
          - {name: image, value: "gcr.io/heptio-images/ks-guestbook-demo:0.2"}
          - {name: replicas, value: "2", code: true}'
for app in "${YES[@]}"; do
  if [[ $app == jsonnet-guestbook-tla ]]; then
    create_app "$app" "$app" yes "$TLA"
  else
    create_app "$app" "$app" yes
  fi
done

for app in "${YES[@]}"; do
  APP=$app
  wait_app "$app" "Synced and Healthy at $SHA" 300 \
    "sync=='Synced' and health=='Healthy' and (s.get('sync') or {}).get('revision')=='$SHA'"
  wait_app "$app" "its sync operation Succeeded" 120 \
    "(s.get('operationState') or {}).get('phase')=='Succeeded'"
  echo "$app: Synced and Healthy" >&2
done
APP=""

# What the apps run: the guestbook pages, the tla's image and replicas.
wait_pods_ns() {
  local ns=$1 sel=$2 want=$3 deadline=$((SECONDS + 120)) got=""
  while ((SECONDS < deadline)); do
    got=$("$ARGONAUT" get pods -n "$ns" -l "$sel" -o json 2>/dev/null | python3 -c 'import json,sys
p=[x for x in json.load(sys.stdin).get("items") or [] if not x["metadata"].get("deletionTimestamp")]
r=[x for x in p if (x.get("status") or {}).get("phase")=="Running"]
print(len(r), ",".join(sorted({c["image"] for x in p for c in x["spec"]["containers"]})))' 2>/dev/null)
    [[ $got == "$want" ]] && return 0
    sleep 0.5
  done
  cd_fail "pods -n $ns -l $sel: want '$want', got '$got'"
}
wait_pods_ns guestbook app=guestbook-ui "1 gcr.io/google-samples/gb-frontend:v5"
wait_pods_ns jsonnet-guestbook-tla app=tla-guestbook-ui "2 gcr.io/heptio-images/ks-guestbook-demo:0.2"
port=$("$ARGONAUT" get svc guestbook-ui -n guestbook -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["loadBalancer"]["ingress"][0]["ports"][0]["port"])') ||
  cd_fail "the guestbook Service has no loopback port"
curl -sf "http://127.0.0.1:$port/" | grep -q "<title>Guestbook</title>" || cd_fail "the guestbook Service does not answer its page"

# The failing PreSync hook: manual sync, so that it is tried once.
create_app presync-fail presync-fail no
"$ARGONAUT" app sync presync-fail >"$WORK/presync-sync.out" 2>&1 || true
APP=presync-fail
wait_app presync-fail "the sync Failed" 180 "(s.get('operationState') or {}).get('phase')=='Failed'"
msg=$(app_eval presync-fail "(s.get('operationState') or {}).get('message','')")
echo "presync-fail: $msg" >&2
sleep 5
kill -0 "$REC_PID" 2>/dev/null || fail "the recorder stopped: $(cat "$WORK/recorder.log")"
stop_pid "$REC_PID" TERM
order_check "$WORK/order.jsonl" presync-fail \
  "created:Job:check < failed:Job:check" \
  "failed:Job:check <= created:Job:on-sync-fail" \
  "created:Job:on-sync-fail < complete:Job:on-sync-fail" \
  "never:Deployment:never" || cd_fail "presync-fail: wrong order"
app_check presync-fail "any(r.get('kind')=='Job' and r.get('name')=='check' and r.get('hookPhase')=='Failed' for r in ((s.get('operationState') or {}).get('syncResult') or {}).get('resources') or [])" ||
  cd_fail "presync-fail: the operation's result does not show the PreSync hook Failed"
APP=""

# The recorder samples every ~0.5 s, and pods here start in well under a
# second, so "<" (an earlier sample) is asserted only where a hook's own run
# time (sleep 2..10 s) separates two steps; elsewhere "<=" (not later).

# sync-waves: PreSync Job, then wave 0 (backend), wave 1 (the maint-page-up
# hook), wave 2 (frontend), wave 3 (the maint-page-down hook).
order_check "$WORK/order.jsonl" sync-waves \
  "created:Job:upgrade-sql-schema* < complete:Job:upgrade-sql-schema*" \
  "created:Job:upgrade-sql-schema* < created:ReplicaSet:backend" \
  "complete:Job:upgrade-sql-schema* <= created:ReplicaSet:backend" \
  "complete:Job:upgrade-sql-schema* <= created:Service:backend" \
  "created:ReplicaSet:backend <= created:Job:maint-page-up" \
  "created:Service:backend <= created:Job:maint-page-up" \
  "created:Job:maint-page-up < complete:Job:maint-page-up" \
  "complete:Job:maint-page-up <= created:ReplicaSet:frontend" \
  "created:Job:maint-page-up < created:ReplicaSet:frontend" \
  "created:Job:maint-page-up < created:Service:frontend" \
  "created:ReplicaSet:frontend <= created:Job:maint-page-down" \
  "created:Service:frontend <= created:Job:maint-page-down" || cd_fail "sync-waves: wrong order"

# pre-post-sync: the PreSync Job done before the guestbook, the PostSync Job
# not before it; both deleted once the sync succeeded (HookSucceeded), which
# the operation's result records as Succeeded.
order_check "$WORK/order.jsonl" pre-post-sync \
  "created:Job:pre-post-sync-before < complete:Job:pre-post-sync-before" \
  "created:Job:pre-post-sync-before < created:Deployment:pre-post-sync-kustomize-guestbook-ui" \
  "complete:Job:pre-post-sync-before <= created:Deployment:pre-post-sync-kustomize-guestbook-ui" \
  "complete:Job:pre-post-sync-before <= created:Service:pre-post-sync-kustomize-guestbook-ui" \
  "created:Deployment:pre-post-sync-kustomize-guestbook-ui <= created:Job:pre-post-sync-after" \
  "created:Job:pre-post-sync-after < deleted:Job:pre-post-sync-after" \
  "created:Job:pre-post-sync-after < deleted:Job:pre-post-sync-before" || cd_fail "pre-post-sync: wrong order"
app_check pre-post-sync "sorted((r.get('name'), r.get('hookType'), r.get('hookPhase')) for r in ((s.get('operationState') or {}).get('syncResult') or {}).get('resources') or [] if r.get('hookType')) == [('pre-post-sync-after', 'PostSync', 'Succeeded'), ('pre-post-sync-before', 'PreSync', 'Succeeded')]" ||
  APP=pre-post-sync cd_fail "pre-post-sync: the operation's result does not show both hooks Succeeded"

# helm-hooks: Helm's annotations mapped as Argo CD maps them: pre-install ->
# PreSync, post-install -> PostSync, hook-weight -> wave.
order_check "$WORK/order.jsonl" helm-hooks \
  "created:Job:upgrade-sql-schema* < created:Job:maint-page-up" \
  "complete:Job:upgrade-sql-schema* <= created:Job:maint-page-up" \
  "created:Job:maint-page-up < created:ReplicaSet:frontend" \
  "complete:Job:maint-page-up <= created:ReplicaSet:frontend" \
  "created:ReplicaSet:frontend <= created:Service:frontend" \
  "created:Service:frontend <= created:Job:maint-page-down" || cd_fail "helm-hooks: wrong order"

# sock-shop: renders, diffs, and its pods are Degraded with the image reason.
APP=sock-shop
create_app sock-shop sock-shop no
out=$(cli app manifests sock-shop)
n=$(grep -Ec '^kind: Deployment|"kind": *"Deployment"' <<<"$out" || true)
[[ $n == 14 ]] || cd_fail "app manifests sock-shop: $n Deployments, want 14"
set +e
"$ARGONAUT" app diff sock-shop >"$WORK/sock-diff.out" 2>&1
rc=$?
set -e
[[ $rc == 1 ]] || { cat "$WORK/sock-diff.out" >&2; cd_fail "app diff sock-shop exited $rc, want 1"; }
grep -q "front-end" "$WORK/sock-diff.out" || cd_fail "app diff sock-shop does not show front-end"
wait_app sock-shop "OutOfSync before any sync" 60 "sync=='OutOfSync'"
"$ARGONAUT" app sync sock-shop >"$WORK/sock-sync.out" 2>&1 || true
deadline=$((SECONDS + 180))
tree=""
while ((SECONDS < deadline)); do
  tree=$(curl -s "http://127.0.0.1:${HTTP_PORT}/api/v1/applications/sock-shop/resource-tree" || true)
  python3 -c 'import json,sys
t=json.loads(sys.argv[1])
pods=[n for n in t.get("nodes") or [] if n.get("kind")=="Pod"]
reason=lambda n: ((n.get("health") or {}).get("message") or "") + " ".join(str(i.get("value")) for i in n.get("info") or [] if i.get("name")=="Status Reason")
bad=[n for n in pods if (n.get("health") or {}).get("status")=="Degraded" and "ImageNotRunnableLocally" in reason(n)]
sys.exit(0 if bad else 1)' "$tree" 2>/dev/null && break
  sleep 1
done
python3 -c 'import json,sys
t=json.loads(sys.argv[1])
pods=[n for n in t.get("nodes") or [] if n.get("kind")=="Pod"]
reason=lambda n: ((n.get("health") or {}).get("message") or "") + " ".join(str(i.get("value")) for i in n.get("info") or [] if i.get("name")=="Status Reason")
bad=[n for n in pods if (n.get("health") or {}).get("status")=="Degraded" and "ImageNotRunnableLocally" in reason(n)]
print(len(pods), "pods in the tree,", len(bad), "Degraded with ImageNotRunnableLocally (health message or Status Reason)")
sys.exit(0 if bad else 1)' "$tree" >&2 ||
  cd_fail "sock-shop: no pod Degraded with the image reason in the resource tree: ${tree:0:2000}"
out=$(cli app get sock-shop)
echo "$out" | head -n 40 >&2
echo "PASS"
