"""Multilabel losses: asymmetric, distribution-balanced, per-label focal alpha, unknown labels.

Formula equivalence lives in tests/reference/test_multilabel_reference.py; this file checks
behaviour: modules, gradients, numerics, unknown labels, per-label alpha from counts, errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import counterpoise as cp
from counterpoise import functional as cf
from counterpoise import losses
from counterpoise.losses import sigmoid

COUNTS = [400, 60, 9, 2]
N_TRAIN = 500


def _inputs(seed: int = 0, shape: tuple[int, ...] = (6, 4), dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype) * 3
    y = (torch.rand(shape, generator=g) < 0.4).to(dtype)
    return x, y


# Every new or extended loss as a function of (logits, targets, **options).
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "asymmetric": lambda x, y, **kw: cf.asymmetric_loss(x, y, **kw),
    "asymmetric_soft_focus": lambda x, y, **kw: cf.asymmetric_loss(
        x, y, gamma_pos=1.0, gamma_neg=0.5, clip=None, **kw
    ),
    "distribution_balanced": lambda x, y, **kw: cf.distribution_balanced_loss(
        x, y, COUNTS, N_TRAIN, **kw
    ),
    "distribution_balanced_focal": lambda x, y, **kw: cf.distribution_balanced_loss(
        x, y, COUNTS, N_TRAIN, gamma=2.0, **kw
    ),
    "sigmoid_focal_per_label": lambda x, y, **kw: cf.sigmoid_focal_loss(
        x, y, alpha=[0.9, 0.6, 0.3, 0.1], weight=[1.0, 2.0, 0.5, 3.0], **kw
    ),
    "bce": lambda x, y, **kw: cf.binary_cross_entropy_with_logits(x, y, pos_weight=[2.0], **kw),
}


# ----------------------------------------------------------------- modules


def test_modules_equal_functions() -> None:
    x, y = _inputs(1, (5, 4, 2), torch.float32)
    y[0, 1, 0] = -1.0
    s = torch.rand(5, 4, 2, generator=torch.Generator().manual_seed(2))
    pairs: list[tuple[torch.nn.Module, Callable[..., torch.Tensor]]] = [
        (
            cp.AsymmetricLoss(gamma_pos=1.0, gamma_neg=3.0, clip=0.1, ignore_value=-1),
            lambda x, y, **kw: cf.asymmetric_loss(
                x, y, gamma_pos=1.0, gamma_neg=3.0, clip=0.1, ignore_value=-1, **kw
            ),
        ),
        (
            cp.DistributionBalancedLoss(COUNTS, N_TRAIN, mu=0.3, neg_scale=5, ignore_value=-1),
            lambda x, y, **kw: cf.distribution_balanced_loss(
                x, y, COUNTS, N_TRAIN, mu=0.3, neg_scale=5, ignore_value=-1, **kw
            ),
        ),
        (
            cp.SigmoidFocalLoss(alpha=[0.9, 0.6, 0.3, 0.1], weight=[1, 2, 3, 4], ignore_value=-1),
            lambda x, y, **kw: cf.sigmoid_focal_loss(
                x, y, alpha=[0.9, 0.6, 0.3, 0.1], weight=[1, 2, 3, 4], ignore_value=-1, **kw
            ),
        ),
        (
            cp.WeightedBCEWithLogitsLoss([1.0, 2.0, 3.0, 4.0], ignore_value=-1),
            lambda x, y, **kw: cf.binary_cross_entropy_with_logits(
                x, y, pos_weight=[1.0, 2.0, 3.0, 4.0], ignore_value=-1, **kw
            ),
        ),
    ]
    for module, function in pairs:
        torch.testing.assert_close(module(x, y), function(x, y), rtol=0, atol=0)
        torch.testing.assert_close(
            module(x, y, sample_weight=s), function(x, y, sample_weight=s), rtol=0, atol=0
        )
        if module.reduction == "mean":
            torch.testing.assert_close(
                module(x, y, denominator=7.0), function(x, y, denominator=7.0), rtol=0, atol=0
            )


def test_module_buffers_move_and_are_saved() -> None:
    db = cp.DistributionBalancedLoss(
        cp.count_labels(torch.tensor([[1, 0], [1, 1], [0, 1]]), multilabel=True)
    )
    assert db.num_samples == 3
    torch.testing.assert_close(db.counts, torch.tensor([2.0, 2.0]))
    assert set(db.state_dict()) == {"counts"}
    assert db.double().counts.dtype == torch.float32  # buffers keep their dtype
    focal = cp.SigmoidFocalLoss(alpha=torch.tensor([0.2, 0.7]), weight=[1.0, 2.0])
    assert set(focal.state_dict()) == {"alpha", "weight"}
    assert cp.SigmoidFocalLoss(alpha=torch.tensor(0.3)).alpha == pytest.approx(0.3)


def test_sigmoid_focal_from_counts_uses_label_alpha() -> None:
    targets = torch.tensor([[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 0]])
    module = cp.SigmoidFocalLoss.from_counts(
        cp.count_labels(targets, multilabel=True), scheme="effective", beta=0.9, gamma=1.0
    )
    expected = cf.label_alpha([1, 1, 3], 4, "effective", beta=0.9)
    torch.testing.assert_close(module.alpha, expected)
    assert module.gamma == 1.0
    x = torch.randn(4, 3)
    torch.testing.assert_close(
        module(x, targets.float()),
        cf.sigmoid_focal_loss(x, targets.float(), alpha=expected, gamma=1.0),
    )


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_gradcheck(name: str, reduction: str) -> None:
    g = torch.Generator().manual_seed(4)
    x = (torch.randn(5, 4, 2, generator=g, dtype=torch.float64) * 2).requires_grad_()
    soft = torch.rand(5, 4, 2, generator=g, dtype=torch.float64)
    hard = (soft < 0.4).double()
    s = torch.rand(5, 4, 2, generator=g, dtype=torch.float64)
    unknown = hard.clone()
    unknown[1, 2] = float("nan")
    for y, kw in (
        (soft, {}),
        (hard, {"sample_weight": s}),
        (unknown, {"ignore_value": float("nan")}),
    ):
        assert torch.autograd.gradcheck(
            lambda t, y=y, kw=kw: LOSSES[name](t, y, reduction=reduction, **kw), (x,)
        )


# Every exponent path: 0 (no factor), 1 (``_power`` returns its argument), 2 and 4 (squares),
# 3 (pow); with and without the asymmetric loss's margin, for 0/1 and soft targets.
EXPONENTS = [0.0, 1.0, 2.0, 3.0, 4.0]


def _gradcheck_targets(seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(6, 4, generator=g, dtype=torch.float64) * 2.5).requires_grad_()
    soft = torch.rand(6, 4, generator=g, dtype=torch.float64)
    return x, [(soft < 0.4).double(), soft]


@pytest.mark.parametrize("clip", [0.0, 0.05])
@pytest.mark.parametrize("gamma_neg", EXPONENTS)
@pytest.mark.parametrize("gamma_pos", EXPONENTS)
def test_asymmetric_gradcheck_over_integer_exponents(
    gamma_pos: float, gamma_neg: float, clip: float
) -> None:
    x, targets = _gradcheck_targets(20)
    for y in targets:
        assert torch.autograd.gradcheck(
            lambda t, y=y: cf.asymmetric_loss(
                t, y, gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip, reduction="sum"
            ),
            (x,),
        )


@pytest.mark.parametrize("neg_scale", [1.0, 2.0])
@pytest.mark.parametrize("gamma", EXPONENTS)
def test_distribution_balanced_gradcheck_over_integer_exponents(
    gamma: float, neg_scale: float
) -> None:
    x, targets = _gradcheck_targets(21)
    for y in targets:
        assert torch.autograd.gradcheck(
            lambda t, y=y: cf.distribution_balanced_loss(
                t, y, COUNTS, N_TRAIN, gamma=gamma, neg_scale=neg_scale, reduction="sum"
            ),
            (x,),
        )


@pytest.mark.parametrize("alpha", [0.25, None])
@pytest.mark.parametrize("gamma", EXPONENTS)
def test_sigmoid_focal_gradcheck_over_integer_exponents(gamma: float, alpha: float | None) -> None:
    x, targets = _gradcheck_targets(22)
    for y in targets:
        assert torch.autograd.gradcheck(
            lambda t, y=y: cf.sigmoid_focal_loss(t, y, gamma=gamma, alpha=alpha, reduction="sum"),
            (x,),
        )


def test_gradient_is_kept_for_a_second_backward() -> None:
    x, y = _inputs(5)
    x.requires_grad_()
    loss = cf.distribution_balanced_loss(x, y, COUNTS, N_TRAIN)
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * first)


def test_values_without_autograd() -> None:
    x, y = _inputs(6)
    with torch.no_grad():
        detached = cf.asymmetric_loss(x.clone().requires_grad_(), y)
    assert not detached.requires_grad
    torch.testing.assert_close(detached, cf.asymmetric_loss(x.requires_grad_(), y).detach())


@pytest.mark.parametrize("name", LOSSES)
def test_a_second_derivative_raises_where_it_is_taken(name: str) -> None:
    # The gradient is computed outside autograd: differentiated again it would lack its
    # second-order terms (a gradient penalty or a Hessian-vector product through the loss
    # would silently miss them). A graph of the gradient may be built (torch.func does), but
    # differentiating it raises.
    x, y = _inputs(14)
    x.requires_grad_()
    for reduction in ("sum", "mean"):
        loss = LOSSES[name](x, y, reduction=reduction)
        (grad,) = torch.autograd.grad(loss, x, create_graph=True)
        assert grad.requires_grad
        with pytest.raises(RuntimeError, match="`create_graph` must be False when a gradient"):
            torch.autograd.grad((grad * grad).sum(), x)
        # a first-order backward of the same graph still works, and gives the same gradient
        (again,) = torch.autograd.grad(loss, x)
        assert not again.requires_grad and torch.isfinite(again).all()
        torch.testing.assert_close(again, grad.detach(), rtol=0, atol=0)


# ----------------------------------------------------------------- numerics


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_extreme_logits_stay_finite(name: str, dtype: torch.dtype) -> None:
    x = torch.tensor(
        [[100.0, -100.0, 0.0, 30.0], [-100.0, 100.0, -30.0, 5.0]], dtype=dtype, requires_grad=True
    )
    for y in (
        torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]], dtype=dtype),
        torch.tensor([[0.0, 1.0, 0.7, 0.2], [0.0, 1.0, 0.5, 1.0]], dtype=dtype),
    ):
        x.grad = None
        out = LOSSES[name](x, y, reduction="sum")
        out.backward()
        assert out.dtype == dtype and x.grad is not None and x.grad.dtype == dtype
        assert torch.isfinite(out) and torch.isfinite(x.grad).all()


def test_extreme_logits_give_the_exact_loss() -> None:
    # A positive at -100: -log sigmoid(-100) = 100, a negative at 100: softplus(100) = 100,
    # both in float32 (no clamping of probabilities).
    x = torch.tensor([[-100.0, 100.0]], requires_grad=True)
    y = torch.tensor([[1.0, 0.0]])
    asl = cf.asymmetric_loss(x, y, gamma_neg=0.0, clip=None, reduction="none")
    torch.testing.assert_close(asl, torch.tensor([[100.0, 100.0]]))
    asl.sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([[-1.0, 1.0]]))
    db = cf.distribution_balanced_loss(x, y, [1, 1], 2, alpha=0.0, kappa=0.0, reduction="none")
    weight = torch.sigmoid(torch.tensor(10.0 * 0.8))  # r = 1 for both labels of the sample
    torch.testing.assert_close(db, weight * torch.tensor([[100.0, 100.0]]))


@pytest.mark.parametrize("clip", [0.0, 0.05])
@pytest.mark.parametrize("gamma_neg", [0.0, 4.0])
@pytest.mark.parametrize("gamma_pos", [*EXPONENTS, 0.5])
def test_well_classified_positives_keep_their_precision(
    gamma_pos: float, gamma_neg: float, clip: float
) -> None:
    # A positive's term sigmoid(-x)^g softplus(-x) is tiny for a large logit. Computed from
    # sigmoid(-x) (not 1 - sigmoid(x)) and never mixed with the negative term (whose rounding
    # error would swamp it), it keeps float32's relative precision wherever it is a normal
    # number, and so does its gradient (to a few more units in the last place where the
    # positive is badly classified and the one-term path forms 1 - sigmoid(-x) near 1).
    x = torch.linspace(-20.0, 40.0, 121, requires_grad=True)
    ours = cf.asymmetric_loss(
        x, torch.ones(121), gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip, reduction="none"
    )
    ours.sum().backward()
    x64 = x.detach().double().requires_grad_()
    ref = torch.sigmoid(-x64) ** gamma_pos * F.softplus(-x64)
    ref.sum().backward()
    assert x.grad is not None and x64.grad is not None
    tiny = torch.finfo(torch.float32).tiny
    normal = ref > tiny
    torch.testing.assert_close(ours.double()[normal], ref.detach()[normal], rtol=2e-6, atol=0)
    normal = x64.grad.abs() > tiny
    torch.testing.assert_close(x.grad.double()[normal], x64.grad[normal], rtol=1e-5, atol=0)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_are_computed_in_float32(name: str, reduction: str, dtype: torch.dtype) -> None:
    # Computed in float32 and rounded once: exactly the float32 result of the same (rounded)
    # logits, cast to the half dtype; any accumulation in half precision would differ.
    x, y = _inputs(7, (64, 4), torch.float32)
    upstream = torch.rand(64, 4, generator=torch.Generator().manual_seed(15)).to(dtype)
    x16 = x.to(dtype).requires_grad_()
    out = LOSSES[name](x16, y.to(dtype), reduction=reduction)
    (out * upstream if reduction == "none" else out).sum().backward()
    x32 = x16.detach().float().requires_grad_()
    ref = LOSSES[name](x32, y, reduction=reduction)
    (ref * upstream.float() if reduction == "none" else ref).sum().backward()
    assert out.dtype == dtype and x16.grad is not None and x16.grad.dtype == dtype
    assert x32.grad is not None
    torch.testing.assert_close(out, ref.to(dtype), rtol=0, atol=0)
    torch.testing.assert_close(x16.grad, x32.grad.to(dtype), rtol=0, atol=0)


# ----------------------------------------------------------------- unknown labels


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("ignore_value", [-1, 255, float("nan")])
def test_unknown_labels_contribute_nothing(name: str, ignore_value: float) -> None:
    x, y = _inputs(8, (6, 4, 3))
    unknown = torch.rand(6, 4, 3, generator=torch.Generator().manual_seed(9)) < 0.3
    y_unknown = torch.where(unknown, ignore_value, y)
    x.requires_grad_()
    per_element = LOSSES[name](x, y_unknown, ignore_value=ignore_value, reduction="none")
    assert bool((per_element[unknown] == 0).all())
    mean = LOSSES[name](x, y_unknown, ignore_value=ignore_value, reduction="mean")
    mean.backward()
    assert x.grad is not None and bool((x.grad[unknown] == 0).all())
    # the mean is over the known elements; the known ones lose nothing
    torch.testing.assert_close(mean, per_element.sum() / (~unknown).sum())
    if name.startswith("distribution_balanced"):
        return  # an unknown label changes the instance rate of its sample
    full = LOSSES[name](x.detach(), y, reduction="none")
    torch.testing.assert_close(per_element[~unknown], full[~unknown])


def test_unknown_labels_leave_the_instance_rate() -> None:
    # An unknown label counts as neither positive nor negative: the same as dropping its column.
    x, y = _inputs(10)
    y_unknown = y.clone()
    y_unknown[:, 3] = -1
    with_unknown = cf.distribution_balanced_loss(
        x, y_unknown, COUNTS, N_TRAIN, ignore_value=-1, reduction="sum"
    )
    dropped = cf.distribution_balanced_loss(
        x[:, :3], y[:, :3], COUNTS[:3], N_TRAIN, reduction="sum"
    )
    torch.testing.assert_close(with_unknown, dropped)


def test_every_label_unknown_gives_zero() -> None:
    x = torch.randn(3, 4, requires_grad=True)
    y = torch.full((3, 4), -1.0)
    for name, loss in LOSSES.items():
        out = loss(x, y, ignore_value=-1, reduction="mean")
        out.backward()
        assert out.item() == 0.0 and bool((x.grad == 0).all()), name
        x.grad = None


def test_weights_and_denominator_with_unknown_labels() -> None:
    x, y = _inputs(11)
    y[0, 0] = -1
    s = torch.rand(6, 4, dtype=torch.float64)
    per_element = cf.asymmetric_loss(x, y, ignore_value=-1, reduction="none")
    known = y != -1
    torch.testing.assert_close(
        cf.asymmetric_loss(x, y, ignore_value=-1, sample_weight=s),
        (per_element * s).sum() / s[known].sum(),
    )
    torch.testing.assert_close(
        cf.asymmetric_loss(x, y, ignore_value=-1, denominator=10.0), per_element.sum() / 10
    )


# ------------------------------------------------ distribution-balanced specifics


def test_distribution_balanced_accepts_label_counts_and_spatial_inputs() -> None:
    targets = (torch.rand(50, 4, generator=torch.Generator().manual_seed(12)) < 0.3).long()
    targets[0] = 1
    lc = cp.count_labels(targets, multilabel=True)
    x, y = torch.randn(6, 4, dtype=torch.float64), (torch.rand(6, 4) < 0.3).double()
    torch.testing.assert_close(
        cf.distribution_balanced_loss(x, y, lc),
        cf.distribution_balanced_loss(x, y, lc.counts, lc.num_samples),
    )
    # (N, L, d): every position is an instance, as rows of an (N d, L) input
    x3, y3 = torch.randn(3, 4, 5, dtype=torch.float64), (torch.rand(3, 4, 5) < 0.3).double()
    flat = cf.distribution_balanced_loss(
        x3.movedim(1, -1).reshape(-1, 4), y3.movedim(1, -1).reshape(-1, 4), lc, reduction="none"
    )
    spatial = cf.distribution_balanced_loss(x3, y3, lc, reduction="none")
    torch.testing.assert_close(spatial.movedim(1, -1).reshape(-1, 4), flat)


def test_distribution_balanced_counts_may_reach_num_samples_without_the_prior_bias() -> None:
    # num_samples only enters the prior bias: with kappa = 0 a label in every sample is fine,
    # for the function and the module alike, and the loss does not depend on num_samples.
    x, y = _inputs(16, (6, 3))
    out = cf.distribution_balanced_loss(x, y, [6, 2, 1], 6, kappa=0.0)
    torch.testing.assert_close(out, cf.distribution_balanced_loss(x, y, [6, 2, 1], kappa=0.0))
    module = losses.DistributionBalancedLoss([6, 2, 1], 6, kappa=0.0)
    torch.testing.assert_close(module(x.float(), y.float()), out.float())


def test_distribution_balanced_module_checks_its_counts_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Checked when the module is built; its forward neither checks them again nor copies
    # them to the CPU (which on an accelerator would wait for the device at every call).
    module = cp.DistributionBalancedLoss(COUNTS, N_TRAIN, gamma=2.0)
    x, y = _inputs(17, (6, 4), torch.float32)
    expected = cf.distribution_balanced_loss(x, y, COUNTS, N_TRAIN, gamma=2.0)

    def checked_again(*args: Any) -> Any:
        raise AssertionError("the counts were checked again")

    monkeypatch.setattr(sigmoid, "counts_with_total", checked_again)
    torch.testing.assert_close(module(x, y), expected, rtol=0, atol=0)


def test_distribution_balanced_defaults_and_prior_bias() -> None:
    # Without re-balancing differences (equal counts, every label positive) and kappa = 0,
    # lambda = 1, the loss is (alpha + sigmoid(beta (1 / L - mu))) times BCE.
    x = torch.randn(4, 3, dtype=torch.float64)
    y = torch.ones(4, 3, dtype=torch.float64)
    out = cf.distribution_balanced_loss(x, y, [5, 5, 5], kappa=0.0, neg_scale=1.0)
    weight = 0.1 + torch.sigmoid(torch.tensor(10.0 * (1 / 3 - 0.2), dtype=torch.float64))
    torch.testing.assert_close(out, weight * F.binary_cross_entropy_with_logits(x, y))
    # the bias shifts a rare label's logit by kappa / lambda log(p / (1 - p)) < 0
    zero = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    cf.distribution_balanced_loss(
        zero, target, [250, 5], 500, neg_scale=1.0, reduction="sum"
    ).backward()
    assert zero.grad is not None and zero.grad[0, 1] < zero.grad[0, 0]


# -------------------------------------------------------- per-label alpha from counts


def test_label_alpha_balances_positives_and_negatives() -> None:
    positives = torch.tensor([10.0, 100.0, 500.0, 990.0])
    alpha = cf.label_alpha(positives, 1000)
    torch.testing.assert_close(alpha, (1000 - positives) / 1000)
    # the invariant of "balanced": alpha P = (1 - alpha)(N - P) for every label
    torch.testing.assert_close(alpha * positives, (1 - alpha) * (1000 - positives))
    torch.testing.assert_close(cf.label_alpha(positives, 1000, "inverse"), alpha)
    torch.testing.assert_close(cf.label_alpha(positives, 1000, "none"), torch.full((4,), 0.5))
    beta = 0.999
    effective = (1 - beta) / (1 - beta ** positives.double())
    effective_neg = (1 - beta) / (1 - beta ** (1000 - positives.double()))
    torch.testing.assert_close(
        cf.label_alpha(positives, 1000, "effective", beta=beta),
        (effective / (effective + effective_neg)).float(),
    )
    lc = cp.count_labels(torch.tensor([[1, 0], [1, 1], [0, 0], [0, 0]]), multilabel=True)
    torch.testing.assert_close(cf.label_alpha(lc), torch.tensor([0.5, 0.75]))


def test_label_alpha_zero_count_policies() -> None:
    torch.testing.assert_close(
        cf.label_alpha([0, 2, 4], 4, zero_counts="zero"), torch.tensor([0.0, 0.5, 1.0])
    )
    smooth = cf.label_alpha([0, 4], 4, zero_counts="smooth", smoothing=1.0)
    torch.testing.assert_close(smooth, torch.tensor([5 / 6, 1 / 6]))


def test_class_balanced_focal_is_a_per_label_weight() -> None:
    # The per-label adaptation of Cui et al.'s class-balanced focal loss: the effective-number
    # weight of each label's positives times that label's focal terms.
    x, y = _inputs(13)
    w = cp.class_weights(torch.tensor([400.0, 60.0, 9.0, 2.0]), "effective", beta=0.999)
    weighted = cf.sigmoid_focal_loss(x, y, alpha=None, weight=w, reduction="none")
    plain = cf.sigmoid_focal_loss(x, y, alpha=None, reduction="none")
    torch.testing.assert_close(weighted, plain * w.double())


def test_per_label_alpha_equals_a_scalar_alpha_when_equal() -> None:
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.rand(5, 3, dtype=torch.float64)  # soft targets: alpha_t is torchvision's
    torch.testing.assert_close(
        cf.sigmoid_focal_loss(x, y, alpha=[0.3, 0.3, 0.3]), cf.sigmoid_focal_loss(x, y, alpha=0.3)
    )
    torch.testing.assert_close(
        cf.sigmoid_focal_loss(x, y, alpha=[0.3]), cf.sigmoid_focal_loss(x, y, alpha=0.3)
    )


# ----------------------------------------------------------------- errors

X = torch.zeros(3, 4)
Y = torch.tensor([[1.0, 0.0, 0.0, 1.0]] * 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cf.asymmetric_loss(X, Y * 2), ValueError, "`target` must be values in [0, 1]"),
        (
            lambda: cf.asymmetric_loss(X, Y - 2, ignore_value=-1),
            ValueError,
            "`target` must be values in [0, 1] or ignore_value=-1.0, got '-2.0 at index (0, 1)'",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y * 2, COUNTS, N_TRAIN),
            ValueError,
            "`target` must be values in [0, 1]",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X, Y - 1),
            ValueError,
            "`target` must be values in [0, 1]",
        ),
        (
            lambda: cf.asymmetric_loss(X, torch.full((3, 4), float("nan"))),
            ValueError,
            "`target` must be finite",
        ),
        (
            lambda: cf.asymmetric_loss(X, Y, ignore_value=0),
            ValueError,
            "`ignore_value` must be a number outside [0, 1]",
        ),
        (
            lambda: cf.asymmetric_loss(X, Y, ignore_value=True),
            TypeError,
            "`ignore_value` must be a number",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, [1, 2, 3], N_TRAIN),
            ValueError,
            "`counts` must be a 1-D tensor of length 4 (the number of labels)",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, [0, 5, 0, 1], N_TRAIN),
            ValueError,
            "`counts` must be positive for every label, got 'no positives at 2 labels: [0, 2]'",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, [10, 5, 500, 1], 500),
            ValueError,
            "`counts` must be below num_samples=500 for every label, got 'no negatives at 1 label: [2]'",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, [10, 5, 600, 1], 500),
            ValueError,
            "`counts` must be at most num_samples=500",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS),
            ValueError,
            "`num_samples` must be the number of training samples when kappa > 0",
        ),
        (
            lambda: cf.distribution_balanced_loss(X[:, 0], Y[:, 0], COUNTS[:1], N_TRAIN),
            ValueError,
            "`input` must be of shape (N, C) or (N, C, d1, ..., dK)",
        ),
        (lambda: cf.asymmetric_loss(X, Y, gamma_pos=-1), ValueError, "`gamma_pos` must be in [0.0"),
        (
            lambda: cf.asymmetric_loss(X, Y, gamma_neg=-0.5),
            ValueError,
            "`gamma_neg` must be in [0.0",
        ),
        (lambda: cf.asymmetric_loss(X, Y, clip=-0.1), ValueError, "`clip` must be in [0.0, 1.0)"),
        (lambda: cf.asymmetric_loss(X, Y, clip=1.0), ValueError, "`clip` must be in [0.0, 1.0)"),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS, N_TRAIN, alpha=-0.1),
            ValueError,
            "`alpha` must be in [0.0, inf]",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS, N_TRAIN, beta=0),
            ValueError,
            "`beta` must be in (0.0, inf]",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS, N_TRAIN, mu=-1),
            ValueError,
            "`mu` must be in [0.0, inf]",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS, N_TRAIN, neg_scale=0),
            ValueError,
            "`neg_scale` must be in (0.0, inf]",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS, N_TRAIN, kappa=-1),
            ValueError,
            "`kappa` must be in [0.0, inf]",
        ),
        (
            lambda: cf.distribution_balanced_loss(X, Y, COUNTS, N_TRAIN, gamma=-2),
            ValueError,
            "`gamma` must be in [0.0, inf]",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X, Y, alpha=[0.5, 1.5, 0.5, 0.5]),
            ValueError,
            "`alpha` must be values in [0, 1], got '1.5 at index 1'",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X, Y, alpha=[0.5, 0.5]),
            ValueError,
            "`alpha` must be a 1-D tensor of length 4 (the number of labels) or 1",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X[:, 0], Y[:, 0], alpha=[0.5, 0.5]),
            ValueError,
            "`alpha` must be a 1-D tensor of length 1 (a 1-D input has one label), got",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X[:, 0], Y[:, 0], alpha=[1.5]),
            ValueError,
            "`alpha` must be values in [0, 1], got '1.5 at index 0'",
        ),
        (
            lambda: cf.binary_cross_entropy_with_logits(X[:, 0], Y[:, 0], pos_weight=[1, 2]),
            ValueError,
            "`pos_weight` must be a 1-D tensor of length 1 (a 1-D input has one label), got",
        ),
        (
            lambda: cf.sigmoid_focal_loss(X, Y, weight=[1.0, -1.0, 1.0, 1.0]),
            ValueError,
            "`weight` must be non-negative",
        ),
        (
            lambda: cf.label_alpha([3, 0, 5], 10),
            ValueError,
            "`counts` must be positive for every label (or pass zero_counts='smooth' or 'zero'), got 'none at 1 label: [1]'",
        ),
        (
            lambda: cf.label_alpha([3, 10, 5], 10),
            ValueError,
            "`counts` must be below num_samples for every label",
        ),
        (lambda: cf.label_alpha([3, 4]), ValueError, "`num_samples` must be the number of samples"),
        (
            lambda: cf.label_alpha([3, 4], 10, "cost"),
            ValueError,
            "`scheme` must be a counting scheme",
        ),
        (
            lambda: cf.label_alpha([3, 4], 10, normalize="sum"),
            ValueError,
            "`normalize` must be not given to label_alpha",
        ),
        (
            lambda: cf.label_alpha(cp.count_labels(Y, multilabel=True), 3),
            ValueError,
            "`num_samples` must be None when the counts carry their own",
        ),
        (lambda: losses.AsymmetricLoss(clip=2.0), ValueError, "`clip` must be in [0.0, 1.0)"),
        (
            lambda: losses.DistributionBalancedLoss([1, 0], 5),
            ValueError,
            "`counts` must be positive",
        ),
        (  # checked when the module is built, not at its first call
            lambda: losses.DistributionBalancedLoss([1, 5, 2], 5),
            ValueError,
            "`counts` must be below num_samples=5 for every label, got 'no negatives at 1 label: [1]'",
        ),
        (
            lambda: losses.DistributionBalancedLoss([1, 5, 2]),
            ValueError,
            "`num_samples` must be the number of training samples when kappa > 0",
        ),
        (
            lambda: losses.DistributionBalancedLoss([1, 6, 2], 5, kappa=0.0),
            ValueError,
            "`counts` must be at most num_samples=5",
        ),
        (
            lambda: losses.SigmoidFocalLoss(ignore_value=0.5),
            ValueError,
            "`ignore_value` must be a number outside [0, 1]",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_targets_outside_the_range_stay_an_error_without_ignore_value() -> None:
    y = Y.clone()
    y[0, 0] = -1
    for name, loss in LOSSES.items():
        with pytest.raises(ValueError, match="must be values in"):
            loss(X, y)
        assert math.isfinite(loss(X, y, ignore_value=-1, reduction="mean").item()), name
