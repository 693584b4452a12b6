# Helpers for the artifact e2e tests (artifacts_api_test.sh, artifacts_s3_gc_test.sh), sourced
# after tests/lib.sh (they use $ARGONAUT, $WORK and fail).

# Submits the workflow in $1 and waits for it to finish; its JSON goes to $WORK/wf.json.
submit_wait() {
  timeout 180 "$ARGONAUT" submit --wait -o json "$1" >"$WORK/wf.json" 2>"$WORK/err.txt" ||
    { cat "$WORK/err.txt" "$WORK/wf.json" >&2; fail "submit"; }
}

# Prints the Python expression $1 evaluated over the workflow JSON on stdin (as `w`).
field() { python3 -c "import json,sys; w=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# The id of the first Pod node of the workflow JSON on stdin.
pod_node() { field '[k for k,n in w["status"]["nodes"].items() if n.get("type")=="Pod"][0]'; }

# The key of output artifact $2 of node $1, stored in location $3 (local, s3), from the
# workflow JSON on stdin.
artifact_key() {
  field "[a['$3']['key'] for a in w['status']['nodes']['$1']['outputs']['artifacts'] if a['name']=='$2'][0]"
}

# Waits (up to $2 tries 0.2 s apart) for workflow $1 to be gone; fails if it stays.
wait_workflow_gone() {
  for _ in $(seq 1 "$2"); do
    "$ARGONAUT" get wf "$1" -o json >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  if "$ARGONAUT" get wf "$1" -o json >"$WORK/left.json" 2>/dev/null; then
    cat "$WORK/left.json" >&2
    fail "workflow $1 still there after delete"
  fi
}
