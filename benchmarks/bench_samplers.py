"""Draw one epoch of indices: ClassBalancedSampler against WeightedRandomSampler.

For each dataset size N, in a fresh process: long-tailed labels (1000 classes, imbalance factor
100, shuffled), then

- the time to build the sampler and to iterate one epoch of N indices one at a time, as a
  DataLoader does (a plain ``for`` loop, and torch's ``BatchSampler`` of 256 that a DataLoader
  runs with ``sampler=``);
- our batch form, ``EpochBatchSampler`` of 256, for a DataLoader's ``batch_sampler=``;
- the same iteration over a precomputed Python list of the same indices (the floor for any
  Python-level sampler), and over the same indices held as machine integers, which makes a new
  Python int per index as any drawing sampler must, but draws nothing;
- ``WeightedRandomSampler`` over the per-sample weights ``w[labels]`` (it fails beyond 2^24);
- the largest deviation of the drawn class proportions from the target 1/C;
- the peak memory the sampler adds to the process (resident set size above the labels).

Usage: ``python benchmarks/bench_samplers.py [--sizes 1e6 1e7 1e8]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import array
import itertools
import json
import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, WeightedRandomSampler

from counterpoise.samplers import ClassBalancedSampler, EpochBatchSampler

NUM_CLASSES = 1000
IMBALANCE = 100.0
BATCH = 256
BLOCK = 1 << 16


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def long_tailed_labels(n: int) -> np.ndarray:
    share = IMBALANCE ** (-np.arange(NUM_CLASSES) / (NUM_CLASSES - 1))
    counts = np.floor(share / share.sum() * n).astype(np.int64)
    counts[0] += n - counts.sum()
    labels = np.repeat(np.arange(NUM_CLASSES), counts)  # int64, no larger temporary
    np.random.default_rng(0).shuffle(labels)
    return labels


def timed_loop(iterable: Any) -> float:
    """Seconds to pass over ``iterable`` one item at a time."""
    start = time.perf_counter()
    for _ in iterable:
        pass
    return time.perf_counter() - start


def best_times(candidates: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """The best of ``repeats`` passes over what each candidate returns, taken in turns so that a
    change of load on a shared machine affects them all alike."""
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(repeats):
        for name, make in candidates.items():
            best[name] = min(best[name], timed_loop(make()))
    return best


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
    list(ClassBalancedSampler([0, 1, 1]))  # imports and first-call costs out of the way
    labels = long_tailed_labels(n)
    base = rss_mib()
    row: dict[str, Any] = {"n": n}

    start = time.perf_counter()
    sampler = ClassBalancedSampler(torch.from_numpy(labels), "balanced", seed=0)
    row["build_s"] = time.perf_counter() - start
    row["ours_loop_s"] = timed_loop(sampler)
    row["peak_extra_mib"] = peak_rss_mib() - base  # building the sampler and one epoch
    row["index_mib"] = n * 8 / 2**20
    if n <= 10**7:
        plan = list(sampler)
        # the same indices as machine integers: iterating makes a new int per index, as any
        # sampler that draws its indices must, but draws nothing
        blocks = [array.array("q", plan[i : i + BLOCK]) for i in range(0, n, BLOCK)]
        candidates: dict[str, Callable[[], Any]] = {
            "ours_loop_s": lambda: sampler,
            "list_loop_s": lambda: plan,
            "ints_loop_s": lambda: itertools.chain.from_iterable(blocks),
            "ours_batch_s": lambda: BatchSampler(sampler, BATCH, drop_last=False),
            "list_batch_s": lambda: BatchSampler(plan, BATCH, drop_last=False),
            "ours_epoch_batch_s": lambda: EpochBatchSampler(sampler, BATCH),
        }
        row.update(best_times(candidates, repeats=5))
        del plan, blocks, candidates
    row["ours_dev"] = class_deviation(labels, EpochBatchSampler(sampler, BLOCK))

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
    def rate(row: dict[str, Any], key: str) -> str:  # millions of indices per second
        return f"{row['n'] / row[key] / 1e6:.2f} M/s" if key in row else "-"

    def ratio(row: dict[str, Any], a: str, b: str) -> str:
        return f"{row[a] / row[b]:.2f}x" if a in row and b in row else "-"

    lines = [
        "| N | build (s) | ours, for loop | list, for loop | new ints, for loop "
        "| ours, BatchSampler "
        "| list, BatchSampler | ours, EpochBatchSampler | WeightedRandomSampler, for loop "
        "| ours / WRS throughput (for loop) | ours / list time: for loop, BatchSampler, "
        "EpochBatchSampler | max class deviation ours / WRS "
        "| peak extra memory / int64 index (MiB) |",
        "|" + "---|" * 13,
    ]
    for r in rows:
        wrs = rate(r, "wrs_loop_s") if "wrs_loop_s" in r else f"fails: {r['wrs_error']}"
        dev_wrs = f"{r['wrs_dev']:.2%}" if "wrs_dev" in r else "-"
        lines.append(
            f"| {r['n']:.0e} | {r['build_s']:.2f} | {rate(r, 'ours_loop_s')} "
            f"| {rate(r, 'list_loop_s')} | {rate(r, 'ints_loop_s')} | {rate(r, 'ours_batch_s')} "
            f"| {rate(r, 'list_batch_s')} | {rate(r, 'ours_epoch_batch_s')} | {wrs} "
            f"| {ratio(r, 'wrs_loop_s', 'ours_loop_s')} "
            f"| {ratio(r, 'ours_loop_s', 'list_loop_s')}, "
            f"{ratio(r, 'ours_batch_s', 'list_batch_s')}, "
            f"{ratio(r, 'ours_epoch_batch_s', 'list_batch_s')} "
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
