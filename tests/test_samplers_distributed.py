"""Samplers under real ``torch.distributed`` process groups (gloo, 2 and 3 processes on CPU)."""

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from counterpoise.samplers import (
    ClassBalancedSampler,
    EpochBatchSampler,
    ProgressivelyBalancedSampler,
    RepeatFactorSampler,
)

pytestmark = pytest.mark.skipif(
    not dist.is_available() or "fork" not in mp.get_all_start_methods(),
    reason="needs torch.distributed and the fork start method",
)

LABELS = torch.repeat_interleave(torch.arange(4), torch.tensor([300, 120, 50, 30]))


def build(kind, **kwargs):
    if kind == "balanced":
        return ClassBalancedSampler(LABELS, seed=11, **kwargs)
    if kind == "undersampling":
        return ClassBalancedSampler(LABELS, None, replacement=False, num_samples=401, **kwargs)
    if kind == "progressive":
        return ProgressivelyBalancedSampler(LABELS, 3, weights="sqrt", num_samples=350, **kwargs)
    targets = torch.zeros(90, 3, dtype=torch.bool)
    targets[:, 0] = True
    targets[::9, 1] = True
    return RepeatFactorSampler(targets, threshold=0.5, seed=2, **kwargs)


KINDS = ("balanced", "undersampling", "progressive", "repeat")


def gathered(obj, world):
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


def check_rank(rank, world, init_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        for kind in KINDS:
            for drop_last in (False, True):
                # num_replicas and rank come from the process group
                sampler = build(kind, drop_last=drop_last)
                assert (sampler.num_replicas, sampler.rank) == (world, rank)
                sampler.set_epoch(1)
                shares = gathered(list(sampler), world)

                single = build(kind, num_replicas=1, rank=0)
                single.set_epoch(1)
                plan = list(single)
                length = len(plan) // world if drop_last else -(-len(plan) // world)
                assert [len(s) for s in shares] == [length] * world
                joined = [i for share in shares for i in share]
                assert joined == (plan + plan)[: length * world]
                if drop_last:  # disjoint shares: every taken position of the plan exactly once
                    assert sorted(joined) == sorted(plan[: length * world])

                # resume: each rank stops after 7 indices, a fresh sampler yields the rest
                iterator = iter(sampler)
                head = [next(iterator) for _ in range(7)]
                state = gathered(sampler.state_dict(), world)[0]  # one rank's state for all
                fresh = build(kind, drop_last=drop_last)
                fresh.load_state_dict(state)
                assert head + list(fresh) == shares[rank]

                # batches sliced from the same share
                batches = list(EpochBatchSampler(sampler, 8))
                assert [i for b in batches for i in b] == shares[rank]
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_cover_the_single_process_plan(world, tmp_path):
    # fork: the children inherit the imported modules instead of importing torch again
    mp.start_processes(
        check_rank, args=(world, str(tmp_path / "store")), nprocs=world, start_method="fork"
    )
