"""The multilabel losses against their papers' formulas, written plainly, over random shapes,
targets (0/1 and soft, with unknown labels) and options, in float64 with gradients."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise import functional as cf
from counterpoise.losses import _autograd

SETTINGS = settings(max_examples=60, deadline=None)
IGNORE = -1.0


@dataclass
class Case:
    x: torch.Tensor  # logits
    y: torch.Tensor  # targets, IGNORE where unknown
    known: torch.Tensor  # boolean mask of the known targets
    reduction: str
    sample_weight: torch.Tensor | None
    upstream: torch.Tensor  # random cotangent, so that "none" checks every gradient


@st.composite
def cases(draw: st.DrawFn, min_ndim: int = 1) -> Case:
    n, labels = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    shapes = [(n,), (n, labels), (n, labels, draw(st.integers(1, 3)))]
    shape = draw(st.sampled_from([s for s in shapes if len(s) >= min_ndim]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn(shape, generator=g, dtype=torch.float64) * draw(st.sampled_from([1.0, 4.0]))
    y = torch.rand(shape, generator=g, dtype=torch.float64)
    if draw(st.booleans()):
        y = (y < 0.3).double()  # 0/1 targets, sparse positives
    known = torch.ones(shape, dtype=torch.bool)
    if draw(st.booleans()):
        known = torch.rand(shape, generator=g) > 0.25
        y = torch.where(known, y, IGNORE)
    s = None
    if draw(st.booleans()):
        s = torch.rand(shape, generator=g, dtype=torch.float64)
    reduction = draw(st.sampled_from(["none", "mean", "sum"]))
    return Case(x, y, known, reduction, s, torch.rand(shape, generator=g, dtype=torch.float64))


def _reduce(loss: torch.Tensor, case: Case) -> torch.Tensor:
    """The reduction written plainly: unknown elements dropped, sample weights in the mean."""
    s = torch.ones_like(loss) if case.sample_weight is None else case.sample_weight
    loss = torch.where(case.known, loss * s, 0.0)
    if case.reduction == "none":
        return loss
    if case.reduction == "sum":
        return loss.sum()
    total = torch.where(case.known, s, 0.0).sum()
    return loss.sum() / total if total > 0 else loss.sum() * 0


def _check(ours: object, formula: object, case: Case) -> None:
    """Same value and same gradient (for a random cotangent) as the formula."""
    results = []
    for fn in (ours, formula):
        x = case.x.clone().requires_grad_()
        out = fn(x)  # type: ignore[operator]
        (out * case.upstream if case.reduction == "none" else out).sum().backward()
        results.append((out.detach(), x.grad))
    torch.testing.assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def _safe(case: Case) -> torch.Tensor:
    """The targets with unknown ones set to 0, for the formulas (which then mask them)."""
    return torch.where(case.known, case.y, 0.0)


# ------------------------------------------------------------------ asymmetric loss


@SETTINGS
@given(
    cases(),
    st.sampled_from([0.0, 1.0, 2.0, 0.5, 4.0]),
    st.sampled_from([4.0, 0.0, 1.0, 2.0, 3.0, 2.5, 0.3]),
    st.sampled_from([0.05, 0.0, None, 0.2]),
)
def test_asymmetric_loss_matches_the_paper(
    case: Case, gamma_pos: float, gamma_neg: float, clip: float | None
) -> None:
    y = _safe(case)
    m = 0.0 if clip is None else clip

    def formula(x: torch.Tensor) -> torch.Tensor:
        # Ridnik et al. (2021), eq. (7)-(8): L+ = (1 - p)^g+ log p, L- = p_m^g- log(1 - p_m),
        # p_m = max(p - m, 0); log p = logsigmoid(x), and without a margin
        # log(1 - p) = logsigmoid(-x) (the same quantities, computed without cancellation).
        p = torch.sigmoid(x)
        p_m = (p - m).clamp(min=0)
        log_1m = F.logsigmoid(-x) if m == 0 else torch.log(1 - p_m)
        positive = (1 - p) ** gamma_pos * F.logsigmoid(x)
        negative = p_m**gamma_neg * log_1m
        return _reduce(-(y * positive + (1 - y) * negative), case)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.asymmetric_loss(
            x,
            case.y,
            gamma_pos=gamma_pos,
            gamma_neg=gamma_neg,
            clip=clip,
            ignore_value=IGNORE,
            reduction=case.reduction,  # type: ignore[arg-type]
            sample_weight=case.sample_weight,
        )

    _check(ours, formula, case)


@pytest.mark.parametrize("gamma_neg", [0.0, 1.0, 2.0, 4.0, 0.5])
@pytest.mark.parametrize("clip", [1e-8, 1e-7, 1e-6, 1e-3, 0.05])
def test_asymmetric_loss_with_a_small_margin_in_float32(clip: float, gamma_neg: float) -> None:
    # A margin below float32's resolution near 1: sigmoid(x) rounds to 1 for x above ~17, and
    # 1 - (p - m) to 0 or to a multiple of 2**-24. The reference is the paper's formula in
    # float64, accurate here to ~1e-8 relative (1 - p >= 1e-17 at x <= 40 and m >= 1e-8).
    x64 = torch.cat([torch.linspace(-20.0, 40.0, 61), torch.tensor([1e-3, 13.8, 16.1, 18.4])])
    x64 = x64.double().view(-1, 1).repeat(1, 2)
    y = torch.zeros_like(x64)
    y[::3, 1] = 1.0  # some positives, which the margin leaves alone
    x64.requires_grad_()
    p = torch.sigmoid(x64)
    p_m = (p - clip).clamp(min=0)
    ref = -(y * F.logsigmoid(x64) + (1 - y) * p_m**gamma_neg * torch.log(1 - p_m))
    ref.sum().backward()
    x32 = x64.detach().float().requires_grad_()
    ours = cf.asymmetric_loss(x32, y.float(), gamma_neg=gamma_neg, clip=clip, reduction="none")
    ours.sum().backward()
    assert torch.isfinite(ours).all() and x32.grad is not None and torch.isfinite(x32.grad).all()
    torch.testing.assert_close(ours.double(), ref.detach(), rtol=2e-6, atol=1e-6)
    assert x64.grad is not None
    torch.testing.assert_close(x32.grad.double(), x64.grad, rtol=2e-5, atol=1e-6)


# ------------------------------------------------------ distribution-balanced loss


@SETTINGS
@given(
    cases(min_ndim=2),
    st.data(),
)
def test_distribution_balanced_loss_matches_the_paper(case: Case, data: st.DataObject) -> None:
    labels = case.x.shape[1]
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))
    counts = torch.randint(1, 200, (labels,), generator=g).double()
    num_samples = 200 + data.draw(st.integers(1, 50))
    alpha = data.draw(st.sampled_from([0.1, 0.0, 0.5]))
    beta = data.draw(st.sampled_from([10.0, 1.0, 4.0]))
    mu = data.draw(st.sampled_from([0.2, 0.3, 0.0]))
    neg_scale = data.draw(st.sampled_from([2.0, 1.0, 5.0, 0.5]))
    kappa = data.draw(st.sampled_from([0.05, 0.0, 1.0]))
    gamma = data.draw(st.sampled_from([0.0, 2.0, 0.5, 1.0]))
    y = _safe(case)
    along = (1, -1) + (1,) * (case.x.ndim - 2)

    def formula(x: torch.Tensor) -> torch.Tensor:
        n = counts.view(along)
        # Wu et al. (2020): r = P^C / P^I = (1 / n_i) / sum_{j: y_j = 1} (1 / n_j), smoothed
        instance = (y / n).sum(1, keepdim=True)
        r = (1 / n) / instance
        weight = alpha + torch.sigmoid(beta * (r - mu))
        # negative-tolerant regularisation: the prior bias kappa b / lambda with
        # b = log(p / (1 - p)), p = n / N, and the negative term at lambda z, times 1 / lambda
        z = x + kappa / neg_scale * torch.log((n / num_samples) / (1 - n / num_samples))
        positive = torch.sigmoid(-z) ** gamma * -F.logsigmoid(z)
        negative = torch.sigmoid(neg_scale * z) ** gamma * -F.logsigmoid(-neg_scale * z)
        return _reduce(weight * (y * positive + (1 - y) * negative / neg_scale), case)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.distribution_balanced_loss(
            x,
            case.y,
            counts,
            num_samples,
            alpha=alpha,
            beta=beta,
            mu=mu,
            neg_scale=neg_scale,
            kappa=kappa,
            gamma=gamma,
            ignore_value=IGNORE,
            reduction=case.reduction,  # type: ignore[arg-type]
            sample_weight=case.sample_weight,
        )

    _check(ours, formula, case)


def test_distribution_balanced_weight_matches_the_authors_code() -> None:
    # The authors' rebalance_weight: repeat_rate = sum(gt * freq_inv); pos_weight =
    # freq_inv / repeat_rate; weight = sigmoid(beta (pos_weight - gamma)) + alpha; a sample
    # without labels gets 1 / 0 = inf and so 1 + alpha.
    counts = torch.tensor([900.0, 90.0, 9.0, 3.0], dtype=torch.float64)
    y = torch.tensor(
        [[1.0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.float64
    )
    freq_inv = 1 / counts
    repeat_rate = (y * freq_inv).sum(1, keepdim=True)
    weight = torch.sigmoid(10.0 * (freq_inv / repeat_rate - 0.2)) + 0.1
    x = torch.zeros_like(y)
    plain = cf.distribution_balanced_loss(x, y, counts, kappa=0.0, neg_scale=1.0, reduction="none")
    unweighted = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    torch.testing.assert_close(plain, weight * unweighted)
    torch.testing.assert_close(weight[2], torch.full((4,), 1.1, dtype=torch.float64))


# ------------------------------------------------------------ sigmoid focal loss


@SETTINGS
@given(cases(), st.data())
def test_sigmoid_focal_loss_with_per_label_alpha_and_weight(
    case: Case, data: st.DataObject
) -> None:
    labels = 1 if case.x.ndim == 1 else case.x.shape[1]
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))
    alpha = torch.rand(data.draw(st.sampled_from([1, labels])), generator=g, dtype=torch.float64)
    weight = None
    if data.draw(st.booleans()):
        weight = torch.rand(labels, generator=g, dtype=torch.float64) * 3
    gamma = data.draw(st.sampled_from([2.0, 0.0, 0.5, 1.0, 3.0]))
    y = _safe(case)
    along = (1, -1) + (1,) * (case.x.ndim - 2) if case.x.ndim >= 2 else (-1,)

    def torchvision_formula(x: torch.Tensor) -> torch.Tensor:
        # torchvision.ops.sigmoid_focal_loss, alpha and weight per label (dimension 1)
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        a = alpha.view(along)
        loss = (a * y + (1 - a) * (1 - y)) * ce * (1 - p_t) ** gamma
        return _reduce(loss if weight is None else loss * weight.view(along), case)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.sigmoid_focal_loss(
            x,
            case.y,
            alpha=alpha,
            gamma=gamma,
            weight=weight,
            ignore_value=IGNORE,
            reduction=case.reduction,  # type: ignore[arg-type]
            sample_weight=case.sample_weight,
        )

    _check(ours, torchvision_formula, case)


@SETTINGS
@given(cases())
def test_bce_with_unknown_labels_equals_torch_on_the_known_ones(case: Case) -> None:
    pos_weight = torch.tensor([2.5], dtype=torch.float64)
    y = _safe(case)

    def torch_formula(x: torch.Tensor) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")
        return _reduce(loss, case)

    def ours(x: torch.Tensor) -> torch.Tensor:
        return cf.binary_cross_entropy_with_logits(
            x,
            case.y,
            pos_weight=pos_weight,
            ignore_value=IGNORE,
            reduction=case.reduction,  # type: ignore[arg-type]
            sample_weight=case.sample_weight,
        )

    _check(ours, torch_formula, case)


# ----------------------------------------------------------------- chunked passes


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, y: cf.asymmetric_loss(x, y, reduction="none"),
        lambda x, y: cf.asymmetric_loss(x, y, gamma_pos=1.0, clip=None, reduction="none"),
        lambda x, y: cf.distribution_balanced_loss(x, y, [5, 9, 30, 2], 50, reduction="none"),
        lambda x, y: cf.distribution_balanced_loss(
            x, y, [5, 9, 30, 2], 50, gamma=2.0, reduction="none"
        ),
        lambda x, y: cf.sigmoid_focal_loss(x, y, alpha=[0.2, 0.4, 0.6, 0.8]),
        lambda x, y: cf.binary_cross_entropy_with_logits(x, y, pos_weight=[3.0], reduction="none"),
    ],
)
def test_chunks_change_nothing(loss: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # Large CPU inputs are computed in chunks of rows, each chunk with its own path (0/1 or
    # soft targets): chunks of a few rows, some of them soft, give the unchunked result.
    g = torch.Generator().manual_seed(3)
    x = (torch.randn(40, 4, 3, generator=g, dtype=torch.float64) * 4).requires_grad_()
    y = (torch.rand(40, 4, 3, generator=g, dtype=torch.float64) < 0.3).double()
    y[10:14] = torch.rand(4, 4, 3, generator=g, dtype=torch.float64)  # soft rows
    upstream = torch.rand(40, 4, 3, generator=g, dtype=torch.float64)
    results = []
    for chunk in (10**9, 12):
        monkeypatch.setattr(_autograd, "_CHUNK", chunk)
        x.grad = None
        out = loss(x, y)  # type: ignore[operator]
        (out * upstream).sum().backward()
        results.append((out.detach(), x.grad.clone()))
    torch.testing.assert_close(results[0], results[1], rtol=1e-12, atol=1e-14)
