#!/usr/bin/env python3
"""Compares the live versions of two vigil stores: every Parquet file decoded column by column
(schema, row count, values and order), the JSON files (ingest report, manifest) without their
timings, and any other file byte for byte. Used to check that a change to ingest writes the same
store as main's binary on the same input. Needs pyarrow (`pip install pyarrow`).
    benchmarks/ingest/compare_stores.py STORE_A STORE_B      (exit 0 when identical)"""
import json
import os
import sys

import pyarrow.parquet as pq

# Keys that differ between two runs of the same ingest.
TIMING_KEYS = {"seconds", "created_unix"}


def live(store):
    with open(os.path.join(store, "CURRENT")) as f:
        return os.path.join(store, f.read().strip())


def files(d):
    out = []
    for root, _, names in os.walk(d):
        out.extend(os.path.relpath(os.path.join(root, n), d) for n in names)
    return sorted(out)


def without_timings(o):
    if isinstance(o, dict):
        return {k: without_timings(v) for k, v in o.items() if k not in TIMING_KEYS}
    if isinstance(o, list):
        return [without_timings(v) for v in o]
    return o


def main(a_store, b_store):
    a, b = live(a_store), live(b_store)
    fa, fb = files(a), files(b)
    differences = []
    if fa != fb:
        differences.append(f"file lists differ: {sorted(set(fa) ^ set(fb))}")
    for f in sorted(set(fa) & set(fb)):
        pa, pb = os.path.join(a, f), os.path.join(b, f)
        if f.endswith(".parquet"):
            ma, mb = pq.ParquetFile(pa), pq.ParquetFile(pb)
            if ma.schema_arrow != mb.schema_arrow:
                differences.append(f"{f}: schema")
                continue
            if ma.metadata.num_rows != mb.metadata.num_rows:
                differences.append(f"{f}: {ma.metadata.num_rows} against {mb.metadata.num_rows} rows")
                continue
            # One column at a time: a 20 M-row reports table stays within a few hundred MB.
            for c in ma.schema_arrow.names:
                ca = pq.read_table(pa, columns=[c]).column(0)
                cb = pq.read_table(pb, columns=[c]).column(0)
                if not ca.equals(cb):
                    differences.append(f"{f}: column {c}")
        elif f.endswith(".json"):
            with open(pa) as ja, open(pb) as jb:
                if without_timings(json.load(ja)) != without_timings(json.load(jb)):
                    differences.append(f"{f}: content")
        else:
            with open(pa, "rb") as ra, open(pb, "rb") as rb:
                if ra.read() != rb.read():
                    differences.append(f"{f}: bytes")
    for d in differences:
        print(d)
    print(f"identical: {len(fa)} files" if not differences else f"{len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
