#!/usr/bin/env bash
# Issue 13, the sandbox doors: a pod run by a real `argonaut up --isolation namespaces` tries
# to reach the host, and every attempt must fail: writing /proc/sys/kernel/core_pattern, a
# block device made with mknod, reading the data directory's RocksDB files or another pod's
# directory, unshare/mount, holding more than Docker's default capabilities, mounting the
# host's / through a symlink planted in the (allowed, pod-writable) artifact repository; and
# a pod with `hostPath: /` is refused at admission with a located error. Pod root is uid 0
# in its own user namespace and an unprivileged uid on the host: through a hostPath the
# operator allowed it makes files owned by that uid and can neither write nor chown host
# root's files; a privileged pod (or hostUsers: true) keeps the host's user namespace. A
# symlink in an allowed hostPath that points to /etc fails the pod with a located error; an
# unknown capability is refused at admission; runAsUser/runAsGroup/fsGroup give the container
# its ids (`id`), runAsNonRoot refuses a root container with Kubernetes' message.
#
# Needs root (namespaces). Without it the test prints "SKIPPED: ..." and exits 0; that is
# the only way it passes without running the attacks.
source tests/lib.sh

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: sandbox_attacks_test needs root for pod namespaces"
  exit 0
fi

DATA="$WORK/data"
SHARED="$WORK/shared"  # a hostPath the operator allows besides the artifact repository
mkdir -p "$SHARED/open"
chmod 0755 "$SHARED"
chmod 0777 "$SHARED/open"
echo host >"$SHARED/rootfile"
chmod 0644 "$SHARED/rootfile"
UP_FLAGS="--isolation namespaces --user-namespaces true --host-path-allow $DATA/artifacts --host-path-allow $SHARED" \
  start_up "$DATA"

# pod_phase NAME: the pod's status.phase (empty while unknown).
pod_phase() {
  "$ARGONAUT" get pod "$1" -o json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("phase",""))' 2>/dev/null || true
}

# run_pod NAME SCRIPT: runs SCRIPT with sh in a pod (emptyDir at /cache) and prints its log.
run_pod() {
  local name=$1 script=$2
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
  run_json_pod "$name"
}

# run_json_pod NAME: applies $WORK/NAME.json, waits for Succeeded and prints the pod's log.
run_json_pod() {
  local name=$1 phase=""
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

echo "--- user namespace: pod root is an unprivileged host uid"
# userns_pod NAME SCRIPT [SECURITY_CONTEXT_JSON [HOST_USERS_JSON]]: SHARED at /shared, the
# artifact repository at /art.
userns_pod() {
  python3 - "$@" >"$WORK/$1.json" <<'PY'
import json, os, sys
name, script = sys.argv[1], sys.argv[2]
sc = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
container = {"name": "main", "image": "debian:12", "command": ["/bin/sh", "-c", script],
             "volumeMounts": [{"name": "shared", "mountPath": "/shared"},
                              {"name": "art", "mountPath": "/art"}]}
if sc:
    container["securityContext"] = sc
spec = {"restartPolicy": "Never",
        "volumes": [{"name": "shared", "hostPath": {"path": os.environ["SHARED"]}},
                    {"name": "art", "hostPath": {"path": os.environ["DATA"] + "/artifacts"}}],
        "containers": [container]}
if len(sys.argv) > 4:
    spec["hostUsers"] = json.loads(sys.argv[4])
print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))
PY
  run_json_pod "$1"
}
export SHARED DATA
motd_before=$(cat /etc/motd 2>/dev/null || true)
out=$(userns_pod unprivileged '
id -u
set -- $(cat /proc/self/uid_map); echo "map $1 $2 $3"
touch /shared/open/escaped && echo shared-written
stat -c "rootfile-owner %u" /shared/rootfile
(echo pod >> /shared/rootfile) 2>/dev/null && echo WROTE-rootfile || echo rootfile-refused
chown 1:1 /shared/rootfile 2>/dev/null && echo CHOWNED || echo chown-refused
(touch /shared/planted) 2>/dev/null && echo WROTE-shared-dir || echo shared-dir-refused
echo pod >> /etc/motd && echo motd-written-in-pod
touch /art/userns-probe && echo artifacts-written
')
echo "$out"
host_uid=$(sed -n 's/^map 0 \([0-9]*\) 65536$/\1/p' <<<"$out")
[[ -n $host_uid && $host_uid -ge 268435456 ]] ||
  fail "pod root is not mapped to an unprivileged host uid range: $out"
expected="0
map 0 $host_uid 65536
shared-written
rootfile-owner 65534
rootfile-refused
chown-refused
shared-dir-refused
motd-written-in-pod
artifacts-written"
[[ $out == "$expected" ]] || fail "the unprivileged pod got through; expected:
$expected"
[[ $(stat -c %u "$SHARED/open/escaped") == "$host_uid" ]] ||
  fail "a file the pod made through a hostPath is not owned by its host uid $host_uid"
[[ $(stat -c %u:%g "$SHARED/rootfile") == 0:0 && $(cat "$SHARED/rootfile") == host ]] ||
  fail "host root's file changed"
[[ ! -e "$SHARED/planted" ]] || fail "the pod wrote into a host root directory"
[[ $(cat /etc/motd 2>/dev/null || true) == "$motd_before" ]] || fail "the pod changed the host's /etc/motd"
# The artifact repository is the runtime's: idmapped, so files keep the pod's owner (root).
[[ $(stat -c %u "$DATA/artifacts/userns-probe") == 0 ]] ||
  fail "the artifact repository's file is not owned as in the pod (idmapped)"

echo "--- privileged and hostUsers: true pods keep the host's user namespace"
for variant in privileged hostusers; do
  if [[ $variant == privileged ]]; then
    out=$(userns_pod "keep-$variant" 'set -- $(cat /proc/self/uid_map); echo "$1 $2 $3"' \
      '{"privileged": true}')
  else
    out=$(userns_pod "keep-$variant" 'set -- $(cat /proc/self/uid_map); echo "$1 $2 $3"' \
      '{}' 'true')
  fi
  [[ $out == "0 0 4294967295" ]] || fail "the $variant pod is not in the host's user namespace: $out"
done

echo "--- a symlink inside an allowed hostPath leads out of it: refused when the pod starts"
ln -s /etc "$SHARED/etc-link"
pod_json linker "$SHARED/etc-link" 'ls /art/shadow && echo ESCAPED' >"$WORK/linker.json"
run_cli apply -f "$WORK/linker.json" >/dev/null  # admission compares paths: it is under $SHARED
for _ in $(seq 1 600); do
  phase=$(pod_phase linker)
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 0.1
done
status=$("$ARGONAUT" get pod linker -o json 2>/dev/null)
[[ $phase == Failed ]] || fail "the linker pod ended '$phase': $status"
grep -qF "spec.volumes[0].hostPath.path: \\\"$SHARED/etc-link\\\" leads out of the allowed host path \\\"$SHARED\\\"" <<<"$status" ||
  fail "the linker pod failed without the located error: $status"
"$ARGONAUT" logs pod/linker 2>/dev/null | grep -q ESCAPED && fail "the linker pod saw the host's /etc"

echo "--- a capability name is checked at admission"
cat >"$WORK/cap.json" <<'JSON'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "badcap"},
 "spec": {"restartPolicy": "Never",
          "containers": [{"name": "main", "image": "debian:12", "command": ["true"],
                          "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_ADMN"]}}}]}}
JSON
out=$("$ARGONAUT" apply -f "$WORK/cap.json" 2>&1) && fail "an unknown capability was admitted: $out"
grep -qF 'spec.containers[0].securityContext.capabilities.add[1]: unknown capability \"SYS_ADMN\"' <<<"$out" ||
  grep -qF 'spec.containers[0].securityContext.capabilities.add[1]: unknown capability "SYS_ADMN"' <<<"$out" ||
  fail "unknown capability refused without the located error: $out"

echo "--- runAsUser, runAsGroup, fsGroup: the container's ids"
python3 - >"$WORK/ids.json" <<'PY'
import json
print(json.dumps({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ids"},
    "spec": {"restartPolicy": "Never",
             "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                                 "supplementalGroups": [4000]},
             "volumes": [{"name": "cache", "emptyDir": {}}],
             "containers": [{"name": "main", "image": "debian:12",
                             "command": ["/bin/sh", "-c",
                                         "id -u; id -g; id -G; touch /cache/f && stat -c 'cache %u %g' /cache/f; "
                                         "grep CapEff /proc/self/status | tr -s '\t' ' '; "
                                         "(touch /etc/x) 2>/dev/null && echo WROTE-root || echo root-ro"],
                             "securityContext": {"readOnlyRootFilesystem": True},
                             "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}]}}))
PY
out=$(run_json_pod ids)
echo "$out"
expected="1000
3000
3000 2000 4000
cache 1000 2000
CapEff: 0000000000000000
root-ro"
[[ $out == "$expected" ]] || fail "the container's ids; expected:
$expected"

echo "--- runAsNonRoot: a container that would run as root is not started"
python3 - >"$WORK/nonroot.json" <<'PY'
import json
print(json.dumps({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nonroot"},
    "spec": {"restartPolicy": "Never", "securityContext": {"runAsNonRoot": True},
             "containers": [{"name": "main", "image": "debian:12",
                             "command": ["/bin/sh", "-c", "echo STARTED"]}]}}))
PY
run_cli apply -f "$WORK/nonroot.json" >/dev/null
for _ in $(seq 1 600); do
  phase=$(pod_phase nonroot)
  [[ $phase == Failed ]] && break
  sleep 0.1
done
status=$("$ARGONAUT" get pod nonroot -o json 2>/dev/null)
[[ $phase == Failed ]] || fail "the runAsNonRoot pod ended '$phase': $status"
grep -qF "container has runAsNonRoot and image will run as root" <<<"$status" ||
  fail "the runAsNonRoot pod failed without Kubernetes' message: $status"
"$ARGONAUT" logs pod/nonroot 2>/dev/null | grep -q STARTED && fail "the runAsNonRoot container ran"

echo "PASS"
