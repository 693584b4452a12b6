#!/usr/bin/env bash
# Issue 13, Secrets: a Secret's value, written through the API of a real `argonaut up`, must not be
# found in the store's files (RocksDB SSTs, WAL, MANIFEST...) nor in up.log, must reach a pod that
# mounts it (file mode 0600), `get` shows it to the admin and refuses it to a readonly account,
# and the store does not open with another key.
source tests/lib.sh

# Nothing lands in the real ~/.config.
export XDG_CONFIG_HOME="$WORK/xdg"
KEY_DIR="$WORK/keys"
KEY="$KEY_DIR/encryption.key"
POLICY="$WORK/policy.csv"
echo "g, viewer, role:readonly" >"$POLICY"
DATA="$WORK/data"
UP_FLAGS="--encryption-key-file $KEY --rbac-policy $POLICY" start_up "$DATA"

echo "--- the key: created at first start, 0600 in a 0700 directory, outside the data directory"
[[ -f $KEY ]] || fail "no key file at $KEY"
[[ $(stat -c %a "$KEY") == 600 ]] || fail "key file mode $(stat -c %a "$KEY")"
[[ $(stat -c %a "$KEY_DIR") == 700 ]] || fail "key directory mode $(stat -c %a "$KEY_DIR")"

rand() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }
STRING_VALUE="sv-$(rand)"
DATA_VALUE="dv-$(rand)"
DATA_B64=$(printf %s "$DATA_VALUE" | base64 -w0)
STRING_B64=$(printf %s "$STRING_VALUE" | base64 -w0)
cat >"$WORK/secret.json" <<JSON
{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "labels": {"app": "db"}},
 "type": "Opaque", "data": {"password": "$DATA_B64"}, "stringData": {"token": "$STRING_VALUE"}}
JSON
run_cli apply -f "$WORK/secret.json" >/dev/null
# The control: a ConfigMap's value is stored as is, and the search below must find it.
CONTROL_VALUE="cv-$(rand)"
cat >"$WORK/cm.json" <<JSON
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "control"},
 "data": {"value": "$CONTROL_VALUE"}}
JSON
run_cli apply -f "$WORK/cm.json" >/dev/null

echo "--- get shows the values to the admin"
out=$(run_cli get secret db -o json)
grep -q "$STRING_VALUE" <<<"$out" || fail "get does not show stringData: $out"
grep -q "$DATA_B64" <<<"$out" || fail "get does not show data: $out"
out=$(run_cli get secret -l app=db)
grep -q db <<<"$out" || fail "list by label does not find the Secret: $out"

echo "--- a readonly account may not get secrets"
VIEWER=$("$ARGONAUT" account create-token --account viewer --expires-in 1h 2>"$WORK/create.err") ||
  fail "create-token: $(cat "$WORK/create.err")"
viewer_out=$(env -u ARGONAUT_TOKEN HOME="$WORK/nohome" ARGONAUT_DATA="$WORK/nodata" \
  ARGONAUT_TOKEN="$VIEWER" "$ARGONAUT" get secret db -o json 2>&1) &&
  fail "a readonly token read the Secret: $viewer_out"
grep -q "may not get secrets" <<<"$viewer_out" || fail "viewer get secret: $viewer_out"
grep -q -e "$STRING_VALUE" -e "$DATA_B64" <<<"$viewer_out" && fail "the refusal shows the value"

echo "--- a pod mounting the Secret reads it; the files are 0600"
cat >"$WORK/pod.json" <<'JSON'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
 "spec": {"restartPolicy": "Never",
          "volumes": [{"name": "s", "secret": {"secretName": "db"}}],
          "containers": [{"name": "main", "image": "debian:12",
                          "command": ["/bin/sh", "-c",
                                      "stat -c 'mode %a' /etc/s/token /etc/s/password; echo; cat /etc/s/token; echo; cat /etc/s/password; echo"],
                          "volumeMounts": [{"name": "s", "mountPath": "/etc/s"}]}]}}
JSON
run_cli apply -f "$WORK/pod.json" >/dev/null
phase=""
for _ in $(seq 1 600); do
  phase=$("$ARGONAUT" get pod reader -o json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("phase",""))' 2>/dev/null) || true
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 0.1
done
[[ $phase == Succeeded ]] || fail "reader pod ended in phase '$phase'"
log=$(run_cli logs pod/reader)
[[ $(grep -c '^mode 600$' <<<"$log") == 2 ]] || fail "secret files are not 0600: $log"
grep -qx "$STRING_VALUE" <<<"$log" || fail "the pod did not read stringData: $log"
grep -qx "$DATA_VALUE" <<<"$log" || fail "the pod did not read data: $log"
run_cli delete pod reader >/dev/null || true

# Stopping flushes the memtables: everything is in SSTs and the WAL on disk now.
stop_up TERM
[[ -f "$DATA/cluster/CURRENT" ]] || fail "no RocksDB store at $DATA/cluster"
ls "$DATA"/cluster/*.sst >/dev/null 2>&1 || fail "no SST in $DATA/cluster after a graceful stop"

echo "--- the values are nowhere in the data directory's files, nor in up.log"
for v in "$STRING_VALUE" "$STRING_B64" "$DATA_VALUE" "$DATA_B64"; do
  hits=$(grep -r -a -l -F -- "$v" "$DATA" 2>/dev/null || true)
  [[ -z $hits ]] || fail "value found in: $hits"
  grep -q -a -F -- "$v" "$WORK/up.log" && fail "value found in up.log"
done
# The search works on these files: the ConfigMap's value (not sealed) is found.
grep -r -a -q -F -- "$CONTROL_VALUE" "$DATA/cluster" ||
  fail "the control value is not found either: the search proves nothing"

echo "--- after a restart with the same key, get shows the values again"
UP_FLAGS="--encryption-key-file $KEY --rbac-policy $POLICY" start_up "$DATA"
# Captured first: with pipefail, `grep -q` closing the pipe early would fail the pipeline.
out=$(run_cli get secret db -o json)
grep -q "$STRING_VALUE" <<<"$out" || fail "value not readable after restart: $out"
stop_up TERM

echo "--- with another key the store does not open the Secret, and says so without the value"
OTHER="$WORK/other/encryption.key"
UP_FLAGS="--encryption-key-file $OTHER" start_up "$DATA"
out=$("$ARGONAUT" get secret db -o json 2>&1) && fail "another key opened the Secret: $out"
grep -q "does not open" <<<"$out" || fail "wrong key error: $out"
grep -q -e "$STRING_VALUE" -e "$DATA_B64" <<<"$out" && fail "the error shows the value"
stop_up TERM

echo "--- a key file others can read is refused"
chmod 644 "$KEY"
if timeout 30 "$ARGONAUT" up --data "$WORK/data2" --port "$(free_port)" --encryption-key-file "$KEY" \
  >"$WORK/refused.log" 2>&1; then
  fail "up started with a 0644 key file"
fi
grep -q "0600" "$WORK/refused.log" || fail "no clear error for a 0644 key: $(cat "$WORK/refused.log")"

echo "PASS"
