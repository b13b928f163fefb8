"""Equivalence with PyTorch's own losses for every argument they share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise import functional as cf

SETTINGS = settings(max_examples=80, deadline=None)
TOLERANCE = {torch.float64: 1e-10, torch.float32: 2e-5}


@dataclass
class Case:
    input: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor | None
    ignore_index: int
    label_smoothing: float
    reduction: str
    upstream: torch.Tensor  # random cotangent, so that "none" checks every gradient


@st.composite
def cross_entropy_cases(draw: st.DrawFn, dtype: torch.dtype, probabilities: bool) -> Case:
    n = draw(st.integers(1, 7))
    c = draw(st.integers(1, 6))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    scale = draw(st.sampled_from([1.0, 10.0]))
    x = (torch.randn((n, c, *spatial), generator=g, dtype=torch.float64) * scale).to(dtype)
    ignore_index = -100 if probabilities else draw(st.sampled_from([-100, 0, c - 1, 255]))
    if probabilities:
        target = torch.rand((n, c, *spatial), generator=g, dtype=torch.float64)
        target = (target / target.sum(1, keepdim=True)).to(dtype)
    else:
        target = torch.randint(0, c, (n, *spatial), generator=g)
        if draw(st.booleans()):  # sprinkle the ignore_index
            drop = torch.rand(target.shape, generator=g) < 0.3
            target = torch.where(drop, torch.tensor(ignore_index), target)
    weight = None
    if draw(st.booleans()):
        weight = (torch.rand(c, generator=g, dtype=torch.float64) * 2 + 0.1).to(dtype)
    smoothing = draw(st.sampled_from([0.0, 0.1, draw(st.floats(0.0, 1.0))]))
    reduction = draw(st.sampled_from(["none", "mean", "sum"]))
    shape = target.shape if not probabilities else (n, *spatial)
    upstream = torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)
    return Case(x, target, weight, ignore_index, smoothing, reduction, upstream)


def _value_and_grad(fn: object, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    x = case.input.clone().requires_grad_()
    out = fn(  # type: ignore[operator]
        x,
        case.target,
        case.weight,
        ignore_index=case.ignore_index,
        label_smoothing=case.label_smoothing,
        reduction=case.reduction,
    )
    (out * case.upstream if case.reduction == "none" else out).sum().backward()
    assert x.grad is not None
    return out.detach(), x.grad


def _everything_ignored(case: Case) -> bool:
    return not case.target.is_floating_point() and bool((case.target == case.ignore_index).all())


@SETTINGS
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("probabilities", [False, True])
@given(data=st.data())
def test_cross_entropy_matches_torch(
    dtype: torch.dtype, probabilities: bool, data: st.DataObject
) -> None:
    case = data.draw(cross_entropy_cases(dtype, probabilities))
    ours, our_grad = _value_and_grad(cf.cross_entropy, case)
    theirs, their_grad = _value_and_grad(F.cross_entropy, case)
    assert ours.dtype == theirs.dtype == dtype
    tol = TOLERANCE[dtype]
    if case.reduction == "mean" and _everything_ignored(case):
        # The one documented difference: 0 instead of NaN.
        assert ours.item() == 0.0 and torch.isnan(theirs)
    else:
        torch.testing.assert_close(ours, theirs, rtol=tol, atol=tol)
    torch.testing.assert_close(our_grad, their_grad, rtol=tol, atol=tol)


@settings(max_examples=40, deadline=None)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@given(data=st.data())
def test_cross_entropy_half_inputs_are_computed_in_float32(
    dtype: torch.dtype, data: st.DataObject
) -> None:
    case = data.draw(cross_entropy_cases(dtype, probabilities=False))
    if _everything_ignored(case):
        return
    ours, our_grad = _value_and_grad(cf.cross_entropy, case)
    # Reference: PyTorch in float32 on the very same (half-precision) numbers.
    wide = Case(
        case.input.float(),
        case.target,
        None if case.weight is None else case.weight.float(),
        case.ignore_index,
        case.label_smoothing,
        case.reduction,
        case.upstream.float(),
    )
    theirs, their_grad = _value_and_grad(F.cross_entropy, wide)
    assert ours.dtype == our_grad.dtype == dtype
    tol = 1e-2 if dtype == torch.bfloat16 else 2e-3
    torch.testing.assert_close(ours.float(), theirs, rtol=tol, atol=tol)
    torch.testing.assert_close(our_grad.float(), their_grad, rtol=tol, atol=tol)


def test_all_ignored_batch_is_zero_not_nan() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    target = torch.full((4,), -100)
    theirs = F.cross_entropy(x, target)
    ours = cf.cross_entropy(x, target, torch.tensor([1.0, 2.0, 3.0]))
    ours.backward()
    assert torch.isnan(theirs)
    assert ours.item() == 0.0
    assert x.grad is not None and torch.equal(x.grad, torch.zeros(4, 3))


@st.composite
def bce_cases(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, str]:
    n = draw(st.integers(1, 8))
    shape = draw(st.sampled_from([(n,), (n, draw(st.integers(1, 5)))]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn(shape, generator=g, dtype=torch.float64) * draw(st.sampled_from([1.0, 20.0]))
    soft = draw(st.booleans())
    y = torch.rand(shape, generator=g, dtype=torch.float64)
    y = y if soft else (y > 0.5).double()
    labels = 1 if len(shape) == 1 else shape[1]
    length = draw(st.sampled_from([1, labels]))
    pos_weight = None
    if draw(st.booleans()):
        pos_weight = torch.rand(length, generator=g, dtype=torch.float64) * 10
    return x, y, pos_weight, draw(st.sampled_from(["none", "mean", "sum"]))


@SETTINGS
@given(bce_cases())
def test_bce_with_pos_weight_matches_torch(
    case: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, str],
) -> None:
    x, y, pos_weight, reduction = case
    results = []
    for fn in (cf.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits):
        xg = x.clone().requires_grad_()
        out = fn(xg, y, pos_weight=pos_weight, reduction=reduction)  # type: ignore[operator]
        out.sum().backward()
        results.append((out.detach(), xg.grad))
    torch.testing.assert_close(results[0], results[1], rtol=1e-10, atol=1e-10)


def _along_classes(v, x):
    """A per-class vector shaped to broadcast along dimension 1 of ``x``."""
    return v.view(1, -1, *[1] * (x.ndim - 2))


def _adjusted_losses():
    import counterpoise.functional as cf

    counts = torch.tensor([40.0, 9.0, 3.0, 1.0], dtype=torch.float64)
    margins = cf.ldam_margins(counts, 0.5).double()
    return {
        "logit_adjusted": (
            lambda x, t, w, eps: cf.logit_adjusted_loss(
                x, t, counts / counts.sum(), tau=0.7, weight=w, label_smoothing=eps
            ),
            lambda x, t: x + 0.7 * _along_classes((counts / counts.sum()).log(), x),
        ),
        "balanced_softmax": (
            lambda x, t, w, eps: cf.balanced_softmax_loss(
                x, t, counts, weight=w, label_smoothing=eps
            ),
            lambda x, t: x + _along_classes(counts.log(), x),
        ),
        "ldam": (
            lambda x, t, w, eps: cf.ldam_loss(
                x, t, counts, scale=5.0, weight=w, label_smoothing=eps
            ),
            lambda x, t: (
                5.0
                * (
                    x
                    - torch.nn.functional.one_hot(t.clamp_min(0), 4).movedim(-1, 1)
                    * margins.view(1, 4, *[1] * (x.ndim - 2))
                )
            ),
        ),
    }


@pytest.mark.parametrize("name", ["logit_adjusted", "balanced_softmax", "ldam"])
@pytest.mark.parametrize("shape", [(7, 4), (3, 4, 5)])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.35])
@pytest.mark.parametrize("weighted", [False, True])
def test_adjusted_losses_with_smoothing_equal_torch_on_the_adjusted_logits(
    name, shape, eps, weighted
):
    ours, adjust = _adjusted_losses()[name]
    g = torch.Generator().manual_seed(len(name) + shape[0])
    x = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 4, (shape[0], *shape[2:]), generator=g)
    t.view(-1)[0] = -100
    w = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64) if weighted else None
    got = ours(x, t, w, eps)
    want = torch.nn.functional.cross_entropy(adjust(x, t), t, w, label_smoothing=eps)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    (g_got,) = torch.autograd.grad(got, x)
    (g_want,) = torch.autograd.grad(want, x)
    torch.testing.assert_close(g_got, g_want, rtol=1e-9, atol=1e-12)
