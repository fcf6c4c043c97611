#!/usr/bin/env bash
# Checks that `vigil signals --counts` gives byte-identical output to a reference binary (main before a
# change to the reader) on report-level and aggregated inputs, in every output format: the rows496k
# benchmark input, the openEBGM caers rows (report-level, with and without its stratum column), the
# 5,000-report synthetic stratified rows and the caers pairs as a 2×2 table (../shared/oracle/pv), the
# FAERS 2023 aggregated Parquet table, and small
# files with quoted names, line breaks inside quotes, CRLF and a BOM written here.
#
#   benchmarks/speed/same-output.sh /work/bin/vigil-main [./target/release/vigil]
set -euo pipefail
cd "$(dirname "$0")/../.."
ref=${1:?usage: same-output.sh REFERENCE_BINARY [BINARY]}
new=${2:-./target/release/vigil}
pv=../shared/oracle/pv
[ -d "$pv" ] || { echo "needs $pv (the shared data beside the repository)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
zcat "$pv/synth5k_strat_input.csv.gz" > "$tmp/synth5k.csv"
# The caers pairs as an aggregated 2×2 table: a = N, b = N_v1 − N, c = N_v2 − N, d = N_tot − N_v1 − N_v2 + N.
python3 - "$pv/caers_pairs.csv" > "$tmp/caers_2x2.csv" <<'PY'
import csv, sys
rows = csv.DictReader(open(sys.argv[1], newline=""))
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["drug", "event", "a", "b", "c", "d"])
for r in rows:
    n, n1, n2, t = (int(r[k]) for k in ("N", "N_v1", "N_v2", "N_tot"))
    out.writerow([r["var1"], r["var2"], n, n1 - n, n2 - n, t - n1 - n2 + n])
PY
printf '\xef\xbb\xbfid,drug,event\r\n1,"A, B",X\r\n1,a,"Y\r\nZ"\r\n\r\n2,"SAY ""HI""",X\r\n3,A,x\r\n3,C,Y' > "$tmp/quoted.csv"
fails=0
# Each output is reduced to its checksum and deleted before the next run (the FAERS 2023 JSON is 325 MB).
run_one() { # binary output-file error-file input format args… ; prints "exit checksum"
  local bin=$1 out=$2 err=$3 input=$4 format=$5 rc=0 sum=none; shift 5
  "$bin" signals --counts "$input" "$@" --format "$format" --out "$out" 2> "$err" || rc=$?
  [ -e "$out" ] && sum=$(sha256sum < "$out" | cut -c1-16)
  rm -f "$out"
  echo "$rc $sum"
}
check() { # label input args…
  local label=$1 input=$2; shift 2
  for format in table csv json parquet; do
    local a b
    a=$(run_one "$new" "$tmp/out.$format" "$tmp/new.err" "$input" "$format" "$@")
    b=$(run_one "$ref" "$tmp/out.$format" "$tmp/ref.err" "$input" "$format" "$@")
    if [ "$a" = "$b" ] && cmp -s "$tmp/new.err" "$tmp/ref.err"; then
      echo "same      $label $format (exit, checksum: $a)"
    else
      echo "DIFFERENT $label $format ($a vs $b)"; fails=$((fails + 1))
    fi
  done
}
[ -f benchmarks/data/rows-496k.csv ] && check rows496k benchmarks/data/rows-496k.csv --margins reports
check caers-rows "$pv/caers_input.csv"
check caers-rows-strat "$pv/caers_input.csv" --stratify strat1
check synth5k-strat "$tmp/synth5k.csv" --stratify strat_sex,strat_age,strat_year
check caers-pairs-2x2 "$tmp/caers_2x2.csv"
check caers-pairs-unrecognised "$pv/caers_pairs.csv"
table=../shared/data/faers/reference/daryl_faers2023_us_ps_2x2/anydrug_2023.parquet
[ -f "$table" ] && check faers2023-parquet "$table"
check quoted-crlf-bom "$tmp/quoted.csv"
check quoted-crlf-bom-pairs "$tmp/quoted.csv" --margins pairs
[ "$fails" = 0 ] || { echo "$fails outputs differ" >&2; exit 1; }
