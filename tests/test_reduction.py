"""Tests of the shared reduction step."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.reduction import REDUCTIONS, reduce

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def batches(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    loss = torch.rand(n, generator=g, dtype=torch.float64) * 5
    weight = torch.rand(n, generator=g, dtype=torch.float64)
    mask = torch.rand(n, generator=g) < draw(st.floats(0.0, 1.0))
    return loss, weight, mask


@SETTINGS
@given(batches())
def test_weighted_masked_mean_matches_the_formula(batch: tuple[torch.Tensor, ...]) -> None:
    loss, weight, mask = batch
    kept = [i for i in range(len(loss)) if mask[i]]
    numerator = sum(float(loss[i]) for i in kept)
    den = sum(float(weight[i]) for i in kept)
    expected = numerator / den if den > 0 else 0.0
    got = reduce(loss, "mean", weight=weight, mask=mask)
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert reduce(loss, "sum", weight=weight, mask=mask).item() == pytest.approx(numerator)
    none = reduce(loss, "none", mask=mask)
    assert torch.equal(none, torch.where(mask, loss, 0.0))


@SETTINGS
@given(batches(), st.integers(1, 4))
def test_micro_batch_means_add_up_to_the_whole_batch(
    batch: tuple[torch.Tensor, ...], parts: int
) -> None:
    loss, weight, mask = batch
    whole = reduce(loss, "mean", weight=weight, mask=mask)
    total_weight = float(torch.where(mask, weight, 0.0).sum())
    pieces = zip(
        loss.tensor_split(parts), weight.tensor_split(parts), mask.tensor_split(parts), strict=True
    )
    summed = sum(
        reduce(lo, "mean", weight=w, mask=m, denominator=total_weight) for lo, w, m in pieces
    )
    assert float(summed) == pytest.approx(float(whole), rel=1e-12, abs=1e-12)


def test_unweighted_mean_counts_unmasked_elements() -> None:
    loss = torch.tensor([1.0, 2.0, 3.0, 10.0])
    mask = torch.tensor([True, True, True, False])
    assert reduce(loss, "mean", mask=mask).item() == pytest.approx(2.0)
    assert reduce(loss, "mean").item() == pytest.approx(4.0)


def test_all_masked_gives_zero_with_zero_gradient() -> None:
    loss = torch.tensor([1.0, float("nan"), 3.0], requires_grad=True)
    weight = torch.tensor([1.0, 2.0, 3.0])
    out = reduce(loss, "mean", weight=weight, mask=torch.zeros(3, dtype=torch.bool))
    out.backward()
    assert out.item() == 0.0
    assert loss.grad is not None and torch.equal(loss.grad, torch.zeros(3))


def test_masked_nan_does_not_leak_into_value_or_gradient() -> None:
    loss = torch.tensor([1.0, float("nan"), 3.0], requires_grad=True)
    mask = torch.tensor([True, False, True])
    out = reduce(loss, "mean", mask=mask)
    out.backward()
    assert out.item() == pytest.approx(2.0)
    assert loss.grad is not None and torch.equal(loss.grad, torch.tensor([0.5, 0.0, 0.5]))


def test_zero_denominator_gives_zero() -> None:
    loss = torch.zeros(3, requires_grad=True)
    out = reduce(loss, "mean", denominator=0)
    out.backward()
    assert out.item() == 0.0
    assert loss.grad is not None and torch.equal(loss.grad, torch.zeros(3))


def test_tensor_denominator_and_segmentation_shapes() -> None:
    loss = torch.rand(2, 3, 4, dtype=torch.float64)
    out = reduce(loss, "mean", denominator=torch.tensor(6.0))
    assert out.item() == pytest.approx(loss.sum().item() / 6.0)
    assert reduce(loss, "none").shape == (2, 3, 4)


def test_gradient_flows_to_weights_in_the_denominator() -> None:
    loss = torch.tensor([1.0, 3.0])
    weight = torch.tensor([1.0, 1.0], requires_grad=True)
    reduce(loss * weight, "mean", weight=weight).backward()
    # d/dw_j (sum w l / sum w) = (l_j - mean) / sum w
    assert weight.grad is not None
    assert torch.allclose(weight.grad, torch.tensor([-0.5, 0.5]))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"reduction": "avg"}, ValueError, "`reduction` must be one of 'none', 'mean', 'sum'"),
        ({"weight": torch.ones(2)}, ValueError, "`weight` must be a tensor of shape (3,)"),
        ({"mask": torch.ones(3)}, TypeError, "`mask` must be a boolean tensor"),
        ({"mask": torch.ones(4, dtype=torch.bool)}, ValueError, "`mask` must be a tensor"),
        ({"denominator": -1.0}, ValueError, "`denominator` must be in [0.0, inf]"),
        ({"denominator": float("nan")}, ValueError, "`denominator` must be a finite number"),
        ({"denominator": "3"}, TypeError, "`denominator` must be a real number"),
        (
            {"reduction": "sum", "denominator": 2.0},
            ValueError,
            '`denominator` must be None unless reduction="mean"',
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    options: dict[str, object] = {"reduction": "mean", **kwargs}
    reduction = options.pop("reduction")
    with pytest.raises(error) as info:
        reduce(torch.ones(3), reduction, **options)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_reductions_constant() -> None:
    assert REDUCTIONS == ("none", "mean", "sum")
