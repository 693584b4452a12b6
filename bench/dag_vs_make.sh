#!/usr/bin/env bash
# A layered DAG of tasks that run `true`, run by GNU make -j2 and by argonaut's workflow
# controller in the same run: once with the runtime's plain-process mode (the engine's own cost)
# and once with full pod isolation (namespaces: the price of isolation). Prints the three wall
# times and the ratios argonaut/make.
#
#   bazel build //cli:argonaut && bench/dag_vs_make.sh [TASKS=1000] [WIDTH=100]
#
# The graph (bench/dag_graph.py): TASKS/WIDTH layers of WIDTH tasks, each task depending on three
# tasks of the layer before. Both sides get the same CPUs and the same number of runs: each run,
# make and `argonaut up` are pinned with taskset to the CPU list CPUS (default: every CPU this
# process may use), make gets one job slot per CPU in it, and the workflow leaves parallelism
# unbounded (Argo's default). Each side runs RUNS times (default 3) and the median is compared.
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), RUN_TIMEOUT (seconds per run, 600),
# MODES (default "plain namespaces"), RUNS (3), CPUS (taskset list, e.g. "0,1").
set -euo pipefail

TASKS=${1:-1000}
WIDTH=${2:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
ARGONAUT=${ARGONAUT:-$HERE/../bazel-bin/cli/argonaut}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
MODES=${MODES:-plain namespaces}
RUNS=${RUNS:-3}
CPUS=${CPUS:-$(python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0)))))')}
JOBS=$(python3 -c "print(len('$CPUS'.split(',')))")
command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }
[[ $CPUS =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "CPUS: expected a comma-separated CPU list" >&2; exit 1; }
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

median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }

make_times=()
for _ in $(seq 1 "$RUNS"); do
  t0=$(now)
  taskset -c "$CPUS" make -s -j"$JOBS" -C "$WORK/graph" all >/dev/null
  make_times+=("$(elapsed "$t0" "$(now)")")
done
make_med=$(median "${make_times[@]}")
echo "make -j$JOBS on CPUs $CPUS: median ${make_med}s of ${make_times[*]}  ($TASKS tasks, width $WIDTH)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run_argonaut MODE: prints the wall time from submission to Succeeded.
run_argonaut() {
  local mode=$1 port data
  port=$(free_port)
  data="$WORK/data-$mode-$RANDOM"
  taskset -c "$CPUS" "$ARGONAUT" up --isolation "$mode" --data "$data" --port "$port" \
    >"$WORK/up-$mode.log" 2>&1 &
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
  runs=()
  for _ in $(seq 1 "$RUNS"); do
    if t=$(run_argonaut "$mode"); then runs+=("$t"); else runs=(); break; fi
  done
  if ((${#runs[@]})); then
    took[$mode]=$(median "${runs[@]}")
    printf 'argonaut (%-10s  median %ss of %s\n' "$mode):" "${took[$mode]}" "${runs[*]}"
  else
    took[$mode]=""
  fi
done
for mode in $MODES; do
  if [[ -n "${took[$mode]}" ]]; then
    echo "ratio argonaut($mode)/make: $(python3 -c "print(f'{${took[$mode]} / $make_med:.2f}')")"
  else
    echo "ratio argonaut($mode)/make: n/a (run failed)"
  fi
done
for mode in $MODES; do [[ -n "${took[$mode]}" ]] || exit 1; done
