#!/usr/bin/env bash
# Whole-pipeline benchmarks of `vigil signals` (file → counts → exact MGPS fit → all scores →
# Parquet), with wall time and peak memory. Each run appends one JSON line per case to
# benchmarks/results/runs.jsonl (commit, date, cores) and prints a Markdown table for the README.
#
#   benchmarks/run.sh            # both cases
#   benchmarks/run.sh faers2023  # only the real FAERS 2023 table (needs ../shared)
#   benchmarks/run.sh synth12m   # only the generated 12.7 M-pair table
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p vigil -p vigil-benchmarks
mkdir -p benchmarks/data benchmarks/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cores=$(nproc)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cases=${1:-"faers2023 synth12m"}
echo "| case | pairs | wall (s) | peak RSS (MB) |"
echo "|---|---|---|---|"
for case in $cases; do
  case $case in
    faers2023)
      input=../shared/data/faers/reference/daryl_faers2023_us_ps_2x2/anydrug_2023.parquet
      if [ ! -f "$input" ]; then echo "skipping faers2023: $input not found" >&2; continue; fi
      pairs=348355 ;;
    synth12m)
      input=benchmarks/data/synthetic-pairs-12.7M.parquet
      [ -f "$input" ] || ./target/release/vigil-bench-gen --pairs 12700000 --out "$input"
      pairs=12700000 ;;
    *) echo "unknown case $case" >&2; exit 2 ;;
  esac
  /usr/bin/time -f "%e %M" -o benchmarks/data/.time ./target/release/vigil signals --counts "$input" \
    --format parquet --out "benchmarks/data/$case-scores.parquet" 2>benchmarks/data/.stderr || { cat benchmarks/data/.stderr; exit 1; }
  read -r wall kb < benchmarks/data/.time
  mb=$((kb / 1024))
  printf '{"case":"%s","pairs":%s,"wall_s":%s,"peak_rss_mb":%s,"commit":"%s","date":"%s","cores":%s}\n' \
    "$case" "$pairs" "$wall" "$mb" "$commit" "$date" "$cores" >> benchmarks/results/runs.jsonl
  echo "| $case | $pairs | $wall | $mb |"
done
