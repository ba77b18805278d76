#!/usr/bin/env bash
# Runs the standard matrix against one S3 endpoint and writes JSON reports
# into OUT: PUT and GET at 4 KiB, 1 MiB and 64 MiB, mixed at 1 MiB, and
# listing a bucket of KEYS keys.
#   bench-matrix.sh GRANARY_BIN ENDPOINT ACCESS SECRET OUT DURATION KEYS
set -euo pipefail
bin=$1 endpoint=$2 access=$3 secret=$4 out=$5 duration=$6 keys=$7
mkdir -p "$out"
run() { # name, then granary bench s3 flags
  local name=$1; shift
  echo "== $name" >&2
  "$bin" bench s3 --endpoint "$endpoint" --access-key "$access" --secret-key "$secret" \
    --duration "$duration" --bucket "granary-bench-$(echo "$name" | tr A-Z a-z)" --json "$out/$name.json" "$@" >&2
}
for size in 4KiB 1MiB 64MiB; do
  conc=16
  [ "$size" = 64MiB ] && conc=4 # 16 x 64 MiB in flight would be 1 GiB of buffers
  run "put-$size" --op put --size "$size" --concurrency "$conc"
  run "get-$size" --op get --size "$size" --concurrency "$conc" --objects 32
done
run mixed-1MiB --op mixed --size 1MiB --concurrency 16
run list --op list --size 0 --concurrency 1 --objects "$keys"
