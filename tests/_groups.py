"""A harness for tests on a real gloo process group of forked processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2


def run_group(
    worker: Callable[[int], None],
    tmp_path,
    timeout: float = 60.0,
    world_size: int = WORLD_SIZE,
    group_timeout: float | None = None,
) -> None:
    """Run ``worker(rank)`` in a gloo group of ``world_size`` forked processes; a hang fails.

    ``group_timeout`` (default ``timeout``) bounds the group's own operations, its set-up
    included; a test of the harness's deadline sets it longer, so that a set-up slowed by a
    loaded machine cannot time out inside a rank first."""
    # fork keeps the test fast: the children need not import torch again
    init_method = f"file://{tmp_path / 'rendezvous'}"
    context = mp.start_processes(
        _grouped,
        args=(worker, init_method, timeout if group_timeout is None else group_timeout, world_size),
        nprocs=world_size,
        start_method="fork",
        join=False,
    )
    deadline = time.monotonic() + timeout
    while not context.join(timeout=max(deadline - time.monotonic(), 0.1)):
        if time.monotonic() >= deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                process.join()
            pytest.fail(f"the ranks did not finish within {timeout} s (a collective hangs)")


def _grouped(
    rank: int, worker: Callable[[int], None], init_method: str, timeout: float, world_size: int
) -> None:
    torch.set_num_threads(1)  # a forked child must not reuse the parent's thread pool
    dist.init_process_group(
        "gloo",
        init_method=init_method,
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=timeout),
    )
    try:
        worker(rank)
    finally:
        dist.destroy_process_group()
