#!/usr/bin/env bash
# Retention at scale (issue 15): N finished workflows with ttlStrategy.secondsAfterCompletion
# under `argonaut up` with the archive on (its default). Prints
# - the time to submit the N workflows and until every one finished (and was archived);
# - the workflow service's RocksDB (<data>/workflow, bytes of its SST and WAL files) before
#   submission, at its peak, when the TTL deleted every live workflow and after the store's own
#   maintenance (change log trimmed by age, compaction), as ratios to the peak and to the JSON of
#   the N archived copies it must keep;
# - the lag from the last workflow's TTL expiry (its status.finishedAt + TTL) until the live list
#   is empty (budget: 60 s);
# - that all N stay listed in the archive, and the archive paged through with listOptions.limit
#   PAGE over REST (each page timed by curl; budget 1 s a page, slowest printed), and with
#   `argonaut archive list --chunk-size PAGE` (whole command timed).
#
#   bazel build //cli:argonaut && bench/retention_scale.sh [N=10000]
#
# Each workflow is one real step (busybox `true`) run by the local runtime. `up` defaults to
# --isolation auto (namespaced pods when root); this bench uses ISOLATION=plain by default because
# it measures retention, not pod start (bench/pod_start.cc measures that).
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), ISOLATION (plain), TTL (60 s),
# PAGE (500), BATCH (workflows per `argonaut submit` file, 100), SUBMITTERS (parallel submits, 2),
# INFLIGHT (unfinished workflows above which submitters wait, 300),
# POLL (seconds between list polls, 3), MAINT_WAIT (seconds to wait for the store's maintenance,
# 480), RUN_TIMEOUT (whole run, 1800 s), KEEP=1 keeps the work dir.
set -euo pipefail

N=${1:-10000}
HERE=$(cd "$(dirname "$0")" && pwd)
ARGONAUT=${ARGONAUT:-$HERE/../bazel-bin/cli/argonaut}
ISOLATION=${ISOLATION:-plain}
TTL=${TTL:-60}
PAGE=${PAGE:-500}
BATCH=${BATCH:-100}
INFLIGHT=${INFLIGHT:-300}
SUBMITTERS=${SUBMITTERS:-2}
POLL=${POLL:-3}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "N: expected a positive number" >&2; exit 2; }
[[ -x "$ARGONAUT" ]] || { echo "no argonaut binary at $ARGONAUT (bazel build //cli:argonaut)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/retention_scale.XXXXXX)
DATA="$WORK/data"
STORE="$DATA/workflow"
UP_PID=""
SAMPLER=""
cleanup() {
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null || true
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

START=$(date +%s)
now() { date +%s.%N; }
left() { echo $((START + RUN_TIMEOUT - $(date +%s))); }
out_of_time() { [[ $(left) -le 0 ]]; }
calc() { python3 -c "print($1)"; }

# store_bytes: SST + WAL bytes of the workflow service's RocksDB (apparent sizes: RocksDB
# preallocates WAL files, so allocated blocks say little).
store_bytes() {
  python3 - "$STORE" <<'PY'
import os, sys
d = sys.argv[1]
total = 0
for f in os.listdir(d):
    if f.endswith(".sst") or f.endswith(".log"):
        try:
            total += os.path.getsize(os.path.join(d, f))
        except FileNotFoundError:
            pass
print(total)
PY
}
mib() { calc "f'{$1 / 1048576:.1f} MiB'"; }

# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
bench_start_up "$ISOLATION" "$DATA" "$WORK/up.log" || exit 1
SEL="bench%3Dretention"
api() { curl -sf -H "Authorization: Bearer $ARGONAUT_TOKEN" "$@"; }
# count_items URL: the number of items of a list answer.
count_items() {
  api "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("items") or []))'
}

echo "argonaut up --isolation $ISOLATION ($ARGONAUT), N=$N, ttlStrategy.secondsAfterCompletion=$TTL"
size_before=$(store_bytes)
# The store's size every 2 s from here until the live list is empty: its peak.
(
  while :; do
    store_bytes >>"$WORK/sizes"
    sleep 2
  done
) &
SAMPLER=$!

python3 - "$N" "$BATCH" "$TTL" "$WORK" <<'PY'
import sys
n, batch, ttl, work = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
doc = f"""apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: ret-
  labels:
    bench: retention
spec:
  entrypoint: main
  ttlStrategy:
    secondsAfterCompletion: {ttl}
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "true"]
"""
for f, start in enumerate(range(0, n, batch)):
    with open(f"{work}/batch-{f:05d}.yaml", "w") as out:
        out.write("---\n".join([doc] * min(batch, n - start)))
PY

# 1. Submit (SUBMITTERS `argonaut submit` processes, each creating its files' workflows one by
# one over gRPC, each waiting before a file while more than INFLIGHT are unfinished: the local
# runtime starts every pod it is given at once, ~9 file descriptors each, and 10,000 unbounded
# submissions ran it out of descriptors) and wait until all N finished: each finished workflow is archived before its
# TTL may delete it, so the archive's count is the number finished.
t0=$(now)
files=("$WORK"/batch-*.yaml)
for s in $(seq 0 $((SUBMITTERS - 1))); do
  (
    for ((i = s; i < ${#files[@]}; i += SUBMITTERS)); do
      while (($("$ARGONAUT" list --running -l bench=retention -o name | wc -l) > INFLIGHT)); do
        sleep 2
      done
      "$ARGONAUT" submit "${files[$i]}" >/dev/null || { echo "submit ${files[$i]} failed" >&2; exit 1; }
    done
  ) &
done
submit_failed=0
for job in $(jobs -p); do
  [[ $job == "$UP_PID" || $job == "$SAMPLER" ]] && continue
  wait "$job" || submit_failed=1
done
t_submitted=$(now)
((submit_failed == 0)) || { echo "submission failed" >&2; exit 1; }
echo "submitted $N in $(calc "f'{$t_submitted - $t0:.1f}'") s ($(calc "f'{$N / ($t_submitted - $t0):.0f}'") workflows/s)"

archived=0
while ((archived < N)); do
  out_of_time && { echo "RUN_TIMEOUT: $archived of $N finished" >&2; exit 1; }
  archived=$(count_items "$API/archived-workflows?listOptions.labelSelector=$SEL" || echo 0)
  ((archived < N)) && sleep "$POLL"
done
t_archived=$(now)
api "$API/archived-workflows?listOptions.labelSelector=$SEL" >"$WORK/archive.json"
read -r first_fin last_fin phases < <(python3 - "$WORK/archive.json" <<'PY'
import collections, datetime, json, sys
items = json.load(open(sys.argv[1]))["items"]
ts = [datetime.datetime.fromisoformat(i["status"]["finishedAt"].replace("Z", "+00:00")).timestamp()
      for i in items]
phases = collections.Counter(i["status"].get("phase", "") for i in items)
print(min(ts), max(ts), ",".join(f"{k}={v}" for k, v in sorted(phases.items())))
PY
)
echo "finished: all $N by status.finishedAt $(calc "f'{$last_fin - $t0:.1f}'") s after the first submit" \
  "(phases: $phases); all archived (seen by a poll every ${POLL} s) at $(calc "f'{$t_archived - $t0:.1f}'") s"

# 2. TTL: every live workflow goes once its finishedAt + TTL passed.
expiry=$(calc "$last_fin + $TTL")
live=-1
while :; do
  out_of_time && { echo "RUN_TIMEOUT: $live live workflows left" >&2; exit 1; }
  live=$(count_items "$API/workflows/default?listOptions.labelSelector=$SEL" || echo -1)
  [[ $live == 0 ]] && break
  if [[ $(calc "int($(now) > $expiry + 300)") == 1 ]]; then
    echo "FAIL: $live live workflows 300 s after the last TTL expiry" >&2
    exit 1
  fi
  sleep 1
done
t_empty=$(now)
lag=$(calc "f'{$t_empty - $expiry:.1f}'")
echo "TTL: live list empty $lag s after the last expiry (finishedAt + $TTL s; finishedAt has 1 s" \
  "resolution, polled every 1 s): ratio to the 60 s budget $(calc "f'{($t_empty - $expiry) / 60:.2f}'")"
size_after=$(store_bytes)
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=""
peak=$(sort -n "$WORK/sizes" | tail -n 1)
((size_after > peak)) && peak=$size_after
# What the archive must keep whatever happens: its N copies as JSON (the summaries as listed,
# the whole workflows estimated from 20 of them).
archive_bytes=$(python3 - "$WORK/archive.json" "$API" "$ARGONAUT_TOKEN" <<'PY'
import json, sys, urllib.request
items = json.load(open(sys.argv[1]))["items"]
sample = items[:: max(1, len(items) // 20)][:20]
whole = 0
for i in sample:
    req = urllib.request.Request(f"{sys.argv[2]}/archived-workflows/{i['metadata']['uid']}",
                                 headers={"Authorization": f"Bearer {sys.argv[3]}"})
    whole += len(urllib.request.urlopen(req).read())
print(int(whole / len(sample) * len(items) + sum(len(json.dumps(i)) for i in items)))
PY
)
echo "store ($STORE, SST+WAL bytes): before $(mib "$size_before"), peak $(mib "$peak")," \
  "when the live list became empty $(mib "$size_after") (x$(calc "f'{$size_after / $peak:.2f}'") of peak);" \
  "the archive's $N copies as JSON: $(mib "$archive_bytes")"
# The store trims change-log entries older than its log_max_age (5 min) and compacts once enough
# was deleted, every minute (lib/store/rocksdb_store.h): wait for it, up to MAINT_WAIT seconds.
MAINT_WAIT=${MAINT_WAIT:-480}
t_del=$(now)
low=$size_after
t_low=$t_del
while [[ $(calc "int($(now) - $t_del < $MAINT_WAIT)") == 1 ]] && ! out_of_time; do
  sleep 10
  s=$(store_bytes)
  if ((s < low)); then low=$s; t_low=$(now); fi
  ((low <= archive_bytes + 1048576)) && break
done
echo "store after maintenance: $(mib "$low") (x$(calc "f'{$low / $peak:.2f}'") of peak," \
  "x$(calc "f'{$low / $archive_bytes:.2f}'") of the archive's JSON), reached" \
  "$(calc "f'{$t_low - $t_del:.0f}'") s after the live list became empty (waited up to $MAINT_WAIT s)"

# 3. The archive still lists all N, one page of PAGE at a time.
archive_ok=0
python3 - "$API" "$SEL" "$PAGE" "$N" "$ARGONAUT_TOKEN" <<'PY' || archive_ok=1
import json, sys, time, urllib.request
api, sel, page, n, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cont, times, uids = "", [], set()
while True:
    url = f"{api}/archived-workflows?listOptions.labelSelector={sel}&listOptions.limit={page}"
    if cont:
        url += f"&listOptions.continue={cont}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    t = time.monotonic()
    body = urllib.request.urlopen(req).read()
    times.append(time.monotonic() - t)
    d = json.loads(body)
    uids.update(i["metadata"]["uid"] for i in d.get("items") or [])
    cont = (d.get("metadata") or {}).get("continue", "")
    if not cont:
        break
slow = max(range(len(times)), key=lambda i: times[i])
print(f"archive: {len(uids)} of {n} distinct workflows listed in {len(times)} REST pages of {page}: "
      f"mean {sum(times) / len(times) * 1000:.0f} ms, slowest page {slow + 1} "
      f"{times[slow] * 1000:.0f} ms (ratio to the 1 s budget {times[slow]:.2f})")
sys.exit(0 if len(uids) == n and times[slow] < 1 else 1)
PY
t=$(now)
listed=$("$ARGONAUT" archive list -l bench=retention --chunk-size "$PAGE" -o name | wc -l)
t_cli=$(calc "$(now) - $t")
pages=$(((N + PAGE - 1) / PAGE))
echo "argonaut archive list --chunk-size $PAGE: $listed workflows, $pages pages in" \
  "$(calc "f'{$t_cli:.2f}'") s ($(calc "f'{$t_cli / $pages * 1000:.0f}'") ms a page, whole command)"
((listed == N)) || archive_ok=1
exit "$archive_ok"
