#!/usr/bin/env bash
# TLS beyond loopback: `argonaut up --bind 0.0.0.0` makes a self-signed
# certificate under <data>/tls at first start and its port then speaks only
# TLS (every connection below still goes to 127.0.0.1). The attacks that must
# fail: the CLI trusting the certificate without being told to (no CA), a
# plaintext REST request, a plaintext gRPC call. What must work: the CLI with
# --tls-ca or --insecure-skip-tls-verify, curl with the CA; a restart keeps
# the certificate.
source tests/lib.sh

DATA="$WORK/data"
PORT=$(free_port)
export ARGONAUT_SERVER="127.0.0.1:${PORT}"
# The CLI finds the admin token that `argonaut up` writes there.
export ARGONAUT_DATA="$DATA"
unset ARGONAUT_TOKEN ARGONAUT_SECURE ARGO_SECURE ARGONAUT_INSECURE_SKIP_VERIFY
CERT="$DATA/tls/tls.crt"
KEY="$DATA/tls/tls.key"

TLS_UP_PID=""
trap 'stop_pid "$TLS_UP_PID" TERM' EXIT

start_tls_up() {
  "$ARGONAUT" up --data "$DATA" --port "$PORT" --bind 0.0.0.0 \
    --encryption-key-file "$WORK/encryption.key" >>"$WORK/up.log" 2>&1 &
  TLS_UP_PID=$!
  for _ in $(seq 1 300); do
    if [[ -f $CERT ]] &&
      command curl -sf --cacert "$CERT" "https://127.0.0.1:${PORT}/readyz" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$TLS_UP_PID" 2>/dev/null || { cat "$WORK/up.log" >&2; fail "argonaut up exited early"; }
    sleep 0.1
  done
  cat "$WORK/up.log" >&2
  fail "argonaut up --bind 0.0.0.0 did not answer https://127.0.0.1:${PORT}/readyz"
}

start_tls_up

# The certificate: self-signed, names loopback, key readable by the owner only.
[[ $(stat -c %a "$KEY") == 600 ]] || fail "tls.key mode $(stat -c %a "$KEY"), want 600"
openssl verify -CAfile "$CERT" "$CERT" >/dev/null || fail "the certificate does not verify against itself"
names=$(openssl x509 -in "$CERT" -noout -ext subjectAltName)
for n in "DNS:localhost" "IP Address:127.0.0.1"; do
  grep -q "$n" <<<"$names" || fail "certificate lacks $n: $names"
done
grep -q "TLS with the certificate $CERT" "$WORK/up.log" || fail "up.log does not name the certificate"
sum=$(sha256sum "$CERT")

# 1. The CLI does not trust a certificate it was not given.
if "$ARGONAUT" --secure list >"$WORK/noca.out" 2>&1; then
  fail "the CLI accepted a self-signed certificate without --tls-ca"
fi
# Nor does it fall back to plaintext.
if "$ARGONAUT" list >"$WORK/plain.out" 2>&1; then
  fail "a plaintext gRPC call to the TLS port was served"
fi
# 2. With the CA, or skipping verification on purpose, it works.
"$ARGONAUT" --tls-ca "$CERT" list >"$WORK/ca.out" 2>&1 ||
  { cat "$WORK/ca.out" >&2; fail "the CLI with --tls-ca"; }
"$ARGONAUT" --secure --tls-ca "$CERT" version >"$WORK/version.out" 2>&1 ||
  { cat "$WORK/version.out" >&2; fail "argonaut version with --tls-ca"; }
"$ARGONAUT" --insecure-skip-tls-verify list >"$WORK/skip.out" 2>&1 ||
  { cat "$WORK/skip.out" >&2; fail "the CLI with --insecure-skip-tls-verify"; }
ARGONAUT_SECURE=true "$ARGONAUT" --tls-ca "$CERT" list >/dev/null 2>&1 ||
  fail "the CLI with ARGONAUT_SECURE=true and --tls-ca"

# 3. REST: curl verifies with the CA, refuses without it, and plaintext HTTP
# is answered 400 (the request never reaches the API).
TOKEN=$(cat "$DATA/admin.token")
command curl -sf --cacert "$CERT" -H "Authorization: Bearer $TOKEN" \
  "https://127.0.0.1:${PORT}/api/v1/workflows/default" >/dev/null ||
  fail "curl https with the CA"
code=$(command curl -s -o /dev/null -w '%{http_code}' --cacert "$CERT" \
  "https://127.0.0.1:${PORT}/api/v1/workflows/default")
[[ $code == 401 ]] || fail "https without a token: HTTP $code, want 401"
rc=0
command curl -s -o /dev/null --max-time 10 "https://127.0.0.1:${PORT}/readyz" || rc=$?
[[ $rc == 60 ]] || fail "curl without the CA: exit $rc, want 60 (certificate not trusted)"
code=$(command curl -s -o "$WORK/plain.body" -w '%{http_code}' --max-time 10 \
  -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${PORT}/api/v1/workflows/default" || true)
[[ $code == 400 ]] || fail "plaintext HTTP to the TLS port: HTTP $code, want 400"
grep -q "https://" "$WORK/plain.body" || fail "the 400 does not say to use https"
if grep -q '"items"\|"metadata"' "$WORK/plain.body"; then
  fail "plaintext HTTP reached the API"
fi

# 4. A restart reuses the certificate, so clients keep trusting it.
stop_pid "$TLS_UP_PID" TERM
TLS_UP_PID=""
start_tls_up
[[ $(sha256sum "$CERT") == "$sum" ]] || fail "the certificate changed across a restart"
"$ARGONAUT" --tls-ca "$CERT" list >/dev/null 2>&1 || fail "the CLI with --tls-ca after a restart"

echo "PASS"
