#!/usr/bin/env bash
# Ctrl-C works: every blocking CLI command (submit --wait, wait, watch, logs -f)
# ends at once on SIGINT (exit 130, as a shell reports it) and on SIGTERM
# (143), while `argonaut up` itself still shuts down gracefully on either.
source tests/lib.sh

start_up "$WORK/data"

cat >"$WORK/nap.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: nap
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "echo napping; sleep 600"]}
YAML
run_cli apply -f "$WORK/nap.yaml" >/dev/null

# Each command is started by Python (a background job of a non-interactive
# shell would inherit SIGINT ignored), given 2 s to block, then signalled; it
# must be gone within 3 s with the shell's code for that signal.
python3 - "$ARGONAUT" "$WORK/nap.yaml" <<'PY'
import signal, subprocess, sys, time

argonaut, nap = sys.argv[1], sys.argv[2]
commands = [
    ["submit", "--wait", "--generate-name", "nap-", nap],
    ["wait", "nap"],
    ["watch", "nap"],
    ["logs", "nap", "-f"],
]
failed = False
for args in commands:
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        p = subprocess.Popen([argonaut] + args, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(2)
        if p.poll() is not None:
            print(f"FAIL: argonaut {' '.join(args)} ended before the signal (rc {p.returncode})")
            failed = True
            continue
        sent = time.monotonic()
        p.send_signal(sig)
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            print(f"FAIL: argonaut {' '.join(args)} ignored {sig.name}")
            failed = True
            continue
        rc = 128 - p.returncode if p.returncode < 0 else p.returncode
        took = time.monotonic() - sent
        ok = rc == want
        print(f"{'ok' if ok else 'FAIL'}: argonaut {' '.join(args)} on {sig.name}: "
              f"exit {rc} (want {want}) after {took:.2f} s")
        failed = failed or not ok
sys.exit(1 if failed else 0)
PY

# The server still stops gracefully (it handles the signals itself).
kill -INT "$UP_PID"
for _ in $(seq 1 100); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$UP_PID" 2>/dev/null && fail "argonaut up ignored SIGINT"
grep -q "Shutting down" "$WORK/up.log" || { tail -n 20 "$WORK/up.log" >&2; fail "argonaut up did not log its shutdown"; }
echo "PASS"
