#!/usr/bin/env bash
# Apply 1,000 objects, SIGKILL `argonaut up`, start it on the same data:
# all 1,000 are listed.
source tests/lib.sh

start_up "$WORK/data"
python3 - "$WORK/many.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1000):
        f.write(f"""---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: t-{i:04d}
  labels: {{batch: durability}}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {{image: alpine, command: [echo, "{i}"]}}
""")
PY
"$ARGONAUT" apply -f "$WORK/many.yaml" >"$WORK/apply.out"
[[ $(grep -c created "$WORK/apply.out") -eq 1000 ]] || fail "not all 1000 applied"
stop_up KILL
start_up "$WORK/data"
n=$("$ARGONAUT" get wftmpl -l batch=durability -o name | wc -l)
[[ $n -eq 1000 ]] || fail "after SIGKILL and restart: $n of 1000 listed"
"$ARGONAUT" get wftmpl t-0999 -o json | grep -q '"999"' || fail "content lost"
echo "PASS: 1000 of 1000 listed after SIGKILL"
