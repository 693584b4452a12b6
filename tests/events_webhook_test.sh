#!/usr/bin/env bash
# The webhook walkthrough of examples/events through `argonaut up` and curl:
# a POST to the webhook answers "success" and the sensor submits a Workflow
# whose parameters hold the event body (whole, and body.message) and which
# Succeeds; the filtered sensor submits only for "hello" and "hey". Then the
# events API through the gateway: `argonaut events send` reaches the sensors,
# `events list`, `sensors get` (the trigger's last result), and Argo Server's
# sensor and sensor-logs REST paths. The webhook port is a free one, written
# into copies of the examples.
source tests/lib.sh

EX="$PWD/examples/events"
[[ -f "$EX/webhook-eventsource.yaml" ]] || EX="$(workspace_dir)/examples/events"
HOOK=$(free_port)
for f in webhook-eventsource webhook-sensor webhook-sensor-filtered; do
  sed "s/12000/$HOOK/g" "$EX/$f.yaml" >"$WORK/$f.yaml"
done

start_up "$WORK/data"
cli() { "$ARGONAUT" "$@"; }

# Workflows of a generateName prefix, as "name phase param0" lines.
workflows() {
  curl -sf "http://127.0.0.1:${HTTP_PORT}/api/v1/workflows/default" | python3 -c '
import json, sys
prefix = sys.argv[1]
for w in (json.load(sys.stdin).get("items") or []):
    name = w["metadata"]["name"]
    rest = name[len(prefix):]
    if not name.startswith(prefix) or ("-" in rest and prefix == "webhook-"):
        continue
    params = w.get("spec", {}).get("arguments", {}).get("parameters", [])
    print(name, (w.get("status") or {}).get("phase", ""), json.dumps([p.get("value") for p in params]))
' "$1"
}

post() {
  curl -s -o "$WORK/post.out" -w '%{http_code}' -X POST -d "$1" "http://127.0.0.1:${HOOK}/webhook"
}

cli apply -f "$WORK/webhook-eventsource.yaml" >/dev/null
cli apply -f "$WORK/webhook-sensor.yaml" >/dev/null
cli apply -f "$WORK/webhook-sensor-filtered.yaml" >/dev/null

# The listener comes up once the controller has started the runner.
code=""
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X GET "http://127.0.0.1:${HOOK}/webhook" || true)
  [[ "$code" == "405" ]] && break
  sleep 0.2
done
[[ "$code" == "405" ]] || { cat "$WORK/up.log" >&2; fail "webhook not listening on $HOOK (GET answered '$code')"; }
# The sensors' bus consumers register on their first read; give them a moment.
sleep 2

code=$(post '{"message": "HelloWorld!"}')
[[ "$code" == "200" ]] || fail "POST answered $code"
grep -qx "success" "$WORK/post.out" || fail "POST body: $(cat "$WORK/post.out")"

# One workflow from the plain sensor, with the event in its parameters, Succeeded.
ok=""
for _ in $(seq 1 300); do
  out=$(workflows webhook- || true)
  if grep -q "Succeeded" <<<"$out"; then ok=1; break; fi
  sleep 0.5
done
echo "$out" >&2
[[ -n "$ok" ]] || { cat "$WORK/up.log" >&2; fail "no webhook- workflow Succeeded"; }
[[ $(wc -l <<<"$out") -eq 1 ]] || fail "expected one webhook- workflow, got: $out"
grep -q '"HelloWorld!"' <<<"$out" || fail "body.message not in the parameters: $out"
grep -q 'message' <<<"$out" || fail "the whole body not in the parameters: $out"
# HelloWorld! does not pass the filter.
[[ -z "$(workflows webhook-filtered- || true)" ]] || fail "the filtered sensor fired for HelloWorld!"

for m in hello hey hi nope; do
  code=$(post "{\"message\": \"$m\"}")
  [[ "$code" == "200" ]] || fail "POST $m answered $code"
done
for _ in $(seq 1 300); do
  out=$(workflows webhook-filtered- || true)
  [[ $(grep -c . <<<"$out") -ge 2 ]] && break
  sleep 0.5
done
sleep 3
out=$(workflows webhook-filtered- || true)
echo "$out" >&2
[[ $(grep -c . <<<"$out") -eq 2 ]] || fail "expected 2 filtered workflows, got: $out"
grep -q '"hello"' <<<"$out" || fail "no workflow for hello"
grep -q '"hey"' <<<"$out" || fail "no workflow for hey"
# Wrong method and path are refused without taking the listener down.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://127.0.0.1:${HOOK}/other")
[[ "$code" == "404" ]] || fail "unknown path answered $code, not 404"

# The events API through the gateway of `argonaut up`: the CLI and Argo Server's REST paths.
# A sent event goes through the bus like a POST: "hey" makes a third filtered workflow.
cli events send webhook example --data '{"message": "hey"}' >"$WORK/send.out" ||
  fail "events send: $(cat "$WORK/send.out")"
grep -q "sent to webhook/example" "$WORK/send.out" || fail "events send said: $(cat "$WORK/send.out")"
for _ in $(seq 1 300); do
  [[ $(workflows webhook-filtered- | grep -c .) -ge 3 ]] && break
  sleep 0.5
done
[[ $(workflows webhook-filtered- | grep -c .) -eq 3 ]] || fail "the sent event made no workflow"
cli events list webhook >"$WORK/events.out" || fail "events list"
grep -q 'HelloWorld!' "$WORK/events.out" || fail "events list: $(cat "$WORK/events.out")"
ok=""
for _ in $(seq 1 50); do
  cli sensors get webhook >"$WORK/sensor.out" || fail "sensors get"
  if grep -q "webhook-workflow-trigger.*Succeeded" "$WORK/sensor.out"; then ok=1; break; fi
  sleep 0.2
done
[[ -n "$ok" ]] || fail "sensors get shows no trigger result: $(cat "$WORK/sensor.out")"
grep -q "test-dep  webhook/example" "$WORK/sensor.out" || fail "sensors get: $(cat "$WORK/sensor.out")"
curl -sf "http://127.0.0.1:${HTTP_PORT}/api/v1/sensors/default/webhook" |
  python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["status"]["triggers"]["webhook-workflow-trigger"]["fired"] >= 1, s' ||
  fail "GET /api/v1/sensors/default/webhook"
curl -s -m 10 "http://127.0.0.1:${HTTP_PORT}/api/v1/stream/sensors/default/logs?name=webhook" >"$WORK/logs.out" || true
grep -q '"triggerName":"webhook-workflow-trigger"' "$WORK/logs.out" || fail "sensor logs: $(cat "$WORK/logs.out")"
echo PASS
