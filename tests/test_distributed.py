"""Tests for counterpoise.distributed and count_labels(all_reduce=True) on a real gloo group."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from counterpoise import distributed
from counterpoise.counts import count_labels

WORLD_SIZE = 2


def test_without_a_process_group_everything_is_local():
    assert not distributed.is_initialized()
    assert distributed.get_world_size() == 1
    assert distributed.get_rank() == 0
    tensor = torch.tensor([1.5, 2.0])
    total = distributed.all_reduce_sum(tensor)
    assert torch.equal(total, tensor)
    assert total is not tensor
    assert distributed.all_reduce_max(-3) == -3


def shard(rank: int) -> np.ndarray:
    """Rank 0 sees classes 0..2, rank 1 classes 0..5: ranks must agree on C = 6."""
    return np.random.default_rng(rank).integers(0, 3 + 3 * rank, 40 + rank)


def words(rank: int) -> list[str]:
    return ["cat", "dog", "dog"] if rank == 0 else ["emu", "dog"]


def tags(rank: int) -> np.ndarray:
    return np.random.default_rng(10 + rank).integers(0, 2, (5 + rank, 4))


def worker(rank: int, init_method: str) -> None:
    torch.set_num_threads(1)  # a forked child must not reuse the parent's thread pool
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD_SIZE)
    try:
        assert distributed.is_initialized()
        assert distributed.get_rank() == rank
        assert distributed.get_world_size() == WORLD_SIZE
        assert distributed.all_reduce_max(10 * rank - 4) == 6
        local = torch.tensor([rank, 1])
        assert distributed.all_reduce_sum(local).tolist() == [1, 2]
        assert local.tolist() == [rank, 1]

        everything = np.concatenate([shard(r) for r in range(WORLD_SIZE)])
        result = count_labels(shard(rank), all_reduce=True)
        assert result.counts.tolist() == np.bincount(everything).tolist()
        assert result.classes == tuple(range(6))
        assert result.num_samples == everything.size

        every_word = [w for r in range(WORLD_SIZE) for w in words(r)]
        order = ["emu", "cat", "dog"]
        counted = count_labels(words(rank), classes=order, all_reduce=True)
        assert counted.counts.tolist() == [Counter(every_word)[w] for w in order]
        with pytest.raises(ValueError, match="`classes` must be given with all_reduce=True"):
            count_labels(words(rank), all_reduce=True)

        matrix = np.concatenate([tags(r) for r in range(WORLD_SIZE)])
        multi = count_labels(tags(rank), multilabel=True, all_reduce=True)
        assert multi.counts.tolist() == matrix.sum(0).tolist()
        assert multi.num_samples == matrix.shape[0]
        with pytest.raises(ValueError, match="`labels` must be as many columns on every rank"):
            count_labels(tags(rank)[:, : 3 + rank], multilabel=True, all_reduce=True)
    finally:
        dist.destroy_process_group()


def test_counts_are_summed_over_a_gloo_group(tmp_path):
    # fork keeps the test fast: the children need not import torch again
    init_method = f"file://{tmp_path / 'rendezvous'}"
    mp.start_processes(worker, args=(init_method,), nprocs=WORLD_SIZE, start_method="fork")
