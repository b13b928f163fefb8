"""Reading a user's table for ``compare``: time and peak memory of ``load_user_data``.

A synthetic table of ``--rows`` rows (100,000) and ``--columns`` float feature columns (360)
with 8 long-tailed classes (the exponential profile, imbalance factor 100: 47,000 rows of the
head class, 470 of the tail), written as Parquet (float64 columns, as a data frame writes
them) and as CSV (four decimals). Each method reads it in a fresh process, which prints its
wall time and its peak resident memory above what it held after the imports (Linux
``VmHWM``, reset through ``/proc/self/clear_refs``; glibc returns freed arrays to the system
at once, as in the other memory benchmarks):

* ``load_user_data``: the table read a group of columns at a time straight into float32,
  split per class, every split's features prepared on its training rows;
* ``baseline``: what ``compare`` did before, for comparison: every column as a NumPy array,
  stacked into one float64 matrix, cast to float32, checked to be finite and split by
  indexing;
* ``resplit(1)``: drawing and preparing the second of the repeated splits, once loaded.

The floor is the float32 features of one split of every row, N x D x 4 bytes. With
``--references``, the wall time of ``reference_probabilities`` of each reference model on the
Parquet table's splits is printed too.

Usage::

    python benchmarks/bench_compare_data.py [--rows 100000] [--columns 360] [--references]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from counterpoise._io import read_table
from counterpoise.compare.data import load_user_data, split_per_class
from counterpoise.compare.references import REFERENCES, reference_probabilities
from counterpoise.datasets import long_tailed_counts

CLASSES = 8


def write_tables(folder: Path, rows: int, columns: int) -> dict[str, Path]:
    """The synthetic table as Parquet and CSV files in ``folder``."""
    sizes = long_tailed_counts(10**9, CLASSES, 100.0).astype(np.float64)
    counts = np.floor(rows * sizes / sizes.sum()).astype(np.int64)
    counts[0] += rows - counts.sum()
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat(np.arange(CLASSES), counts))
    centres = rng.normal(scale=0.05, size=(CLASSES, columns))  # overlapping classes
    data = {}
    for j in range(columns):
        data[f"f{j}"] = np.round(rng.normal(size=rows) + centres[y, j], 4)
    data["label"] = np.array([f"class {c}" for c in range(CLASSES)])[y]
    table = pa.table(data)
    paths = {"Parquet": folder / "table.parquet", "CSV": folder / "table.csv"}
    pq.write_table(table, paths["Parquet"])
    pcsv.write_csv(table, paths["CSV"])
    return paths


def baseline(path: Path) -> object:
    """The reading of ``compare`` before column-wise float32: NumPy columns, stacked."""
    table = read_table(path)
    _, y = np.unique(table.pop("label"), return_inverse=True)
    X = np.column_stack(list(table.values())).astype(np.float32)
    if not np.isfinite(X).all():
        raise ValueError("not finite")
    train, val, test, _, _ = split_per_class(y)
    return X[train], X[val], X[test]


METHODS = {
    "load_user_data": lambda path: load_user_data(path),
    "baseline": baseline,
}


def child(method: str, path: Path) -> None:
    """Print the seconds and the peak extra resident MiB of one run of ``method``."""
    status = Path("/proc/self/status")

    def read(field: str) -> int:
        line = next(s for s in status.read_text().splitlines() if s.startswith(field))
        return int(line.split()[1])  # KiB

    if method == "resplit(1)":
        splits = load_user_data(path)
        run = lambda _: splits.resplit(1)  # noqa: E731
    else:
        run = METHODS[method]
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    before = read("VmRSS:")
    start = time.perf_counter()
    run(path)
    seconds = time.perf_counter() - start
    print(seconds, (read("VmHWM:") - before) / 1024)


def measure(method: str, path: Path) -> tuple[float, float]:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, mib = out.stdout.split()
    return float(seconds), float(mib)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=360)
    parser.add_argument("--references", action="store_true")
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        paths = write_tables(Path(folder), args.rows, args.columns)
        floor = args.rows * args.columns * 4 / 2**20
        print(
            f"{args.rows:,} rows x {args.columns} float columns, {CLASSES} long-tailed classes; "
            f"{os.cpu_count()} CPUs; the float32 features take {floor:.0f} MiB\n"
        )
        print("| file | method | wall time | peak extra memory | / float32 features |")
        print("|---|---|---:|---:|---:|")
        for kind, path in paths.items():
            size = path.stat().st_size / 2**20
            for method in ("load_user_data", "baseline", "resplit(1)"):
                seconds, mib = measure(method, path)
                print(
                    f"| {kind} ({size:.0f} MiB) | `{method}` | {seconds:.2f} s | {mib:.0f} MiB "
                    f"| {mib / floor:.1f}x |"
                )
        if args.references:
            splits = load_user_data(paths["Parquet"])
            print("\n| reference | wall time |")
            print("|---|---:|")
            for name in REFERENCES:
                start = time.perf_counter()
                reference_probabilities(name, splits, seed=0)
                print(f"| `{name}` | {time.perf_counter() - start:.1f} s |")


if __name__ == "__main__":
    main()
