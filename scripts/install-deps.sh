#!/usr/bin/env bash
# Installs every Debian package Argonaut needs to build, test and run.
# Idempotent: skips apt entirely when everything is already there.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java g++ pkg-config clang-format
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libyaml-cpp-dev librocksdb-dev nlohmann-json3-dev libcpp-httplib-dev
  libre2-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  liblua5.1-0-dev libnl-route-3-dev zlib1g-dev libnats-dev
  # local cluster runtime: pod networking, image table entrypoints, benchmarks
  # (nginx: the `nginx` images; the package's own service is kept from starting)
  iproute2 cowsay busybox nginx wrk make
  # CronWorkflow time zones (absl::LoadTimeZone reads /usr/share/zoneinfo;
  # minimal Debian 12 images leave it out)
  tzdata
  # tests: promtool and a real Prometheus server to scrape the services
  prometheus curl python3 python3-yaml git
  # the events service's JetStream bus backend and its tests
  nats-server
  # the events service's webhook signatures (HMAC)
  libssl-dev
  # the CD service: git client, jsonnet sources, jq paths in ignoreDifferences,
  # git daemon / http-backend in its tests
  libgit2-dev libjsonnet-dev libjq-dev jsonnet
  # the events service's broker sources and their tests (real servers)
  libhiredis-dev libmosquitto-dev librabbitmq-dev
  redis-server mosquitto rabbitmq-server
  # the events awsLambda trigger (libcurl signs SigV4; botocore checks it in tests)
  libcurl4-openssl-dev python3-botocore
  # the pod sandbox's default seccomp profile
  libseccomp-dev
  # workflow artifacts: tar/tgz/zip archives (libarchive)
  libarchive-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The prometheus package would start a system-wide server on :9090; tests
  # start their own on loopback, so keep the packaged one from starting.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CD service renders kustomize sources with `kubectl kustomize` (or a
# `kustomize` binary). Debian's kubernetes-client provides kubectl; install it
# only when neither is on PATH (its /usr/bin/kubectl would clash with another
# kubectl package).
if ! command -v kubectl >/dev/null && ! command -v kustomize >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install kubernetes-client" >&2
    exit 1
  fi
  echo "install-deps: installing kubernetes-client (kubectl kustomize)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi

# Artifact tests: s3rver (a local S3-compatible server) and the AWS SDK's S3
# client, pinned by third_party/npm/package-lock.json and installed with
# `npm ci` into a fixed prefix outside the checkout, so every clone (CI's too)
# shares one copy: tests run /opt/argonaut-npm/node_modules/.bin/s3rver with
# NODE_PATH=/opt/argonaut-npm/node_modules. Skipped when the installed lock
# already matches.
NPM_PREFIX=/opt/argonaut-npm
npm_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/third_party/npm"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install nodejs npm" >&2
    exit 1
  fi
  echo "install-deps: installing nodejs npm"
  # The package lists may never have been fetched when nothing else was missing.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if ! cmp -s "$npm_src/package-lock.json" "$NPM_PREFIX/package-lock.json" ||
  [[ ! -x "$NPM_PREFIX/node_modules/.bin/s3rver" ]]; then
  echo "install-deps: installing npm packages into $NPM_PREFIX"
  mkdir -p "$NPM_PREFIX"
  cp "$npm_src/package.json" "$npm_src/package-lock.json" "$NPM_PREFIX/"
  (cd "$NPM_PREFIX" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
fi
