"""Speed of class counting: ``class_counts`` against ``np.bincount`` and scikit-learn.

In-memory cases count ``--n`` int64 labels (10^8 by default) drawn uniformly from 1000 and from
10 classes with

* ``np.bincount``: the floor, one pass that cannot check or skip anything;
* ``class_counts`` on the NumPy array and on a tensor sharing its memory;
* ``compute_class_weight("balanced")`` of scikit-learn, which counts through ``np.unique``
  (sorting). It runs on at most ``--sklearn-n`` labels (10^7 by default) and its time is
  scaled linearly to ``--n`` labels (sorting is in fact slightly worse than linear, so the
  extrapolation favours scikit-learn); the table marks such rows.

The streaming case counts a Parquet file of ``--stream-n`` rows (10^7 by default) with
``class_counts(path)``, which reads it in batches, against reading the whole column with
``pyarrow.parquet.read_table`` and counting it with ``np.bincount``. For it, the table also
gives the peak extra resident memory (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``).

Times are the best of ``--repeats`` runs, the methods interleaved so that drift of a shared
machine hits them alike.

Usage::

    python benchmarks/bench_counts.py [--n 100000000] [--repeats 3] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
import torch
from sklearn.utils.class_weight import compute_class_weight

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from counterpoise.counts import class_counts

Row = tuple[str, str, int, float, bool, float | None]  # case, method, labels, s, scaled, MiB


def best_times(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each method over ``repeats`` interleaved rounds."""
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(repeats):
        for name, run in methods.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def peak_extra_mib(run: Callable[[], object]) -> float | None:
    """Peak resident memory of ``run()`` above the resident memory before it (Linux only)."""
    status = Path("/proc/self/status")
    if not status.exists():
        return None

    def read(field: str) -> int:
        line = next(s for s in status.read_text().splitlines() if s.startswith(field))
        return int(line.split()[1])  # kB

    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    before = read("VmRSS:")
    run()
    return (read("VmHWM:") - before) / 1024


def in_memory(n: int, sklearn_n: int, num_classes: int, repeats: int) -> list[Row]:
    y = np.random.default_rng(num_classes).integers(0, num_classes, n, dtype=np.int64)
    t = torch.from_numpy(y)
    classes = np.arange(num_classes)
    expected = np.bincount(y, minlength=num_classes)
    if not np.array_equal(class_counts(y).numpy(), expected):
        raise RuntimeError("class_counts disagrees with np.bincount")
    times = best_times(
        {
            "np.bincount": lambda: np.bincount(y, minlength=num_classes),
            "class_counts(ndarray)": lambda: class_counts(y),
            "class_counts(tensor)": lambda: class_counts(t),
        },
        repeats,
    )
    m = min(n, sklearn_n)
    sk = best_times(
        {"sk": lambda: compute_class_weight("balanced", classes=classes, y=y[:m])},
        max(1, repeats - 1),
    )["sk"]
    case = f"{n:.0e} int64 labels, C={num_classes}"
    rows: list[Row] = [(case, name, n, s, False, None) for name, s in times.items()]
    rows.append((case, 'compute_class_weight("balanced")', n, sk * n / m, m < n, None))
    return rows


def streaming(n: int, repeats: int, directory: Path) -> list[Row]:
    path = directory / "labels.parquet"
    y = np.random.default_rng(0).integers(0, 1000, n, dtype=np.int64)
    pq.write_table(pa.table({"label": y}), path, row_group_size=1 << 20)
    expected = np.bincount(y)
    del y
    if not np.array_equal(class_counts(path).numpy(), expected):
        raise RuntimeError("class_counts disagrees with np.bincount on the Parquet file")
    methods: dict[str, Callable[[], object]] = {
        "read_table + np.bincount": lambda: np.bincount(
            pq.read_table(path).column("label").to_numpy()
        ),
        "class_counts(path)": lambda: class_counts(path),
    }
    memory = {name: peak_extra_mib(run) for name, run in methods.items()}
    times = best_times(methods, repeats)
    case = f"Parquet file, {n:.0e} rows, C=1000"
    return [(case, name, n, s, False, memory[name]) for name, s in times.items()]


def table(rows: list[Row]) -> str:
    lines = [
        "| case | method | seconds | labels/s | time / np.bincount | faster than scikit-learn |"
        " peak extra MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for case, method, n, seconds, scaled, mib in rows:
        group = [r for r in rows if r[0] == case]
        floor = next((r[3] for r in group if r[1] in ("np.bincount", "read_table + np.bincount")))
        sk = next((r[3] for r in group if r[1].startswith("compute_class_weight")), None)
        label = f"{method} (scaled from fewer labels)" if scaled else method
        versus_sk = f"{sk / seconds:.1f}x" if sk is not None else ""
        memory = f"{mib:.0f}" if mib is not None else ""
        lines.append(
            f"| {case} | {label} | {seconds:.3f} | {n / seconds:.3g} | {seconds / floor:.2f} | "
            f"{versus_sk} | {memory} |"
        )
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{torch.get_num_threads()} torch threads; Python {platform.python_version()}, "
        f"torch {torch.__version__}, NumPy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"pyarrow {pa.__version__}; {datetime.date.today().isoformat()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**8, help="labels in memory")
    parser.add_argument("--sklearn-n", type=int, default=10**7, help="labels given to sklearn")
    parser.add_argument("--stream-n", type=int, default=10**7, help="rows of the Parquet file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    # the file first, while the process is small, so that its memory reads clearly
    with tempfile.TemporaryDirectory() as directory:
        streamed = streaming(args.stream_n, args.repeats, Path(directory))
    rows = [r for c in (1000, 10) for r in in_memory(args.n, args.sklearn_n, c, args.repeats)]
    rows += streamed
    text = f"Machine: {machine()}\n\n{table(rows)}\n"
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
