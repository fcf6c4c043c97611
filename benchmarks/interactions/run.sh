#!/usr/bin/env bash
# Drug–drug interaction screen (`vigil interactions`) over every itemset of a synthetic store:
# wall time, peak memory (/usr/bin/time -v) and itemset counts. Appends one JSON line per run to
# benchmarks/results/interactions.jsonl and prints a Markdown row for docs/interactions.md.
#   benchmarks/interactions/run.sh [REPORTS] [MIN_COUNT] [ROLE] [DATA]   (defaults: 1,000,000 reports,
#   n111 >= 3, ps,ss,i; ROLE all counts every listed drug, about 4 times as many itemset occurrences on
#   synth data)
# DATA: a folder holding the store to screen as DATA/store (default benchmarks/data/interactions-REPORTS,
#   made on first use with `vigil synth --interactions` over 4 quarters); with an existing DATA/store
#   (e.g. the one benchmarks/fullscale/run.sh ingests) nothing is generated. VIGIL: the binary to time
#   (default: this tree's release build).
# Target (issue 16): 20 M reports in <= 10 min and <= 8 GB peak on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPORTS="${1:-1000000}"
MIN_COUNT="${2:-3}"
ROLE="${3:-ps,ss,i}"
WORK="${4:-benchmarks/data/interactions-$REPORTS}"
if [ -n "${VIGIL:-}" ]; then
  BIN="$VIGIL"
else
  cargo build --release -q -p vigil
  BIN="${CARGO_TARGET_DIR:-target}/release/vigil"
fi
mkdir -p benchmarks/data benchmarks/results "$WORK"
if [ ! -d "$WORK/store" ]; then
  rm -rf "$WORK"
  "$BIN" synth --interactions --reports "$REPORTS" --seed 42 --quarters 4 --out "$WORK/synth" >/dev/null
  "$BIN" ingest faers "$WORK/synth" --store "$WORK/store" --quiet >/dev/null
  rm -rf "$WORK/synth"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
VIGIL_TIMINGS=1 /usr/bin/time -v -o "$WORK/time.txt" "$BIN" interactions --store "$WORK/store" \
  --min-count "$MIN_COUNT" --role "$ROLE" --format parquet --out "$WORK/interactions.parquet" 2> "$WORK/stderr.txt" \
  || { cat "$WORK/stderr.txt"; exit 1; }
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
user=$(awk -F': ' '/User time/ {print $2}' "$WORK/time.txt")
kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
summary=$(grep 'vigil: interactions:' "$WORK/stderr.txt" | sed 's/^vigil: interactions: //')
occurrences=$(echo "$summary" | sed -E 's/.* ([0-9]+) itemset occurrences.*/\1/')
distinct=$(echo "$summary" | sed -E 's/.* ([0-9]+) distinct itemsets.*/\1/')
kept=$(echo "$summary" | sed -E 's/.* ([0-9]+) with n111.*/\1/')
partitions=$(echo "$summary" | sed -E 's/.* ([0-9]+) partitions.*/\1/')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '{"case":"interactions","reports":%s,"role":"%s","min_count":%s,"wall":"%s","peak_rss_mb":%s,"occurrences":%s,"distinct_itemsets":%s,"kept_itemsets":%s,"partitions":%s,"user_s":%s,"commit":"%s","date":"%s","cores":%s,"load":"%s"}\n' \
  "$REPORTS" "$ROLE" "$MIN_COUNT" "$wall" "$((kb / 1024))" "$occurrences" "$distinct" "$kept" "$partitions" "$user" "$commit" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$load" >> benchmarks/results/interactions.jsonl
grep -E 'vigil: (timing|cpu)' "$WORK/stderr.txt" || true
echo "wall $wall (target <= 10:00 at 20 M reports), user CPU $user s, peak $((kb / 1024)) MB (target <= 8192)"
echo "| reports | roles | itemset occurrences | distinct itemsets | n111 >= $MIN_COUNT | partitions | wall | peak RSS (MB) |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $REPORTS | $ROLE | $occurrences | $distinct | $kept | $partitions | $wall | $((kb / 1024)) |"
