#!/usr/bin/env bash
# Checks that a change which should not change behaviour (a function split into named steps) gives
# byte-identical output to a reference binary (main before the change) for the commands whose code it
# touches: `vigil report` (HTML and JSON), `vigil assess` (text and JSON), `vigil sequential`,
# `vigil interactions` (every format), `vigil ingest openfda` (the store and the ingest summary) and
# `vigil demo`. Inputs: synthetic stores written here by the reference binary, the FAERS samples and
# openFDA fixtures of ../shared/data/faers, the example cases with every variant missing one field
# (depth <= 4) and the E2B(R3) seeds. Each pair of runs uses the same paths, so outputs compare as
# they are; only timings ("in 0.13 s", "Done in", the binary's name in usage lines) are masked.
#
#   benchmarks/commands/same-output.sh /work/bin/vigil-main [./target/release/vigil]
#   SECTIONS="interactions openfda" benchmarks/commands/same-output.sh …   (default: every section:
#   report assess sequential interactions openfda demo)
# Prints one line per differing output and a count per command; exits 1 when anything differs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
ref=$(realpath "${1:?usage: same-output.sh REFERENCE_BINARY [BINARY]}")
new=$(realpath "${2:-./target/release/vigil}")
faers=../shared/data/faers
[ -d "$faers" ] || { echo "needs $faers (the shared data beside the repository)" >&2; exit 2; }
faers=$(realpath "$faers")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ref" "$tmp/new"
runs=0; fails=0
sections=" ${SECTIONS:-report assess sequential interactions openfda demo} "
wanted() { [[ $sections == *" $1 "* ]]; }

# Timings and the binary's own name are the only differences allowed.
mask() { sed -E -e 's/ in [0-9.]+ s \([0-9.]+ MB\/s\)//' -e 's/^Done in [0-9.]+ s\.$//' \
  -e 's/: [0-9.]+ s$//' -e "s#$(basename "$ref")|$(basename "$new")#vigil#g" "$1"; }

# both NAME DIR ARGS...: runs both binaries in DIR; an argument @OUT@ is a fresh output path (the
# same for both), and the files written there are compared too.
both() {
  local name=$1 dir=$2; shift 2
  local side bin
  for side in ref new; do
    [ $side = ref ] && bin=$ref || bin=$new
    rm -rf "$tmp/out"
    local args=("${@//@OUT@/$tmp/out}")
    # `&& echo 0 || echo $?`: a failing command is an output to compare, not the end of the script.
    (cd "$dir" && { "$bin" "${args[@]}" > "$tmp/$side/$name.stdout" 2> "$tmp/$side/$name.stderr" && echo 0 || echo $?; } > "$tmp/$side/$name.rc")
    if [ -d "$tmp/out" ]; then cat "$tmp/out"/* > "$tmp/$side/$name.files" 2>/dev/null || true
    elif [ -f "$tmp/out" ]; then
      python3 -c "import pyarrow.csv as pc, pyarrow.parquet as pq, sys; t = pq.read_table(sys.argv[1]); print(t.schema, flush=True); pc.write_csv(t, sys.stdout.buffer)" "$tmp/out" > "$tmp/$side/$name.files"
    fi
  done
  runs=$((runs + 1))
  local f
  for f in "$tmp/ref/$name".*; do
    if ! cmp -s <(mask "$f") <(mask "$tmp/new/$(basename "$f")"); then
      echo "DIFFERS: $name $(basename "$f")"; fails=$((fails + 1))
    fi
  done
}

echo "writing the inputs with $ref ..."
synth_store() { # DIR, synth options...
  local d=$1; shift
  mkdir -p "$d"
  "$ref" synth "$@" --out "$d/q" > /dev/null
  (cd "$d" && "$ref" ingest faers q --store store --quiet > /dev/null)
}
synth_store "$tmp/s20k" --reports 20000 --seed 11
synth_store "$tmp/s3k" --reports 3000 --seed 3
synth_store "$tmp/i40k" --interactions --reports 40000 --seed 5 --quarters 4
synth_store "$tmp/em" --reports 20000 --quarters 12 --emerging-from 2024Q2
samples=()
for s in "$faers"/samples/*/; do
  d="$tmp/sample-$(basename "$s")"; mkdir -p "$d"
  (cd "$d" && "$ref" ingest faers "$s" --store store --quiet > /dev/null 2>&1) && samples+=("$d") || true
done

if wanted report; then
echo "vigil report ..."
trials=$root/examples/trials/dupilumab_infections.csv
cases=$root/examples/cases
for st in s20k s3k; do
  for fmt in html json; do
    both "report-$st-$fmt-full" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug DUPILUMAB \
      --trials "$trials" --exclude-drug USTEKINUMAB,SECUKINUMAB,ADALIMUMAB --case "$cases/facial-redness-interval-extension.json"
    both "report-$st-$fmt-plain" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug dupilumab
    both "report-$st-$fmt-ps" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug DUPILUMAB --role ps --trials "$trials"
    both "report-$st-$fmt-all" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug DUPILUMAB --role all --exclude-drug ADALIMUMAB
    both "report-$st-$fmt-indication" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug DUPILUMAB \
      --indication 'DERMATITIS ATOPIC' --events 'CONJUNCTIVITIS,ROSACEA,NOPE'
    both "report-$st-$fmt-other-drug" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug ADALIMUMAB --exclude-drug DUPILUMAB
    both "report-$st-$fmt-no-drug" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug NOSUCHDRUG
    both "report-$st-$fmt-xml-case" "$tmp/$st" report --store store --format $fmt --out @OUT@ --drug DUPILUMAB \
      --case "$root/fuzz/seeds/e2b_xml/psoriasiform-prior-psoriasis.xml" --sequential-start 2024Q1
  done
done
for fmt in html json; do
  both "report-em-$fmt" "$tmp/em" report --store store --format $fmt --out @OUT@ --drug DUPILUMAB \
    --events KERATITIS,CONJUNCTIVITIS --sequential-start 2023Q3
  both "report-i40k-$fmt" "$tmp/i40k" report --store store --format $fmt --out @OUT@ --drug 'SYNTHETIC INTERACTOR A'
  for d in "${samples[@]}"; do
    # The sample's two drugs with the most drug–event reports.
    for drug in $("$ref" signals --store "$d/store" --format csv 2>/dev/null | python3 -c "
import csv, sys, collections
c = collections.Counter()
for r in csv.DictReader(sys.stdin): c[r['drug']] += int(float(r['a']))
print(' '.join(d for d, _ in c.most_common(2) if ' ' not in d))"); do
      both "report-$(basename "$d")-$drug-$fmt" "$d" report --store store --format $fmt --out @OUT@ --drug "$drug"
    done
  done
done
fi

if wanted assess; then
echo "vigil assess ..."
mkdir -p "$tmp/cases"
python3 - "$cases" "$tmp/cases" <<'PY'
import copy, glob, json, os, sys
src, out = sys.argv[1], sys.argv[2]
def paths(o, prefix=(), depth=0):
    if depth > 3:
        return
    items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else []
    for k, v in items:
        yield prefix + (k,)
        yield from paths(v, prefix + (k,), depth + 1)
for path in sorted(glob.glob(os.path.join(src, "*.json"))):
    base = json.load(open(path))
    name = os.path.basename(path)[:-5]
    json.dump(base, open(os.path.join(out, name + ".json"), "w"))
    for n, p in enumerate(paths(base)):
        case = copy.deepcopy(base)
        o = case
        for k in p[:-1]:
            o = o[k]
        del o[p[-1]]
        json.dump(case, open(os.path.join(out, f"{name}-without-{n}.json"), "w"))
PY
cp "$root"/fuzz/seeds/e2b_xml/*.xml "$tmp/cases/"
for f in "$tmp"/cases/*; do
  both "assess-$(basename "$f")-text" "$tmp" assess "$f"
  both "assess-$(basename "$f")-json" "$tmp" assess "$f" --format json
done
fi

if wanted sequential; then
echo "vigil sequential ..."
k=0
while IFS= read -r line; do
  k=$((k + 1)); eval "args=($line)"
  both "sequential-$k" "$tmp/em" sequential --store store "${args[@]}"
done <<'LIST'
--drug DUPILUMAB --event KERATITIS --start 2023Q1
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --format csv
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --format json
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --looks continuous
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --max-expected 20 --min-events 4
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --max-expected 2 --format json
--drug DUPILUMAB --event KERATITIS --start 2024Q3 --stratify sex --format json
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --stratify sex,age_group --looks continuous --format csv
--drug DUPILUMAB --event CONJUNCTIVITIS --start 2023Q2 --role ps
--drug DUPILUMAB --event CONJUNCTIVITIS --start 2023Q2 --role all --indication 'DERMATITIS ATOPIC' --format json
--drug DUPILUMAB --event ROSACEA --start 2023Q2 --exclude-drug ADALIMUMAB,USTEKINUMAB --alpha 0.01
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --alpha 0.7
--drug DUPILUMAB --event KERATITIS --start 2023Q5
--drug DUPILUMAB --event KERATITIS --start 2031Q1
--drug NOSUCH --event KERATITIS --start 2023Q1
--drug DUPILUMAB --event KERATITISS --start 2023Q1
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --max-expected -1
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --max-expected 1000 --format json
--drug DUPILUMAB --event KERATITIS --start 2023Q1 --role bogus
--drug ADALIMUMAB --event PSORIASIS --start 2023Q1 --looks continuous --min-events 3 --format json
--drug DUPILUMAB --event 'DERMATITIS ATOPIC' --start 2025Q4 --format json
LIST
fi

if wanted interactions; then
echo "vigil interactions ..."
for st in i40k s20k; do
  for fmt in table csv json parquet; do
    out=(); [ $fmt = parquet ] && out=(--out @OUT@)
    both "interactions-$st-$fmt" "$tmp/$st" interactions --store store --format $fmt "${out[@]}"
    both "interactions-$st-$fmt-drug" "$tmp/$st" interactions --store store --format $fmt "${out[@]}" --drug 'SYNTHETIC INTERACTOR A'
    both "interactions-$st-$fmt-event" "$tmp/$st" interactions --store store --format $fmt "${out[@]}" --event RHABDOMYOLYSIS
    both "interactions-$st-$fmt-strata" "$tmp/$st" interactions --store store --format $fmt "${out[@]}" --stratify sex,age_group --min-count 2
    both "interactions-$st-$fmt-partitions" "$tmp/$st" interactions --store store --format $fmt "${out[@]}" --partition-keys 5000
    both "interactions-$st-$fmt-all" "$tmp/$st" interactions --store store --format $fmt "${out[@]}" --role all --partition-keys 100000 --min-count 1
  done
done
fi

if wanted openfda; then
echo "vigil ingest openfda ..."
fix=$faers/openfda/fda_openfda_test_fixtures
mkdir -p "$tmp/openfda/quarters"
cp "$fix/event.postannotation.json" "$tmp/openfda/quarters/drug-event-2024q1-0001-of-0001.json"
cp "$fix/event.preannotation.json" "$tmp/openfda/quarters/drug-event-2024q2-0001-of-0001.json"
cp "$root/fuzz/seeds/openfda_json/handmade.json" "$tmp/openfda/quarters/drug-event-2024q2-handmade.json"
(cd "$tmp/openfda/quarters" && python3 -c "
import glob, zipfile
with zipfile.ZipFile('../zipped.zip', 'w') as z:
    for f in sorted(glob.glob('*.json')): z.write(f)")
# The same reports at a higher version, each with a repeated drug and reaction (de-duplication).
python3 - "$fix/event.postannotation.json" "$tmp/openfda/newer-2024q3.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
reports = doc["results"] if isinstance(doc, dict) and "results" in doc else doc
reports = reports if isinstance(reports, list) else [reports]
for r in reports:
    r["safetyreportversion"] = str(int(r.get("safetyreportversion") or 1) + 1)
    p = r.get("patient", {})
    for key in ("drug", "reaction"):
        if p.get(key):
            p[key].append(p[key][0])
json.dump({"meta": {}, "results": reports}, open(sys.argv[2], "w"))
PY
ingest() { # NAME STORE_TO_START_FROM|none INPUTS...
  local name=$1 init=$2; shift 2
  local side bin
  for side in ref new; do
    [ $side = ref ] && bin=$ref || bin=$new
    rm -rf "$tmp/ingest-$side"; mkdir -p "$tmp/ingest-$side"
    [ "$init" = none ] || cp -r "$init" "$tmp/ingest-$side/store"
    (cd "$tmp/ingest-$side" && { "$bin" ingest openfda "$@" --store store > stdout 2> stderr && echo 0 || echo $?; } > rc)
  done
  runs=$((runs + 1))
  for f in stdout stderr rc; do
    cmp -s <(mask "$tmp/ingest-ref/$f") <(mask "$tmp/ingest-new/$f") || { echo "DIFFERS: ingest-$name $f"; fails=$((fails + 1)); }
  done
  if [ -f "$tmp/ingest-ref/store/CURRENT" ] || [ -f "$tmp/ingest-new/store/CURRENT" ]; then
    python3 benchmarks/ingest/compare_stores.py "$tmp/ingest-ref/store" "$tmp/ingest-new/store" > /dev/null \
      || { echo "DIFFERS: ingest-$name store"; fails=$((fails + 1)); }
  fi
}
ingest post none "$fix/event.postannotation.json"
ingest pre none "$fix/event.preannotation.json"
ingest both-fixtures none "$fix/event.postannotation.json" "$fix/event.preannotation.json"
ingest handmade none "$root/fuzz/seeds/openfda_json/handmade.json"
ingest quarters none "$tmp/openfda/quarters"
ingest zipped none "$tmp/openfda/zipped.zip"
ingest schema-not-a-document none "$fix/drugevent_schema.json"
ingest missing-folder none "$tmp/openfda/no-such-folder"
ingest newer-versions none "$tmp/openfda/quarters" "$tmp/openfda/newer-2024q3.json"
ingest onto-faers-store "$tmp/s3k/store" "$tmp/openfda/quarters" "$tmp/openfda/newer-2024q3.json"
[ ${#samples[@]} -gt 0 ] && ingest onto-sample-store "${samples[0]}/store" "$tmp/openfda/zipped.zip"
fi

if wanted demo; then
echo "vigil demo ..."
both demo "$tmp" demo --out @OUT@ --reports 3000
fi

echo "$runs command pairs, $fails differing outputs"
[ "$fails" -eq 0 ]
