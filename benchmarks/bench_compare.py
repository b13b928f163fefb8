"""Wall-clock time and peak memory of `counterpoise compare`: idle, beside a CPU-bound job, and
on a large synthetic table.

    python benchmarks/bench_compare.py builtin [--quick] [--load] [--jobs N]
    python benchmarks/bench_compare.py table [--rows 100000] [--features 360] [--quick]

``builtin`` runs the command on digits-lt; ``--load`` starts a CPU-bound process with two
PyTorch threads (matrix products) beside it, as a second job on a shared machine would be.
``table`` writes a long-tailed synthetic table (8 classes, imbalance 100:1, Parquet) and runs the
command on it. Each prints the command's wall-clock time and its peak memory (the proportional set size of the
command and its worker processes, sampled every 0.2 s). ``--src PATH`` runs another checkout's source
(its ``src`` folder), to measure a baseline right beside the current code.
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

LOAD = """
import torch
torch.set_num_threads(2)
a = torch.randn(1500, 1500)
while True:
    a = (a @ a).tanh()
"""


def write_table(path: Path, rows: int, features: int, seed: int = 0) -> None:
    """A learnable long-tailed table: 8 classes with counts falling 100:1, each a Gaussian
    around its own mean, in float32 columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    classes = 8
    share = 100.0 ** (-np.arange(classes) / (classes - 1))
    y = rng.choice(classes, size=rows, p=share / share.sum())
    means = rng.normal(size=(classes, features)).astype(np.float32) * 0.35
    columns = {}
    for j in range(features):
        columns[f"f{j}"] = (means[y, j] + rng.standard_normal(rows, dtype=np.float32)).astype(
            np.float32
        )
    columns["label"] = np.array([f"class_{c}" for c in y])
    pq.write_table(pa.table(columns), path)


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return []
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in _children(k)]


def memory(pid: int) -> int:
    """Proportional set size (bytes) of a process and its descendants: memory shared between
    forked workers counts once in all (Linux /proc)."""
    total = 0
    for p in (pid, *_children(pid)):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def run(command: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, memory(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    output = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode != 0:
        print(output)
    return seconds, peak, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["builtin", "table"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=360)
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(args.src), "COLUMNS": "120"}
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "counterpoise", "compare"]
        if args.what == "table":
            table = Path(tmp) / "table.parquet"
            start = time.perf_counter()
            write_table(table, args.rows, args.features)
            print(
                f"table: {args.rows} x {args.features} written in {time.perf_counter() - start:.1f} s"
            )
            command.append(str(table))
        command += ["--out", str(Path(tmp) / "report")]
        command += ["--quick"] if args.quick else []
        command += [] if args.jobs is None else ["--jobs", str(args.jobs)]
        command += args.extra
        load = None
        if args.load:
            load = subprocess.Popen([sys.executable, "-c", LOAD])
            time.sleep(2.0)
        try:
            seconds, peak, code = run(command, env)
        finally:
            if load is not None:
                load.kill()
        what = f"{args.what}{' --quick' if args.quick else ''}{' beside load' if args.load else ''}"
        print(f"{what}: {seconds:.1f} s, peak memory {peak / 2**30:.2f} GiB, exit {code}")


if __name__ == "__main__":
    main()
