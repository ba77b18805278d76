#!/usr/bin/env bash
# Builds granary, starts a local cluster of separate processes on 127.0.0.1
# in the chosen shape, measures the machine's baseline, runs the standard
# matrix through the S3 gateway, stops the cluster, and writes
# docs/bench-results/<date>-<topology>.md with a chart (SVG).
#
#   scripts/bench.sh [--topology single|rf3] [--quick]
#
# single: 1 master, 1 chunk server, replication 1.
# rf3:    1 master, 3 chunk servers, replication 3.
# --quick: 3-second runs and a 10,000-key listing (default: 20 s, 100,000).
set -euo pipefail
cd "$(dirname "$0")/.."
topology=single quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --topology) topology=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $topology in
  single) chunkservers=1 replication=1 ;;
  rf3) chunkservers=3 replication=3 ;;
  *) echo "bench.sh: unknown topology $topology (single, rf3)" >&2; exit 2 ;;
esac
duration=20s keys=100000
[ $quick = 1 ] && duration=3s keys=10000

CGO_ENABLED=0 go build -o bin/granary ./cmd/granary
bin=$PWD/bin/granary
work=$(mktemp -d /tmp/granary-bench.XXXXXX)
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export GRANARY_CLUSTER_SECRET=bench-cluster-secret-$$-0123456789
export GRANARY_ACCESS_KEY=GRBENCH$$ GRANARY_SECRET_KEY=bench-secret-$$-0123456789
mhttp=127.0.0.1:$(port) s3=127.0.0.1:$(port)
"$bin" master --id m1 --dir "$work/m1" --raft-addr 127.0.0.1:$(port) --http-addr "$mhttp" --bootstrap \
  --replication "$replication" --log-level warn 2>"$work/master.log" & pids+=($!)
for i in $(seq 1 "$chunkservers"); do
  "$bin" chunkserver --id "cs$i" --dir "$work/cs$i" --http-addr 127.0.0.1:$(port) --masters "$mhttp" \
    --rack "r$i" --log-level warn 2>"$work/cs$i.log" & pids+=($!)
done
"$bin" gateway --masters "$mhttp" --s3-addr "$s3" --log-level warn 2>"$work/gateway.log" & pids+=($!)
for _ in $(seq 1 100); do
  alive=$("$bin" admin --masters "$mhttp" --timeout 2s status --json 2>/dev/null | grep -c '"state": "alive"' || true)
  [ "$alive" -ge "$chunkservers" ] && break
  sleep 0.2
done

out=$work/results
mkdir -p "$out"
echo "== baseline" >&2
"$bin" bench baseline --dir "$work" --json "$out/baseline.json" >&2
bash scripts/bench-matrix.sh "$bin" "$s3" "$GRANARY_ACCESS_KEY" "$GRANARY_SECRET_KEY" "$out" "$duration" "$keys"

mkdir -p docs/bench-results
name=docs/bench-results/$(date +%Y-%m-%d)-$topology
"$bin" bench report --title "Granary, topology $topology ($(nproc) cores, $(date +%Y-%m-%d))" \
  --out "$name.md" --chart "$name.svg" "$out=granary-$topology"
echo "wrote $name.md and $name.svg" >&2
