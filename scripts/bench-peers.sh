#!/usr/bin/env bash
# Granary side by side with MinIO and SeaweedFS in one run (issue 21).
# Builds the peers at pinned versions into bin/peers/ (once; skipped while
# the binaries there match the pins), starts all three on 127.0.0.1, runs
# PUT and GET at 4 KiB, 64 KiB and 1 MiB with 16 clients (granary bench s3)
# against each, system after system within each cell, then the whole matrix
# again in reverse order, measures each server's CPU seconds per operation
# from /proc, syncs the machine's dirty pages after every run and cleanup
# (outside the measured windows), stops the servers and writes docs/bench/peers-<date>.md
# (peers-<date>-quick.md with --quick; -2, -3... when that exists).
#
#   scripts/bench-peers.sh [--quick] [--duration 20s] [--systems LIST]
#                          [--granary-bin FILE] [--cells LIST] [--out FILE]
#
# Granary:   granary server at its default: 3 chunk servers, replication 3,
#            fsync on.
# MinIO:     one server with 4 drives (erasure coded, EC:2), fsync on.
# SeaweedFS: weed server (master, volume server, filer, S3) plus two more
#            volume servers, replication 002 (3 copies on 3 volume servers);
#            it does not fsync before it acknowledges a write.
# --quick:   3-second cells (default: 20 s per cell).
# --systems: a comma-separated subset of granary,minio,seaweedfs (all three).
# --cells:   a comma-separated subset of the cells, op:size, in order
#            (default put:4KiB,get:4KiB,put:64KiB,get:64KiB,put:1MiB,get:1MiB).
# --granary-bin: measure this granary binary (say, a build of another commit)
#            instead of building the working tree; it also drives the load.
# Needs go, python3, curl and jq. The data lives in a temporary folder that
# is removed at the end; the JSON reports and the servers' logs stay in a
# folder the run names.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD args="$*"
duration=20s quick=0 out= systems=granary,minio,seaweedfs granary_bin=
cells=put:4KiB,get:4KiB,put:64KiB,get:64KiB,put:1MiB,get:1MiB
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; duration=3s; shift ;;
    --duration) duration=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --systems) systems=$2; shift 2 ;;
    --granary-bin) granary_bin=$2; shift 2 ;;
    --cells) cells=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "bench-peers.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a systems <<<"$systems"
for sys in "${systems[@]}"; do
  case $sys in granary | minio | seaweedfs) ;; *) echo "bench-peers.sh: unknown system $sys (granary, minio, seaweedfs)" >&2; exit 2 ;; esac
done
IFS=, read -r -a cells <<<"$cells"
for cell in "${cells[@]}"; do
  case $cell in put:* | get:*) ;; *) echo "bench-peers.sh: cell $cell is not put:SIZE or get:SIZE" >&2; exit 2 ;; esac
  case ${cell#*:} in [1-9]*[KMG]iB) ;; *) echo "bench-peers.sh: cell $cell: the size is a number and KiB, MiB or GiB" >&2; exit 2 ;; esac
done
on() { [[ " ${systems[*]} " == *" $1 "* ]]; }
for tool in go python3 curl jq; do
  command -v "$tool" >/dev/null || { echo "bench-peers.sh: $tool is needed" >&2; exit 2; }
done
day=$(date -u +%Y-%m-%d)
if [ -z "$out" ]; then
  base=docs/bench/peers-$day
  [ $quick = 1 ] && base=docs/bench/peers-$day-quick
  out=$base.md
  n=2
  while [ -e "$out" ]; do # a second run on one day keeps the first
    out=$base-$n.md
    n=$((n + 1))
  done
fi

# Pinned peers. SeaweedFS's go.mod has a replace directive, which
# `go install module@version` refuses, so its source comes from the module
# proxy with `go mod download` and is built in place (its own go.sum holds).
minio_mod=github.com/minio/minio
minio_ver=v0.0.0-20260212201848-7aac2a2c5b7c
weed_mod=github.com/seaweedfs/seaweedfs
weed_ver=v0.0.0-20261109003541-7506e5f91cd6
peers=$root/bin/peers
mkdir -p "$peers"

built() { [ -x "$peers/$1" ] && [ "$(cat "$peers/$1.version" 2>/dev/null)" = "$2" ]; }
if on minio && ! built minio "$minio_mod@$minio_ver"; then
  echo "== building MinIO $minio_ver into bin/peers (takes minutes)" >&2
  rm -f "$peers/minio.version"
  (cd /tmp && GOBIN=$peers CGO_ENABLED=0 GOWORK=off nice -n 19 go install "$minio_mod@$minio_ver")
  echo "$minio_mod@$minio_ver" >"$peers/minio.version"
fi
if on seaweedfs && ! built weed "$weed_mod@$weed_ver"; then
  echo "== building SeaweedFS $weed_ver into bin/peers (takes minutes)" >&2
  rm -f "$peers/weed.version"
  src=$(cd /tmp && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$weed_mod@$weed_ver" | jq -r .Dir)
  (cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS='-mod=readonly -buildvcs=false' nice -n 19 \
    go build -trimpath -o "$peers/weed" ./weed)
  echo "$weed_mod@$weed_ver" >"$peers/weed.version"
fi

if [ -n "$granary_bin" ]; then
  bin=$(realpath "$granary_bin")
  [ -x "$bin" ] || { echo "bench-peers.sh: $granary_bin is not an executable" >&2; exit 2; }
  granary_v="$("$bin" version | tr '\n' ' ' | sed 's/ *$//') ($granary_bin)"
else
  CGO_ENABLED=0 go build -o bin/granary ./cmd/granary
  bin=$root/bin/granary
  granary_v="the working tree at $(git describe --tags --always --dirty 2>/dev/null || echo unknown), go build, CGO_ENABLED=0"
  [[ $granary_v == *-dirty,* ]] && granary_v+=" (dirty: uncommitted changes were built)"
fi
work=$(mktemp -d /tmp/granary-peers.XXXXXX)
reports=$(mktemp -d /tmp/granary-peers-json.XXXXXX)
mkdir -p "$work/logs"
pids=()
stop() {
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  cp -r "$work/logs" "$reports/" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

# The helper: free ports, the CPU sampler, the CPU of a window, the report.
cat >"$work/peers.py" <<'PY'
import json, os, random, socket, sys, time

def free_ports(n):
    # Ports whose +10000 is free as well: SeaweedFS puts gRPC there.
    got = set()
    while len(got) < n:
        p = random.randint(20000, 29999)
        if p in got or p + 10000 in got or p - 10000 in got:
            continue
        ok = True
        for q in (p, p + 10000):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            got.add(p)
    print(" ".join(map(str, sorted(got))))

TICK = os.sysconf("SC_CLK_TCK")

def stats():
    """pid -> (ppid, CPU ticks) for every process: its own utime and stime
    and those of the children it has waited for (so that a finished child's
    CPU stays in its parent's tree)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    return out

def tree_cpu(st, roots):
    kids = {}
    for pid, (ppid, _) in st.items():
        kids.setdefault(ppid, []).append(pid)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen or p not in st:
            continue
        seen.add(p)
        todo.extend(kids.get(p, []))
    return sum(st[p][1] for p in seen) / TICK

def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / TICK  # all but idle and iowait

def sample(path, groups):
    # groups: name=pid,pid ...; one line every 0.2 s: time, machine busy
    # CPU seconds, then each group's CPU seconds (its process trees). The
    # group "run" is this script, so machine busy - run is everything else.
    names = [g.split("=")[0] for g in groups]
    roots = [[int(p) for p in g.split("=")[1].split(",")] for g in groups]
    with open(path, "w") as f:
        f.write("t busy " + " ".join(names) + "\n")
        while True:
            st = stats()
            f.write(" ".join([f"{time.time():.3f}", f"{machine_busy():.2f}"] +
                             [f"{tree_cpu(st, r):.2f}" for r in roots]) + "\n")
            f.flush()
            time.sleep(0.2)

def window(path, name, t1, secs):
    # CPU seconds of group name, of the whole machine and of everything
    # this run started, in the secs before t1, interpolated between
    # samples; waits for a sample past t1.
    t0 = t1 - secs
    deadline = time.time() + 5
    while True:
        with open(path) as f:
            head = f.readline().split()
            rows = [list(map(float, l.split())) for l in f if len(l.split()) == len(head)]
        if rows and rows[-1][0] >= t1 or time.time() > deadline:
            break
        time.sleep(0.1)
    col, run = head.index(name), head.index("run")
    def at(t, c):
        prev = rows[0]
        for r in rows:
            if r[0] >= t:
                if r[0] == prev[0]:
                    return r[c]
                return prev[c] + (r[c] - prev[c]) * (t - prev[0]) / (r[0] - prev[0])
            prev = r
        return rows[-1][c]
    print(" ".join(f"{at(t1, c) - at(t0, c):.3f}" for c in (col, 1, run)))

def fmt(v, digits=0):
    return f"{v:,.{digits}f}"

def reps_str(vals, digits=0):
    return " / ".join("–" if v is None else fmt(v, digits) for v in vals)

def report(results, facts, out):
    rows = [json.loads(l) for l in open(results)]
    facts = json.load(open(facts))
    systems = ["granary", "minio", "seaweedfs"]
    label = {"granary": "Granary rep-3", "minio": "MinIO EC 4 drives", "seaweedfs": "SeaweedFS 3 copies"}
    short = {"minio": "MinIO", "seaweedfs": "SeaweedFS"}
    cells = []
    for r in rows:
        if r["cell"] not in cells:
            cells.append(r["cell"])
    reps = sorted({r["rep"] for r in rows})
    get = {(r["rep"], r["cell"], r["system"]): r for r in rows}
    def big(cell):
        return any(r["size"] >= 1 << 20 for r in rows if r["cell"] == cell)
    def tput(r):  # MiB/s from 1 MiB up, ops/s below
        if r is None:
            return None
        return r["mibPerSec"] if r["size"] >= 1 << 20 else r["opsPerSec"]
    def cpu_ms(r):
        return 1000 * r["cpu"] / r["ops"] if r and r["ops"] else None
    def table(metric, pick, digits, goal):
        for c in cells:
            vals = {s: [metric(get.get((k, c, s))) for k in reps] for s in systems}
            ratios, best = [], []
            for i, k in enumerate(reps):
                peers = [(vals[s][i], s) for s in short if vals[s][i]]
                g = vals["granary"][i]
                if not peers or not g:
                    ratios.append(None)
                    best.append("–")
                    continue
                v, s = pick(peers)
                ratios.append(g / v)
                best.append(short[s])
            met = [r is not None and goal(r) for r in ratios]
            verdict = "yes" if all(met) else ("in one repetition" if any(met) else "no")
            if all(r is None for r in ratios):
                verdict = "–"
            unit = ("MiB/s | " if big(c) else "ops/s | ") if metric is tput else ""
            L.append(f"| {c} | {unit}" + " | ".join(reps_str(vals[s], digits) for s in systems) +
                     f" | {' / '.join(best)} | {reps_str(ratios, 2)} | {verdict} |")
    L = []
    L.append(f"# {facts['title']}\n")
    L.append(facts["intro"] + "\n")
    L.append("## Throughput\n")
    L.append("Each value: repetition 1 / repetition 2. Best peer: the faster of MinIO and "
             "SeaweedFS in that repetition; the ratio is Granary ÷ that peer. Goal (issue 21): "
             "at least 1.25×.\n")
    L.append("| workload | unit | " + " | ".join(label[s] for s in systems) +
             " | best peer | Granary ÷ best peer | ≥ 1.25× |")
    L.append("|---|---|" + "---|" * len(systems) + "---|---|---|")
    table(tput, max, 0, lambda r: r >= 1.25)
    L.append("\n## Server CPU per operation (ms)\n")
    L.append("CPU seconds (user + system) of every process of each server during the measured "
             "window, divided by the operations it completed, in milliseconds; steadier than "
             "throughput on a shared machine. Each value: repetition 1 / repetition 2. Ratio: "
             "Granary ÷ the cheaper peer in that repetition (below 1: Granary is cheaper).\n")
    L.append("| workload | " + " | ".join(label[s] for s in systems) +
             " | cheaper peer | Granary ÷ cheaper peer | Granary cheaper |")
    L.append("|---|" + "---|" * len(systems) + "---|---|---|")
    table(cpu_ms, min, 2, lambda r: r < 1)
    L.append("\n## Every run\n")
    L.append("In the order they ran. Machine busy: CPU time of the whole machine in the "
             f"window as a share of its {facts['nproc']} cores; other load: the part of it that "
             "neither the servers nor the load generator of this run used (other users of the "
             "machine); flush: the seconds `sync` took right after the run, outside the window: "
             "the writes the system left to the kernel's writeback (each run and each cleanup is "
             "followed by one, so none lands in the next system's window).\n")
    L.append("| # | rep | workload | system | ops | ops/s | MiB/s | errors | p99 ms | server CPU s | CPU ms/op | machine busy | other load | flush s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        share = lambda v: 100 * v / (r["seconds"] * facts["nproc"]) if r["seconds"] else 0
        busy, other = share(r["busy"]), share(max(0, r["busy"] - r["run"]))
        L.append(f"| {i} | {r['rep']} | {r['cell']} | {r['system']} | {r['ops']:,} | {fmt(r['opsPerSec'])} | "
                 f"{fmt(r['mibPerSec'], 1)} | {r['errors']} | {fmt(r['p99Ms'], 1)} | {fmt(r['cpu'], 2)} | "
                 f"{fmt(cpu_ms(r) or 0, 3)} | {busy:.0f}% | {other:.0f}% | {fmt(r.get('flush', 0), 2)} |")
    L.append("\n## Setup\n")
    for k, v in facts["setup"]:
        L.append(f"- **{k}**: {v}")
    L.append("")
    with open(out, "w") as f:
        f.write("\n".join(L))

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ports":
        free_ports(int(args[0]))
    elif cmd == "sample":
        sample(args[0], args[1:])
    elif cmd == "window":
        window(args[0], args[1], float(args[2]), float(args[3]))
    elif cmd == "report":
        report(*args)
PY
py() { python3 "$work/peers.py" "$@"; }

read -r p_gs3 p_gweb p_graft p_ms3 p_mcon p_wm p_wv1 p_wv2 p_wv3 p_wf p_ws3 <<<"$(py ports 11)"
access=PEERS$$BENCH secret=peers-bench-secret-$$-0123456789
logs=$work/logs

# Wait for each, bounded.
until_ready() { # what, seconds, command...
  local what=$1 limit=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      echo "bench-peers.sh: $what not ready after ${limit}s; the logs:" >&2
      tail -n 20 "$logs"/* >&2
      exit 1
    fi
    sleep 0.3
  done
}
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" != 000 ]; }
declare -A roots # system -> its server processes, comma-separated

# Granary at its default: 3 chunk servers, replication 3, fsync on.
start_granary() {
  GRANARY_ACCESS_KEY=$access GRANARY_SECRET_KEY=$secret "$bin" server --dir "$work/granary" \
    --s3-addr 127.0.0.1:$p_gs3 --web-addr 127.0.0.1:$p_gweb --raft-addr 127.0.0.1:$p_graft \
    --log-level warn >"$logs/granary.log" 2>&1 &
  roots[granary]=$!; pids+=($!)
  until_ready "Granary" 60 grep -q 'granary server: S3 on' "$logs/granary.log"
  until_ready "Granary S3" 30 answers "http://127.0.0.1:$p_gs3/"
}

# MinIO: one server, 4 drives, erasure coded.
start_minio() {
  mkdir -p "$work/minio/d1" "$work/minio/d2" "$work/minio/d3" "$work/minio/d4"
  # The threshold keeps MinIO from refusing drives on the root disk.
  MINIO_ROOT_USER=$access MINIO_ROOT_PASSWORD=$secret MINIO_UPDATE=off MINIO_ROOTDRIVE_THRESHOLD_SIZE=1 \
    "$peers/minio" server --quiet --address 127.0.0.1:$p_ms3 --console-address 127.0.0.1:$p_mcon \
    "$work/minio/d{1...4}" >"$logs/minio.log" 2>&1 &
  roots[minio]=$!; pids+=($!)
  until_ready "MinIO" 60 curl -sf --max-time 2 "http://127.0.0.1:$p_ms3/minio/health/cluster"
}

# SeaweedFS: master, volume server, filer and S3 in one process, and two
# more volume servers; replication 002 keeps 3 copies on 3 volume servers.
start_seaweedfs() {
  local w=$work/weed i port
  mkdir -p "$w/m" "$w/v1" "$w/v2" "$w/v3"
  printf '{"identities": [{"name": "bench", "credentials": [{"accessKey": "%s", "secretKey": "%s"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}\n' "$access" "$secret" >"$w/s3.json"
  "$peers/weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$w/v1" \
    -master.port=$p_wm -master.dir="$w/m" -master.defaultReplication=002 \
    -master.volumeSizeLimitMB=1024 -master.telemetry=false \
    -volume.port=$p_wv1 -volume.max=100 -volume.preStopSeconds=0 \
    -filer -filer.port=$p_wf -filer.defaultReplicaPlacement=002 \
    -s3 -s3.port=$p_ws3 -s3.config="$w/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$logs/weed-server.log" 2>&1 &
  roots[seaweedfs]=$!; pids+=($!)
  for i in 2 3; do
    port=p_wv$i
    "$peers/weed" volume -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$w/v$i" -port=${!port} \
      -master=127.0.0.1:$p_wm -max=100 -preStopSeconds=0 >"$logs/weed-volume$i.log" 2>&1 &
    roots[seaweedfs]+=,$!; pids+=($!)
  done
  until_ready "SeaweedFS volume servers" 90 weed_volumes
  until_ready "SeaweedFS S3" 60 answers "http://127.0.0.1:$p_ws3/"
}
# Every volume of the bench bucket has placement 002 and is on 3 servers.
weed_copies() {
  curl -s --max-time 2 "http://127.0.0.1:$p_wm/vol/status" | jq -e '
    [.Volumes.DataCenters[][][][] | select(.Collection == "peers-bench")] as $v
    | ($v | length) > 0 and all($v[]; .ReplicaPlacement.node == 2)
      and ([$v | group_by(.Id)[] | length] | all(. == 3))' >/dev/null
}
weed_volumes() {
  [ "$(curl -s --max-time 2 "http://127.0.0.1:$p_wm/dir/status" |
    jq '[.Topology.DataCenters[]?.Racks[]?.DataNodes[]?] | length')" -ge 3 ]
}

endpoint() { case $1 in granary) echo 127.0.0.1:$p_gs3 ;; minio) echo 127.0.0.1:$p_ms3 ;; seaweedfs) echo 127.0.0.1:$p_ws3 ;; esac; }
bench() { # system, then granary bench s3 flags
  local sys=$1; shift
  "$bin" bench s3 --endpoint "$(endpoint "$sys")" --access-key "$access" --secret-key "$secret" \
    --bucket peers-bench --concurrency 16 "$@"
}
# Empty the bucket outside the measured window: a 1 ms run without --keep
# deletes everything under the bench prefix (the bucket stays, as it existed).
clean() {
  bench "$1" --op put --size 4KiB --duration 1ms --json "$work/clean.json" >>"$logs/clean.log" 2>&1 ||
    echo "bench-peers.sh: cleaning $1 failed (see $logs/clean.log)" >&2
  jq -e .cleaned "$work/clean.json" >/dev/null 2>&1 || echo "bench-peers.sh: $1 not cleaned" >&2
}
# Write back every dirty page of the machine and print the seconds it took.
# After each run and after each cleanup, outside the measured windows: a
# system that acknowledges writes before they are on disk (SeaweedFS) leaves
# them to the kernel's writeback, which would otherwise land in the window
# of whichever system runs next and slow its fsyncs. The seconds after a
# run show how much such writing the run left behind.
flush() {
  local t0=$(date +%s.%N)
  sync
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }'
}

for sys in "${systems[@]}"; do
  echo "== starting $sys" >&2
  "start_$sys"
done
# Warm up each system and create its bucket, kept for the whole run so no
# cell pays for creating one: 64 KiB PUTs until a run has no error.
for sys in "${systems[@]}"; do
  echo "== warm-up $sys" >&2
  end=$((SECONDS + 90))
  until bench "$sys" --op put --size 64KiB --duration 2s --keep --json "$work/warm.json" \
    >>"$logs/warmup.log" 2>&1 && jq -e '.summary.errors == 0 and .summary.ops > 0' "$work/warm.json" >/dev/null; do
    if [ $SECONDS -ge $end ]; then
      echo "bench-peers.sh: $sys fails the warm-up; see $logs" >&2
      tail -n 20 "$logs/warmup.log" >&2
      exit 1
    fi
    sleep 1
  done
  if [ "$sys" = seaweedfs ] && ! weed_copies; then
    echo "bench-peers.sh: SeaweedFS does not keep 3 copies of every volume:" >&2
    curl -s --max-time 2 "http://127.0.0.1:$p_wm/vol/status" >&2
    exit 1
  fi
  clean "$sys"
  flush >/dev/null
done

groups=()
for sys in "${systems[@]}"; do groups+=("$sys=${roots[$sys]}"); done
groups+=("run=$$")
python3 "$work/peers.py" sample "$work/cpu.tsv" "${groups[@]}" &
pids+=($!)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

results=$work/results.jsonl
: >"$results"
run_cell() { # rep, cell, system
  local rep=$1 op=${2%%:*} size=${2#*:} sys=$3
  local js=$reports/$rep-$op-$size-$sys.json t1 secs cpu busy run flushed
  echo "== rep $rep: $op $size on $sys" >&2
  bench "$sys" --op "$op" --size "$size" --duration "$duration" --keep --json "$js" >"$js.txt" 2>&1 ||
    { cat "$js.txt" >&2; exit 1; }
  t1=$(date +%s.%N)
  secs=$(jq .summary.seconds "$js")
  read -r cpu busy run <<<"$(py window "$work/cpu.tsv" "$sys" "$t1" "$secs")"
  flushed=$(flush)
  jq -c --argjson rep "$rep" --arg cell "${op^^} ${size%%[KMG]iB} ${size##*[0-9]}" --arg sys "$sys" \
    --argjson cpu "$cpu" --argjson busy "$busy" --argjson run "$run" --argjson flush "$flushed" \
    '{rep: $rep, cell: $cell, system: $sys, size: .config.size, cpu: $cpu, busy: $busy, run: $run, flush: $flush} + (.summary | {ops, errors, seconds, opsPerSec, mibPerSec, p99Ms})' \
    "$js" >>"$results"
  jq -r --arg cpu "$cpu" --arg fl "$flushed" '"   \(.summary.ops) ops, \(.summary.opsPerSec|floor) ops/s, \(.summary.mibPerSec|floor) MiB/s, \(.summary.errors) errors, server CPU \($cpu) s, flush \($fl) s"' "$js" >&2
  clean "$sys"
  flush >/dev/null
}
for cell in "${cells[@]}"; do
  for sys in "${systems[@]}"; do run_cell 1 "$cell" "$sys"; done
done
for ((i = ${#cells[@]} - 1; i >= 0; i--)); do
  for ((j = ${#systems[@]} - 1; j >= 0; j--)); do run_cell 2 "${cells[$i]}" "${systems[$j]}"; done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The report.
kind="$duration cells"
[ $quick = 1 ] && kind="QUICK RUN, 3-second cells"
note=
[ $quick = 1 ] && note="**Quick run: 3-second cells on a shared machine, so indicative only; \`make bench-peers\` runs 20-second cells.** "
version() { # binary, its version argument: the first line it prints
  local v
  v=$("$peers/$1" "$2" 2>/dev/null) || v="not run"
  echo "${v%%$'\n'*}"
}
jq -n --arg title "Granary and its peers, $day ($kind)" \
  --arg intro "${note}Written by \`scripts/bench-peers.sh${args:+ }$args\`. The same load generator for all (\`granary bench s3\`, 16 concurrent clients, $duration per cell); every cell runs on each system in turn, then the whole matrix runs again in the reverse order. Everything on one disk. The durability class, as issue 21 defines it: Granary keeps 3 replicas and fsyncs, MinIO erasure codes over 4 drives and fsyncs, SeaweedFS keeps 3 copies but does not fsync before it acknowledges a write (only on request), which favours it on PUT." \
  --argjson nproc "$(nproc)" \
  --arg host "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB memory, Linux $(uname -r)" \
  --arg disk "$(df -h "$work" | awk 'NR==2 {print $4 " free of " $2 " (" $1 ")"}')" \
  --arg load "load average (1, 5, 15 min) $load_start at the start, $load_end at the end; the other load column shows what else was running" \
  --arg gov "$(go version | cut -d' ' -f3-)" \
  --arg granary "$granary_v" \
  --arg minio "$minio_mod@$minio_ver ($(version minio --version)), go install, CGO_ENABLED=0" \
  --arg weed "$weed_mod/weed@$weed_ver ($(version weed version)), go mod download and go build ./weed (go install refuses the replace directive in its go.mod), CGO_ENABLED=0" \
  --arg gcfg "granary server: 3 chunk servers in the one process, replication 3, fsync on, --log-level warn" \
  --arg mcfg "minio server DIR/d{1...4}: one erasure set of 4 drives, EC:2 (the default parity for 4 drives), MINIO_ROOTDRIVE_THRESHOLD_SIZE=1 (all drives are folders on the root disk)" \
  --arg wcfg "weed server -filer -s3 -master.defaultReplication=002 -filer.defaultReplicaPlacement=002 -master.volumeSizeLimitMB=1024 -volume.max=100, and 2 x weed volume: 3 volume servers; after the warm-up the script checks that every volume of the bench bucket has placement 002 and a copy on each of the 3" \
  --arg meth "granary bench s3 --concurrency 16 --keep into one bucket per system, emptied after each run outside the measured window; every run and every cleanup is followed by a sync of the whole machine (flush), so no system's deferred writeback lands in another's window. Server CPU: utime + stime (and those of waited-for children) of the server's process trees from /proc, sampled every 0.2 s and interpolated at the ends of the measured window (the GET prefill and the cleanup fall outside it). JSON reports: $reports" \
  '{title: $title, intro: $intro, nproc: $nproc, setup: [["machine", $host], ["disk", $disk], ["load", $load], ["Go", $gov], ["Granary", $granary], ["MinIO", $minio], ["SeaweedFS", $weed], ["Granary config", $gcfg], ["MinIO config", $mcfg], ["SeaweedFS config", $wcfg], ["method", $meth]]}' \
  >"$work/facts.json"
mkdir -p "$(dirname "$out")"
py report "$results" "$work/facts.json" "$out"
echo "wrote $out (JSON reports in $reports)" >&2
