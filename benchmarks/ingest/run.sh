#!/usr/bin/env bash
# Ingest throughput of FAERS ASCII on `vigil synth` output.
#   benchmarks/ingest/run.sh [REPORTS] [QUARTERS]     (defaults: 1,000,000 reports over 4 quarters, ~720 MB)
# Prints the MB/s that `vigil ingest` reports (uncompressed input bytes / wall-clock seconds of the
# whole ingest: parsing, de-duplication, Parquet writing, fsync and the atomic switch).
# Target (issue 3): >= 200 MB/s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPORTS="${1:-1000000}"
QUARTERS="${2:-4}"
cargo build --release -p vigil >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release/vigil"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN" synth --reports "$REPORTS" --seed 42 --quarters "$QUARTERS" --out "$WORK/synth"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for run in 1 2 3; do
  rm -rf "$WORK/store"
  /usr/bin/time -f "run $run: %e s wall, %U s user, %S s sys, %M KB max RSS" \
    "$BIN" ingest faers "$WORK/synth" --store "$WORK/store" --quiet | head -1 || true
done
