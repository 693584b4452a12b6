#!/usr/bin/env bash
# Floods against `argonaut up` (issue 18), all on loopback and bounded:
# - with 16 REST watches, 16 `argonaut logs -f` streams and 500 idle TCP
#   connections open (half silent, half an HTTP/2 preface and nothing more,
#   from ten loopback addresses so the per-client cap does not refuse them),
#   GET /api/v1/version and `argonaut list` each answer within a second;
# - one address gets 64 connections and its 65th is closed at once;
# - a 100 MiB chunked POST and a gzip body inflating to 100 MiB get 413 with
#   a grpc-gateway error body, long before they are sent whole;
# - a workflow whose status would pass the store's 8 MiB object limit ends in
#   Error with the reason instead of being retried forever;
# - the process' RSS stays under a stated bound throughout.
source tests/lib.sh

echo "fd limit (ulimit -n): $(ulimit -n)"
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt 2048 ]]; then
  fail "the flood needs about 1,200 descriptors in argonaut up; ulimit -n is $(ulimit -n)"
fi

start_up "$WORK/data"

cat >"$WORK/ticker.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: ticker
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "while true; do echo tick; sleep 1; done"]}
YAML
run_cli submit "$WORK/ticker.yaml" >/dev/null

python3 tests/flood_test.py "$ARGONAUT" "$PORT" "$UP_PID" "${ARGONAUT_TOKEN:-}" "$WORK" || { tail -n 30 "$WORK/up.log" >&2; fail "flood"; }

stop_up TERM
echo "PASS"
