#!/usr/bin/env bash
# Runs the standard matrix against each S3 endpoint in turn and writes one
# side-by-side table and chart to docs/bench-results/<date>-compare.md/.svg.
#
#   scripts/compare.sh [--quick] ENDPOINT ACCESS SECRET [LABEL] [ENDPOINT ACCESS SECRET [LABEL]]...
#
# A label is optional; it defaults to the endpoint. The machine's baseline
# is measured once, in this run, and shared by every endpoint's table.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=20s keys=100000
if [ "${1:-}" = --quick ]; then duration=3s keys=10000; shift; fi
[ $# -ge 3 ] || { sed -n '2,8p' "$0"; exit 2; }
CGO_ENABLED=0 go build -o bin/granary ./cmd/granary
bin=$PWD/bin/granary
work=$(mktemp -d /tmp/granary-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bin" bench baseline --dir "$work" --json "$work/baseline.json" >&2
sets=() n=0
while [ $# -ge 3 ]; do
  endpoint=$1 access=$2 secret=$3; shift 3
  label=$endpoint
  if [ $# -gt 0 ] && [[ $1 != *:* ]]; then label=$1; shift; fi
  n=$((n + 1)); out=$work/set$n
  mkdir -p "$out"; cp "$work/baseline.json" "$out/"
  bash scripts/bench-matrix.sh "$bin" "$endpoint" "$access" "$secret" "$out" "$duration" "$keys"
  sets+=("$out=$label")
done
mkdir -p docs/bench-results
name=docs/bench-results/$(date +%Y-%m-%d)-compare
"$bin" bench report --title "S3 endpoints side by side ($(date +%Y-%m-%d))" --out "$name.md" --chart "$name.svg" "${sets[@]}"
echo "wrote $name.md and $name.svg" >&2
