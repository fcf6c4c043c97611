#!/usr/bin/env bash
# The same interaction job (`vigil interactions --min-count 3`) locally and through a loopback
# Ballista cluster (1 scheduler + 2 executors of vigil-cluster, --vcores 1 each) on this machine:
# wall time of each (/usr/bin/time), the overhead ratio cluster/local, and a check that both wrote
# the same number of rows. On one 2-core machine the cluster is not expected to be faster: the same
# cores do the work, plus planning, shuffles through files and Arrow Flight, and process start-up.
# Appends one JSON line to benchmarks/results/cluster.jsonl and prints a Markdown row.
#   benchmarks/cluster/run.sh [REPORTS]   (default 200,000 reports)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPORTS="${1:-200000}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p vigil
(cd crates/vigil-cluster && CARGO_TARGET_DIR="$TARGET" cargo build --release -q)
BIN="$TARGET/release/vigil"
CLUSTER="$TARGET/release/vigil-cluster"
mkdir -p benchmarks/data benchmarks/results
WORK="$PWD/benchmarks/data/cluster-$REPORTS"
if [ ! -d "$WORK/store" ]; then
  rm -rf "$WORK"
  "$BIN" synth --interactions --reports "$REPORTS" --seed 42 --quarters 4 --out "$WORK/synth" >/dev/null
  "$BIN" ingest faers "$WORK/synth" --store "$WORK/store" --quiet >/dev/null
  rm -rf "$WORK/synth"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$CLUSTER" scheduler --bind-host 127.0.0.1 --bind-port "$SP" > "$WORK/scheduler.log" 2>&1 &
pids+=($!)
for k in 0 1; do
  rm -rf "$WORK/work$k"; mkdir -p "$WORK/work$k"
  "$CLUSTER" executor --bind-host 127.0.0.1 --external-host 127.0.0.1 --bind-port "$(free_port)" \
    --bind-grpc-port "$(free_port)" --bind-health-port "$(free_port)" --scheduler-host 127.0.0.1 \
    --scheduler-port "$SP" --work-dir "$WORK/work$k" --vcores 1 > "$WORK/executor$k.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 300); do
  n=$(curl -s "http://127.0.0.1:$SP/api/executors" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
  [ "$n" = 2 ] && break
  sleep 0.2
done
[ "$n" = 2 ] || { echo "executors did not register; logs in $WORK" >&2; exit 1; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/time -v -o "$WORK/local.time" "$BIN" interactions --store "$WORK/store" --min-count 3 \
  --format parquet --out "$WORK/local.parquet"
/usr/bin/time -v -o "$WORK/cluster.time" "$BIN" interactions --store "$WORK/store" --min-count 3 \
  --format parquet --out "$WORK/cluster.parquet" --cluster "df://127.0.0.1:$SP"
secs() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$1"; }
local_s=$(secs "$WORK/local.time")
cluster_s=$(secs "$WORK/cluster.time")
local_rows=$("$BIN" interactions --store "$WORK/store" --min-count 3 --format csv | tail -n +2 | wc -l)
cluster_rows=$("$BIN" interactions --store "$WORK/store" --min-count 3 --format csv --cluster "df://127.0.0.1:$SP" | tail -n +2 | wc -l)
[ "$local_rows" = "$cluster_rows" ] || { echo "row counts differ: local $local_rows, cluster $cluster_rows" >&2; exit 1; }
ratio=$(awk -v c="$cluster_s" -v l="$local_s" 'BEGIN { printf "%.1f", c / l }')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '{"case":"interactions-cluster","reports":%s,"rows":%s,"local_s":%s,"cluster_s":%s,"ratio":%s,"executors":2,"vcores":1,"commit":"%s","date":"%s","cores":%s,"load":"%s"}\n' \
  "$REPORTS" "$local_rows" "$local_s" "$cluster_s" "$ratio" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load" \
  >> benchmarks/results/cluster.jsonl
echo "| reports | itemsets (n111 >= 3) | local | loopback cluster (2 executors × 1 vcore) | cluster / local |"
echo "|---|---|---|---|---|"
echo "| $REPORTS | $local_rows | ${local_s} s | ${cluster_s} s | ${ratio} |"
