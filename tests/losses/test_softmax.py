"""The softmax-family losses against their papers' formulas, written out plainly here."""

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
Loss = Callable[..., torch.Tensor]


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """Random logits (N, C) or (N, C, d), targets with some ignored, counts, weights."""
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 5))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn((n, c, *spatial), generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, c, (n, *spatial), generator=g)
    if draw(st.booleans()):
        y = torch.where(torch.rand(y.shape, generator=g) < 0.3, torch.tensor(-100), y)
    return {
        "x": x,
        "y": y,
        "counts": torch.randint(1, 1000, (c,), generator=g).double(),
        "weight": torch.rand(c, generator=g, dtype=torch.float64) + 0.05,
        "sample_weight": torch.rand(y.shape, generator=g, dtype=torch.float64),
        "reduction": draw(st.sampled_from(["none", "mean", "sum"])),
    }


def _reduce_plainly(
    per_element: torch.Tensor, y: torch.Tensor, norm: torch.Tensor, reduction: str
) -> torch.Tensor:
    """Ignored elements give 0; the mean divides by the summed ``norm`` of the others (and is
    0 when nothing counts)."""
    valid = y != -100
    per_element = torch.where(valid, per_element, 0.0)
    if reduction == "none":
        return per_element
    if reduction == "sum":
        return per_element.sum()
    den = torch.where(valid, norm, 0.0).sum()
    return per_element.sum() / den if den > 0 else per_element.sum() * 0.0


def _log_softmax_at_target(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    log_p = z - torch.logsumexp(z, dim=1, keepdim=True)
    return log_p.gather(1, y.clamp(min=0).unsqueeze(1)).squeeze(1)


def _check(ours: Loss, reference: Loss, p: dict[str, Any]) -> None:
    """Values and gradients (for a random cotangent) of ours and the reference agree."""
    results = []
    for fn in (ours, reference):
        x = p["x"].clone().requires_grad_()
        out = fn(x)
        cot = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        (out * cot).sum().backward()
        results.append((out.detach(), x.grad))
    torch.testing.assert_close(results[0], results[1], rtol=1e-9, atol=1e-11)


@SETTINGS
@given(problems(), st.floats(0.0, 5.0), st.booleans())
def test_focal_loss_formula(p: dict[str, Any], gamma: float, with_alpha: bool) -> None:
    y, red = p["y"], p["reduction"]
    alpha = p["weight"] if with_alpha else torch.ones_like(p["weight"])

    def reference(x: torch.Tensor) -> torch.Tensor:
        log_pt = _log_softmax_at_target(x, y)
        a = alpha[y.clamp(min=0)]
        return _reduce_plainly(-a * (1 - log_pt.exp()) ** gamma * log_pt, y, a, red)

    def ours(x: torch.Tensor) -> torch.Tensor:
        a = alpha if with_alpha else None
        return cf.focal_loss(x, y, gamma=gamma, alpha=a, reduction=red)

    _check(ours, reference, p)


@SETTINGS
@given(problems())
def test_focal_with_gamma_zero_is_weighted_cross_entropy_exactly(p: dict[str, Any]) -> None:
    y, w, red = p["y"], p["weight"], p["reduction"]
    x1, x2 = p["x"].clone().requires_grad_(), p["x"].clone().requires_grad_()
    focal = cf.focal_loss(x1, y, gamma=0.0, alpha=w, reduction=red)
    ce = cf.cross_entropy(x2, y, w, reduction=red)
    focal.sum().backward()
    ce.sum().backward()
    assert torch.equal(focal, ce)
    assert x1.grad is not None and x2.grad is not None and torch.equal(x1.grad, x2.grad)


def test_focal_alpha_is_normalised_like_a_class_weight() -> None:
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randint(0, 4, (16,))
    alpha = torch.tensor([0.25, 0.5, 1.0, 2.0], dtype=torch.float64)
    base = cf.focal_loss(x, y, alpha=alpha)
    torch.testing.assert_close(cf.focal_loss(x, y, alpha=alpha * 1000), base)
    summed = cf.focal_loss(x, y, alpha=alpha, reduction="sum")
    torch.testing.assert_close(base, summed / alpha[y].sum())


@SETTINGS
@given(problems(), st.floats(0.0, 3.0), st.booleans())
def test_logit_adjusted_loss_formula(p: dict[str, Any], tau: float, with_weight: bool) -> None:
    y, red = p["y"], p["reduction"]
    priors = p["counts"] / p["counts"].sum()
    w = p["weight"] if with_weight else torch.ones_like(p["weight"])
    shift = (tau * priors.log()).view((1, -1) + (1,) * (p["x"].ndim - 2))

    def reference(x: torch.Tensor) -> torch.Tensor:
        wy = w[y.clamp(min=0)]
        return _reduce_plainly(-wy * _log_softmax_at_target(x + shift, y), y, wy, red)

    def ours(x: torch.Tensor) -> torch.Tensor:
        weight = w if with_weight else None
        return cf.logit_adjusted_loss(x, y, priors, tau=tau, weight=weight, reduction=red)

    _check(ours, reference, p)


@SETTINGS
@given(problems())
def test_balanced_softmax_formula(p: dict[str, Any]) -> None:
    y, n, red = p["y"], p["counts"], p["reduction"]
    n_view = n.view((1, -1) + (1,) * (p["x"].ndim - 2))

    def reference(x: torch.Tensor) -> torch.Tensor:
        # Ren et al., eq. 4: -log( n_y exp(x_y) / sum_c n_c exp(x_c) )
        e = n_view * x.exp()
        picked = e.gather(1, y.clamp(min=0).unsqueeze(1)).squeeze(1)
        loss = -torch.log(picked / e.sum(1))
        return _reduce_plainly(loss, y, torch.ones_like(loss), red)

    _check(lambda x: cf.balanced_softmax_loss(x, y, n, reduction=red), reference, p)


@SETTINGS
@given(problems(), st.floats(0.01, 1.0), st.floats(0.5, 40.0), st.booleans())
def test_ldam_loss_formula(
    p: dict[str, Any], max_margin: float, scale: float, with_weight: bool
) -> None:
    y, n, red = p["y"], p["counts"], p["reduction"]
    w = p["weight"] if with_weight else torch.ones_like(p["weight"])
    # Cao et al.: m_c = K / n_c^(1/4), K such that the largest margin is max_margin.
    k = max_margin / (1 / n**0.25).max()
    m = (k / n**0.25).float().double()  # margins are float32 tensors

    def reference(x: torch.Tensor) -> torch.Tensor:
        yy = y.clamp(min=0)
        onehot = F.one_hot(yy, x.shape[1]).movedim(-1, 1).to(x.dtype)
        z = scale * (x - m[yy].unsqueeze(1) * onehot)
        wy = w[yy]
        return _reduce_plainly(-wy * _log_softmax_at_target(z, y), y, wy, red)

    def ours(x: torch.Tensor) -> torch.Tensor:
        weight = w if with_weight else None
        return cf.ldam_loss(
            x, y, n, max_margin=max_margin, scale=scale, weight=weight, reduction=red
        )

    _check(ours, reference, p)


def test_ldam_margins() -> None:
    m = cf.ldam_margins(torch.tensor([10000.0, 625.0, 16.0]), max_margin=0.5)
    torch.testing.assert_close(m, torch.tensor([0.1, 0.2, 0.5]))
    assert cf.ldam_margins([5, 5]).tolist() == [0.5, 0.5]


@SETTINGS
@given(problems(), st.floats(0.0, 2.0), st.booleans())
def test_cost_sensitive_loss_formula(p: dict[str, Any], lam: float, as_vector: bool) -> None:
    y, red = p["y"], p["reduction"]
    c = p["x"].shape[1]
    g = torch.Generator().manual_seed(c)
    if as_vector:
        vector = torch.rand(c, generator=g, dtype=torch.float64) * 5
        matrix = torch.stack([torch.full((c,), float(v), dtype=torch.float64) for v in vector])
        matrix.fill_diagonal_(0.0)
        cost: torch.Tensor = vector
    else:
        matrix = cost = torch.rand(c, c, generator=g, dtype=torch.float64) * 5

    def reference(x: torch.Tensor) -> torch.Tensor:
        prob = x.softmax(dim=1)
        rows = matrix[y.clamp(min=0)].movedim(-1, 1)  # M[y_i, :] along the class dimension
        expected_cost = (rows * prob).sum(1)
        loss = expected_cost - lam * _log_softmax_at_target(x, y)
        return _reduce_plainly(loss, y, torch.ones_like(loss), red)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.cost_sensitive_loss(x, y, cost, cross_entropy_weight=lam, reduction=red)

    _check(ours, reference, p)


@pytest.mark.parametrize("shape", [(1500, 400), (3, 150, 40, 50)])
@pytest.mark.parametrize("with_grad", [True, False])
def test_cost_sensitive_loss_over_several_chunks_of_rows(shape, with_grad) -> None:
    # Batches of more rows than one chunk of the CPU path (and, for (N, C, d1, d2), rows of
    # several pixels), with spread logits whose probabilities underflow: the float64 formula,
    # also without a gradient (no_grad takes another branch).
    g = torch.Generator().manual_seed(11)
    c = shape[1]
    x = torch.randn(shape, generator=g) * 30
    y = torch.randint(0, c, shape[:1] + shape[2:], generator=g)
    y.view(-1)[::7] = -100
    matrix = torch.randn(c, c, generator=g)
    sw = torch.rand(y.shape, generator=g)

    def reference(z: torch.Tensor) -> torch.Tensor:
        rows = matrix.double()[y.clamp(min=0)].movedim(-1, 1)
        loss = (rows * z.softmax(dim=1)).sum(1) - 0.3 * _log_softmax_at_target(z, y)
        return (torch.where(y != -100, loss, 0.0) * sw).sum() / (sw * (y != -100)).sum()

    xd = x.double().requires_grad_()
    expected = reference(xd)
    expected.backward()
    ours = x.clone().requires_grad_(with_grad)
    got = cf.cost_sensitive_loss(ours, y, matrix, cross_entropy_weight=0.3, sample_weight=sw)
    torch.testing.assert_close(got.double(), expected.detach(), rtol=2e-6, atol=1e-6)
    if with_grad:
        got.backward()
        assert ours.grad is not None
        torch.testing.assert_close(ours.grad.double(), xd.grad, rtol=1e-4, atol=1e-9)


def test_cost_vector_is_cost_of_missing_the_class() -> None:
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randint(0, 3, (8,))
    c = torch.tensor([1.0, 2.0, 10.0], dtype=torch.float64)
    p_target = x.softmax(1).gather(1, y[:, None]).squeeze(1)
    ours = cf.cost_sensitive_loss(x, y, c, reduction="none")
    torch.testing.assert_close(ours, c[y] * (1 - p_target))


# --------------------------------------------------------------------- every softmax loss

COUNTS = torch.tensor([500.0, 120.0, 30.0, 4.0])
WEIGHT = torch.tensor([0.2, 0.7, 1.5, 3.0])
COST = torch.tensor(
    [[0.0, 1.0, 1.0, 2.0], [1.0, 0.0, 1.0, 2.0], [3.0, 3.0, 0.0, 1.0], [9.0, 9.0, 5.0, 0.0]]
)
SOFTMAX_LOSSES: dict[str, Loss] = {
    "cross_entropy": lambda x, y, **kw: cf.cross_entropy(x, y, WEIGHT, **kw),
    "cross_entropy_smoothed": lambda x, y, **kw: cf.cross_entropy(
        x, y, WEIGHT, label_smoothing=0.2, **kw
    ),
    "focal": lambda x, y, **kw: cf.focal_loss(x, y, gamma=2.0, alpha=WEIGHT, **kw),
    "focal_fractional_gamma": lambda x, y, **kw: cf.focal_loss(x, y, gamma=0.5, **kw),
    "logit_adjusted": lambda x, y, **kw: cf.logit_adjusted_loss(x, y, COUNTS, tau=1.5, **kw),
    "balanced_softmax": lambda x, y, **kw: cf.balanced_softmax_loss(x, y, COUNTS, **kw),
    "ldam": lambda x, y, **kw: cf.ldam_loss(x, y, COUNTS, weight=WEIGHT, **kw),
    "cost_sensitive": lambda x, y, **kw: cf.cost_sensitive_loss(
        x, y, COST, cross_entropy_weight=0.3, **kw
    ),
}


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3, 2)])
def test_gradcheck_float64(name: str, shape: tuple[int, ...]) -> None:
    fn = SOFTMAX_LOSSES[name]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 4, shape[:1] + shape[2:], generator=g)
    y.view(-1)[0] = -100
    sw = torch.rand(y.shape, generator=g, dtype=torch.float64)
    for reduction in ("none", "mean", "sum"):
        assert torch.autograd.gradcheck(
            lambda t, r=reduction: fn(t, y, reduction=r, sample_weight=sw), (x,)
        )


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
def test_nothing_of_the_input_size_is_kept_for_backward_but_the_input(name: str) -> None:
    fn = SOFTMAX_LOSSES[name]
    x = torch.randn(16, 4, 5, requires_grad=True)
    y = torch.randint(0, 4, (16, 5))
    saved: list[torch.Tensor] = []

    def keep(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        loss = fn(x, y)
    large = [t for t in saved if t.numel() > y.numel() and t.data_ptr() != x.data_ptr()]
    # the expected cost keeps the gradient it computes with the loss, and nothing else
    kept = [(4 * 16 * 5,)] if name == "cost_sensitive" else []
    assert [(t.numel(),) for t in large] == kept, [t.shape for t in large]
    loss.backward()


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
def test_extreme_logits_and_weights_stay_finite(name: str) -> None:
    fn = SOFTMAX_LOSSES[name]
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(64, 4, generator=g).sign() * 1e4).requires_grad_()
    y = torch.randint(0, 4, (64,), generator=g)
    sw = torch.where(torch.rand(64, generator=g) < 0.5, 1e-6, 1.0)
    loss = fn(x, y, sample_weight=sw)
    loss.backward()
    assert torch.isfinite(loss) and x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_extreme_weight_ratio_stays_finite(gamma: float) -> None:
    x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = cf.focal_loss(x, torch.tensor([0, 2]), gamma=gamma, alpha=[1e-6, 1.0, 1.0])
    loss.backward()
    assert torch.isfinite(loss) and x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_match_float32(name: str, dtype: torch.dtype) -> None:
    fn = SOFTMAX_LOSSES[name]
    g = torch.Generator().manual_seed(2)
    half = (torch.randn(32, 4, generator=g) * 3).to(dtype).requires_grad_()
    wide = half.detach().float().requires_grad_()
    y = torch.randint(0, 4, (32,), generator=g)
    ours, ref = fn(half, y), fn(wide, y)
    ours.backward()
    ref.backward()
    assert ours.dtype == dtype and half.grad is not None and half.grad.dtype == dtype
    tol = 1e-2 if dtype == torch.bfloat16 else 2e-3
    torch.testing.assert_close(ours.float(), ref, rtol=tol, atol=tol)
    torch.testing.assert_close(half.grad.float(), wide.grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", SOFTMAX_LOSSES)
def test_micro_batches_with_denominator_add_up_to_the_batch_mean(name: str) -> None:
    fn = SOFTMAX_LOSSES[name]
    g = torch.Generator().manual_seed(3)
    x = torch.randn(12, 4, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (12, 5), generator=g)
    y[:4] = -100
    sw = torch.rand(12, 5, generator=g, dtype=torch.float64)
    whole = fn(x, y, sample_weight=sw)
    # The weight each element brings to the mean: its sample weight times the class weight of
    # its target where the loss has one (the "sum" over "mean" ratio gives it without peeking).
    total = fn(x, y, sample_weight=sw, reduction="sum") / whole
    parts = sum(
        fn(xs, ys, sample_weight=ss, denominator=total)
        for xs, ys, ss in zip(x.split(5), y.split(5), sw.split(5), strict=True)
    )
    torch.testing.assert_close(parts, whole)


def test_sample_weight_is_a_weighted_mean_with_class_weights() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(10, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (10,), generator=g)
    w = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    s = torch.rand(10, generator=g, dtype=torch.float64)
    per_element = F.cross_entropy(x, y, weight=w, reduction="none")
    expected = (s * per_element).sum() / (s * w[y]).sum()
    torch.testing.assert_close(cf.cross_entropy(x, y, w, sample_weight=s), expected)


def test_probability_targets_with_sample_weight() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    q = torch.rand(6, 3, generator=g, dtype=torch.float64).softmax(1)
    s = torch.rand(6, generator=g, dtype=torch.float64)
    per_element = F.cross_entropy(x, q, reduction="none")
    torch.testing.assert_close(
        cf.cross_entropy(x, q, sample_weight=s), (s * per_element).sum() / s.sum()
    )


# --------------------------------------------------------------------------- bad inputs

X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cf.cross_entropy(X.long(), Y), TypeError, "`input` must be a floating-point"),
        (lambda: cf.cross_entropy(X[0], Y), ValueError, "`input` must be of shape (N, C)"),
        (lambda: cf.cross_entropy(X, Y[:3]), ValueError, "`target` must be a tensor of shape (4,)"),
        (lambda: cf.cross_entropy(X, Y > 0), TypeError, "`target` must be an integer tensor"),
        (
            lambda: cf.cross_entropy(X, torch.tensor([0, 1, 3, 1])),
            ValueError,
            "`target` must be class indices in [0, 3) or ignore_index=-100, got '3 at index (2,)'",
        ),
        (lambda: cf.cross_entropy(X, -Y - 1), ValueError, "got '-1 at index (0,)'"),
        (
            lambda: cf.cross_entropy(X, Y, torch.ones(4)),
            ValueError,
            "`weight` must be a 1-D tensor of length 3 (the number of classes)",
        ),
        (
            lambda: cf.cross_entropy(X, Y, torch.tensor([1.0, float("nan"), 1.0])),
            ValueError,
            "`weight` must be finite",
        ),
        (
            lambda: cf.cross_entropy(X, Y, torch.tensor([1.0, -1.0, 1.0])),
            ValueError,
            "`weight` must be non-negative",
        ),
        (lambda: cf.cross_entropy(X, Y, "abc"), TypeError, "`weight` must be a tensor"),
        (
            lambda: cf.cross_entropy(X, Y, label_smoothing=1.5),
            ValueError,
            "`label_smoothing` must be in [0.0, 1.0]",
        ),
        (
            lambda: cf.cross_entropy(X, Y, reduction="avg"),  # type: ignore[arg-type]
            ValueError,
            "`reduction` must be one of 'none', 'mean', 'sum', got 'avg'",
        ),
        (
            lambda: cf.cross_entropy(X, X.softmax(1), ignore_index=0),
            ValueError,
            "`ignore_index` must be left at -100 with probability targets",
        ),
        (
            lambda: cf.cross_entropy(X, X[:, :2].softmax(1)),
            ValueError,
            "`target` must be probabilities of shape (4, 3)",
        ),
        (
            lambda: cf.cross_entropy(X, Y, sample_weight=torch.ones(3)),
            ValueError,
            "`sample_weight` must be a tensor of shape (4,)",
        ),
        (
            lambda: cf.cross_entropy(X, Y, sample_weight=-torch.ones(4)),
            ValueError,
            "`sample_weight` must be non-negative",
        ),
        (
            lambda: cf.cross_entropy(X, Y, reduction="sum", denominator=3.0),
            ValueError,
            '`denominator` must be None unless reduction="mean"',
        ),
        (lambda: cf.focal_loss(X, Y, gamma=-1.0), ValueError, "`gamma` must be in [0.0, inf]"),
        (lambda: cf.focal_loss(X, Y, alpha=[1.0, 1.0]), ValueError, "`alpha` must be a 1-D"),
        (
            lambda: cf.logit_adjusted_loss(X, Y, [0.5, 0.3, 0.2], tau=-1.0),
            ValueError,
            "`tau` must be in [0.0, inf], got -1.0",
        ),
        (
            lambda: cf.logit_adjusted_loss(X, Y, [0.5, 0.5, 0.0]),
            ValueError,
            "`priors` must be positive, got '0.0 at index 2'",
        ),
        (
            lambda: cf.logit_adjusted_loss(X, Y, [0.5, 0.5]),
            ValueError,
            "`priors` must be a 1-D tensor of length 3",
        ),
        (
            lambda: cf.balanced_softmax_loss(X, Y, [10, 0, 3]),
            ValueError,
            "`counts` must be positive",
        ),
        (
            lambda: cf.balanced_softmax_loss(X, Y, [10, 3]),
            ValueError,
            "`counts` must be a 1-D tensor of length 3",
        ),
        (lambda: cf.ldam_loss(X, Y, [10, 5]), ValueError, "`counts` must be a 1-D tensor"),
        (lambda: cf.ldam_loss(X, Y, [10, 5, 1], scale=0), ValueError, "`scale` must be in (0.0"),
        (
            lambda: cf.ldam_loss(X, Y, [10, 5, 1], max_margin=-0.1),
            ValueError,
            "`max_margin` must be in (0.0",
        ),
        (
            lambda: cf.cost_sensitive_loss(X, Y, torch.ones(3, 2)),
            ValueError,
            "`cost` must be a (C, C) matrix or a (C,) vector",
        ),
        (
            lambda: cf.cost_sensitive_loss(X, Y, torch.ones(2, 2)),
            ValueError,
            "`cost` must be of 3 classes",
        ),
        (
            lambda: cf.cost_sensitive_loss(X, Y, [1.0, float("inf"), 1.0]),
            ValueError,
            "`cost` must be finite",
        ),
        (
            lambda: cf.cost_sensitive_loss(X, Y, [1.0, 1.0, 1.0], cross_entropy_weight=-1),
            ValueError,
            "`cross_entropy_weight` must be in [0.0, inf]",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
