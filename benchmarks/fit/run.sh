#!/usr/bin/env bash
# The exact MGPS prior fit alone (issue 17 target 2: ≤ 0.15 s on rows496k and on FAERS 2023), with
# its counters: starts, the summary the starts ran on (points, evaluations), the finer summaries
# polished on, and the full data (points, runs, evaluations), and the best of VIGIL_FIT_REPEAT
# (default 3) wall times. Prints one JSON line per input and appends it to
# benchmarks/results/fit.jsonl.
#   rows496k   the pairs of benchmarks/data/rows-496k.csv (see benchmarks/speed/run.sh)
#   faers2023  the FAERS 2023 aggregated table (348,355 pairs, ../shared)
#   STORE=DIR  also a vigil store, stratified by sex, age_group, year (e.g. the 20 M-report one)
# The pairs (N, E) come from `vigil signals --format csv`; the fit itself is run by the example
# `mgps_fit` of vigil-stats, so the figures are the fit's alone. Wall times depend on the load
# (printed beside them); /usr/bin/time gives the CPU seconds of the whole run.
#
#   benchmarks/fit/run.sh
#   STORE=/path/to/store SKIP_BUILD=1 benchmarks/fit/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${SKIP_BUILD:-}" ]; then
  # Two calls: with --example, cargo builds only the example, not the packages' binaries.
  cargo build --release -q -p vigil -p vigil-benchmarks
  cargo build --release -q -p vigil-stats --example mgps_fit
fi
mkdir -p benchmarks/data benchmarks/results
table=../shared/data/faers/reference/daryl_faers2023_us_ps_2x2/anydrug_2023.parquet
[ -f "$table" ] || { echo "needs $table (the shared data beside the repository)" >&2; exit 2; }
rows=benchmarks/data/rows-496k.csv
[ -f "$rows" ] || ./target/release/vigil-bench-rows --table "$table" --out "$rows"
inputs=()
pairs() { # case vigil-signals-args…
  local out=benchmarks/data/fit-$1.csv; shift
  [ -f "$out" ] || ./target/release/vigil signals "$@" --format csv --out "$out" 2> /dev/null
  inputs+=("$out")
}
pairs rows496k --counts "$rows" --margins reports
pairs faers2023 --counts "$table"
[ -z "${STORE:-}" ] || pairs store --store "$STORE" --stratify sex,age_group,year
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
for input in "${inputs[@]}"; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$(/usr/bin/time -f "%U %S" -o benchmarks/data/.fit-time ./target/release/examples/mgps_fit "$input")
  read -r user sys < benchmarks/data/.fit-time
  line="${line%\}},\"commit\":\"$commit\",\"load\":$load,\"cpu_s_all_repeats\":$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')}"
  echo "$line"
  echo "$line" >> benchmarks/results/fit.jsonl
done
