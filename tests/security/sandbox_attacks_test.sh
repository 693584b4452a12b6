#!/usr/bin/env bash
# Issue 13, the sandbox doors: a pod run by a real `argonaut up --isolation namespaces` tries
# to reach the host, and every attempt must fail: writing /proc/sys/kernel/core_pattern, a
# block device made with mknod, reading the data directory's RocksDB files or another pod's
# directory, unshare/mount, holding more than Docker's default capabilities, mounting the
# host's / through a symlink planted in the (allowed, pod-writable) artifact repository; and
# a pod with `hostPath: /` is refused at admission with a located error.
#
# Needs root (namespaces). Without it the test prints "SKIPPED: ..." and exits 0; that is
# the only way it passes without running the attacks.
source tests/lib.sh

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: sandbox_attacks_test needs root for pod namespaces"
  exit 0
fi

DATA="$WORK/data"
UP_FLAGS="--isolation namespaces" start_up "$DATA"

# pod_phase NAME: the pod's status.phase (empty while unknown).
pod_phase() {
  "$ARGONAUT" get pod "$1" -o json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("phase",""))' 2>/dev/null || true
}

# run_pod NAME SCRIPT: runs SCRIPT with sh in a pod (emptyDir at /cache) and prints its log.
run_pod() {
  local name=$1 script=$2 phase=""
  python3 - "$name" "$script" >"$WORK/$name.json" <<'PY'
import json, sys
name, script = sys.argv[1], sys.argv[2]
print(json.dumps({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
    "spec": {"restartPolicy": "Never",
             "volumes": [{"name": "cache", "emptyDir": {}}],
             "containers": [{"name": "main", "image": "debian:12",
                             "command": ["/bin/sh", "-c", script],
                             "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}]}}))
PY
  run_cli apply -f "$WORK/$name.json" >/dev/null
  for _ in $(seq 1 600); do
    phase=$(pod_phase "$name")
    [[ $phase == Succeeded || $phase == Failed ]] && break
    sleep 0.1
  done
  [[ $phase == Succeeded ]] || {
    "$ARGONAUT" get pod "$name" -o json >&2 || true
    fail "pod $name ended in phase '$phase'"
  }
  run_cli logs "pod/$name"
}

# The attack is only meaningful if the store's files are there on the host.
[[ -f "$DATA/cluster/CURRENT" ]] || fail "no RocksDB CURRENT file in $DATA/cluster: test setup"

echo "--- a first pod, whose directory the second one looks for"
run_pod victim 'echo victim-secret > /cache/secret; echo ok' | grep -qx ok || fail "victim pod"
victim_dir=$(dirname "$(find "$DATA" -path '*/volumes/*' -name secret 2>/dev/null | head -1)")
[[ -n $victim_dir && $victim_dir != . ]] || fail "victim's emptyDir not found under $DATA"

echo "--- the attacker pod"
out=$(run_pod attacker "
(echo '|/tmp/pwn %p' > /proc/sys/kernel/core_pattern) 2>/dev/null && echo WROTE-core_pattern || echo core_pattern-refused
(echo c > /proc/sysrq-trigger) 2>/dev/null && echo WROTE-sysrq || echo sysrq-refused
mknod /tmp/sda b 8 0 2>/dev/null; (head -c 1 /tmp/sda >/dev/null) 2>/dev/null && echo READ-block-device || echo blockdev-refused
cat '$DATA/cluster/CURRENT' 2>/dev/null && echo READ-store || echo store-hidden
echo store-files=\$(find '$DATA' -name 'MANIFEST-*' -o -name '*.sst' -o -name '*.log' 2>/dev/null | wc -l)
cat '$victim_dir/secret' 2>/dev/null && echo READ-other-pod || echo other-pod-hidden
(touch '$DATA/planted') 2>/dev/null && echo WROTE-data-dir || echo data-dir-read-only
unshare -m true 2>/dev/null && echo UNSHARED || echo unshare-refused
mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED || echo mount-refused
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' '
echo own-volume > /cache/f && cat /cache/f
")
echo "$out"
expected="core_pattern-refused
sysrq-refused
blockdev-refused
store-hidden
store-files=0
other-pod-hidden
data-dir-read-only
unshare-refused
mount-refused
CapEff: 00000000a80425fb
CapBnd: 00000000a80425fb
NoNewPrivs: 1
Seccomp: 2
own-volume"
[[ $out == "$expected" ]] || fail "the attacker pod got through; expected:
$expected"
[[ ! -e "$DATA/planted" ]] || fail "the pod wrote into the data directory"
grep -q '^|/tmp/pwn' /proc/sys/kernel/core_pattern && fail "core_pattern changed on the host"

echo "--- hostPath: / is refused at admission"
cat >"$WORK/hostpath.json" <<'JSON'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rootfs"},
 "spec": {"restartPolicy": "Never",
          "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
          "containers": [{"name": "main", "image": "debian:12", "command": ["true"],
                          "volumeMounts": [{"name": "host", "mountPath": "/host"}]}]}}
JSON
out=$("$ARGONAUT" apply -f "$WORK/hostpath.json" 2>&1) && fail "hostPath / admitted: $out"
grep -qF 'spec.volumes[0].hostPath.path: "/" is not under an allowed host path (--host-path-allow)' <<<"$out" ||
  fail "hostPath / refused without the located error: $out"
"$ARGONAUT" get pod rootfs >/dev/null 2>&1 && fail "the hostPath / pod was stored"

echo "--- a symlink planted in the artifact repository does not mount the host's /"
mkdir -p "$DATA/artifacts"
# pod_json NAME HOSTPATH SCRIPT: a pod with HOSTPATH at /art.
pod_json() {
  python3 - "$@" <<'PY'
import json, sys
name, host, script = sys.argv[1:4]
print(json.dumps({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
    "spec": {"restartPolicy": "Never",
             "volumes": [{"name": "art", "hostPath": {"path": host}}],
             "containers": [{"name": "main", "image": "debian:12",
                             "command": ["/bin/sh", "-c", script],
                             "volumeMounts": [{"name": "art", "mountPath": "/art"}]}]}}))
PY
}
pod_json planter "$DATA/artifacts" 'ln -s / /art/evil && echo planted' >"$WORK/planter.json"
run_cli apply -f "$WORK/planter.json" >/dev/null
for _ in $(seq 1 600); do [[ $(pod_phase planter) == Succeeded ]] && break; sleep 0.1; done
[[ -L "$DATA/artifacts/evil" ]] || fail "the planter pod could not write the artifact repository"
pod_json escaper "$DATA/artifacts/evil" 'ls /art/etc/shadow && echo ESCAPED' >"$WORK/escaper.json"
run_cli apply -f "$WORK/escaper.json" >/dev/null
for _ in $(seq 1 600); do
  phase=$(pod_phase escaper)
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 0.1
done
status=$("$ARGONAUT" get pod escaper -o json 2>/dev/null)
[[ $phase == Failed ]] || fail "the escaper pod ended '$phase': $status"
grep -q "leads out of" <<<"$status" || fail "the escaper pod failed for another reason: $status"
"$ARGONAUT" logs pod/escaper 2>/dev/null | grep -q ESCAPED && fail "the escaper pod saw the host's /"

echo "PASS"
