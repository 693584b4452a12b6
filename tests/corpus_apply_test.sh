#!/usr/bin/env bash
# `argonaut apply -f` of every file in Argo Workflows' examples: every Argo
# document is stored; every rejection is a kind Argonaut does not serve
# (yet) and says so. Prints the tally and each rejection's reason.
source tests/lib.sh

CORPUS=$(corpus_dir)/argo-workflows/examples
start_up "$WORK/data"
accepted=0
rejected=0
: >"$WORK/rejections"
while IFS= read -r f; do
  if "$ARGONAUT" apply -f "$f" >"$WORK/out" 2>"$WORK/err"; then :; fi
  a=$(grep -cE ' (created|configured)$' "$WORK/out" || true)
  r=$(grep -c '^error: ' "$WORK/err" || true)
  accepted=$((accepted + a))
  rejected=$((rejected + r))
  sed "s|^error: $CORPUS/||" "$WORK/err" >>"$WORK/rejections"
done < <(find "$CORPUS" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | sort)
echo "accepted documents: $accepted"
echo "rejected documents: $rejected"
cat "$WORK/rejections"
# Every rejection must be a non-Argo kind, never a field of an Argo kind.
if grep -v "is not a kind Argonaut serves" "$WORK/rejections" | grep -q .; then
  fail "unexpected rejections (above)"
fi
[[ $accepted -ge 200 ]] || fail "only $accepted documents accepted"
echo PASS
