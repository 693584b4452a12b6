#!/usr/bin/env bash
# The seed's GitOps demo (examples/cd) against `argonaut up`: a git repository
# served by `git daemon` on loopback holds app/my-app.yaml (3 replicas of
# jocatalin/kubernetes-bootcamp:v1 and a Service). `app create` with automated
# sync deploys it: Synced and Healthy, 3 pods of v1, the Service answers v=1.
# A pushed commit changing the image to :v2 is deployed with no manual step
# within the poll interval; the next commits are deployed at once through a
# GitHub push webhook on /api/webhook. `app history` and status.history show
# every revision; rollback is refused while automated sync is on; after
# `app set --sync-policy none`, `app rollback` to the first entry returns to v1.
source tests/lib.sh
source tests/git_fixture.sh
source tests/cd_lib.sh

APP=my-app
POLL=20
EX=$(cd_examples_dir)
SRC="$WORK/src"
mkdir -p "$SRC/app"
cp "$EX/app/my-app.yaml" "$SRC/app/"
V1_SHA=$(git_repo_from_dir "$SRC" cd-demo)
start_git_daemon
URL=$(git_url cd-demo)
cd_start_up "$WORK/data" "$POLL"

set_image() {
  sed -i "s#jocatalin/kubernetes-bootcamp:v[0-9]*#jocatalin/kubernetes-bootcamp:$1#" \
    "$GIT_WORK/cd-demo/app/my-app.yaml"
}

# 1. Create with automated sync: deployed, Synced and Healthy, 3 pods of v1.
cli app create $APP --repo "$URL" --path app --dest-server https://kubernetes.default.svc \
  --dest-namespace default --sync-policy automated >/dev/null
wait_app $APP "Synced and Healthy at the first commit" 180 \
  "sync=='Synced' and health=='Healthy' and (s.get('sync') or {}).get('revision')=='$V1_SHA'"
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v1
wait_svc_version my-app 12 1
out=$(cli app get $APP)
echo "$out" >&2
grep -q "Synced" <<<"$out" || cd_fail "app get does not show Synced"
grep -q "Healthy" <<<"$out" || cd_fail "app get does not show Healthy"
grep -q "Deployment" <<<"$out" || cd_fail "app get does not list the Deployment"
cli app list | grep -Eq "^(argocd/)?$APP " || cd_fail "app list does not show $APP"

# Rollback is refused while automated sync is on.
set +e
out=$("$ARGONAUT" app rollback $APP 0 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || cd_fail "app rollback succeeded with automated sync on: $out"
grep -qi "auto-sync" <<<"$out" || cd_fail "rollback refusal does not name auto-sync: $out"

# 2. A commit changing the image to v2, found by polling alone.
set_image v2
V2_SHA=$(git_push cd-demo "my-app: kubernetes-bootcamp v2")
pushed=$SECONDS
limit=$((${POLL_SECS:-180} + 30))
wait_app $APP "the v2 commit found by polling within the poll interval" $limit \
  "(s.get('sync') or {}).get('revision')=='$V2_SHA'"
echo "poll: the v2 commit seen after $((SECONDS - pushed))s (interval ${POLL_SECS:-180}s)" >&2
wait_app $APP "Synced and Healthy at v2" 180 \
  "sync=='Synced' and health=='Healthy' and (s.get('sync') or {}).get('revision')=='$V2_SHA'"
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v2
wait_svc_version my-app 12 2

# 3. The next commits go out at once with the push webhook: just after a poll
# found the previous one, the next poll is a full interval away.
webhook_deploy() {
  local image=$1 version=$2 before=$3 sha code t0
  set_image "$image"
  sha=$(git_push cd-demo "my-app: kubernetes-bootcamp $image")
  t0=$SECONDS
  code=$(github_push "$URL" "$sha" "$before" app/my-app.yaml)
  [[ $code == 200 ]] || cd_fail "POST /api/webhook answered $code: $(cat "$WORK/webhook.out")"
  wait_app $APP "the $image commit after the push webhook" 10 \
    "(s.get('sync') or {}).get('revision')=='$sha'"
  echo "webhook: the $image commit seen after $((SECONDS - t0))s" >&2
  wait_app $APP "Synced and Healthy at $image" 180 \
    "sync=='Synced' and health=='Healthy' and (s.get('sync') or {}).get('revision')=='$sha'"
  wait_pods app=my-app 3 "jocatalin/kubernetes-bootcamp:$image"
  wait_svc_version my-app 12 "$version"
  LAST_SHA=$sha
}
webhook_deploy v1 1 "$V2_SHA"
V3_SHA=$LAST_SHA
webhook_deploy v2 2 "$V3_SHA"
V4_SHA=$LAST_SHA

# 4. History: four deployments, oldest first, in status.history and `app history`.
hist=$(app_eval $APP "[h.get('revision') for h in s.get('history') or []]")
python3 -c 'import json,sys
h=json.loads(sys.argv[1]); want=sys.argv[2:]
sys.exit(0 if h[-4:]==want and len(h)==4 else 1)' "$hist" "$V1_SHA" "$V2_SHA" "$V3_SHA" "$V4_SHA" ||
  cd_fail "status.history revisions $hist, want [$V1_SHA $V2_SHA $V3_SHA $V4_SHA]"
FIRST_ID=$(app_eval $APP "(s.get('history') or [])[0].get('id')")
out=$(cli app history $APP)
echo "$out" >&2
for sha in "$V1_SHA" "$V2_SHA" "$V3_SHA" "$V4_SHA"; do
  grep -q "${sha:0:7}" <<<"$out" || cd_fail "app history does not show ${sha:0:7}"
done

# 5. Automated sync off, then rollback to the first entry: v1 again.
cli app set $APP --sync-policy none >/dev/null
wait_app $APP "automated sync off" 10 "not (a.get('spec',{}).get('syncPolicy') or {}).get('automated')"
cli app rollback $APP "$FIRST_ID" >/dev/null
wait_app $APP "the rollback operation Succeeded" 180 \
  "(s.get('operationState') or {}).get('phase')=='Succeeded' and ((s.get('operationState') or {}).get('syncResult') or {}).get('revision')=='$V1_SHA'"
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v1
wait_svc_version my-app 12 1
# Git still says v2: the app is OutOfSync and stays on v1 (no automated sync).
wait_app $APP "OutOfSync after the rollback" 60 "sync=='OutOfSync'"
sleep 3
wait_pods app=my-app 3 jocatalin/kubernetes-bootcamp:v1 5
hist=$(app_eval $APP "[h.get('revision') for h in s.get('history') or []]")
python3 -c 'import json,sys
h=json.loads(sys.argv[1]); sys.exit(0 if h and h[-1]==sys.argv[2] else 1)' "$hist" "$V1_SHA" ||
  cd_fail "the rollback is not the last history entry: $hist"
echo "PASS"
