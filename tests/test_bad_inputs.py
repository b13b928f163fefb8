"""Bad input across the public surface: each case gets the package's clear error (the argument,
what was expected, what was received), never a crash from inside NumPy or PyTorch, a NaN or a
silently wrong number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import counterpoise as cp
from counterpoise import functional as cf
from counterpoise.distributed import ddp_denominator

X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 0])

#: (what is wrong, the call, the error, the argument named, the start of the expectation)
CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    (
        "a list as class-index target",
        lambda: cf.cross_entropy(X, [0, 1, 2, 0]),
        TypeError,
        "target",
        "a tensor of class indices or of probabilities",
    ),
    (
        "ignore_index None",
        lambda: cf.cross_entropy(X, Y, ignore_index=None),
        TypeError,
        "ignore_index",
        "an integer",
    ),
    (
        "a boolean ignore_index",
        lambda: cf.focal_loss(X, Y, ignore_index=True),
        TypeError,
        "ignore_index",
        "an integer",
    ),
    (
        "negative probability targets",
        lambda: cf.cross_entropy(X, torch.tensor([[1.5, -0.5, 0.0]] + [[1.0, 0.0, 0.0]] * 3)),
        ValueError,
        "target",
        "probabilities in [0, 1] along dimension 1 that sum to 1",
    ),
    (
        "probability targets that do not sum to 1",
        lambda: cf.cross_entropy(X, torch.tensor([[0.5, 0.2, 0.0]] + [[1.0, 0.0, 0.0]] * 3)),
        ValueError,
        "target",
        "probabilities in [0, 1] along dimension 1 that sum to 1",
    ),
    (
        "targets on another device than the logits",
        lambda: cf.cross_entropy(torch.randn(4, 3, device="meta"), Y),
        ValueError,
        "target",
        "a tensor on the device of `input` (meta)",
    ),
    (
        "a (N, 1) sample weight for (N,) targets in ddp_denominator",
        lambda: ddp_denominator(Y, sample_weight=torch.ones(4, 1)),
        ValueError,
        "sample_weight",
        "a tensor of the target's shape (4,)",
    ),
    (
        "a NaN class weight in ddp_denominator",
        lambda: ddp_denominator(Y, torch.tensor([1.0, float("nan"), 1.0])),
        ValueError,
        "weight",
        "finite",
    ),
    (
        "an ignore_value inside [0, 1] in ddp_denominator",
        lambda: ddp_denominator(torch.rand(4, 2), ignore_value=0.5),
        ValueError,
        "ignore_value",
        "a number outside [0, 1]",
    ),
    (
        "ignore_value beside a loss in ddp_denominator",
        lambda: ddp_denominator(torch.rand(4, 2), loss=cp.AsymmetricLoss(), ignore_value=-1),
        ValueError,
        "ignore_value",
        "None when `loss` is given",
    ),
]


@pytest.mark.parametrize(
    ("what", "call", "error", "name", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_gets_a_clear_error(what, call, error, name, expected, raises):
    with raises(error, name, expected):
        call()


def test_ddp_denominator_leaves_out_unannotated_labels():
    target = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    assert ddp_denominator(target, ignore_value=-1).item() == 4
    assert ddp_denominator(target, loss=cp.WeightedBCEWithLogitsLoss(ignore_value=-1)).item() == 4
    nan = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    assert ddp_denominator(nan, ignore_value=float("nan")).item() == 3
