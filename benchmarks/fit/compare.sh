#!/usr/bin/env bash
# The MGPS fit of this tree against a reference binary on one input: the fit phase's wall and CPU
# seconds (`VIGIL_TIMINGS=1`) and counters (`VIGIL_DEBUG_FIT=1`) of each, this tree's run first
# and the reference's right after it, and both optima evaluated on one and the same likelihood
# (this tree's, by the example `mgps_nll` on the pairs `vigil signals` scores), so that a
# difference in −LL is one of the optima and not of how the likelihood is summed. Prints one JSON
# line and appends it to benchmarks/results/fit-compare.jsonl.
#
#   REF=/path/to/reference/vigil benchmarks/fit/compare.sh OUT NAME SIGNALS-ARGS…
#   REF=… benchmarks/fit/compare.sh /tmp/fit s300k --store /data/s300k --stratify sex,age_group,year
#
# OUT: a folder for the two priors and logs (created). SIGNALS-ARGS: the input of `vigil signals`
# (--counts …, --store …, --stratify …). SKIP_BUILD=1: use target/release as built.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -n "${REF:-}" ] || { echo "set REF to the reference vigil binary" >&2; exit 2; }
[ $# -ge 3 ] || { echo "usage: REF=… $0 OUT NAME SIGNALS-ARGS…" >&2; exit 2; }
out=$1 name=$2
shift 2
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -q -p vigil
  cargo build --release -q -p vigil-stats --example mgps_nll
fi
mkdir -p "$out" benchmarks/results
new=./target/release/vigil
fit() { # binary tag
  VIGIL_TIMINGS=1 VIGIL_DEBUG_FIT=1 "$1" signals "${@:3}" --fit-only --out "$out/$name.$2.json" \
    2> "$out/$name.$2.err"
}
# "fit prior: 1.234 s (CPU 2.34 s)" → 1.234 2.34
phase() { sed -n 's/.*timing: fit prior: \([0-9.]*\) s (CPU \([0-9.]*\) s).*/\1 \2/p' "$1"; }
counters() { sed -n 's/^fit: 6 starts; \(.*\); [0-9.]* s$/\1/p' "$1" | tail -1; }
load=$(cut -d' ' -f1 /proc/loadavg)
fit "$new" new "$@"
fit "$REF" ref "$@"
read -r new_wall new_cpu < <(phase "$out/$name.new.err")
read -r ref_wall ref_cpu < <(phase "$out/$name.ref.err")
# Both optima on this tree's likelihood, over the pairs this tree scores with its own prior.
"$new" signals "$@" --prior "$out/$name.new.json" --format csv 2> /dev/null |
  ./target/release/examples/mgps_nll /dev/stdin "$out/$name.new.json" "$out/$name.ref.json" \
    > "$out/$name.nll"
value() { sed -n "$1p" "$out/$name.nll" | sed 's/.*"neg_log_lik":\([^,]*\),"recorded":\(.*\)}/\1 \2/'; }
read -r new_nll new_recorded < <(value 1)
read -r ref_nll ref_recorded < <(value 2)
rel=$(awk -v a="$new_nll" -v b="$ref_nll" 'BEGIN { printf "%.3e", (a - b) / (b < 0 ? -b : b) }')
line=$(printf '{"input":"%s","load":%s,"new_fit_wall_s":%s,"new_fit_cpu_s":%s,"ref_fit_wall_s":%s,"ref_fit_cpu_s":%s,"new_counters":"%s","ref_counters":"%s","new_nll_recorded":%s,"ref_nll_recorded":%s,"new_nll":%s,"ref_nll":%s,"new_minus_ref_rel":%s}' \
  "$name" "$load" "$new_wall" "$new_cpu" "$ref_wall" "$ref_cpu" \
  "$(counters "$out/$name.new.err")" "$(counters "$out/$name.ref.err")" \
  "$new_recorded" "$ref_recorded" "$new_nll" "$ref_nll" "$rel")
echo "$line"
echo "$line" >> benchmarks/results/fit-compare.jsonl
