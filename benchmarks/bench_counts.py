"""Speed of class counting: ``class_counts`` against ``np.bincount`` and scikit-learn.

In-memory cases count ``--n`` int64 labels (10^8 by default) drawn uniformly from 1000 and from
10 classes with

* ``np.bincount``: the floor, one pass that cannot check or skip anything;
* ``class_counts`` on the NumPy array and on a tensor sharing its memory;
* ``compute_class_weight("balanced")`` of scikit-learn, which counts through ``np.unique``
  (sorting). It runs on at most ``--sklearn-n`` labels (10^7 by default) and its time is
  scaled linearly to ``--n`` labels (sorting is in fact slightly worse than linear, so the
  extrapolation favours scikit-learn); the table marks such rows.

A segmentation case counts uint8 masks of 19 classes in which 5% of the pixels are the ignored
value 255, against ``np.bincount`` of the pixels that are not ignored (a masking pass and a
copy, then the count).

The streaming case counts a Parquet file of ``--stream-n`` rows (10^7 by default) with
``class_counts(path)``, which reads it in batches, against reading the whole column with
``pyarrow.parquet.read_table`` and counting it with ``np.bincount``. For it, the table also
gives the peak extra resident memory of one run in a fresh process (Linux ``VmHWM``, reset
through ``/proc/self/clear_refs``).

Times are the best of ``--repeats`` runs, the methods interleaved so that drift of a shared
machine hits them alike.

Usage::

    python benchmarks/bench_counts.py [--n 100000000] [--repeats 5] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
import torch
from sklearn.utils.class_weight import compute_class_weight

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _timing import best_times

from counterpoise.counts import class_counts

Row = tuple[str, str, int, float, bool, float | None]  # case, method, labels, s, scaled, MiB


def peak_extra_mib(method: str, path: Path) -> float | None:
    """Peak resident memory of one run of a streaming ``method`` above the resident memory
    before it, measured in a fresh process (Linux only)."""
    if not Path("/proc/self/clear_refs").exists():
        return None
    probe = [sys.executable, __file__, "--probe", method, str(path)]
    return float(subprocess.run(probe, check=True, capture_output=True, text=True).stdout)


def probe(method: str, path: Path) -> None:
    """Print the peak extra resident memory (MiB) of ``STREAMING[method](path)``."""
    status = Path("/proc/self/status")

    def read(field: str) -> int:
        line = next(s for s in status.read_text().splitlines() if s.startswith(field))
        return int(line.split()[1])  # kB

    run = STREAMING[method]
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    before = read("VmRSS:")
    run(path)
    print((read("VmHWM:") - before) / 1024)


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


STREAMING: dict[str, Callable[[Path], object]] = {
    "read_table + np.bincount": lambda path: np.bincount(
        pq.read_table(path).column("label").to_numpy()
    ),
    "class_counts(path)": class_counts,
}


def segmentation(n: int, repeats: int) -> list[Row]:
    """uint8 masks of 19 classes with 5% of the pixels ignored (255), as in Cityscapes."""
    rng = np.random.default_rng(19)
    masks = rng.integers(0, 19, (n // (512 * 1024), 512, 1024), dtype=np.uint8)
    masks[rng.random(masks.shape, dtype=np.float32) < 0.05] = 255
    expected = np.bincount(masks[masks != 255], minlength=19)
    if not np.array_equal(class_counts(masks, ignore_index=255).numpy(), expected):
        raise RuntimeError("class_counts disagrees with np.bincount on the masks")
    times = best_times(
        {
            "np.bincount(masks[masks != 255])": lambda: np.bincount(
                masks[masks != 255], minlength=19
            ),
            "class_counts(masks, ignore_index=255)": lambda: class_counts(
                masks, ignore_index=255, num_classes=19
            ),
        },
        repeats,
    )
    case = f"uint8 masks {masks.shape}, C=19 + ignored 255"
    return [(case, name, masks.size, s, False, None) for name, s in times.items()]


def streaming(n: int, repeats: int, directory: Path) -> list[Row]:
    path = directory / "labels.parquet"
    y = np.random.default_rng(0).integers(0, 1000, n, dtype=np.int64)
    pq.write_table(pa.table({"label": y}), path, row_group_size=1 << 20)
    expected = np.bincount(y)
    del y
    if not np.array_equal(class_counts(path).numpy(), expected):
        raise RuntimeError("class_counts disagrees with np.bincount on the Parquet file")
    memory = {name: peak_extra_mib(name, path) for name in STREAMING}
    times = best_times({name: partial(run, path) for name, run in STREAMING.items()}, repeats)
    case = f"Parquet file, {n:.0e} rows, C=1000"
    return [(case, name, n, s, False, memory[name]) for name, s in times.items()]


def table(rows: list[Row]) -> str:
    lines = [
        "| case | method | seconds | labels/s | time / first of case | faster than scikit-learn |"
        " peak extra MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for case, method, n, seconds, scaled, mib in rows:
        group = [r for r in rows if r[0] == case]
        floor = group[0][3]  # the first method of each case is the reference
        sk = next((r[3] for r in group if r[1].startswith("compute_class_weight")), None)
        label = f"{method} (scaled from fewer labels)" if scaled else method
        versus_sk = f"{sk / seconds:.1f}x" if sk is not None else ""
        memory = f"{mib:.0f}" if mib is not None else ""
        lines.append(
            f"| {case} | {label} | {seconds:.4g} | {n / seconds:.3g} | {seconds / floor:.2f} | "
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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument("--probe", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe[0], Path(args.probe[1]))
        return

    with tempfile.TemporaryDirectory() as directory:
        streamed = streaming(args.stream_n, args.repeats, Path(directory))
    rows = [r for c in (1000, 10) for r in in_memory(args.n, args.sklearn_n, c, args.repeats)]
    rows += segmentation(args.n, args.repeats) + streamed
    text = f"Machine: {machine()}\n\n{table(rows)}\n"
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
