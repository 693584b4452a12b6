#!/usr/bin/env bash
# A layered DAG of tasks that run `true`, run by GNU make -j2 and by argonaut's workflow
# controller in the same run: once with the runtime's plain-process mode (the engine's own cost)
# and once with full pod isolation (namespaces: the price of isolation). Prints the three wall
# times and the ratios argonaut/make.
#
#   bazel build //cli:argonaut && bench/dag_vs_make.sh [TASKS=1000] [WIDTH=100]
#
# The graph (bench/dag_graph.py): TASKS/WIDTH layers of WIDTH tasks, each task depending on three
# tasks of the layer before. The Workflow leaves parallelism unbounded (Argo's default): make -j2
# gets two job slots, the controller gets what the machine gives it; pinning both to the same
# CPUs is left to the caller (e.g. `taskset -c 0,1 bench/dag_vs_make.sh`), which then bounds both.
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), RUN_TIMEOUT (seconds per run, 600),
# MODES (default "plain namespaces").
set -euo pipefail

TASKS=${1:-1000}
WIDTH=${2:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
ARGONAUT=${ARGONAUT:-$HERE/../bazel-bin/cli/argonaut}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
MODES=${MODES:-plain namespaces}
[[ -x "$ARGONAUT" ]] || { echo "no argonaut binary at $ARGONAUT (bazel build //cli:argonaut)" >&2; exit 1; }
command -v make >/dev/null || { echo "GNU make not found" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dag_vs_make.XXXXXX)
UP_PID=""
cleanup() {
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$HERE/dag_graph.py" "$TASKS" "$WIDTH" "$WORK/graph"
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

# make -j2: best of three, as the controller run is one long run and make's is tiny.
make_best=""
for _ in 1 2 3; do
  t0=$(now)
  make -s -j2 -C "$WORK/graph" all >/dev/null
  t=$(elapsed "$t0" "$(now)")
  if [[ -z "$make_best" ]] || python3 -c "import sys; sys.exit(0 if $t < $make_best else 1)"; then
    make_best=$t
  fi
done
echo "make -j2:              ${make_best}s  ($TASKS tasks, width $WIDTH)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run_argonaut MODE: prints the wall time from submission to Succeeded.
run_argonaut() {
  local mode=$1 port data
  port=$(free_port)
  data="$WORK/data-$mode"
  "$ARGONAUT" up --isolation "$mode" --data "$data" --port "$port" >"$WORK/up-$mode.log" 2>&1 &
  UP_PID=$!
  export ARGONAUT_SERVER="127.0.0.1:$port"
  local ready=""
  for _ in $(seq 1 200); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$UP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$ready" ]]; then
    echo "argonaut up ($mode) did not become ready:" >&2
    tail -n 20 "$WORK/up-$mode.log" >&2
    return 1
  fi
  # Auth is on (auth-mode client): the CLI sends the admin token up wrote.
  ARGONAUT_TOKEN=$(cat "$data/admin.token")
  export ARGONAUT_TOKEN
  local t0 phase="" t
  t0=$(now)
  "$ARGONAUT" apply -f "$WORK/graph/workflow.yaml" >/dev/null
  # `argonaut wait` follows the workflow's watch stream (no polling) and
  # prints "NAME PHASE at TIME".
  phase=$(timeout "$RUN_TIMEOUT" "$ARGONAUT" wait dag-vs-make 2>/dev/null | awk '{print $2}' || true)
  t=$(elapsed "$t0" "$(now)")
  # CPU of the argonaut process itself (controllers, store, kubelet), and of
  # the pods it reaped (argoexec and `true`): what the run cost, whatever
  # else the machine was doing.
  python3 - "$UP_PID" "$mode" >&2 <<'PY'
import os, sys
f = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
hz = os.sysconf("SC_CLK_TCK")
print(f"  ({sys.argv[2]}: argonaut process {(int(f[11]) + int(f[12])) / hz:.2f} s CPU, "
      f"pods {(int(f[13]) + int(f[14])) / hz:.2f} s CPU)")
PY
  kill -TERM "$UP_PID" 2>/dev/null || true
  wait "$UP_PID" 2>/dev/null || true
  UP_PID=""
  if [[ "$phase" != "Succeeded" ]]; then
    echo "argonaut ($mode): workflow ended '${phase:-not finished}' after ${t}s" >&2
    return 1
  fi
  echo "$t"
}

declare -A took
for mode in $MODES; do
  if t=$(run_argonaut "$mode"); then
    took[$mode]=$t
    printf 'argonaut (%-10s  %ss\n' "$mode):" "$t"
  else
    took[$mode]=""
  fi
done
for mode in $MODES; do
  if [[ -n "${took[$mode]}" ]]; then
    echo "ratio argonaut($mode)/make: $(python3 -c "print(f'{${took[$mode]} / $make_best:.2f}')")"
  else
    echo "ratio argonaut($mode)/make: n/a (run failed)"
  fi
done
for mode in $MODES; do [[ -n "${took[$mode]}" ]] || exit 1; done
