"""Under a real gloo group, losses with `ddp_denominator` give the global weighted mean and, after
DistributedDataParallel's averaging of gradients, exactly its gradient."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from _groups import run_group

from counterpoise import functional as F
from counterpoise.distributed import ddp_denominator

N, D, C = 23, 4, 5
WEIGHT = torch.tensor([0.5, 1.0, 3.0, 8.0, 20.0], dtype=torch.float64)


def batch():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(N, D, generator=g, dtype=torch.float64)
    target = torch.randint(0, C, (N,), generator=g)
    target[[2, 11]] = -100
    sample_weight = torch.rand(N, generator=g, dtype=torch.float64) + 0.5
    binary = (torch.rand(N, C, generator=g) < 0.3).double()
    params = torch.randn(D, C, generator=g, dtype=torch.float64)
    return features, target, sample_weight, binary, params


LOSSES = {
    "cross_entropy": lambda x, t, sw, b, d: F.cross_entropy(
        x, t, WEIGHT, sample_weight=sw, denominator=d
    ),
    "focal": lambda x, t, sw, b, d: F.focal_loss(x, t, gamma=2.0, alpha=WEIGHT, denominator=d),
    "ldam": lambda x, t, sw, b, d: F.ldam_loss(
        x, t, torch.tensor([50, 20, 9, 4, 1]), scale=5.0, weight=WEIGHT, denominator=d
    ),
    "bce": lambda x, t, sw, b, d: F.binary_cross_entropy_with_logits(
        x, b, pos_weight=WEIGHT, denominator=d
    ),
}
DENOMINATOR = {
    "cross_entropy": lambda t, sw, b: ddp_denominator(t, WEIGHT, sample_weight=sw),
    "focal": lambda t, sw, b: ddp_denominator(t, WEIGHT),
    "ldam": lambda t, sw, b: ddp_denominator(t, WEIGHT),
    "bce": lambda t, sw, b: ddp_denominator(b),
}


def _worker(rank: int) -> None:
    world = dist.get_world_size()
    features, target, sample_weight, binary, params = batch()
    bounds = torch.linspace(0, N, world + 1).round().long().tolist()
    bounds[1] -= 2  # uneven shards with different class mixes
    part = slice(bounds[rank], bounds[rank + 1])
    for name, loss_fn in LOSSES.items():
        # one process, the whole batch, the plain weighted mean
        w = params.clone().requires_grad_()
        full = loss_fn(features @ w, target, sample_weight, binary, None)
        (expected,) = torch.autograd.grad(full, w)
        # this rank's shard with the global denominator, then DDP's averaging
        w = params.clone().requires_grad_()
        d = DENOMINATOR[name](target[part], sample_weight[part], binary[part])
        local = loss_fn(features[part] @ w, target[part], sample_weight[part], binary[part], d)
        (grad,) = torch.autograd.grad(local, w)
        dist.all_reduce(grad)
        grad /= world
        value = local.detach().clone()
        dist.all_reduce(value)
        assert torch.allclose(value / world, full, rtol=1e-10, atol=1e-12), name
        assert torch.allclose(grad, expected, rtol=1e-10, atol=1e-12), name


@pytest.mark.parametrize("world_size", [2, 3])
def test_ddp_weighted_mean_is_exact(tmp_path, world_size):
    run_group(_worker, tmp_path, world_size=world_size)
