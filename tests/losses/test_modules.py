"""The nn.Module wrappers: module == function, buffers, construction from counts, errors."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any

import pytest
import torch

from counterpoise import functional as cf
from counterpoise import losses
from counterpoise.losses.registry import LOSSES as LOSSES_BY_NAME

COUNTS = [500.0, 120.0, 30.0, 4.0]
WEIGHT = torch.tensor([0.2, 0.7, 1.5, 3.0])
COST = torch.rand(4, 4, generator=torch.Generator().manual_seed(0))

# (module, the same loss as a function call)
PAIRS: dict[str, tuple[torch.nn.Module, Callable[..., torch.Tensor]]] = {
    "cross_entropy": (
        losses.WeightedCrossEntropyLoss(WEIGHT, label_smoothing=0.1, ignore_index=3),
        lambda x, y, **kw: cf.cross_entropy(
            x, y, WEIGHT, label_smoothing=0.1, ignore_index=3, **kw
        ),
    ),
    "focal": (
        losses.FocalLoss(WEIGHT, gamma=1.5),
        lambda x, y, **kw: cf.focal_loss(x, y, gamma=1.5, alpha=WEIGHT, **kw),
    ),
    "logit_adjusted": (
        losses.LogitAdjustedLoss(COUNTS, tau=0.5, weight=WEIGHT),
        lambda x, y, **kw: cf.logit_adjusted_loss(x, y, COUNTS, tau=0.5, weight=WEIGHT, **kw),
    ),
    "balanced_softmax": (
        losses.BalancedSoftmaxLoss(COUNTS, reduction="sum"),
        lambda x, y, **kw: cf.balanced_softmax_loss(x, y, COUNTS, reduction="sum", **kw),
    ),
    "ldam": (
        losses.LDAMLoss(COUNTS, max_margin=0.3, scale=10.0, weight=WEIGHT),
        lambda x, y, **kw: cf.ldam_loss(
            x, y, COUNTS, max_margin=0.3, scale=10.0, weight=WEIGHT, **kw
        ),
    ),
    "cost_sensitive": (
        losses.CostSensitiveLoss(COST, cross_entropy_weight=0.2, reduction="none"),
        lambda x, y, **kw: cf.cost_sensitive_loss(
            x, y, COST, cross_entropy_weight=0.2, reduction="none", **kw
        ),
    ),
}


@pytest.mark.parametrize("name", PAIRS)
def test_module_equals_function(name: str) -> None:
    module, function = PAIRS[name]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, 3, generator=g)
    y = torch.randint(0, 4, (6, 3), generator=g)
    y[0, 0] = -100 if name != "cross_entropy" else 3
    s = torch.rand(6, 3, generator=g)
    torch.testing.assert_close(module(x, y), function(x, y), rtol=0, atol=0)
    torch.testing.assert_close(
        module(x, y, sample_weight=s), function(x, y, sample_weight=s), rtol=0, atol=0
    )
    if module.reduction == "mean":
        torch.testing.assert_close(module(x, y, denominator=7.0), function(x, y, denominator=7.0))


def test_binary_modules_equal_functions() -> None:
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(5, 3, generator=g), (torch.rand(5, 3, generator=g) < 0.4).float()
    bce = losses.WeightedBCEWithLogitsLoss([1.0, 2.0, 3.0], [0.5], reduction="sum")
    torch.testing.assert_close(
        bce(x, y),
        cf.binary_cross_entropy_with_logits(
            x, y, pos_weight=[1.0, 2.0, 3.0], neg_weight=[0.5], reduction="sum"
        ),
    )
    focal = losses.SigmoidFocalLoss(alpha=None, gamma=1.0)
    torch.testing.assert_close(focal(x, y), cf.sigmoid_focal_loss(x, y, alpha=None, gamma=1.0))


def test_tensors_are_float32_buffers() -> None:
    module = losses.LDAMLoss([10, 5, 1], weight=[1, 2, 3])
    buffers = dict(module.named_buffers())
    assert set(buffers) == {"counts", "weight"}
    assert all(b.dtype == torch.float32 for b in buffers.values())
    assert set(module.state_dict()) == {"counts", "weight"}
    assert dict(losses.WeightedCrossEntropyLoss().named_buffers()) == {}


def test_autocast_keeps_weights_in_float32() -> None:
    module = losses.FocalLoss([0.5, 1.0, 2.0])
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x.bfloat16(), y)
    assert module.alpha is not None and module.alpha.dtype == torch.float32
    torch.testing.assert_close(out.float(), module(x.bfloat16().float(), y), rtol=1e-2, atol=1e-2)


def test_from_counts_uses_class_weights() -> None:
    pytest.importorskip("counterpoise.weights", reason="the weighting schemes are not there yet")
    from counterpoise.weights import class_weights, pos_weight

    counts = torch.tensor([900.0, 90.0, 10.0])
    ce = losses.WeightedCrossEntropyLoss.from_counts(counts, label_smoothing=0.1)
    assert ce.weight is not None and torch.equal(ce.weight, class_weights(counts))
    assert ce.label_smoothing == 0.1
    focal = losses.FocalLoss.from_counts(counts, scheme="effective", beta=0.99, gamma=1.0)
    assert focal.alpha is not None
    assert torch.equal(focal.alpha, class_weights(counts, "effective", beta=0.99))
    assert focal.gamma == 1.0
    ldam = losses.LDAMLoss.from_counts(counts)
    assert ldam.weight is None and torch.equal(ldam.counts, counts)
    drw = losses.LDAMLoss.from_counts(counts, scheme="effective", beta=0.9999)
    assert drw.weight is not None
    assert torch.equal(drw.weight, class_weights(counts, "effective", beta=0.9999))
    la = losses.LogitAdjustedLoss.from_counts(counts, tau=2.0)
    torch.testing.assert_close(la.priors, counts / counts.sum())
    targets = (torch.rand(20, 3, generator=torch.Generator().manual_seed(3)) < 0.3).float()
    targets[0] = targets[1] = torch.tensor([1.0, 0.0, 1.0])
    targets[2] = torch.tensor([0.0, 1.0, 0.0])
    targets[3] = torch.zeros(3)
    bce = losses.WeightedBCEWithLogitsLoss.from_counts(targets)
    assert bce.pos_weight is not None and torch.equal(bce.pos_weight, pos_weight(targets))


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: losses.WeightedCrossEntropyLoss(reduction="avg"),
            ValueError,
            "`reduction` must be one of 'none', 'mean', 'sum', got 'avg'",
        ),
        (
            lambda: losses.WeightedCrossEntropyLoss([1.0, float("nan")]),
            ValueError,
            "`weight` must be finite",
        ),
        (
            lambda: losses.WeightedCrossEntropyLoss(label_smoothing=-0.1),
            ValueError,
            "`label_smoothing` must be in [0.0, 1.0]",
        ),
        (lambda: losses.FocalLoss(gamma=-1), ValueError, "`gamma` must be in [0.0, inf]"),
        (lambda: losses.FocalLoss([[1.0]]), ValueError, "`alpha` must be a non-empty 1-D"),
        (
            lambda: losses.LogitAdjustedLoss([0.5, 0.5], tau=-0.5),
            ValueError,
            "`tau` must be in [0.0, inf]",
        ),
        (
            lambda: losses.LogitAdjustedLoss([0.5, 0.0]),
            ValueError,
            "`priors` must be positive",
        ),
        (lambda: losses.BalancedSoftmaxLoss([3, -1]), ValueError, "`counts` must be non-negative"),
        (lambda: losses.LDAMLoss([3, 1], scale=-1), ValueError, "`scale` must be in (0.0, inf]"),
        (
            lambda: losses.CostSensitiveLoss(torch.ones(2, 3)),
            ValueError,
            "`cost` must be a (C, C) matrix or a (C,) vector",
        ),
        (
            lambda: losses.WeightedBCEWithLogitsLoss([-1.0]),
            ValueError,
            "`pos_weight` must be non-negative",
        ),
        (lambda: losses.SigmoidFocalLoss(alpha=2.0), ValueError, "`alpha` must be in [0.0, 1.0]"),
    ],
)
def test_bad_arguments_fail_at_construction(
    build: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        build()
    assert message in str(info.value)


def test_weight_length_is_checked_per_call() -> None:
    module = losses.WeightedCrossEntropyLoss([1.0, 2.0])
    with pytest.raises(ValueError, match="`weight` must be a 1-D tensor of length 3"):
        module(torch.randn(2, 3), torch.tensor([0, 1]))


def test_adjusted_loss_modules_pass_label_smoothing_through():
    import counterpoise.functional as cf
    from counterpoise.losses import BalancedSoftmaxLoss, LDAMLoss, LogitAdjustedLoss

    counts = [50, 10, 2]
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 1, 2, 0, 1, 2])
    pairs = [
        (
            LogitAdjustedLoss.from_counts(counts, label_smoothing=0.2),
            cf.logit_adjusted_loss(x, t, torch.tensor(counts) / 62, label_smoothing=0.2),
        ),
        (
            BalancedSoftmaxLoss(counts, label_smoothing=0.2),
            cf.balanced_softmax_loss(x, t, counts, label_smoothing=0.2),
        ),
        (
            LDAMLoss.from_counts(counts, label_smoothing=0.2),
            cf.ldam_loss(x, t, counts, label_smoothing=0.2),
        ),
    ]
    for module, expected in pairs:
        assert module.label_smoothing == 0.2
        torch.testing.assert_close(module(x, t), expected)
    with pytest.raises(ValueError, match="label_smoothing"):
        LDAMLoss(counts, label_smoothing=1.5)


# --------------------------------------------------------- dtype conversions of the modules

BIG_COUNTS = [120000.0, 7001.0, 301.0, 3.0]  # beyond float16's range, rounded by bfloat16
ODD_WEIGHT = torch.tensor([0.2, 0.7, 1.3, 3.1])  # none of them exact in half precision
ALPHA = torch.tensor([0.1, 0.3, 0.7, 0.9])


def _index_batch(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    return torch.randn(6, 4, generator=g).to(dtype), torch.randint(0, 4, (6,), generator=g)


def _multilabel_batch(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(6, 4, generator=g) * 3
    return x.to(dtype), (torch.rand(6, 4, generator=g) < 0.4).to(dtype)


def _anchor_batch(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(6)
    return torch.randn(2, 5, 4, generator=g).to(dtype), torch.randint(0, 5, (2, 5), generator=g)


# (build the module, the same loss as a function call, a batch of the given dtype)
EVERY_MODULE: dict[str, tuple[Callable[[], torch.nn.Module], Callable[..., torch.Tensor], Any]] = {
    "cross_entropy": (
        lambda: losses.WeightedCrossEntropyLoss(ODD_WEIGHT),
        lambda x, y: cf.cross_entropy(x, y, ODD_WEIGHT),
        _index_batch,
    ),
    "focal": (
        lambda: losses.FocalLoss(ODD_WEIGHT),
        lambda x, y: cf.focal_loss(x, y, alpha=ODD_WEIGHT),
        _index_batch,
    ),
    "logit_adjusted": (
        lambda: losses.LogitAdjustedLoss(BIG_COUNTS, weight=ODD_WEIGHT),
        lambda x, y: cf.logit_adjusted_loss(x, y, BIG_COUNTS, weight=ODD_WEIGHT),
        _index_batch,
    ),
    "balanced_softmax": (
        lambda: losses.BalancedSoftmaxLoss(BIG_COUNTS, weight=ODD_WEIGHT),
        lambda x, y: cf.balanced_softmax_loss(x, y, BIG_COUNTS, weight=ODD_WEIGHT),
        _index_batch,
    ),
    "ldam": (
        lambda: losses.LDAMLoss(BIG_COUNTS, scale=5.0, weight=ODD_WEIGHT),
        lambda x, y: cf.ldam_loss(x, y, BIG_COUNTS, scale=5.0, weight=ODD_WEIGHT),
        _index_batch,
    ),
    "cost_sensitive": (
        lambda: losses.CostSensitiveLoss(ODD_WEIGHT, cross_entropy_weight=0.3),
        lambda x, y: cf.cost_sensitive_loss(x, y, ODD_WEIGHT, cross_entropy_weight=0.3),
        _index_batch,
    ),
    "weighted_bce": (
        lambda: losses.WeightedBCEWithLogitsLoss(ODD_WEIGHT, ODD_WEIGHT.flip(0)),
        lambda x, y: cf.binary_cross_entropy_with_logits(
            x, y, pos_weight=ODD_WEIGHT, neg_weight=ODD_WEIGHT.flip(0)
        ),
        _multilabel_batch,
    ),
    "sigmoid_focal": (
        lambda: losses.SigmoidFocalLoss(alpha=ALPHA, weight=ODD_WEIGHT, reduction="sum"),
        lambda x, y: cf.sigmoid_focal_loss(x, y, alpha=ALPHA, weight=ODD_WEIGHT, reduction="sum"),
        _multilabel_batch,
    ),
    "asymmetric": (
        lambda: losses.AsymmetricLoss(),
        lambda x, y: cf.asymmetric_loss(x, y),
        _multilabel_batch,
    ),
    "distribution_balanced": (
        lambda: losses.DistributionBalancedLoss(BIG_COUNTS, 200000, gamma=2.0),
        lambda x, y: cf.distribution_balanced_loss(x, y, BIG_COUNTS, 200000, gamma=2.0),
        _multilabel_batch,
    ),
    "anchor_focal": (
        lambda: losses.AnchorFocalLoss(ALPHA, weight=ODD_WEIGHT),
        lambda x, y: cf.anchor_focal_loss(x, y, alpha=ALPHA, weight=ODD_WEIGHT),
        _anchor_batch,
    ),
}


def test_every_module_is_covered() -> None:
    assert {type(build()).__name__ for build, _, _ in EVERY_MODULE.values()} == set(losses.__all__)


def _reloaded(module: torch.nn.Module, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    fresh = build()
    fresh.load_state_dict(torch.load(buffer))
    return fresh


@pytest.mark.parametrize("name", EVERY_MODULE)
@pytest.mark.parametrize(
    ("convert", "dtype"),
    [
        (lambda m: m.half(), torch.float16),
        (lambda m: m.bfloat16(), torch.bfloat16),
        (lambda m: m.double(), torch.float64),
        (lambda m: m.float(), torch.float32),
        (lambda m: m.to(torch.float16), torch.float16),
        (lambda m: m.to("cpu", torch.bfloat16), torch.bfloat16),
        (lambda m: m.to(torch.device("cpu")), torch.float32),
        (
            lambda m: torch.nn.ModuleDict({"head": torch.nn.Linear(2, 2), "loss": m}).half().loss,
            torch.float16,
        ),
    ],
    ids=["half", "bfloat16", "double", "float", "to_half", "to_cpu_bfloat16", "to_cpu", "parent"],
)
def test_dtype_conversions_keep_the_buffers_exact(
    name: str, convert: Callable[[torch.nn.Module], torch.nn.Module], dtype: torch.dtype
) -> None:
    # Counts above 65504 would be infinite in float16 and weights rounded: the buffers keep
    # float32, so the converted module, and one reloaded from its state_dict, compute exactly
    # the function of the original arguments, on inputs of the new dtype.
    build, function, batch = EVERY_MODULE[name]
    original = {k: v.clone() for k, v in build().state_dict().items()}
    module = convert(build())
    assert all(b.dtype == torch.float32 for b in module.buffers())
    for key, value in module.state_dict().items():
        assert torch.equal(value, original[key]), key
    x, y = batch(dtype)
    expected = function(x, y)
    for candidate in (module, _reloaded(module, build)):
        torch.testing.assert_close(candidate(x, y), expected, rtol=0, atol=0)


def test_device_moves_still_apply_with_a_dtype() -> None:
    module = losses.DistributionBalancedLoss(BIG_COUNTS, 200000).to("meta", torch.float16)
    assert module.counts.device.type == "meta" and module.counts.dtype == torch.float32
    focal = losses.AnchorFocalLoss(ALPHA, weight=ODD_WEIGHT).to("meta", torch.bfloat16)
    assert all(b.device.type == "meta" and b.dtype == torch.float32 for b in focal.buffers())


@pytest.mark.parametrize(
    "name",
    [
        "cross_entropy",
        "focal",
        "logit_adjusted",
        "balanced_softmax",
        "ldam",
        "cost_sensitive",
        "bce",
        "sigmoid_focal",
        "distribution_balanced",
        "anchor_focal",
    ],
)
@pytest.mark.parametrize("bad", [float("nan"), -1.0])
def test_a_loaded_state_is_checked_like_the_constructor_checks_it(name, bad, raises):
    from counterpoise import count_labels
    from counterpoise.losses.registry import LOSSES

    entry = LOSSES[name]
    if entry.task == "multilabel":
        counts = count_labels(
            torch.tensor([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]]), multilabel=True
        )
    else:
        counts = torch.tensor([40, 10, 5])
    module = entry.build(counts)
    state = module.state_dict()
    buffer = next(k for k, v in state.items() if v is not None and v.is_floating_point())
    module.load_state_dict(state)  # its own state loads
    state[buffer] = state[buffer].clone()
    state[buffer].view(-1)[0] = bad
    if name == "cost_sensitive" and bad == -1.0:
        # a negative cost (a reward) is a valid cost matrix for the constructor too
        module.load_state_dict(state)
        assert module.cost.view(-1)[0] == -1.0
        return
    with raises(ValueError, buffer):
        module.load_state_dict(state)


@pytest.mark.parametrize(
    ("build", "buffer", "bad", "expected"),
    [
        (
            lambda: losses.SigmoidFocalLoss(alpha=[0.2, 0.7]),
            "alpha",
            torch.tensor([0.2, 1.5]),
            "values in [0, 1]",
        ),
        (
            lambda: losses.AnchorFocalLoss([0.2, 0.7]),
            "alpha",
            torch.tensor([1.5, 0.2]),
            "values in [0, 1]",
        ),
        (
            lambda: losses.DistributionBalancedLoss([30.0, 5.0], 40),
            "counts",
            torch.tensor([40.0, 5.0]),
            "below num_samples=40 for every label",
        ),
        (
            lambda: losses.FocalLoss([0.5, 2.0]),  # a softmax focal alpha is a class weight
            "alpha",
            torch.tensor([0.5, -2.0]),
            "non-negative",
        ),
    ],
)
def test_a_loaded_state_is_checked_by_the_rules_of_each_buffer(
    build, buffer, bad, expected, raises
):
    module = build()
    with raises(ValueError, buffer, expected):
        module.load_state_dict({buffer: bad})
    # the module keeps what it held before
    assert torch.equal(getattr(module, buffer), build().state_dict()[buffer])
    losses.FocalLoss([0.5, 2.0]).load_state_dict({"alpha": torch.tensor([1.5, 3.0])})


#: What a loss checks with each call, besides its options: never the tensors a module owns.
PER_CALL = {"target", "sample_weight", "denominator"}


@pytest.mark.parametrize("name", list(LOSSES_BY_NAME))
def test_a_module_checks_its_buffers_once_not_per_call(name, request, monkeypatch):
    # On an accelerator every check of a value is a device-side assertion, a kernel launched
    # with each call (on the CPU, a pass over the tensor): a module's forward asserts only on
    # what comes with the call, while the function, given the module's buffers, checks them
    # each time. The function with the buffers computes what the module does.
    from counterpoise import _checks

    asserted: list[str] = []
    original = _checks.device_assert

    def spy(ok: torch.Tensor, what: str, expected: str) -> None:
        asserted.append(what)
        original(ok, what, expected)

    entry = LOSSES_BY_NAME[name]
    module, x, y = _owning_module(name)  # its buffers checked here, once
    request.getfixturevalue("device_checks")  # from here every value check is an assertion
    for namespace in list(sys.modules.values()):
        if getattr(namespace, "device_assert", None) is original:
            monkeypatch.setattr(namespace, "device_assert", spy)
    owned = {k for k, v in module.named_buffers() if v is not None}
    sw = torch.rand(y.shape if entry.task != "detection" else x.shape)
    from_module = module(x, y, sample_weight=sw)
    assert set(asserted) <= PER_CALL and "target" in asserted, asserted
    asserted.clear()
    options = {**dict(module.named_buffers()), **_function_options(name, module)}
    from_function = entry.function(x, y, sample_weight=sw, **options)
    assert owned <= set(asserted), (owned, asserted)
    torch.testing.assert_close(from_module, from_function, rtol=0, atol=0)


def _owning_module(name: str) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The loss module built from counts, with every per-class tensor it can own, and a
    batch for it."""
    from counterpoise import count_labels

    entry = LOSSES_BY_NAME[name]
    g = torch.Generator().manual_seed(9)
    if entry.task == "multilabel":
        y = (torch.rand(8, 3, generator=g) < 0.5).float()
        options: dict[str, Any] = {"reduction": "mean"}
        if name == "bce":
            return entry.build(y), torch.randn(8, 3, generator=g), y
        if name == "sigmoid_focal":
            options["weight"] = torch.tensor([0.5, 1.0, 2.0])
        counts = count_labels(
            torch.tensor([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]]), multilabel=True
        )
        return entry.build(counts, **options), torch.randn(8, 3, generator=g), y
    counts = torch.tensor([40, 10, 5])
    if entry.task == "detection":
        module = entry.build(counts, weight=torch.tensor([0.5, 1.0, 2.0]))
        return module, torch.randn(2, 4, 3, generator=g), torch.randint(0, 4, (2, 4), generator=g)
    options = {}
    if name in ("logit_adjusted", "balanced_softmax", "ldam"):
        options["scheme"] = "effective"
        options["beta"] = 0.99
    module = entry.build(counts, **options)
    return module, torch.randn(8, 3, generator=g), torch.randint(0, 3, (8,), generator=g)


def _function_options(name: str, module: torch.nn.Module) -> dict[str, Any]:
    """The options of ``module`` other than its buffers, as its function takes them."""
    keys = {
        "cross_entropy": ("ignore_index", "label_smoothing", "reduction"),
        "focal": ("gamma", "ignore_index", "reduction"),
        "logit_adjusted": ("tau", "label_smoothing", "ignore_index", "reduction"),
        "balanced_softmax": ("label_smoothing", "ignore_index", "reduction"),
        "ldam": ("max_margin", "scale", "label_smoothing", "ignore_index", "reduction"),
        "cost_sensitive": ("cross_entropy_weight", "ignore_index", "reduction"),
        "bce": ("ignore_value", "reduction"),
        "sigmoid_focal": ("alpha", "gamma", "ignore_value", "reduction"),
        "asymmetric": ("gamma_pos", "gamma_neg", "clip", "ignore_value", "reduction"),
        "distribution_balanced": (
            "num_samples",
            "alpha",
            "beta",
            "mu",
            "neg_scale",
            "kappa",
            "gamma",
            "ignore_value",
            "reduction",
        ),
        "anchor_focal": ("alpha", "gamma", "ignore_index", "background", "reduction"),
    }[name]
    buffers = dict(module.named_buffers())
    return {k: getattr(module, k) for k in keys if k not in buffers}
