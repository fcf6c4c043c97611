#!/usr/bin/env bash
# Full-scale run (issue 3): `vigil synth` → `vigil ingest` → `vigil signals --store` with about 100
# strata and the exact fit, with wall time and peak memory of each step.
#   benchmarks/fullscale/run.sh [REPORTS] [QUARTERS]   (defaults: 20,000,000 reports over 16 quarters)
# Strata: sex × age group × year (16 quarters = 4 years). Targets: signals step ≤ 60 s, ≤ 8 GB.
# Needs about 0.75 GB of disk per million reports for the synthetic text files, in $WORK
# (default: a temporary folder, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPORTS="${1:-20000000}"
QUARTERS="${2:-16}"
cargo build --release -p vigil >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release/vigil"
WORK="${WORK:-$(mktemp -d)}"
trap 'rm -rf "$WORK/synth" "$WORK/store"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $REPORTS reports, $QUARTERS quarters"
step() {
  local label=$1
  shift
  /usr/bin/time -f "$label: %e s wall, %U s user, %M KB max RSS" "$@"
}
step synth "$BIN" synth --reports "$REPORTS" --seed 42 --quarters "$QUARTERS" --out "$WORK/synth" >/dev/null
du -sh "$WORK/synth"
step ingest "$BIN" ingest faers "$WORK/synth" --store "$WORK/store" --quiet | head -1
# VIGIL_TIMINGS: the signals step prints where its time goes (load, count, fit, posteriors, output).
VIGIL_TIMINGS=1 step signals "$BIN" signals --store "$WORK/store" --stratify sex,age_group,year \
  --format parquet --out "$WORK/scores.parquet"
