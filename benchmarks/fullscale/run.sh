#!/usr/bin/env bash
# Full-scale run (issues 3 and 17): `vigil synth` → `vigil ingest` → `vigil signals --store` with about
# 100 strata and the exact fit, with wall time, user CPU and peak memory of each step, each printed
# beside its target, and one JSON line per run appended to benchmarks/results/fullscale.jsonl.
#   benchmarks/fullscale/run.sh [REPORTS] [QUARTERS] [DATA]   (defaults: 20,000,000 reports, 16 quarters)
# DATA: a folder kept between runs (default: a temporary one, removed at the end). DATA/synth is
#   written once (`vigil synth --interactions`, so that benchmarks/interactions/run.sh can use the
#   same files) and reused while it exists. Each run ingests it into DATA/store-run (replaced; or
#   into INGEST_STORE, e.g. to keep a before/after pair of stores for comparison), or, with
#   INGEST=0, runs signals on an existing DATA/store.
# VIGIL: the binary to time (default: this tree's release build), e.g. a copy of main's for a
#   before/after pair. On a shared machine compare the user CPU of paired runs, not wall times.
# Strata: sex × age group × year (16 quarters = 4 years).
# Targets (issue 17): signals step ≤ 8 s and ≤ 3 GB, of which loading the store ≤ 3 s; ingest in one
# call ≥ 300 MB/s with ≤ 4 GB peak. About 0.75 GB of disk per million reports for the text files.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPORTS="${1:-20000000}"
QUARTERS="${2:-16}"
DATA="${3:-}"
if [ -z "${VIGIL:-}" ]; then
  cargo build --release -q -p vigil
  VIGIL="${CARGO_TARGET_DIR:-target}/release/vigil"
fi
if [ -z "$DATA" ]; then
  DATA="$(mktemp -d)"
  trap 'rm -rf "$DATA"' EXIT
fi
mkdir -p "$DATA" benchmarks/results
LOG="$DATA/fullscale-$$"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $REPORTS reports, $QUARTERS quarters; $VIGIL"
# time_step LABEL CMD…: runs CMD under /usr/bin/time, stderr in $LOG.LABEL, the figures in $LOG.LABEL.time.
time_step() {
  local label=$1
  shift
  /usr/bin/time -f "%e %U %M" -o "$LOG.$label.time" "$@" 2> "$LOG.$label" \
    || { cat "$LOG.$label"; exit 1; }
}
if [ ! -d "$DATA/synth" ]; then
  time_step synth "$VIGIL" synth --interactions --reports "$REPORTS" --seed 42 --quarters "$QUARTERS" \
    --out "$DATA/synth" >/dev/null
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mbps=null
ingest_wall=null
ingest_user=null
ingest_mb=null
STORE="$DATA/store"
if [ "${INGEST:-1}" != 0 ]; then
  STORE="${INGEST_STORE:-$DATA/store-run}"
  rm -rf "$STORE"
  time_step ingest "$VIGIL" ingest faers "$DATA/synth" --store "$STORE" --quiet > "$LOG.ingest.out"
  # "ingested N files (X MB) in S s (R MB/s) into …"
  mbps=$(sed -nE 's/.*\(([0-9.]+) MB\/s\).*/\1/p' "$LOG.ingest.out" | head -1)
  read -r ingest_wall ingest_user ingest_kb < "$LOG.ingest.time"
  ingest_mb=$((ingest_kb / 1024))
  echo "ingest: $(head -1 "$LOG.ingest.out")"
  echo "ingest: $mbps MB/s (target >= 300), $ingest_wall s wall, $ingest_user s user, peak $ingest_mb MB (target <= 4096)"
fi
# VIGIL_TIMINGS: the signals step prints where its time goes (load, count, fit, posteriors, output).
VIGIL_TIMINGS=1 time_step signals "$VIGIL" signals --store "$STORE" --stratify sex,age_group,year \
  --format parquet --out "$DATA/scores.parquet"
read -r sig_wall sig_user sig_kb < "$LOG.signals.time"
load_s=$(sed -nE 's/^vigil: timing: read input: ([0-9.]+) s.*/\1/p' "$LOG.signals")
load_cpu=$(sed -nE 's/^vigil: timing: read input: [0-9.]+ s \(CPU ([0-9.]+) s\).*/\1/p' "$LOG.signals")
grep 'vigil: timing' "$LOG.signals" || true
echo "signals: load $load_s s (target <= 3; cpu ${load_cpu:-?} s), step $sig_wall s wall (target <= 8), $sig_user s user, peak $((sig_kb / 1024)) MB (target <= 3072)"
# The floor under the load on this machine: reading the bytes of the column chunks it needs, and
# decoding those columns with no other work, both on all cores (the load_store example of
# vigil-store, built from this tree whatever VIGIL is).
cargo build --release -q -p vigil-store --example load_store
"${CARGO_TARGET_DIR:-target}/release/examples/load_store" "$STORE" sex,age_group,year --limits \
  2> "$LOG.limits" || { cat "$LOG.limits"; exit 1; }
read_s=$(sed -nE 's/^limit, reading the needed column chunks: ([0-9.]+) s.*/\1/p' "$LOG.limits")
decode_s=$(sed -nE 's/^limit, decoding the needed columns: ([0-9.]+) s.*/\1/p' "$LOG.limits")
decode_cpu=$(sed -nE 's/^limit, decoding the needed columns: [0-9.]+ s \(CPU ([0-9.]+) s\).*/\1/p' "$LOG.limits")
sed 's/^/signals: /' "$LOG.limits"
echo "signals: load $load_s s (cpu ${load_cpu:-?} s) against its floor: decoding the needed columns alone $decode_s s (cpu $decode_cpu s), reading their bytes $read_s s"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '{"case":"fullscale","reports":%s,"quarters":%s,"binary":"%s","ingest_mb_per_s":%s,"ingest_wall_s":%s,"ingest_user_s":%s,"ingest_peak_mb":%s,"signals_load_s":%s,"signals_load_cpu_s":%s,"signals_wall_s":%s,"signals_user_s":%s,"signals_peak_mb":%s,"commit":"%s","date":"%s","cores":%s,"load":"%s"}\n' \
  "$REPORTS" "$QUARTERS" "$VIGIL" "$mbps" "$ingest_wall" "$ingest_user" "$ingest_mb" "${load_s:-null}" "${load_cpu:-null}" "$sig_wall" \
  "$sig_user" "$((sig_kb / 1024))" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load_before" \
  >> benchmarks/results/fullscale.jsonl
printf '{"case":"fullscale-load-floor","reports":%s,"signals_load_s":%s,"signals_load_cpu_s":%s,"decode_s":%s,"decode_cpu_s":%s,"read_s":%s,"commit":"%s","date":"%s","load":"%s"}\n' \
  "$REPORTS" "${load_s:-null}" "${load_cpu:-null}" "${decode_s:-null}" "${decode_cpu:-null}" "${read_s:-null}" "$commit" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" >> benchmarks/results/fullscale.jsonl
rm -f "$LOG".*
