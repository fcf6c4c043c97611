"""Writes the pairs of a `vigil signals --format parquet` output as the raw columns the example
`posteriors` of vigil-stats reads: the number of pairs as a little-endian u64, then the columns
a, n_drug, n_event, n_total and expected, each as that many little-endian f64.
Run: python3 pairs.py SIGNALS.parquet PAIRS.bin  (pyarrow)
"""
import struct
import sys

import pyarrow.parquet as pq

COLUMNS = ["a", "n_drug", "n_event", "n_total", "expected"]

table = pq.read_table(sys.argv[1], columns=COLUMNS)
with open(sys.argv[2], "wb") as out:
    out.write(struct.pack("<Q", table.num_rows))
    for name in COLUMNS:
        column = table.column(name).cast("float64").to_numpy()
        out.write(column.astype("<f8").tobytes())
print(table.num_rows, "pairs")
