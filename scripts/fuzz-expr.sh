#!/usr/bin/env bash
# Builds lib/expr/expr_fuzzer.cc with clang's libFuzzer + ASan + UBSan and
# runs it for $1 seconds (default 600) on a seed corpus.
#
#   scripts/fuzz-expr.sh 600
# Env: FUZZ_WORK (default /tmp/argonaut-fuzz-expr) holds the binary, corpus
# and crash artifacts; FUZZ_JOBS (default 1) parallel fuzzing jobs.
set -euo pipefail

seconds="${1:-600}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${FUZZ_WORK:-/tmp/argonaut-fuzz-expr}"
mkdir -p "$work/corpus" "$work/artifacts"

sources=()
for f in "$root"/lib/expr/*.cc; do
  case "$(basename "$f")" in
    *_test.cc | fuzz_driver.cc | depends*.cc) continue ;;
    govaluate*.cc) [[ -f "$root/lib/expr/govaluate.h" ]] || continue ;;
  esac
  sources+=("$f")
done

# Same abseil libraries as the @system//:absl Bazel target.
mapfile -t absl_libs < <(grep -oE '"-labsl_[a-z0-9_]+"' "$root/third_party/system.BUILD" | tr -d '"')

echo "building $work/expr_fuzzer from ${#sources[@]} sources"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root" "${sources[@]}" -o "$work/expr_fuzzer" \
  -Wl,--no-as-needed "${absl_libs[@]}" -lre2 -lpthread

# Seeds: representative expressions plus every {{=...}} in the Argo corpus.
seed=0
while IFS= read -r line; do
  [[ -z "$line" ]] && continue
  printf '%s' "$line" > "$work/corpus/seed-$seed"
  seed=$((seed + 1))
done <<'SEEDS'
result[0] >= 0.95 && len(result) > 0
filter(users, .age > 18) | map(.name)
sprig.replace('a', 'b', s) + sprig.upper(t)
jsonpath(json, '$.a[2].b') ?? 'none'
jsonpath(json, '$..b') + jsonpath(json, '$.a[?(@ > 1)]')
a + b * 2 ** 3 % 4 - -1
s matches '^s' and 'x' in strs or arr[-1:] == [3]
let x = m.n.d[1].e; x > 1 ? {k: x} : [x, 1..3]
reduce(arr, #acc + #, 0) / len(arr)
asInt(inputs.parameters.x) + 1
heads == heads && 5 > 3
m?.k?.z ?? sprig.default('d', n)
toJSON(fromJSON(json)) contains 'b'
sortBy(users, .age, 'desc')[0].name startsWith 'a'
sprig.date('2006-01-02', 0) + sprig.sha256sum(s) + sprig.b64enc(s)
isNaN(b) || isInf(b) || default(n, 1) > 0
SEEDS
corpus_src="$root/../shared/corpus"
if [[ -d "$corpus_src" ]]; then
  while IFS= read -r expr; do
    expr="${expr#\{\{=}"
    printf '%s' "${expr%\}\}}" > "$work/corpus/argo-$seed"
    seed=$((seed + 1))
  done < <(grep -rhoE '\{\{=[^}]*\}\}' "$corpus_src" | sort -u)
fi

echo "fuzzing for ${seconds}s with $(ls "$work/corpus" | wc -l) corpus files"
cd "$work"
exec ./expr_fuzzer -max_total_time="$seconds" -max_len=4096 -timeout=20 -rss_limit_mb=4096 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 -jobs="${FUZZ_JOBS:-1}" \
  -workers="${FUZZ_JOBS:-1}" "$work/corpus"
