"""Draw one epoch of indices: ClassBalancedSampler against WeightedRandomSampler.

For each dataset size N, in a fresh process: long-tailed labels (1000 classes, imbalance factor
100, shuffled), then

- the time to build the sampler and to iterate one epoch of N indices one at a time, as a
  DataLoader does (a plain ``for`` loop, and torch's ``BatchSampler`` of 256 that a DataLoader
  runs with ``sampler=``);
- the same iteration over a precomputed Python list of the same indices (the floor for any
  Python-level sampler);
- ``WeightedRandomSampler`` over the per-sample weights ``w[labels]`` (it fails beyond 2^24);
- the largest deviation of the drawn class proportions from the target 1/C;
- the peak memory the sampler adds to the process (resident set size above the labels).

Usage: ``python benchmarks/bench_samplers.py [--sizes 1e6 1e7 1e8]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, WeightedRandomSampler

from counterpoise.samplers import ClassBalancedSampler, EpochBatchSampler

NUM_CLASSES = 1000
IMBALANCE = 100.0
BATCH = 256


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def long_tailed_labels(n: int) -> np.ndarray:
    share = IMBALANCE ** (-np.arange(NUM_CLASSES) / (NUM_CLASSES - 1))
    counts = np.floor(share / share.sum() * n).astype(np.int64)
    counts[0] += n - counts.sum()
    labels = np.repeat(np.arange(NUM_CLASSES), counts)  # int64, no larger temporary
    np.random.default_rng(0).shuffle(labels)
    return labels


def timed_loop(iterable: Any) -> float:
    start = time.perf_counter()
    for _ in iterable:
        pass
    return time.perf_counter() - start


def class_deviation(labels: np.ndarray, batches: Any) -> float:
    """Largest |drawn share - 1/C| over the classes, relative to 1/C."""
    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    total = 0
    for batch in batches:
        drawn = labels[np.asarray(batch)]
        counts += np.bincount(drawn, minlength=NUM_CLASSES)
        total += len(drawn)
    return float(np.abs(counts / total * NUM_CLASSES - 1).max())


def measure(n: int, out: Any) -> None:
    labels = long_tailed_labels(n)
    base = peak_rss_mib()
    row: dict[str, Any] = {"n": n}

    start = time.perf_counter()
    sampler = ClassBalancedSampler(torch.from_numpy(labels), "balanced", seed=0)
    row["build_s"] = time.perf_counter() - start
    row["ours_loop_s"] = timed_loop(sampler)
    row["peak_extra_mib"] = peak_rss_mib() - base
    row["index_mib"] = n * 8 / 2**20
    if n <= 10**7:
        row["ours_batch_s"] = timed_loop(BatchSampler(sampler, BATCH, drop_last=False))
    row["ours_dev"] = class_deviation(labels, EpochBatchSampler(sampler, 1 << 16))

    if n <= 10**7:
        plan = list(sampler)
        row["list_loop_s"] = timed_loop(plan)
        row["list_batch_s"] = timed_loop(BatchSampler(plan, BATCH, drop_last=False))
        del plan

    balanced = n / (NUM_CLASSES * np.bincount(labels))  # the same class weights, per sample
    weights = torch.from_numpy(balanced)[torch.from_numpy(labels)]
    del balanced
    try:
        row["wrs_loop_s"] = timed_loop(WeightedRandomSampler(weights, n))
        drawn = list(WeightedRandomSampler(weights, n))
        row["wrs_dev"] = class_deviation(labels, [drawn])
    except RuntimeError as error:
        row["wrs_error"] = str(error).splitlines()[0]
    out.put(row)


def run(n: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=measure, args=(n, queue))
    process.start()
    row = queue.get()
    process.join()
    return row


def table(rows: list[dict[str, Any]]) -> str:
    def rate(row: dict[str, Any], key: str) -> str:
        return f"{row['n'] / row[key] / 1e6:.2f}" if key in row else "-"

    def ratio(row: dict[str, Any], a: str, b: str) -> str:
        return f"{row[a] / row[b]:.2f}x" if a in row and b in row else "-"

    lines = [
        "| N | build (s) | ours, for loop (M idx/s) | ours, BatchSampler (M idx/s) "
        "| list, for loop | list, BatchSampler | WeightedRandomSampler (M idx/s) "
        "| ours / WRS throughput | ours / list time (loop, BatchSampler) "
        "| max class deviation ours / WRS | peak extra memory (MiB) / int64 index (MiB) |",
        "|" + "---|" * 11,
    ]
    for r in rows:
        wrs = rate(r, "wrs_loop_s") if "wrs_loop_s" in r else f"fails: {r['wrs_error']}"
        dev_wrs = f"{r['wrs_dev']:.2%}" if "wrs_dev" in r else "-"
        lines.append(
            f"| {r['n']:.0e} | {r['build_s']:.2f} | {rate(r, 'ours_loop_s')} "
            f"| {rate(r, 'ours_batch_s')} | {rate(r, 'list_loop_s')} "
            f"| {rate(r, 'list_batch_s')} | {wrs} | {ratio(r, 'wrs_loop_s', 'ours_loop_s')} "
            f"| {ratio(r, 'ours_loop_s', 'list_loop_s')}, "
            f"{ratio(r, 'ours_batch_s', 'list_batch_s')} "
            f"| {r['ours_dev']:.2%} / {dev_wrs} "
            f"| {r['peak_extra_mib']:.0f} / {r['index_mib']:.0f} "
            f"({r['peak_extra_mib'] / r['index_mib']:.2f}x) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7, 1e8])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        rows.append(run(int(n)))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
