#!/usr/bin/env bash
# The README's workflow examples (examples/workflows/*.yaml) run as they are:
# each submitted with `argonaut submit --wait -o json` against `argonaut up`
# must end Succeeded, and the artifact example's second step must print what
# the first wrote.
source tests/lib.sh

start_up "$WORK/data"
for f in examples/workflows/*.yaml; do
  if ! timeout 180 "$ARGONAUT" submit --wait -o json "$f" >"$WORK/out.json" 2>"$WORK/err.txt"; then
    cat "$WORK/err.txt" "$WORK/out.json" >&2
    fail "submit --wait $f"
  fi
  read -r name phase < <(python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print(w["metadata"]["name"], w["status"]["phase"])' "$WORK/out.json")
  [[ $phase == Succeeded ]] || { cat "$WORK/out.json" >&2; fail "$f: $name ended $phase"; }
  echo "ok: $f ($name $phase)"
  if [[ $f == *artifact-passing.yaml ]]; then
    "$ARGONAUT" logs "$name" >"$WORK/logs.txt" 2>&1 || { cat "$WORK/logs.txt" >&2; fail "logs $name"; }
    grep -q "passed along as an artifact" "$WORK/logs.txt" || { cat "$WORK/logs.txt" >&2; fail "the consumer did not read the artifact"; }
  fi
done
echo PASS
