"""Detection losses: the anchor focal loss, per-class focal alpha and log class weights."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from counterpoise import functional as cf
from counterpoise.losses import AnchorFocalLoss

IGNORE = -100


def _batch(
    n: int = 2, a: int = 7, c: int = 3, *, seed: int = 0, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (n, a, c) and targets with positives, background (c) and ignored anchors."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, a, c, generator=g, dtype=torch.float64) * 3).to(dtype)
    y = torch.randint(0, c + 1, (n, a), generator=g)  # c is background
    y[0, 0], y[0, 1], y[-1, -1] = 0, c, IGNORE
    return x, y


def _reference(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: Any = 0.25,
    gamma: float = 2.0,
    weight: Any = None,
    background: int | None = None,
    reduction: str = "positives",
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The loss written out per anchor and per class, in Python floats."""
    n, a, c = x.shape
    bg = c if background is None else background
    out = torch.zeros(n, a, c, dtype=torch.float64)
    positives, elements, weights = 0, 0, 0.0
    for i in range(n):
        for j in range(a):
            label = int(y[i, j])
            if label == IGNORE:
                continue
            assert label == bg or 0 <= label < c
            positives += 0 <= label < c
            for k in range(c):
                t = 1.0 if label == k else 0.0
                p = 1.0 / (1.0 + math.exp(-float(x[i, j, k])))
                p_t = p if t else 1.0 - p
                log_p_t = -math.log1p(math.exp(-float(x[i, j, k]) * (1 if t else -1)))
                if alpha is None:
                    a_t = 1.0
                else:
                    a_c = float(alpha) if isinstance(alpha, float) else float(alpha[k])
                    a_t = a_c if t else 1.0 - a_c
                w = 1.0 if weight is None else float(weight[k])
                s = 1.0
                if sample_weight is not None:
                    sw = sample_weight[i, j] if sample_weight.ndim == 2 else sample_weight[i, j, k]
                    s = float(sw)
                out[i, j, k] = -s * w * a_t * (1.0 - p_t) ** gamma * log_p_t
                elements += 1
                weights += s
    if reduction == "none":
        return out
    if reduction == "sum":
        return out.sum()
    if reduction == "mean":
        return out.sum() / weights
    return out.sum() / max(1, positives)


REDUCTIONS = ["positives", "mean", "sum", "none"]
ALPHAS: list[Any] = [0.25, None, 0.9, torch.tensor([0.1, 0.5, 0.95], dtype=torch.float64)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha", ALPHAS, ids=["0.25", "none", "0.9", "per-class"])
@pytest.mark.parametrize("weight", [None, [1.0, 2.5, 0.5]], ids=["unweighted", "weighted"])
def test_matches_formula(reduction: str, alpha: Any, weight: Any) -> None:
    x, y = _batch()
    got = cf.anchor_focal_loss(x, y, alpha=alpha, weight=weight, reduction=reduction)  # type: ignore[arg-type]
    expected = _reference(x, y, alpha=alpha, weight=weight, reduction=reduction)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
def test_gamma(gamma: float) -> None:
    x, y = _batch(seed=1)
    alpha = torch.tensor([0.3, 0.6, 0.8])
    got = cf.anchor_focal_loss(x, y, alpha=alpha, gamma=gamma)
    torch.testing.assert_close(got, _reference(x, y, alpha=alpha, gamma=gamma))


def test_background_value_is_configurable() -> None:
    x, y = _batch(seed=2)
    torchvision_style = torch.where(y == 3, -1, y)
    got = cf.anchor_focal_loss(x, torchvision_style, background=-1)
    assert torch.equal(got, cf.anchor_focal_loss(x, y))
    torch.testing.assert_close(got, _reference(x, torchvision_style, background=-1))
    # with background=-1, the value C is no longer a valid target
    with pytest.raises(ValueError, match=r"`target` must be class indices in \[0, 3\)"):
        cf.anchor_focal_loss(x, y, background=-1)


def test_ignored_anchors_contribute_nothing() -> None:
    x, y = _batch(seed=3)
    x.requires_grad_(True)
    loss = cf.anchor_focal_loss(x, y, reduction="none")
    assert bool((loss[y == IGNORE] == 0).all())
    cf.anchor_focal_loss(x, y).backward()
    assert x.grad is not None
    assert bool((x.grad[y == IGNORE] == 0).all())
    assert bool((x.grad[y != IGNORE] != 0).any())
    # dropping the ignored anchors changes nothing
    keep = y != IGNORE
    flat = cf.anchor_focal_loss(x.detach()[keep], y[keep])
    torch.testing.assert_close(flat, cf.anchor_focal_loss(x.detach(), y))


def test_every_anchor_ignored() -> None:
    x = torch.randn(2, 3, 4, requires_grad=True)
    y = torch.full((2, 3), IGNORE)
    for reduction in ("positives", "mean", "sum"):
        loss = cf.anchor_focal_loss(x, y, reduction=reduction)  # type: ignore[arg-type]
        assert loss.item() == 0.0
        loss.backward()
        assert x.grad is not None and bool((x.grad == 0).all())


def test_zero_positives_gives_sum_of_negatives() -> None:
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    y = torch.full((2, 5), 3)
    y[1, 2] = IGNORE
    loss = cf.anchor_focal_loss(x, y)
    torch.testing.assert_close(loss, cf.anchor_focal_loss(x, y, reduction="sum"))
    torch.testing.assert_close(loss, _reference(x.detach(), y))
    loss.backward()
    assert bool(torch.isfinite(loss)) and x.grad is not None
    assert bool(torch.isfinite(x.grad).all()) and bool(x.grad.abs().sum() > 0)


def test_equals_sigmoid_focal_loss_on_one_hot() -> None:
    x, y = _batch(seed=4, dtype=torch.float32)
    valid = y != IGNORE
    one_hot = torch.zeros(x.shape)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            if 0 <= int(y[i, j]) < x.shape[-1]:
                one_hot[i, j, int(y[i, j])] = 1.0
    mask = valid.unsqueeze(-1).float().expand(x.shape)
    elementwise = cf.sigmoid_focal_loss(x, one_hot, reduction="none") * mask
    # a float alpha runs exactly sigmoid_focal_loss's computation
    assert torch.equal(cf.anchor_focal_loss(x, y, reduction="none"), elementwise)
    positives = int(((y >= 0) & (y < 3)).sum())
    summed = cf.sigmoid_focal_loss(x, one_hot, reduction="sum", sample_weight=mask)
    torch.testing.assert_close(cf.anchor_focal_loss(x, y), summed / positives)
    torch.testing.assert_close(
        cf.anchor_focal_loss(x, y, reduction="mean"),
        cf.sigmoid_focal_loss(x, one_hot, reduction="mean", sample_weight=mask),
    )
    # a constant per-class alpha vector gives the same as the number
    torch.testing.assert_close(
        cf.anchor_focal_loss(x, y, alpha=torch.full((3,), 0.25), reduction="none"), elementwise
    )


def test_gradients_match_autograd_of_formula() -> None:
    x, y = _batch(seed=5)
    alpha = torch.tensor([0.2, 0.7, 0.4], dtype=torch.float64)
    weight = torch.tensor([1.0, 3.0, 0.5], dtype=torch.float64)
    x1 = x.clone().requires_grad_(True)
    cf.anchor_focal_loss(x1, y, alpha=alpha, weight=weight).backward()
    # the formula composed from differentiable PyTorch operations
    x2 = x.clone().requires_grad_(True)
    t = torch.nn.functional.one_hot(y.clamp(0, 3), 4)[..., :3].double()
    p = torch.sigmoid(x2)
    p_t = p * t + (1 - p) * (1 - t)
    a_t = alpha * t + (1 - alpha) * (1 - t)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(x2, t, reduction="none")
    loss = weight * a_t * (1 - p_t) ** 2 * bce * (y != IGNORE).unsqueeze(-1)
    (loss.sum() / int(((y >= 0) & (y < 3)).sum())).backward()
    torch.testing.assert_close(x1.grad, x2.grad)


@pytest.mark.parametrize("alpha", [0.25, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)])
def test_gradcheck(alpha: Any) -> None:
    x, y = _batch(n=1, a=4, seed=6)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda v: cf.anchor_focal_loss(v, y, alpha=alpha, gamma=1.5, weight=[1.0, 2.0, 0.5]),
        (x,),
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(dtype: torch.dtype) -> None:
    x, y = _batch(n=4, a=16, c=5, seed=7, dtype=torch.float32)
    alpha = torch.linspace(0.1, 0.9, 5)
    xh = x.to(dtype).requires_grad_(True)
    loss = cf.anchor_focal_loss(xh, y, alpha=alpha)
    assert loss.dtype == dtype
    loss.backward()
    assert xh.grad is not None and xh.grad.dtype == dtype
    full = x.to(dtype).float().requires_grad_(True)
    expected = cf.anchor_focal_loss(full, y, alpha=alpha)
    expected.backward()
    assert full.grad is not None
    torch.testing.assert_close(loss.float(), expected, rtol=1e-2, atol=1e-3)
    torch.testing.assert_close(xh.grad.float(), full.grad, rtol=2e-2, atol=1e-3)


def test_extreme_logits_are_finite() -> None:
    x = torch.tensor([[[100.0, -100.0], [-100.0, 100.0], [100.0, 100.0]]], requires_grad=True)
    y = torch.tensor([[1, 0, 2]])
    loss = cf.anchor_focal_loss(x, y, alpha=torch.tensor([0.3, 0.7]))
    loss.backward()
    assert bool(torch.isfinite(loss)) and x.grad is not None
    assert bool(torch.isfinite(x.grad).all())


def test_denominator_overrides_the_count() -> None:
    x, y = _batch(n=4, seed=8)
    total = cf.anchor_focal_loss(x, y, reduction="sum")
    torch.testing.assert_close(cf.anchor_focal_loss(x, y, denominator=10), total / 10)
    torch.testing.assert_close(
        cf.anchor_focal_loss(x, y, denominator=torch.tensor(10.0)), total / 10
    )
    # floored at 1, as RetinaNet's own count
    torch.testing.assert_close(cf.anchor_focal_loss(x, y, denominator=0.25), total)
    # micro-batches with the whole batch's positives add up to the whole batch's loss
    positives = int(((y >= 0) & (y < 3)).sum())
    parts = [
        cf.anchor_focal_loss(x[i : i + 1], y[i : i + 1], denominator=positives) for i in range(4)
    ]
    torch.testing.assert_close(sum(parts), cf.anchor_focal_loss(x, y))
    # "mean" takes it as its normaliser
    torch.testing.assert_close(
        cf.anchor_focal_loss(x, y, reduction="mean", denominator=4), total / 4
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("per", ["anchor", "element"])
def test_sample_weight(reduction: str, per: str) -> None:
    x, y = _batch(seed=9)
    g = torch.Generator().manual_seed(0)
    sw = torch.rand(y.shape if per == "anchor" else x.shape, generator=g, dtype=torch.float64)
    got = cf.anchor_focal_loss(x, y, sample_weight=sw, reduction=reduction)  # type: ignore[arg-type]
    torch.testing.assert_close(got, _reference(x, y, sample_weight=sw, reduction=reduction))


def test_flat_anchors() -> None:
    x, y = _batch(seed=10)
    torch.testing.assert_close(
        cf.anchor_focal_loss(x.reshape(-1, 3), y.reshape(-1)), cf.anchor_focal_loss(x, y)
    )


def test_empty_batch() -> None:
    x = torch.zeros(0, 5, 3, requires_grad=True)
    loss = cf.anchor_focal_loss(x, torch.zeros(0, 5, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"x": torch.zeros(4)}, ValueError, "`input` must be of shape \\(N, A, C\\)"),
        ({"x": torch.zeros(2, 3, 3, dtype=torch.long)}, TypeError, "`input` must be a floating"),
        ({"y": torch.zeros(2, 4, dtype=torch.long)}, ValueError, "`target` must be a tensor of shape \\(2, 3\\)"),
        ({"y": torch.zeros(2, 3)}, TypeError, "`target` must be an integer tensor"),
        ({"y": torch.zeros(2, 3, dtype=torch.bool)}, TypeError, "`target` must be an integer tensor"),
        ({"y": torch.tensor([[0, 1, 4], [3, 3, 3]])}, ValueError, "class indices in \\[0, 3\\), background=3 or ignore_index=-100, got '4 at index \\(0, 2\\)'"),
        ({"y": torch.tensor([[0, -1, 2], [3, 3, 3]])}, ValueError, "got '-1 at index \\(0, 1\\)'"),
        ({"alpha": 1.5}, ValueError, "`alpha` must be in \\[0.0, 1.0\\], got 1.5"),
        ({"alpha": -0.1}, ValueError, "`alpha` must be in"),
        ({"alpha": [0.2, 0.3]}, ValueError, "`alpha` must be a 1-D tensor of length 3"),
        ({"alpha": [0.2, 0.3, 1.2]}, ValueError, "`alpha` must be values in \\[0, 1\\], got '1.2"),
        ({"alpha": [0.2, -0.3, 0.2]}, ValueError, "`alpha` must be non-negative"),
        ({"alpha": torch.ones(3, 1) * 0.5}, ValueError, "`alpha` must be a non-empty 1-D tensor"),
        ({"weight": [1.0, 2.0]}, ValueError, "`weight` must be a 1-D tensor of length 3"),
        ({"weight": [1.0, -2.0, 1.0]}, ValueError, "`weight` must be non-negative"),
        ({"gamma": -1.0}, ValueError, "`gamma` must be in"),
        ({"background": 1}, ValueError, "`background` must be outside \\[0, 3\\)"),
        ({"background": -100}, ValueError, "`background` must be outside \\[0, 3\\) and other"),
        ({"background": "bg"}, TypeError, "`background` must be an integer or None"),
        ({"reduction": "batchmean"}, ValueError, "`reduction` must be one of 'positives', 'mean'"),
        ({"reduction": "sum", "denominator": 4}, ValueError, "`denominator` must be None unless"),
        ({"denominator": -1}, ValueError, "`denominator` must be in"),
        ({"sample_weight": torch.ones(2)}, ValueError, "`sample_weight` must be a tensor of shape \\(2, 3\\) \\(per anchor\\) or \\(2, 3, 3\\)"),
        ({"sample_weight": -torch.ones(2, 3)}, ValueError, "`sample_weight` must be non-negative"),
        ({"sample_weight": [1.0]}, TypeError, "`sample_weight` must be a tensor"),
    ],
)  # fmt: skip
def test_bad_inputs(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    x = kwargs.pop("x", torch.zeros(2, 3, 3))
    y = kwargs.pop("y", torch.tensor([[0, 1, IGNORE], [3, 3, 2]]))
    with pytest.raises(error, match=message):
        cf.anchor_focal_loss(x, y, **kwargs)


# ----------------------------------------------------------------------------- module


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_module_equals_function(reduction: str) -> None:
    x, y = _batch(seed=11, dtype=torch.float32)
    sw = torch.rand(y.shape)
    for alpha in (0.25, None, torch.tensor([0.1, 0.5, 0.9])):
        module = AnchorFocalLoss(alpha, gamma=1.5, weight=[1.0, 2.0, 3.0], reduction=reduction)  # type: ignore[arg-type]
        expected = cf.anchor_focal_loss(
            x,
            y,
            alpha=alpha,
            gamma=1.5,
            weight=[1.0, 2.0, 3.0],
            reduction=reduction,
            sample_weight=sw,  # type: ignore[arg-type]
        )
        assert torch.equal(module(x, y, sample_weight=sw), expected)
    module = AnchorFocalLoss(background=-1, ignore_index=-2)
    z = torch.where(y == IGNORE, -2, torch.where(y == 3, -1, y))
    assert torch.equal(module(x, z), cf.anchor_focal_loss(x, z, background=-1, ignore_index=-2))


def test_module_buffers_and_state() -> None:
    module = AnchorFocalLoss(torch.tensor([0.2, 0.8]), weight=[1.0, 2.0])
    assert set(dict(module.named_buffers())) == {"alpha", "weight"}
    assert module.alpha is not None and isinstance(module.alpha, torch.Tensor)
    assert module.alpha.dtype == torch.float32
    module.to(torch.float64)  # buffers follow .to(); the loss computes in the input's dtype
    x = torch.randn(1, 2, 2, dtype=torch.float64)
    module(x, torch.tensor([[1, 2]]))
    scalar = AnchorFocalLoss(0.3)
    assert scalar.alpha == 0.3 and "alpha" not in dict(scalar.named_buffers())
    with pytest.raises(ValueError, match=r"`alpha` must be values in \[0, 1\]"):
        AnchorFocalLoss([0.5, 2.0])
    with pytest.raises(ValueError, match=r"`alpha` must be in \[0.0, 1.0\]"):
        AnchorFocalLoss(1.5)
    with pytest.raises(ValueError, match="`reduction` must be one of 'positives'"):
        AnchorFocalLoss(reduction="batchmean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`gamma` must be in"):
        AnchorFocalLoss(gamma=-2.0)


def test_from_counts() -> None:
    counts = [1000, 100, 10]
    module = AnchorFocalLoss.from_counts(counts, gamma=1.0, reduction="sum")
    assert isinstance(module.alpha, torch.Tensor)
    torch.testing.assert_close(module.alpha, cf.focal_alpha(counts))
    assert module.gamma == 1.0 and module.reduction == "sum"
    damped = AnchorFocalLoss.from_counts(counts, scheme="effective", beta=0.99, base=0.5)
    assert isinstance(damped.alpha, torch.Tensor)
    torch.testing.assert_close(
        damped.alpha, cf.focal_alpha(counts, "effective", beta=0.99, base=0.5)
    )
    weighted = AnchorFocalLoss.from_counts(counts, weight=cf.log_class_weights(counts))
    assert weighted.weight is not None
    x, y = _batch(seed=12, dtype=torch.float32)
    expected = cf.anchor_focal_loss(
        x, y, alpha=cf.focal_alpha(counts), weight=cf.log_class_weights(counts)
    )
    assert torch.equal(weighted(x, y), expected)


# ----------------------------------------------------------------------------- focal_alpha


def test_focal_alpha_formula() -> None:
    counts = torch.tensor([5000.0, 400.0, 30.0, 2.0])
    base = 0.25
    w = 1.0 / counts  # "balanced" up to a constant, which the geometric mean removes
    r = w / w.log().mean().exp()
    expected = base * r / (base * r + 1 - base)
    alpha = cf.focal_alpha(counts, base=base)
    torch.testing.assert_close(alpha, expected.float())
    assert alpha.dtype == torch.float32
    # the mean logit is logit(base); rarer classes get larger alpha
    logit = torch.log(alpha.double() / (1 - alpha.double()))
    torch.testing.assert_close(logit.mean().item(), math.log(base / (1 - base)))
    assert bool((alpha.diff() > 0).all())
    # base = 0.5: alpha = r / (1 + r)
    torch.testing.assert_close(cf.focal_alpha(counts, base=0.5), (r / (1 + r)).float())


def test_focal_alpha_uniform_counts_give_retinanet() -> None:
    for scheme in ("balanced", "sqrt", "effective", "log"):
        alpha = cf.focal_alpha([70, 70, 70, 70], scheme)
        torch.testing.assert_close(alpha, torch.full((4,), 0.25))
    x, y = _batch(seed=13, dtype=torch.float32)
    module = AnchorFocalLoss.from_counts([10, 10, 10])
    torch.testing.assert_close(module(x, y), cf.anchor_focal_loss(x, y))


def test_focal_alpha_options() -> None:
    counts = [10000, 10]
    steep = cf.focal_alpha(counts, base=0.5)
    capped = cf.focal_alpha(counts, base=0.5, max_ratio=4.0)
    torch.testing.assert_close(capped, torch.tensor([1 / 3, 2 / 3]))  # odds 1/2 and 2
    assert float(steep[1]) > float(capped[1])
    sqrt = cf.focal_alpha(counts, "sqrt", base=0.5)
    assert float(steep[1]) > float(sqrt[1]) > 0.5
    zero = cf.focal_alpha([100, 0, 1], zero_counts="zero", base=0.5)
    torch.testing.assert_close(zero, torch.tensor([1 / 11, 0.0, 10 / 11]))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([10, 20],), {"base": 0.0}, ValueError, "`base` must be in \\(0.0, 1.0\\)"),
        (([10, 20],), {"base": 1.0}, ValueError, "`base` must be in"),
        (([10, 20],), {"normalize": "sum"}, ValueError, "`normalize` must be not given"),
        (([10, 0],), {}, ValueError, "`counts`"),
        (([10, 20], "nonsense"), {}, ValueError, "`scheme` must be one of"),
        (([10, 20],), {"beta": 0.9}, ValueError, "`beta` must be None"),
    ],
)
def test_focal_alpha_bad_inputs(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        cf.focal_alpha(*args, **kwargs)


# ----------------------------------------------------------------------------- log weights


def test_log_class_weights() -> None:
    counts = [900, 90, 9, 1]
    expected = torch.tensor([1 + math.log(1000 / n) for n in counts])
    torch.testing.assert_close(cf.log_class_weights(counts), expected)
    torch.testing.assert_close(cf.log_class_weights(counts, offset=0.0), expected - 1.0)
    torch.testing.assert_close(
        cf.log_class_weights(counts, clip=(1.5, 5.0)), expected.clamp(1.5, 5.0)
    )
    assert bool((cf.log_class_weights([5, 5], offset=0.0) > 0).all())

    class Counts:
        counts = torch.tensor([3.0, 1.0])

    torch.testing.assert_close(
        cf.log_class_weights(Counts()), torch.tensor([1 + math.log(4 / 3), 1 + math.log(4)])
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"counts": [10, 0]}, ValueError, "`counts` must be positive"),
        ({"counts": [10, -1]}, ValueError, "`counts` must be non-negative"),
        ({"counts": [10, 1], "offset": -1.0}, ValueError, "`offset` must be in"),
        ({"counts": [10, 1], "clip": (2.0, 1.0)}, ValueError, "`clip\\[1\\]` must be in"),
        ({"counts": [10, 1], "clip": [0.0, 1.0]}, TypeError, "`clip` must be a pair"),
    ],
)
def test_log_class_weights_bad_inputs(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        cf.log_class_weights(**kwargs)
