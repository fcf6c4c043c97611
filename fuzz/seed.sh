#!/usr/bin/env bash
# Builds the fuzz corpora in fuzz/corpus/TARGET from the hand-made seeds in fuzz/seeds/ and small
# slices of the real FAERS/AERS/openFDA samples in ../shared/data/faers (read at run time, never
# copied into the repository). Usage: fuzz/seed.sh [SHARED_DIR]   (default: ../shared beside the clone)
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
shared="${1:-$fuzz/../../shared}"
faers="$shared/data/faers"
corpus="$fuzz/corpus"
targets=(case_json e2b_xml meta_csv faers_rows quarter_discovery openfda_json counts_csv)
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  if [ -d "$fuzz/seeds/$t" ]; then cp "$fuzz/seeds/$t"/* "$corpus/$t/"; fi
done
if [ ! -d "$faers" ]; then
  echo "seed.sh: $faers not found: hand-made seeds only" >&2
  exit 0
fi

# FAERS/AERS tables of every era: the header and the first 20 rows of each file (bytes as is:
# BOMs, CRLF, trailing `$`, Latin-1).
find "$faers/samples" "$faers/raw_bytes" -type f \( -iname '*.txt' \) | sort | while read -r f; do
  rel="${f#"$faers"/}"
  head -n 21 "$f" > "$corpus/faers_rows/$(echo "$rel" | tr '/' '_')"
done

# Quarter discovery: a member or folder name, a NUL, then a zip holding tiny slices of a quarter's
# tables under real FDA member names (upper and lower case, nested folders, a deleted list).
python3 - "$faers" "$corpus/quarter_discovery" <<'PY'
import io, os, sys, zipfile
faers, out = sys.argv[1], sys.argv[2]
def head(path, n=4):
    with open(path, 'rb') as f:
        return b''.join(f.readline() for _ in range(n))
quarters = {
    'faers_ascii_2025q4': ('samples/nico_faers_2025q4_1000serious', 'ASCII/{}', '25Q4'),
    'aers_ascii_2004q1': ('samples/yunuuuu_aers_2004q1_100isr', 'ascii/{}', '04Q1'),
    'faers_ascii_2012q4': ('raw_bytes/ubesp_faers_2012q4_head', '{}', '12q4'),
}
for k, (name, (folder, pattern, q)) in enumerate(quarters.items()):
    d = os.path.join(faers, folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        for f in sorted(os.listdir(d)):
            z.writestr(pattern.format(f), head(os.path.join(d, f)))
        z.writestr('Deleted/DELETE{}.txt'.format(q.upper()), b'\n100\n200\n')
        z.writestr('README.pdf', b'not a table')
    with open(os.path.join(out, 'zip{}_{}'.format(k, name)), 'wb') as f:
        f.write(name.encode() + b'.zip\0' + buf.getvalue())
PY

# openFDA: the FDA's test fixtures (one report each), whole and as an envelope.
for f in "$faers"/openfda/fda_openfda_test_fixtures/event.*.json; do
  cp "$f" "$corpus/openfda_json/$(basename "$f")"
  { printf '{"meta": {}, "results": ['; cat "$f"; printf ']}'; } > "$corpus/openfda_json/envelope.$(basename "$f")"
done

# --counts: 30 rows of the real FAERS 2023 dupilumab 2×2 export, and 30 report rows from the
# 2017Q2 sample's REAC file (primaryid, pt) paired with a fixed drug.
head -n 31 "$faers/reference/daryl_faers2023_us_ps_2x2/dupilumab_2x2_2023_us_ps.csv" > "$corpus/counts_csv/dupilumab_2x2_head.csv"
{ echo "id,drug,event"; tail -n +2 "$faers/samples/yunuuuu_faers_2017q2_100reports/REAC17Q2.txt" | head -n 30 | awk -F'$' '{print $1",DUPILUMAB,"$3}'; } > "$corpus/counts_csv/reac_2017q2_rows.csv"
for t in "${targets[@]}"; do echo "$t: $(ls "$corpus/$t" | wc -l) seeds"; done
