#!/usr/bin/env bash
# The CD service on one git repository of N applications (default 200) of 10 manifests each,
# served by `git daemon` on 127.0.0.1, against `argonaut up --isolation plain` (nothing is
# synced: no pods). One run measures, in order:
#   reference   `git clone` of the repository plus reading every manifest file (the limit: what
#               any tool must at least do to see the manifests)
#   cold pass   POST the N Applications, until every one has been reconciled at the commit
#               (status.sync.revision = HEAD, status.reconciledAt set): the clone, N manifest
#               generations with an empty cache, N comparisons with the (empty) cluster
#   warm gen    GET /api/v1/applications/NAME/manifests for every app (manifest cache warm)
#   warm pass   a normal refresh of every app (GET ?refresh=normal, as `app get --refresh`,
#               20 at a time as Argo CD's webhook refresh workers): one full reconcile pass,
#               manifests from the cache
#   hard pass   a hard refresh of every app (?refresh=hard, 20 at a time): manifests
#               regenerated from the clone
# and prints each time, its ratio to the reference, and the service's memory (VmRSS and VmHWM
# of the `argonaut up` process) after each phase. Creates and manifest requests run one at a
# time on one keep-alive connection; only loopback is used. Bounded: N <= 2000, PHASE_TIMEOUT seconds per phase.
#
#   bazel build //cli:argonaut && bench/cd_manifests.sh [N=200]
#   (or bazel run //bench:cd_manifests -- [N])
# Env: ARGONAUT (binary, default bazel-bin/cli/argonaut), PHASE_TIMEOUT (600).
set -euo pipefail

N=${1:-200}
((N >= 1 && N <= 2000)) || { echo "N must be 1..2000" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
if [[ -z "${ARGONAUT:-}" && -x "$PWD/cli/argonaut" ]]; then ARGONAUT=$PWD/cli/argonaut; fi
ARGONAUT=${ARGONAUT:-$HERE/../bazel-bin/cli/argonaut}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-600}
[[ -x "$ARGONAUT" ]] || { echo "no argonaut binary at $ARGONAUT (bazel build //cli:argonaut)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/cd_manifests.XXXXXX)
UP_PID=""
GIT_PID=""
cleanup() {
  for pid in "$UP_PID" "$GIT_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@argonaut.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@argonaut.invalid

# The repository: apps/app-I/ with 4 ConfigMaps, 3 Services, 2 Deployments, 1 Secret, each
# in its own file (a few hundred bytes, as typical app manifests).
python3 - "$WORK/src" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "apps", f"app-{i}")
    os.makedirs(d)
    for j in range(10):
        name = f"app-{i}-r{j}"
        if j < 4:
            doc = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  labels: {{app: app-{i}, tier: config}}
data:
  settings.yaml: |
    replicas: 3
    logLevel: info
    feature-{j}: enabled
  owner: team-{i % 17}
"""
        elif j < 7:
            doc = f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels: {{app: app-{i}}}
spec:
  selector: {{app: app-{i}, part: r{j}}}
  ports:
    - name: http
      port: 80
      targetPort: 8080
"""
        elif j < 9:
            doc = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: app-{i}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: app-{i}, part: r{j}}}
  template:
    metadata:
      labels: {{app: app-{i}, part: r{j}}}
    spec:
      containers:
        - name: web
          image: jocatalin/kubernetes-bootcamp:v1
          ports: [{{containerPort: 8080}}]
          env:
            - {{name: APP, value: app-{i}}}
          resources:
            requests: {{cpu: 10m, memory: 16Mi}}
"""
        else:
            doc = f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}
type: Opaque
stringData:
  token: not-a-real-token-{i}
"""
        with open(os.path.join(d, f"{j:02d}-{name}.yaml"), "w") as f:
            f.write(doc)
PY
git -c init.defaultBranch=master init -q --bare "$WORK/base/bench.git"
git -c init.defaultBranch=master -C "$WORK/src" init -q
git -C "$WORK/src" add -A
git -C "$WORK/src" commit -q -m "bench: $N apps"
git -C "$WORK/src" push -q "$WORK/base/bench.git" HEAD:refs/heads/master
SHA=$(git -C "$WORK/src" rev-parse HEAD)
GIT_PORT=$(free_port)
git daemon --export-all --base-path="$WORK/base" --listen=127.0.0.1 --port="$GIT_PORT" \
  --reuseaddr "$WORK/base" >"$WORK/git-daemon.log" 2>&1 &
GIT_PID=$!
URL="git://127.0.0.1:$GIT_PORT/bench.git"
for _ in $(seq 1 100); do git ls-remote "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
git ls-remote "$URL" >/dev/null || { cat "$WORK/git-daemon.log" >&2; exit 1; }

# Reference: clone, then read every manifest (best of 3, to be fair to the cache).
REF=$(python3 - "$URL" "$WORK/ref" <<'PY'
import glob, os, shutil, subprocess, sys, time
url, dest = sys.argv[1], sys.argv[2]
best = None
for k in range(3):
    d = f"{dest}{k}"
    t0 = time.monotonic()
    subprocess.run(["git", "clone", "-q", url, d], check=True)
    total = 0
    for p in glob.glob(os.path.join(d, "apps", "*", "*.yaml")):
        with open(p, "rb") as f:
            total += len(f.read())
    t = time.monotonic() - t0
    best = t if best is None else min(best, t)
    shutil.rmtree(d)
print(f"{best:.4f}")
PY
)

PORT=$(free_port)
"$ARGONAUT" up --data "$WORK/data" --port "$PORT" --isolation plain >"$WORK/up.log" 2>&1 &
UP_PID=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$UP_PID" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }
  sleep 0.1
done
# Auth is on (auth-mode client): the REST calls carry the admin token up wrote.
ARGONAUT_TOKEN=$(cat "$WORK/data/admin.token")
export ARGONAUT_TOKEN

python3 - "$PORT" "$UP_PID" "$N" "$URL" "$SHA" "$REF" "$PHASE_TIMEOUT" <<'PY'
import http.client, json, os, sys, threading, time
port, pid, n, url, sha, ref, limit = sys.argv[1:8]
n, ref, limit = int(n), float(ref), float(limit)
WORKERS = 20
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)

def call(method, path, body=None):
    global conn
    for attempt in range(3):
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body),
                         headers={"Content-Type": "application/json",
                                  "Authorization": "Bearer " + os.environ["ARGONAUT_TOKEN"]})
            r = conn.getresponse()
            data = r.read()
            return r.status, data
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    raise RuntimeError(f"{method} {path}: no answer")

def memory():
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0]) / 1024
    return vals

def apps():
    st, data = call("GET", "/api/v1/applications")
    if st != 200:
        raise RuntimeError(f"list applications: HTTP {st}: {data[:300]!r}")
    return json.loads(data).get("items") or []

results = []
def report(name, seconds, note=""):
    m = memory()
    results.append((name, seconds, m))
    print(f"{name:12} {seconds:9.3f} s  {seconds / ref:8.1f} x reference   "
          f"RSS {m['VmRSS']:7.1f} MiB  peak {m['VmHWM']:7.1f} MiB  {note}", flush=True)

print(f"{n} applications x 10 manifests, commit {sha[:10]}, served on {url}")
print(f"{'reference':12} {ref:9.3f} s  (git clone + read {n * 10} files, best of 3)")
base = memory()
print(f"{'idle':12} {'':9}    {'':8}               RSS {base['VmRSS']:7.1f} MiB")

# Cold pass.
t0 = time.monotonic()
for i in range(n):
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": f"app-{i}", "namespace": "argocd"},
           "spec": {"project": "default",
                    "source": {"repoURL": url, "targetRevision": "HEAD", "path": f"apps/app-{i}"},
                    "destination": {"server": "https://kubernetes.default.svc",
                                    "namespace": f"bench-{i}"}}}
    st, data = call("POST", "/api/v1/applications", app)
    if st not in (200, 201):
        sys.exit(f"create app-{i}: HTTP {st}: {data[:300]!r}")
posted = time.monotonic() - t0

def wait_reconciled(since):
    """Until every app is compared at sha with reconciledAt newer than `since` (dict)."""
    deadline = time.monotonic() + limit
    while True:
        done, stamps = 0, {}
        for a in apps():
            s = a.get("status") or {}
            name = a["metadata"]["name"]
            stamps[name] = s.get("reconciledAt")
            if ((s.get("sync") or {}).get("revision") == sha and s.get("reconciledAt")
                    and s.get("reconciledAt") != since.get(name)):
                done += 1
        if done >= n:
            return stamps
        if time.monotonic() > deadline:
            sys.exit(f"timed out: {done}/{n} apps reconciled after {limit:.0f} s")
        time.sleep(0.2)

stamps = wait_reconciled({})
report("cold pass", time.monotonic() - t0, f"(creating took {posted:.2f} s)")

# Warm manifest generation.
t0 = time.monotonic()
count = 0
for i in range(n):
    st, data = call("GET", f"/api/v1/applications/app-{i}/manifests")
    if st != 200:
        sys.exit(f"manifests app-{i}: HTTP {st}: {data[:300]!r}")
    count += len(json.loads(data).get("manifests") or [])
report("warm gen", time.monotonic() - t0, f"({count} manifests)")
if count != n * 10:
    sys.exit(f"expected {n * 10} manifests, got {count}")

# reconciledAt has a resolution of one second: let it move on.
time.sleep(1.1)
def refresh_all(mode):
    """GET ?refresh=MODE for every app from WORKERS connections at once (each GET waits for
    its app's refresh, as `app get --refresh` does); Argo CD's webhook refreshes use 20."""
    errors = []
    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=300)
        for i in range(k, n, WORKERS):
            try:
                c.request("GET", f"/api/v1/applications/app-{i}?refresh={mode}")
                r = c.getresponse()
                data = r.read()
                if r.status != 200:
                    errors.append(f"refresh={mode} app-{i}: HTTP {r.status}: {data[:200]!r}")
            except (http.client.HTTPException, OSError) as e:
                errors.append(f"refresh={mode} app-{i}: {e}")
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=300)
        c.close()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("; ".join(errors[:3]))

for mode in ("normal", "hard"):
    t0 = time.monotonic()
    refresh_all(mode)
    stamps = wait_reconciled(stamps)
    report(f"{'warm' if mode == 'normal' else 'hard'} pass", time.monotonic() - t0,
           f"({WORKERS} concurrent refreshes)")
    time.sleep(1.1)
PY
