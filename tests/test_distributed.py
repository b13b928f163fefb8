"""Tests for counterpoise.distributed and count_labels(all_reduce=True) on a real gloo group."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter

import numpy as np
import pytest
import torch
from _groups import WORLD_SIZE, run_group

from counterpoise import distributed
from counterpoise.counts import count_labels


def test_without_a_process_group_everything_is_local():
    assert not distributed.is_initialized()
    assert distributed.get_world_size() == 1
    assert distributed.get_rank() == 0
    tensor = torch.tensor([1.5, 2.0])
    total = distributed.all_reduce_sum(tensor)
    assert torch.equal(total, tensor)
    assert total is not tensor
    assert distributed.all_reduce_max(-3) == -3
    assert distributed.all_reduce_max(torch.tensor([2, -1])).tolist() == [2, -1]


def shard(rank: int) -> np.ndarray:
    """Rank 0 sees classes 0..2, rank 1 classes 0..5: ranks must agree on C = 6."""
    return np.random.default_rng(rank).integers(0, 3 + 3 * rank, 40 + rank)


def words(rank: int) -> list[str]:
    return ["cat", "dog", "dog"] if rank == 0 else ["emu", "dog"]


def tags(rank: int) -> np.ndarray:
    return np.random.default_rng(10 + rank).integers(0, 2, (5 + rank, 4))


def worker(rank: int) -> None:
    assert distributed.is_initialized()
    assert distributed.get_rank() == rank
    assert distributed.get_world_size() == WORLD_SIZE
    assert distributed.all_reduce_max(10 * rank - 4) == 6
    assert distributed.all_reduce_max(torch.tensor([rank, -rank])).tolist() == [1, 0]
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


def test_counts_are_summed_over_a_gloo_group(tmp_path):
    run_group(worker, tmp_path)


def uneven_worker(rank: int) -> None:
    """Ranks whose shards are empty, of another kind or bad raise together instead of hanging."""
    empty = np.zeros(0, dtype=np.int64)
    # an empty shard on one rank: the others' counts, on every rank
    result = count_labels(shard(0) if rank == 0 else empty, all_reduce=True)
    assert result.counts.tolist() == np.bincount(shard(0)).tolist()
    multi = count_labels(
        tags(0) if rank == 0 else np.zeros((0, 4)), multilabel=True, all_reduce=True
    )
    assert multi.counts.tolist() == tags(0).sum(0).tolist()
    words_or_empty = words(0) if rank == 0 else []
    counted = count_labels(words_or_empty, classes=["cat", "dog"], all_reduce=True)
    assert counted.counts.tolist() == [1, 2]
    # empty everywhere: every rank raises the same error
    with pytest.raises(ValueError, match="`source` must be non-empty on at least one rank"):
        count_labels(empty, all_reduce=True)
    with pytest.raises(ValueError, match="`source` must be non-empty on at least one rank"):
        count_labels(iter([]), all_reduce=True)
    # strings on one rank, class indices on the other
    mixed = words(0) if rank == 0 else [0, 1]
    with pytest.raises(ValueError, match="`classes` must be given with all_reduce=True"):
        count_labels(mixed, all_reduce=True)
    # strings on one rank, nothing on the other
    with pytest.raises(ValueError, match="`classes` must be given with all_reduce=True"):
        count_labels(words(0) if rank == 0 else [], all_reduce=True)
    # a bad label on rank 1: rank 1 raises its own error, rank 0 names rank 1
    bad = np.array([0, 1]) if rank == 0 else np.array([0, -3])
    expected = "an error on rank 1" if rank == 0 else "`labels` must be class indices >= 0"
    with pytest.raises(ValueError, match=expected):
        count_labels(bad, all_reduce=True)
    # only ignored labels on the ranks that have any
    ignored = np.full(3, 255) if rank == 0 else empty
    with pytest.raises(ValueError, match="`labels` must be other than `ignore_index`"):
        count_labels(ignored, ignore_index=255, all_reduce=True)
    # the ranks are still in step
    assert distributed.all_reduce_sum(torch.tensor([1])).item() == WORLD_SIZE


def test_uneven_shards_raise_on_every_rank_without_hanging(tmp_path):
    run_group(uneven_worker, tmp_path)


def _sleep_forever(rank: int) -> None:
    if rank == 1:
        time.sleep(3600)


def test_the_harness_fails_a_hang_instead_of_waiting(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="did not finish within"):
        run_group(_sleep_forever, tmp_path, timeout=5, group_timeout=120)
    assert not multiprocessing.active_children()
