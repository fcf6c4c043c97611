#!/usr/bin/env bash
# `vigil report --drug dupilumab` on the demo store: wall time (/usr/bin/time) and how many times
# the run opens the store and reads its reports table (strace, openat of CURRENT and
# reports.parquet). Appends one JSON line to benchmarks/results/report.jsonl.
#   benchmarks/report/run.sh [RUNS]   (default 3 timed runs; the wall time is their median)
#   VIGIL_BIN=path/to/vigil benchmarks/report/run.sh   measures that binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
if [ -z "${VIGIL_BIN:-}" ]; then
  cargo build --release -q -p vigil
fi
BIN="${VIGIL_BIN:-${CARGO_TARGET_DIR:-target}/release/vigil}"
mkdir -p benchmarks/data benchmarks/results
WORK="benchmarks/data/report-demo"
if [ ! -d "$WORK/store" ]; then
  rm -rf "$WORK"
  "$BIN" demo --out "$WORK" >/dev/null 2>&1
fi
OUT="$WORK/report-bench"
walls=()
for _ in $(seq "$RUNS"); do
  /usr/bin/time -f "%e" -o "$WORK/time.txt" "$BIN" report --store "$WORK/store" --drug dupilumab --out "$OUT" >/dev/null
  walls+=("$(cat "$WORK/time.txt")")
done
wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
opens="null"
reads="null"
if command -v strace >/dev/null 2>&1; then
  strace -f -e trace=openat -o "$WORK/strace.txt" "$BIN" report --store "$WORK/store" --drug dupilumab --out "$OUT" >/dev/null
  opens=$(grep -c '/store/CURRENT"' "$WORK/strace.txt" || true)
  reads=$(grep -c '/reports.parquet"' "$WORK/strace.txt" || true)
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# A binary given by VIGIL_BIN need not be HEAD's: say so.
if [ -n "${VIGIL_BIN:-}" ]; then commit="$commit (VIGIL_BIN $BIN)"; fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '{"case":"report-dupilumab-demo","wall_s":%s,"store_opens":%s,"reports_table_reads":%s,"commit":"%s","date":"%s","cores":%s,"load":"%s"}\n' \
  "$wall" "$opens" "$reads" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load" | tee -a benchmarks/results/report.jsonl
