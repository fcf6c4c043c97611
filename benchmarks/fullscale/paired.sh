#!/usr/bin/env bash
# Paired timing of two vigil binaries on one store: `signals --store STORE --stratify
# sex,age_group,year --format parquet`, NEW then OLD right after it, ROUNDS times, each run's
# `VIGIL_TIMINGS` phases (wall s, CPU s) and /usr/bin/time figures printed with the load average
# before it, then `cmp` of the two Parquet outputs (they must be byte-identical).
#   benchmarks/fullscale/paired.sh NEW OLD STORE OUTDIR [ROUNDS]
# On a machine shared with other work compare the CPU seconds: the wall times mostly say how busy
# the machine was. OUTDIR receives two output files of about 0.5 GB each (20 M-report store) and
# keeps them; remove them when done.
set -euo pipefail
NEW=$1
OLD=$2
STORE=$3
OUT=$4
ROUNDS=${5:-1}
mkdir -p "$OUT"
run() {
  local label=$1 bin=$2
  echo "$label: $bin, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  VIGIL_TIMINGS=1 /usr/bin/time -f "  whole step: %e s wall, %U s user, %S s system, peak %M KB" \
    "$bin" signals --store "$STORE" --stratify sex,age_group,year --format parquet \
    --out "$OUT/$label.parquet" 2>&1 | sed -n 's/^vigil: timing: /  /p; /whole step/p'
}
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  run new "$NEW"
  run old "$OLD"
  if cmp -s "$OUT/new.parquet" "$OUT/old.parquet"; then
    echo "outputs: byte-identical ($(stat -c %s "$OUT/new.parquet") bytes)"
  else
    echo "outputs: DIFFER"
    exit 1
  fi
done
