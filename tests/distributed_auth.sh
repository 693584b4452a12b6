# Authentication for the tests that run standalone services (distributed
# mode, --auth-mode client by default): one token store for the deployment,
# as an operator would set it up before starting anything.
#
#   make_deployment_tokens "$CLUSTER_BIN"    # any service binary
#   "$CLUSTER_BIN" ... "${AUTH_FLAGS[@]}" &
#   grpc_refused "$PORT" /argonaut.api.v1.ResourceService/ListKinds   # 16: refused

# Creates $WORK/auth/tokens.json with a system:service token (every process
# sends it to the services it calls) and an admin token (exported as
# ARGONAUT_TOKEN for the CLI; curl needs -H "Authorization: Bearer ..."),
# and sets AUTH_FLAGS for every process.
make_deployment_tokens() {
  local bin=$1
  mkdir -p "$WORK/tokens"
  "$bin" --auth-file="$WORK/auth/tokens.json" \
    --create-token-file="$WORK/tokens/service.token" >"$WORK/tokens.log" 2>&1 ||
    { cat "$WORK/tokens.log" >&2; fail "cannot create the service token"; }
  "$bin" --auth-file="$WORK/auth/tokens.json" --create-token-account=admin \
    --create-token-file="$WORK/tokens/admin.token" >>"$WORK/tokens.log" 2>&1 ||
    { cat "$WORK/tokens.log" >&2; fail "cannot create the admin token"; }
  ARGONAUT_TOKEN=$(cat "$WORK/tokens/admin.token")
  export ARGONAUT_TOKEN
  AUTH_FLAGS=(--auth-file="$WORK/auth/tokens.json"
    --service-token-file="$WORK/tokens/service.token")
}

# grpc_status PORT METHOD TOKEN: the grpc-status of a unary call (an empty
# request message) to 127.0.0.1:PORT over plaintext HTTP/2 with TOKEN as its
# bearer token. 0 is OK, 7 PERMISSION_DENIED.
grpc_status() {
  printf '\x00\x00\x00\x00\x00' >"$WORK/grpc-empty-message"
  grpc_call "$1" "$2" "$WORK/grpc-empty-message" -H "authorization: Bearer $3"
}

# grpc_refused PORT METHOD [TOKEN]: the same for a call that should be
# refused (16 is UNAUTHENTICATED). It sends no request message: the server
# answers before reading one, and an answer racing a request still being
# sent is sometimes reset and lost on curl's side.
grpc_refused() {
  : >"$WORK/grpc-no-message"
  if [[ -n ${3:-} ]]; then
    grpc_call "$1" "$2" "$WORK/grpc-no-message" -H "authorization: Bearer $3"
  else
    grpc_call "$1" "$2" "$WORK/grpc-no-message"
  fi
}

grpc_call() {
  local port=$1 method=$2 body=$3
  shift 3
  { command curl -s --http2-prior-knowledge --max-time 10 -D - -o /dev/null \
    -H "content-type: application/grpc" -H "te: trailers" "$@" --data-binary @"$body" \
    "http://127.0.0.1:${port}${method}" || true; } |
    tr -d '\r' | sed -n 's/^grpc-status: *//p' | tail -n 1
}
