"""Binary and multilabel losses: weighted BCE on logits and the sigmoid focal loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise import functional as cf

SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def multilabel(draw: st.DrawFn) -> dict[str, Any]:
    n, labels = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    shape = draw(st.sampled_from([(n,), (n, labels), (n, labels, 2)]))
    labels = 1 if len(shape) == 1 else labels
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    y = torch.rand(shape, generator=g, dtype=torch.float64)
    return {
        "x": torch.randn(shape, generator=g, dtype=torch.float64) * 4,
        "y": y if draw(st.booleans()) else (y > 0.5).double(),
        "pos": torch.rand(draw(st.sampled_from([1, labels])), generator=g, dtype=torch.float64),
        "neg": torch.rand(draw(st.sampled_from([1, labels])), generator=g, dtype=torch.float64),
        "reduction": draw(st.sampled_from(["none", "mean", "sum"])),
    }


def _along_labels(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v.view((1, -1) + (1,) * (ndim - 2)) if ndim >= 2 else v


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def _same(ours: Callable[[torch.Tensor], torch.Tensor], ref: Callable[..., Any], x: Any) -> None:
    results = []
    for fn in (ours, ref):
        xg = x.clone().requires_grad_()
        out = fn(xg)
        out.sum().backward()
        results.append((out.detach(), xg.grad))
    torch.testing.assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


@SETTINGS
@given(multilabel())
def test_bce_with_positive_and_negative_weights_formula(p: dict[str, Any]) -> None:
    y, red = p["y"], p["reduction"]
    a, b = _along_labels(p["pos"], y.ndim), _along_labels(p["neg"], y.ndim)

    def reference(x: torch.Tensor) -> torch.Tensor:
        sig = torch.sigmoid(x)
        return _reduce(-(a * y * torch.log(sig) + b * (1 - y) * torch.log(1 - sig)), red)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.binary_cross_entropy_with_logits(
            x, y, pos_weight=p["pos"], neg_weight=p["neg"], reduction=red
        )

    _same(ours, reference, p["x"])


@SETTINGS
@given(multilabel(), st.one_of(st.none(), st.floats(0.0, 1.0)), st.floats(0.0, 4.0))
def test_sigmoid_focal_loss_matches_torchvision_formula(
    p: dict[str, Any], alpha: float | None, gamma: float
) -> None:
    y, red = p["y"], p["reduction"]

    def torchvision_formula(x: torch.Tensor) -> torch.Tensor:
        # torchvision.ops.sigmoid_focal_loss, as documented there.
        prob = torch.sigmoid(x)
        ce_loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = prob * y + (1 - prob) * (1 - y)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha is not None:
            loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
        return _reduce(loss, red)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction=red)

    _same(ours, torchvision_formula, p["x"])


def test_sigmoid_focal_defaults() -> None:
    x, y = torch.randn(3, 2, dtype=torch.float64), torch.tensor([[1.0, 0.0]] * 3).double()
    out = cf.sigmoid_focal_loss(x, y)
    assert out.shape == (3, 2)  # reduction="none" by default, like torchvision
    explicit = cf.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0, reduction="none")
    torch.testing.assert_close(out, explicit)


def test_retinanet_normalisation_by_positive_count() -> None:
    x, y = torch.randn(20, 3, dtype=torch.float64), (torch.rand(20, 3) < 0.1).double()
    positives = max(float(y.sum()), 1.0)
    normalised = cf.sigmoid_focal_loss(x, y, reduction="mean", denominator=positives)
    torch.testing.assert_close(normalised, cf.sigmoid_focal_loss(x, y).sum() / positives)


def test_sample_weight_gives_a_weighted_mean() -> None:
    x, y = torch.randn(5, 2, dtype=torch.float64), (torch.rand(5, 2) < 0.5).double()
    s = torch.rand(5, 2, dtype=torch.float64)
    plain = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    ours = cf.binary_cross_entropy_with_logits(x, y, sample_weight=s)
    torch.testing.assert_close(ours, (s * plain).sum() / s.sum())


def test_the_intent_of_a_two_element_weight_on_binary_targets() -> None:
    # What BCEWithLogitsLoss(weight=torch.tensor([0.1, 0.9])) is usually meant to do.
    x, y = torch.randn(6, dtype=torch.float64), torch.tensor([1.0, 0, 0, 1, 0, 0]).double()
    ours = cf.binary_cross_entropy_with_logits(x, y, pos_weight=[0.9], neg_weight=[0.1])
    per_element = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    torch.testing.assert_close(ours, (per_element * torch.where(y > 0, 0.9, 0.1)).mean())


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, y: cf.binary_cross_entropy_with_logits(
            x, y, pos_weight=[1e6, 1.0], neg_weight=[1.0, 1e-6]
        ),
        lambda x, y: cf.sigmoid_focal_loss(x, y, reduction="mean"),
        lambda x, y: cf.sigmoid_focal_loss(x, y, gamma=0.5, reduction="mean"),
    ],
)
def test_extreme_logits_stay_finite(loss: Callable[..., torch.Tensor]) -> None:
    x = torch.tensor([[1e4, -1e4], [-1e4, 1e4], [0.0, 1e4]], requires_grad=True)
    y = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    out = loss(x, y)
    out.backward()
    assert torch.isfinite(out) and x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs(dtype: torch.dtype) -> None:
    x = torch.randn(8, 3).to(dtype).requires_grad_()
    y = (torch.rand(8, 3) < 0.5).to(dtype)
    out = cf.binary_cross_entropy_with_logits(x, y, pos_weight=[2.0, 1.0, 0.5])
    out.backward()
    ref = F.binary_cross_entropy_with_logits(
        x.detach().float(), y.float(), pos_weight=torch.tensor([2.0, 1.0, 0.5])
    )
    assert out.dtype == dtype and x.grad is not None and x.grad.dtype == dtype
    torch.testing.assert_close(out.float(), ref, rtol=1e-2, atol=1e-2)


def test_gradcheck() -> None:
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    y = torch.rand(4, 3, 2, dtype=torch.float64)
    s = torch.rand(4, 3, 2, dtype=torch.float64)
    for reduction in ("none", "mean", "sum"):
        assert torch.autograd.gradcheck(
            lambda t, r=reduction: cf.binary_cross_entropy_with_logits(
                t, y, pos_weight=[1.0, 2.0, 3.0], neg_weight=[0.5], sample_weight=s, reduction=r
            ),
            (x,),
        )
        assert torch.autograd.gradcheck(
            lambda t, r=reduction: cf.sigmoid_focal_loss(t, y, sample_weight=s, reduction=r),
            (x,),
        )
    assert torch.autograd.gradcheck(
        lambda t: cf.sigmoid_focal_loss(t, y, alpha=None, gamma=0.5), (x,)
    )


X = torch.randn(3, 1)
Y = torch.tensor([[1.0], [0.0], [1.0]])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: cf.binary_cross_entropy_with_logits(X, Y, pos_weight=[0.1, 0.9]),
            ValueError,
            "`pos_weight` must be a 1-D tensor of length 1 (the number of labels) or 1",
        ),
        (
            lambda: cf.binary_cross_entropy_with_logits(X, Y, neg_weight=[-1.0]),
            ValueError,
            "`neg_weight` must be non-negative",
        ),
        (
            lambda: cf.binary_cross_entropy_with_logits(X, Y[:2]),
            ValueError,
            "`target` must be a tensor of shape (3, 1)",
        ),
        (
            lambda: cf.binary_cross_entropy_with_logits(X, Y * 2),
            ValueError,
            "`target` must be values in [0, 1]",
        ),
        (
            lambda: cf.binary_cross_entropy_with_logits(X.long(), Y),
            TypeError,
            "`input` must be a floating-point tensor",
        ),
        (
            lambda: cf.binary_cross_entropy_with_logits(X, Y.clone().requires_grad_()),
            ValueError,
            "`target` must be a tensor that does not require grad",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X, Y, alpha=1.5),
            ValueError,
            "`alpha` must be in [0.0, 1.0]",
        ),
        (lambda: cf.sigmoid_focal_loss(X, Y, gamma=-2), ValueError, "`gamma` must be in [0.0"),
        (
            lambda: cf.sigmoid_focal_loss(X, Y, sample_weight=torch.ones(3)),
            ValueError,
            "`sample_weight` must be a tensor of shape (3, 1)",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
