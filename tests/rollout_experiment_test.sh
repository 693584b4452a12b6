#!/usr/bin/env bash
# A canary with an experiment step (examples/rollouts/canary-experiment.yaml)
# through the CLI against `argonaut up`: the first deploy goes Healthy with 4
# pods; an update sets 25% (1 new pod, 3 old), then starts an Experiment owned
# by the rollout, whose baseline and canary templates each run one pod of
# their version beside the rollout and whose AnalysisRun (a Job running
# `exit 0`) succeeds; the rollout waits on that step until the Experiment is
# Successful, then completes: Healthy, every pod new, the old ReplicaSet at 0,
# and the Experiment's pods gone.
source tests/lib.sh
source tests/rollout_lib.sh

RO=canary-experiment
start_up "$WORK/data"

out=$(run_cli apply -f "$(examples_dir)/canary-experiment.yaml")
grep -q "rollout.argoproj.io/$RO created" <<<"$out" || ro_fail "apply output: $out"
wait_ro $RO "the first revision Healthy" 120 \
  's.get("phase")=="Healthy" and s.get("availableReplicas")==4 and s.get("stableRS") and s.get("stableRS")==s.get("currentPodHash")'
V1=$(ro_field $RO stableRS)
wait_replicas $RO "$V1" 4

# experiment_field FIELD: the rollout's Experiment (owned by it), as JSON: its
# name, phase, and the ready replicas of each template; {} while there is none.
experiment() {
  "$ARGONAUT" get experiments -o json 2>/dev/null | python3 -c '
import json, sys
items = [e for e in json.load(sys.stdin).get("items", [])
         if any(r.get("kind") == "Rollout" and r.get("name") == sys.argv[1]
                for r in e["metadata"].get("ownerReferences") or [])]
if not items:
    print("{}"); sys.exit(0)
e = items[-1]
st = e.get("status") or {}
print(json.dumps({"name": e["metadata"]["name"], "phase": st.get("phase"),
                  "templates": {t.get("name"): t.get("status") for t in st.get("templateStatuses") or []},
                  "runs": {a.get("name"): a.get("phase") for a in st.get("analysisRuns") or []}}))' "$RO"
}

run_cli rollouts set image $RO rollouts-demo=argoproj/rollouts-demo:green >/dev/null
wait_ro $RO "the update at the experiment step (step 1)" 120 \
  's.get("currentStepIndex",0)>=1 and s.get("currentPodHash") not in (None, "", s.get("stableRS"))'
V2=$(ro_field $RO currentPodHash)
[[ $(ro_field $RO stableRS) == "$V1" ]] || ro_fail "stableRS changed during the update"

# The Experiment runs while the rollout holds at its step.
deadline=$((SECONDS + 120)) seen_running="" ex='{}'
while ((SECONDS < deadline)); do
  ex=$(experiment)
  if python3 -c 'import json,sys; e=json.loads(sys.argv[1]); sys.exit(0 if e.get("phase")=="Running" else 1)' "$ex"; then
    seen_running=1
    break
  fi
  sleep 0.5
done
[[ -n $seen_running ]] || ro_fail "no Running Experiment owned by $RO (last: $ex)"
NAME=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["name"])' "$ex")
echo "experiment $NAME running: $ex" >&2
# (The step holds for the Experiment's 30 s; a check that lands after it ended
# proves nothing, so only a Running Experiment beside a later step fails.)
if ! ro_check $RO 's.get("currentStepIndex")==1'; then
  ex=$(experiment)
  python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get("phase")!="Running" else 1)' "$ex" ||
    ro_fail "the rollout left the experiment step while $NAME runs: $ex"
fi
# Its two templates run one pod each, labelled with their version's hash,
# beside the rollout's own 1 new + 3 old.
deadline=$((SECONDS + 120)) pods=""
while ((SECONDS < deadline)); do
  pods=$("$ARGONAUT" get pods -o json 2>/dev/null | python3 -c '
import json, sys
name = sys.argv[1]
n = {}
for p in json.load(sys.stdin).get("items", []):
    m = p["metadata"]
    if not m["name"].startswith(name + "-") or m.get("deletionTimestamp"):
        continue
    if (p.get("status") or {}).get("phase") != "Running":
        continue
    t = m["name"][len(name) + 1:].split("-")[0]
    n[t] = n.get(t, 0) + 1
print(json.dumps(n, sort_keys=True))' "$NAME")
  [[ $pods == '{"baseline": 1, "canary": 1}' ]] && break
  sleep 0.5
done
[[ $pods == '{"baseline": 1, "canary": 1}' ]] || ro_fail "experiment $NAME pods: $pods"
# (The experiment's pods carry their version's hash label too, so the
# rollout's own ReplicaSets are checked by name.)
rs_desired() {
  "$ARGONAUT" get rs "$1" -o json 2>/dev/null |
    python3 -c 'import json,sys; print((json.load(sys.stdin).get("spec") or {}).get("replicas"))'
}
[[ $(rs_desired "$RO-$V2") == 1 && $(rs_desired "$RO-$V1") == 3 ]] ||
  ro_fail "during the experiment: $RO-$V2 wants $(rs_desired "$RO-$V2") (1), $RO-$V1 $(rs_desired "$RO-$V1") (3)"

# The analysis passes, the 30 s run out: Successful, and the rollout goes on.
deadline=$((SECONDS + 180)) ex_phase=""
ex_phase() { experiment | python3 -c 'import json,sys; print(json.load(sys.stdin).get("phase") or "")'; }
while ((SECONDS < deadline)); do
  # The rollout moved past the step: the Experiment is over (read its phase
  # after that, or it may be the Running read just before it ended).
  if ro_check $RO 's.get("currentStepIndex",0)>=2'; then
    ex_phase=$(ex_phase)
    break
  fi
  ex_phase=$(ex_phase)
  case $ex_phase in Successful | Failed | Error | Inconclusive) break ;; esac
  sleep 0.5
done
[[ -z $ex_phase || $ex_phase == Successful ]] || ro_fail "experiment $NAME ended $ex_phase"
run_phase=$("$ARGONAUT" get analysisruns -o json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin).get("items", []):
    if a["metadata"]["name"].startswith(sys.argv[1] + "-"):
        print((a.get("status") or {}).get("phase")); break' "$NAME")
echo "experiment $NAME: $(experiment); analysis run: ${run_phase:-gone}" >&2
[[ -z $run_phase || $run_phase == Successful ]] || ro_fail "analysis run of $NAME: $run_phase"
ro_check $RO 's.get("phase")!="Degraded" and not s.get("abort")' || ro_fail "the rollout aborted at the experiment"
wait_ro $RO "Healthy on the new version after the experiment" 180 \
  's.get("phase")=="Healthy" and s.get("currentStepIndex")==4 and s.get("stableRS")==s.get("currentPodHash") and s.get("availableReplicas")==4'
[[ $(ro_field $RO stableRS) == "$V2" ]] || ro_fail "stableRS is not the updated revision"
# The experiment's own pods are gone once it is over (after its scale-down delay).
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
  left=$("$ARGONAUT" get pods -o json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for p in json.load(sys.stdin).get("items", [])
          if p["metadata"]["name"].startswith(sys.argv[1] + "-")))' "$NAME")
  [[ $left == 0 ]] && break
  sleep 0.5
done
[[ $left == 0 ]] || ro_fail "experiment $NAME still has $left pods after the rollout completed"
wait_replicas $RO "$V2" 4
wait_replicas $RO "$V1" 0
echo "PASS rollout_experiment_test (experiment $NAME, analysis run ${run_phase:-deleted})"
