#!/usr/bin/env bash
# `argonaut apply -f` of every file in Argo Workflows' examples: every valid
# Argo document is stored, and the rejections are exactly the ones listed in
# corpus_expected_rejections.txt, each with its reason: Kubernetes kinds the
# local cluster runtime will serve, a Grafana dashboard that is no manifest,
# and three examples that Kubernetes itself refuses (no name, generateName
# misplaced under labels, a duplicate `annotations` key).
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
if ! diff -u tests/corpus_expected_rejections.txt "$WORK/rejections"; then
  fail "rejections differ from tests/corpus_expected_rejections.txt"
fi
[[ $accepted -eq 223 ]] || fail "$accepted documents accepted, expected 223"
# Every stored object reads back.
n=$("$ARGONAUT" get wf -A -o name | wc -l)
[[ $n -ge 190 ]] || fail "only $n workflows listed"
echo PASS
