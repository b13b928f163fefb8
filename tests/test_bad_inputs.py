"""Bad input across the public surface: each case gets the package's clear error (the argument,
what was expected, what was received), never a crash from inside NumPy or PyTorch, a NaN or a
silently wrong number."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

import counterpoise as cp
from counterpoise import functional as cf
from counterpoise import plots
from counterpoise.cli import app
from counterpoise.compare.data import load_user_data
from counterpoise.distributed import all_reduce_max, all_reduce_sum, ddp_denominator
from counterpoise.reduction import reduce
from counterpoise.weights import compute_class_weight, compute_sample_weight

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
    (
        "a label id of 2**40 in ClassBalancedSampler",
        lambda: cp.ClassBalancedSampler(np.array([0, 2**40, 1])),
        ValueError,
        "labels",
        "class indices in [0, 16777216) (a label indexes the class weights",
    ),
    (
        "a label id of 2**40 in ProgressivelyBalancedSampler",
        lambda: cp.ProgressivelyBalancedSampler(torch.tensor([0, 2**40]), 3),
        ValueError,
        "labels",
        "class indices in [0, 16777216)",
    ),
    (
        "a category id of 2**40 in RepeatFactorSampler",
        lambda: cp.RepeatFactorSampler([[0], [2**40, 1]]),
        ValueError,
        "multilabel_targets",
        "category indices in [0, 16777216)",
    ),
    (
        "an infinite class weight beside a finite 1e39 in ClassBalancedSampler",
        lambda: cp.ClassBalancedSampler([0, 1], [1e39, float("inf")]),
        ValueError,
        "weights",
        "finite (no NaN or infinity), got 'inf at index (1,)'",
    ),
    (
        "a NaN in a class_weight dict of compute_class_weight",
        lambda: compute_class_weight({0: float("nan"), 1: 1.0}, classes=np.array([0, 1]), y=[0, 1]),
        ValueError,
        "class_weight[0]",
        "a finite number, got nan",
    ),
    (
        "a negative weight in a class_weight dict of compute_class_weight",
        lambda: compute_class_weight({0: 1.0, 1: -2}, classes=np.array([0, 1]), y=[0, 1]),
        ValueError,
        "class_weight[1]",
        "in [0.0, inf], got -2.0",
    ),
    (
        "a NaN in a class_weight dict of compute_sample_weight",
        lambda: compute_sample_weight({0: 1.0, 1: float("nan")}, [0, 1]),
        ValueError,
        "class_weight[1]",
        "a finite number",
    ),
    (
        "a NaN label in compute_sample_weight",
        lambda: compute_sample_weight("balanced", [0.0, 1.0, float("nan")]),
        ValueError,
        "y",
        "labels without NaN (a missing label is not a class), got 'nan at index 2'",
    ),
    (
        "a NaN label in compute_class_weight",
        lambda: compute_class_weight(
            "balanced", classes=np.array([0.0, 1.0]), y=np.array([0.0, np.nan, 1.0])
        ),
        ValueError,
        "y",
        "labels without NaN",
    ),
    (
        "NaN counts in OnlinePriors.load_state_dict",
        lambda: cp.OnlinePriors(2).load_state_dict(
            {"counts": torch.tensor([float("nan"), 1.0], dtype=torch.float64)}
        ),
        ValueError,
        "state_dict['counts']",
        "finite (no NaN or infinity)",
    ),
    (
        "negative counts in OnlinePriors.load_state_dict",
        lambda: cp.OnlinePriors(2).load_state_dict(
            {"counts": torch.tensor([3.0, -1.0], dtype=torch.float64)}
        ),
        ValueError,
        "state_dict['counts']",
        "non-negative, got '-1.0 at index (1,)'",
    ),
    (
        "negative counts in BatchFrequencyWeights.load_state_dict",
        lambda: cp.BatchFrequencyWeights(2).load_state_dict(
            {"counts": torch.tensor([3.0, -1.0], dtype=torch.float64)}
        ),
        ValueError,
        "state_dict['counts']",
        "non-negative",
    ),
    (
        "a NaN score in AdaptiveClassWeights.load_state_dict",
        lambda: cp.AdaptiveClassWeights(2).load_state_dict(
            {
                "score": torch.tensor([float("nan"), 0.5], dtype=torch.float64),
                "seen": torch.ones(2, dtype=torch.bool),
            }
        ),
        ValueError,
        "state_dict['score']",
        "finite (no NaN or infinity)",
    ),
    (
        "a negative score in AdaptiveClassWeights.load_state_dict",
        lambda: cp.AdaptiveClassWeights(2).load_state_dict(
            {
                "score": torch.tensor([0.5, -0.5], dtype=torch.float64),
                "seen": torch.ones(2, dtype=torch.bool),
            }
        ),
        ValueError,
        "state_dict['score']",
        "non-negative",
    ),
    (
        "a score above 1 in AdaptiveClassWeights.load_state_dict",
        lambda: cp.AdaptiveClassWeights(2).load_state_dict(
            {
                "score": torch.tensor([0.5, 1.5], dtype=torch.float64),
                "seen": torch.ones(2, dtype=torch.bool),
            }
        ),
        ValueError,
        "state_dict['score']",
        "values in [0, 1], got '1.5 at index 1'",
    ),
]


nan, inf = float("nan"), float("inf")
T2 = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
P = torch.softmax(torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), 1)
T = torch.tensor([0, 1, 2, 0, 1, 2])
L = torch.tensor([0] * 6 + [1] * 3 + [2])
MASK = torch.tensor([[0, 1], [1, 1]])

#: Losses, their modules, the reduction and the distributed denominator.
LOSS_CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    ("a (N, 1) class-index target", lambda: cf.cross_entropy(X, Y[:, None]), ValueError, "target", "a tensor of shape (4,)"),
    ("a target shorter than the batch", lambda: cf.cross_entropy(X, Y[:3]), ValueError, "target", "a tensor of shape (4,)"),
    ("1-D logits", lambda: cf.cross_entropy(torch.randn(3), torch.tensor(0)), ValueError, "input", "of shape (N, C) or (N, C, d1, ..., dK)"),
    ("integer logits", lambda: cf.cross_entropy(torch.ones(4, 3, dtype=torch.long), Y), TypeError, "input", "a floating-point tensor"),
    ("complex logits", lambda: cf.cross_entropy(torch.randn(4, 3, dtype=torch.cfloat), Y), TypeError, "input", "a floating-point tensor"),
    ("a boolean class-index target", lambda: cf.cross_entropy(X, Y.bool()), TypeError, "target", "an integer tensor of class indices"),
    ("a class index equal to C", lambda: cf.cross_entropy(X, torch.tensor([0, 1, 3, 0])), ValueError, "target", "class indices in [0, 3) or ignore_index=-100, got '3 at index (2,)'"),
    ("a class index of -1", lambda: cf.cross_entropy(X, torch.tensor([0, 1, -1, 0])), ValueError, "target", "class indices in [0, 3) or ignore_index=-100, got '-1 at index (2,)'"),
    ("class weights for 2 of 3 classes", lambda: cf.cross_entropy(X, Y, torch.ones(2)), ValueError, "weight", "a 1-D tensor of length 3 (the number of classes)"),
    ("class weights of shape (1, C), which would broadcast", lambda: cf.cross_entropy(X, Y, torch.ones(1, 3)), ValueError, "weight", "a non-empty 1-D tensor"),
    ("a scalar class weight", lambda: cf.cross_entropy(X, Y, 2.0), ValueError, "weight", "a non-empty 1-D tensor"),
    ("boolean class weights", lambda: cf.cross_entropy(X, Y, torch.ones(3, dtype=torch.bool)), TypeError, "weight", "real numbers"),
    ("a float16 class weight that overflowed", lambda: cf.cross_entropy(X, Y, torch.tensor([1.0, 1e5, 1.0]).half()), ValueError, "weight", "finite (no NaN or infinity), got 'inf at index (1,)'"),
    ("reduction 'avg'", lambda: cf.cross_entropy(X, Y, reduction="avg"), ValueError, "reduction", "one of 'none', 'mean', 'sum', got 'avg'"),
    ("reduction None", lambda: cf.cross_entropy(X, Y, reduction=None), ValueError, "reduction", "one of 'none', 'mean', 'sum', got None"),
    ("label smoothing of 1.5", lambda: cf.cross_entropy(X, Y, label_smoothing=1.5), ValueError, "label_smoothing", "in [0.0, 1.0], got 1.5"),
    ("label smoothing NaN", lambda: cf.cross_entropy(X, Y, label_smoothing=nan), ValueError, "label_smoothing", "a finite number"),
    ("a (N, 1) sample weight, which would broadcast", lambda: cf.cross_entropy(X, Y, sample_weight=torch.ones(4, 1)), ValueError, "sample_weight", "a tensor of shape (4,)"),
    ("a list as sample weight", lambda: cf.cross_entropy(X, Y, sample_weight=[1.0] * 4), TypeError, "sample_weight", "a tensor, got 'list'"),
    ("a NaN sample weight", lambda: cf.cross_entropy(X, Y, sample_weight=torch.tensor([1.0, nan, 1.0, 1.0])), ValueError, "sample_weight", "finite"),
    ("a negative sample weight", lambda: cf.cross_entropy(X, Y, sample_weight=torch.tensor([1.0, -1.0, 1.0, 1.0])), ValueError, "sample_weight", "non-negative, got '-1.0 at index (1,)'"),
    ("a negative denominator", lambda: cf.cross_entropy(X, Y, denominator=-1.0), ValueError, "denominator", "in [0.0, inf], got -1.0"),
    ("a NaN denominator", lambda: cf.cross_entropy(X, Y, denominator=nan), ValueError, "denominator", "a finite number"),
    ("a denominator with reduction='sum'", lambda: cf.cross_entropy(X, Y, reduction="sum", denominator=2.0), ValueError, "denominator", 'None unless reduction="mean"'),
    ("a denominator of two elements", lambda: cf.cross_entropy(X, Y, denominator=torch.tensor([1.0, 2.0])), TypeError, "denominator", "a real number"),
    ("a denominator given as text", lambda: cf.cross_entropy(X, Y, denominator="4"), TypeError, "denominator", "a real number, got '4'"),
    ("a float ignore_index", lambda: cf.cross_entropy(X, Y, ignore_index=1.0), TypeError, "ignore_index", "an integer, got 1.0"),
    ("probability targets of 2 of 3 classes", lambda: cf.cross_entropy(X, torch.rand(4, 2)), ValueError, "target", "probabilities of shape (4, 3)"),
    ("ignore_index with probability targets", lambda: cf.cross_entropy(X, torch.softmax(X, 1), ignore_index=0), ValueError, "ignore_index", "left at -100 with probability targets, got 0"),
    ("a (N, d) target of the wrong d", lambda: cf.cross_entropy(torch.randn(2, 3, 4), torch.zeros(2, 5, dtype=torch.long)), ValueError, "target", "a tensor of shape (2, 4)"),
    ("a negative focal gamma", lambda: cf.focal_loss(X, Y, gamma=-1), ValueError, "gamma", "in [0.0, inf], got -1.0"),
    ("a focal gamma given as text", lambda: cf.focal_loss(X, Y, gamma="2"), TypeError, "gamma", "a real number"),
    ("a focal alpha for 2 of 3 classes", lambda: cf.focal_loss(X, Y, alpha=[0.5, 0.5]), ValueError, "alpha", "a 1-D tensor of length 3 (the number of classes)"),
    ("a zero count in the balanced softmax", lambda: cf.balanced_softmax_loss(X, Y, [0, 1, 1]), ValueError, "counts", "positive, got '0.0 at index 0'"),
    ("counts of 2 of 3 classes in the balanced softmax", lambda: cf.balanced_softmax_loss(X, Y, [1, 1]), ValueError, "counts", "a 1-D tensor of length 3"),
    ("an LDAM scale of 0", lambda: cf.ldam_loss(X, Y, [1, 1, 1], scale=0), ValueError, "scale", "in (0.0, inf], got 0.0"),
    ("LDAM margins of no counts", lambda: cf.ldam_margins([]), ValueError, "counts", "a non-empty 1-D tensor"),
    ("a zero prior in the logit-adjusted loss", lambda: cf.logit_adjusted_loss(X, Y, [0.0, 0.5, 0.5]), ValueError, "priors", "positive, got '0.0 at index 0'"),
    ("a negative tau", lambda: cf.logit_adjusted_loss(X, Y, [0.2, 0.3, 0.5], tau=-1), ValueError, "tau", "in [0.0, inf], got -1.0"),
    ("a cost matrix of 2 classes for 3", lambda: cf.cost_sensitive_loss(X, Y, torch.ones(2, 2)), ValueError, "cost", "of 3 classes"),
    ("a 3-D cost", lambda: cf.cost_sensitive_loss(X, Y, torch.ones(3, 3, 3)), ValueError, "cost", "a (C, C) matrix or a (C,) vector"),
    ("a NaN cost", lambda: cf.cost_matrix([[0, nan], [1, 0]]), ValueError, "cost", "finite (no NaN or infinity), got 'nan at index (0, 1)'"),
    ("a (N, 1) binary target for (N, L) logits", lambda: cf.binary_cross_entropy_with_logits(X, T2[:, :1]), ValueError, "target", "a tensor of shape (4, 3)"),
    ("(N,) targets for (N, 1) logits", lambda: cf.binary_cross_entropy_with_logits(X[:, :1], T2[:, 0]), ValueError, "target", "a tensor of shape (4, 1)"),
    ("binary targets of 2", lambda: cf.binary_cross_entropy_with_logits(X, T2 * 2), ValueError, "target", "values in [0, 1], got '2.0 at index (0, 0)'"),
    ("a NaN binary target", lambda: cf.binary_cross_entropy_with_logits(X, torch.full((4, 3), nan)), ValueError, "target", "finite"),
    ("a pos_weight of shape (1, L)", lambda: cf.binary_cross_entropy_with_logits(X, T2, pos_weight=torch.ones(1, 3)), ValueError, "pos_weight", "a non-empty 1-D tensor"),
    ("a pos_weight for 2 of 3 labels", lambda: cf.binary_cross_entropy_with_logits(X, T2, pos_weight=[1.0, 2.0]), ValueError, "pos_weight", "a 1-D tensor of length 3 (the number of labels) or 1"),
    ("an (N,) sample weight for (N, L) binary targets", lambda: cf.binary_cross_entropy_with_logits(X, T2, sample_weight=torch.ones(4)), ValueError, "sample_weight", "a tensor of shape (4, 3)"),
    ("0-d binary logits", lambda: cf.binary_cross_entropy_with_logits(torch.tensor(0.3), torch.tensor(1.0)), ValueError, "input", "of shape 1-D or more"),
    ("a sigmoid focal alpha of 1.5", lambda: cf.sigmoid_focal_loss(X, T2, alpha=1.5), ValueError, "alpha", "in [0.0, 1.0], got 1.5"),
    ("an asymmetric loss clip of 1", lambda: cf.asymmetric_loss(X, T2, clip=1.0), ValueError, "clip", "in [0.0, 1.0), got 1.0"),
    ("distribution-balanced loss without num_samples", lambda: cf.distribution_balanced_loss(X, T2, [3, 2, 2]), ValueError, "num_samples", "the number of training samples when kappa > 0"),
    ("distribution-balanced counts above num_samples", lambda: cf.distribution_balanced_loss(X, T2, [3, 2, 2], 2), ValueError, "counts", "at most num_samples=2, got 3.0"),
    ("an anchor class index of 5 of 3", lambda: cf.anchor_focal_loss(X, torch.tensor([0, 1, 5, 0])), ValueError, "target", "class indices in [0, 3), background=3 or ignore_index=-100"),
    ("an anchor background inside the classes", lambda: cf.anchor_focal_loss(X, torch.zeros(4, dtype=torch.long), background=0), ValueError, "background", "outside [0, 3) and other than ignore_index, got 0"),
    ("an anchor reduction 'avg'", lambda: cf.anchor_focal_loss(X, Y, reduction="avg"), ValueError, "reduction", "one of 'positives', 'mean', 'sum', 'none'"),
    ("a focal_alpha base of 2", lambda: cf.focal_alpha([1, 2], base=2.0), ValueError, "base", "in (0.0, 1.0), got 2.0"),
    ("label_alpha without the number of samples", lambda: cf.label_alpha([1, 2]), ValueError, "num_samples", "the number of samples (or counts that carry it)"),
    ("a zero count in log_class_weights", lambda: cf.log_class_weights([0, 2]), ValueError, "counts", "positive"),
    ("a (C, 1) weight in WeightedCrossEntropyLoss", lambda: cp.WeightedCrossEntropyLoss(torch.ones(3, 1)), ValueError, "weight", "a non-empty 1-D tensor"),
    ("a zero count in FocalLoss.from_counts", lambda: cp.FocalLoss.from_counts([0, 3]), ValueError, "counts", "positive for every class (or pass zero_counts='smooth' or 'zero')"),
    ("a list target given to a loss module", lambda: cp.FocalLoss()(X, [0, 1, 2, 0]), TypeError, "target", "an integer tensor of class indices, got 'list'"),
    ("a loss module of 2 classes on 3", lambda: cp.WeightedCrossEntropyLoss([1.0, 2.0])(X, Y), ValueError, "weight", "a 1-D tensor of length 3 (the number of classes)"),
    ("a list as loss to reduce", lambda: reduce([1.0, 2.0], "mean"), TypeError, "loss", "a floating-point tensor, got 'list'"),
    ("an integer loss to reduce", lambda: reduce(torch.ones(3, dtype=torch.long), "mean"), TypeError, "loss", "a floating-point tensor"),
    ("negative reduction weights (were a silent 0)", lambda: reduce(torch.ones(3), "mean", weight=-torch.ones(3)), ValueError, "weight", "non-negative, got '-1.0 at index (0,)'"),
    ("a float mask", lambda: reduce(torch.ones(3), "mean", mask=torch.ones(3)), TypeError, "mask", "a boolean tensor"),
    ("reduction weights of another shape", lambda: reduce(torch.ones(3), "mean", weight=torch.ones(2)), ValueError, "weight", "a tensor of shape (3,)"),
    ("a list target in ddp_denominator", lambda: ddp_denominator([0, 1]), TypeError, "target", "a tensor of class indices or of binary targets, got 'list'"),
    ("a class beyond the weights in ddp_denominator", lambda: ddp_denominator(Y, torch.ones(2)), ValueError, "target", "class indices in [0, 2) or ignore_index=-100, got '2 at index (2,)'"),
    ("a negative class in ddp_denominator", lambda: ddp_denominator(torch.tensor([0, -5])), ValueError, "target", "class indices in [0, inf) or ignore_index=-100, got '-5 at index (1,)'"),
    ("a float ignore_index in ddp_denominator", lambda: ddp_denominator(Y, ignore_index=0.5), TypeError, "ignore_index", "an integer, got 0.5"),
    ("num_classes without a loss in ddp_denominator", lambda: ddp_denominator(Y, num_classes=2), ValueError, "num_classes", "None unless `loss` is given"),
    ("class weights with binary targets in ddp_denominator", lambda: ddp_denominator(Y.float(), torch.ones(3)), ValueError, "weight", "None for binary targets"),
    ("a loss name in ddp_denominator", lambda: ddp_denominator(Y, loss="ce"), TypeError, "loss", "a registered loss module"),
    ("a list to sum over ranks (was an AttributeError)", lambda: all_reduce_sum([1.0]), TypeError, "tensor", "a tensor, got 'list'"),
    ("text to take the maximum of over ranks (was int()'s error)", lambda: all_reduce_max("x"), TypeError, "value", "an integer or a tensor, got 'x'"),
    ("an AsymmetricLoss clip of 1", lambda: cp.AsymmetricLoss(clip=1.0), ValueError, "clip", "in [0.0, 1.0), got 1.0"),
    ("a SigmoidFocalLoss alpha of 1.5", lambda: cp.SigmoidFocalLoss(alpha=1.5), ValueError, "alpha", "in [0.0, 1.0], got 1.5"),
    ("a DistributionBalancedLoss without num_samples", lambda: cp.DistributionBalancedLoss([3, 2, 2]), ValueError, "num_samples", "the number of training samples when kappa > 0"),
    ("an AnchorFocalLoss alpha of 2", lambda: cp.AnchorFocalLoss(alpha=2.0), ValueError, "alpha", "in [0.0, 1.0], got 2.0"),
    ("a zero count in LDAMLoss", lambda: cp.LDAMLoss([0, 1]), ValueError, "counts", "positive, got '0.0 at index 0'"),
    ("a negative count in BalancedSoftmaxLoss", lambda: cp.BalancedSoftmaxLoss([1, -1]), ValueError, "counts", "non-negative, got '-1.0 at index (1,)'"),
    ("a NaN neg_weight in WeightedBCEWithLogitsLoss", lambda: cp.WeightedBCEWithLogitsLoss(neg_weight=[nan]), ValueError, "neg_weight", "finite"),
    ("a LogitAdjustedLoss tau as text", lambda: cp.LogitAdjustedLoss([0.5, 0.5], tau="1"), TypeError, "tau", "a real number, got '1'"),
    ("a CostSensitiveLoss cost of 3 dimensions", lambda: cp.CostSensitiveLoss(torch.ones(2, 2, 2)), ValueError, "cost", "a (C, C) matrix or a (C,) vector"),
]  # fmt: skip

#: Counts, class weights and the scikit-learn drop-ins.
WEIGHT_CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    ("no counts", lambda: cp.class_weights([]), ValueError, "counts", "non-empty"),
    ("2-D counts", lambda: cp.class_weights([[1, 2]]), ValueError, "counts", "a 1-D tensor"),
    ("a NaN count", lambda: cp.class_weights([1, nan]), ValueError, "counts", "finite (no NaN or infinity), got 'nan at index (1,)'"),
    ("an infinite count", lambda: cp.class_weights([1, inf]), ValueError, "counts", "finite (no NaN or infinity), got 'inf at index (1,)'"),
    ("a negative count", lambda: cp.class_weights([1, -2]), ValueError, "counts", "non-negative, got '-2.0 at index (1,)'"),
    ("a zero count", lambda: cp.class_weights([0, 2]), ValueError, "counts", "positive for every class (or pass zero_counts='smooth' or 'zero')"),
    ("only zero counts", lambda: cp.class_weights([0, 0], zero_counts="zero"), ValueError, "counts", "positive for at least one class, got 'all zeros'"),
    ("counts as text", lambda: cp.class_weights("abc"), TypeError, "counts", "real numbers, got 'str'"),
    ("counts None", lambda: cp.class_weights(None), TypeError, "counts", "real numbers, got 'NoneType'"),
    ("counts as a dict", lambda: cp.class_weights({0: 1, 1: 2}), TypeError, "counts", "real numbers, got 'dict'"),
    ("boolean counts", lambda: cp.class_weights([True, False]), TypeError, "counts", "real numbers, got 'an array of dtype bool'"),
    ("complex counts", lambda: cp.class_weights(torch.tensor([1 + 1j])), TypeError, "counts", "real numbers"),
    ("float16 counts that overflowed", lambda: cp.class_weights(torch.tensor([1, 70000.0]).half()), ValueError, "counts", "finite"),
    ("counts 1e300 apart", lambda: cp.class_weights([1e300, 1e-300]), ValueError, "counts", "such that the weights fit in float32 (use max_ratio)"),
    ("the scheme 'balance'", lambda: cp.class_weights([1, 2], "balance"), ValueError, "scheme", "one of 'none', 'inverse', 'balanced'"),
    ("the scheme None", lambda: cp.class_weights([1, 2], None), ValueError, "scheme", "one of"),
    ("beta with the balanced scheme", lambda: cp.class_weights([1, 2], "balanced", beta=0.9), ValueError, "beta", "None when scheme='balanced' (only 'power' and 'effective' use it)"),
    ("an effective-number beta of 1", lambda: cp.class_weights([1, 2], "effective", beta=1.0), ValueError, "beta", "in [0.0, 1.0), got 1.0"),
    ("the power scheme without beta", lambda: cp.class_weights([1, 2], "power"), ValueError, "beta", "given when scheme='power'"),
    ("a clip whose high is below its low", lambda: cp.class_weights([1, 2], clip=(2.0, 1.0)), ValueError, "clip[1]", "in [2.0, inf], got 1.0"),
    ("a clip of three numbers", lambda: cp.class_weights([1, 2], clip=(1.0, 2.0, 3.0)), TypeError, "clip", "a pair (lo, hi)"),
    ("a max_ratio below 1", lambda: cp.class_weights([1, 2], max_ratio=0.5), ValueError, "max_ratio", "in [1.0, inf], got 0.5"),
    ("normalize 'sample'", lambda: cp.class_weights([1, 2], normalize="sample"), ValueError, "normalize", "one of 'samples', 'classes', 'sum', 'max', None"),
    ("the log scheme with c = 1", lambda: cp.class_weights([1, 2], "log", c=1.0), ValueError, "c", "in (1.0, inf], got 1.0"),
    ("costs of 3 classes for 2", lambda: cp.class_weights([1, 2], "cost", cost=[1, 2, 3]), ValueError, "cost", "of shape (2,) or (2, 2)"),
    ("zero_counts 'skip'", lambda: cp.class_weights([0, 2], zero_counts="skip"), ValueError, "zero_counts", "one of 'error', 'smooth', 'zero'"),
    ("a negative smoothing", lambda: cp.class_weights([0, 2], zero_counts="smooth", smoothing=-1), ValueError, "smoothing", "in (0.0, inf], got -1.0"),
    ("counts without num_samples in pos_weight", lambda: cp.pos_weight(torch.tensor([3, 4])), ValueError, "targets_or_counts", "targets in [0, 1], got 'maximum 4.0'"),
    ("counts above num_samples in pos_weight", lambda: cp.pos_weight(torch.tensor([3, 4]), 3), ValueError, "targets_or_counts", "at most num_samples=3, got 4.0"),
    ("negative binary targets in pos_weight", lambda: cp.pos_weight(torch.tensor([[-1.0, 1.0], [1.0, 0.0]])), ValueError, "targets_or_counts", "non-negative"),
    ("a label that is always positive in pos_weight", lambda: cp.pos_weight(torch.ones(3, 2)), ValueError, "targets_or_counts", "such that every label has positives and negatives"),
    ("no rows in pos_weight", lambda: cp.pos_weight(torch.zeros(0, 2)), ValueError, "targets_or_counts", "targets of shape (N,) or (N, L)"),
    ("num_samples True in pos_weight", lambda: cp.pos_weight([1, 2], True), TypeError, "num_samples", "an integer, got True"),
    ("num_samples 5.0 in pos_weight", lambda: cp.pos_weight([1, 2], 5.0), TypeError, "num_samples", "an integer, got 5.0"),
    ("a label of -1 in sample_weights", lambda: cp.sample_weights([0, -1], [1.0, 2.0]), ValueError, "labels", "in [0, 2), got '-1 at index (1,)'"),
    ("a label beyond the class weights", lambda: cp.sample_weights([0, 2], [1.0, 2.0]), ValueError, "labels", "in [0, 2), got '2 at index (1,)'"),
    ("float labels in sample_weights", lambda: cp.sample_weights([0.0, 1.5], [1.0, 2.0]), TypeError, "labels", "integer class indices"),
    ("boolean labels in sample_weights", lambda: cp.sample_weights([True, False], [1.0, 2.0]), TypeError, "labels", "integer class indices"),
    ("a NaN class weight in sample_weights", lambda: cp.sample_weights([0, 1], [1.0, nan]), ValueError, "class_weights", "finite"),
    ("counts given as class weights", lambda: cp.sample_weights([0, 1], cp.count_labels([0, 1, 1])), TypeError, "class_weights", "real numbers, got 'LabelCounts'"),
    ("2-D classes in compute_class_weight", lambda: compute_class_weight("balanced", classes=np.array([[0, 1]]), y=[0, 1]), ValueError, "classes", "a 1-D array of class labels, got 'an array of shape (1, 2)'"),
    ("a label missing from classes", lambda: compute_class_weight("balanced", classes=np.array([0, 1]), y=[0, 1, 2]), ValueError, "classes", "a superset of the labels in `y`, got 'no [2]'"),
    ("a sample weight per class, not per sample", lambda: compute_class_weight("balanced", classes=np.array([0, 1]), y=[0, 1, 1], sample_weight=[1.0, 2.0]), ValueError, "sample_weight", "of shape (3,), like `y`"),
    ("class_weight 'balance' in compute_class_weight", lambda: compute_class_weight("balance", classes=np.array([0, 1]), y=[0, 1]), ValueError, "class_weight", "'balanced', a dict or None, got 'balance'"),
    ("classes as a list in compute_class_weight", lambda: compute_class_weight("balanced", classes=[0, 1], y=[0, 1]), TypeError, "classes", "a NumPy array, got 'list'"),
    ("subsample indices out of range", lambda: compute_sample_weight("balanced", [0, 1], indices=[5]), IndexError, "indices", "indices into `y` in [-2, 2), got '5 at position 0'"),
    ("a subsample mask of another length", lambda: compute_sample_weight("balanced", [0, 1, 1], indices=[True, False]), ValueError, "indices", "a boolean mask of length 3, like `y`"),
    ("float subsample indices", lambda: compute_sample_weight("balanced", [0, 1], indices=[0.5]), TypeError, "indices", "a 1-D array of integer indices into `y` or a boolean mask"),
    ("one dict for two outputs", lambda: compute_sample_weight([{0: 1}], [[0, 1], [1, 0]]), ValueError, "class_weight", "a list of 2 dicts, one per output"),
    ("class_weight 'auto' in compute_sample_weight", lambda: compute_sample_weight("auto", [0, 1]), ValueError, "class_weight", "'balanced', a dict, a list of those or None, got 'auto'"),
]  # fmt: skip

#: Labels counted from memory and streams, and their description.
COUNT_CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    ("a negative label", lambda: cp.class_counts([0, -1]), ValueError, "labels", "class indices >= 0 (set `ignore_index` to skip a marker value), got '-1 at index 1'"),
    ("a label 0.5", lambda: cp.class_counts([0.5]), TypeError, "labels", "integer class indices (floats only when all are whole numbers), got '0.5 at index 0'"),
    ("a bfloat16 label 0.5", lambda: cp.class_counts(torch.tensor([0.5, 1.0]).bfloat16()), TypeError, "labels", "integer class indices (floats only when all are whole numbers)"),
    ("a NaN label", lambda: cp.class_counts([0.0, nan]), ValueError, "labels", "free of missing values, got 'nan at index 1'"),
    ("an infinite label", lambda: cp.class_counts([0.0, inf]), ValueError, "labels", "free of missing values, got 'inf at index 1'"),
    ("a None label", lambda: cp.class_counts([1, None]), ValueError, "labels", "free of missing values, got 'None at index 1'"),
    ("no labels", lambda: cp.class_counts([]), ValueError, "source", "non-empty, got 'list of length 0'"),
    ("an empty tensor", lambda: cp.class_counts(torch.tensor([], dtype=torch.long)), ValueError, "source", "non-empty"),
    ("a label beyond num_classes", lambda: cp.class_counts([0, 3], num_classes=2), ValueError, "labels", "class indices below num_classes=2, got '3 at index 1'"),
    ("num_classes 0", lambda: cp.class_counts([0], num_classes=0), ValueError, "num_classes", "an integer larger than 0, got 0"),
    ("num_classes True", lambda: cp.class_counts([0], num_classes=True), TypeError, "num_classes", "an integer, got True"),
    ("num_classes other than len(classes)", lambda: cp.class_counts([0, 1], num_classes=3, classes=[0, 1]), ValueError, "num_classes", "len(classes) = 2, got 3"),
    ("a repeated class", lambda: cp.class_counts(["a"], classes=["a", "a"]), ValueError, "classes", "free of repeated labels, got 'a'"),
    ("a label that is not one of classes", lambda: cp.class_counts(["a", "b"], classes=["a"]), ValueError, "labels", "one of `classes`, got \"'b' at index 1\""),
    ("a float ignore_index in class_counts", lambda: cp.class_counts([0, 1], ignore_index=0.5), TypeError, "ignore_index", "an integer or None, got 0.5"),
    ("only ignored labels", lambda: cp.class_counts([-100, -100], ignore_index=-100), ValueError, "labels", "other than `ignore_index` at least once (or give `num_classes`), got 'only -100'"),
    ("boolean labels", lambda: cp.class_counts(torch.tensor([True, False])), TypeError, "labels", "integer class indices (use multilabel=True for a 0/1 indicator matrix)"),
    ("complex labels", lambda: cp.class_counts(torch.tensor([1j])), TypeError, "labels", "integer class indices"),
    ("ids of 2**40 as labels", lambda: cp.class_counts([0, 2**40]), ValueError, "labels", "class indices below 16777216 without `num_classes` or `classes` (pass `classes` to count larger integers as labels)"),
    ("a uint64 id of 2**63", lambda: cp.class_counts(np.array([0, 2**63], dtype=np.uint64)), ValueError, "labels", "class indices below 16777216"),
    ("ragged nested lists", lambda: cp.class_counts([[0], [1, 2]]), TypeError, "labels", "hashable values"),
    ("a dict of labels", lambda: cp.class_counts({"a": 1}), TypeError, "source", "labels, a file path or an iterable of batches, not a dictionary"),
    ("a number as source", lambda: cp.class_counts(5), TypeError, "source", "labels, a file path or an iterable of batches, got 'int'"),
    ("None as source", lambda: cp.class_counts(None), TypeError, "source", "labels, a file path or an iterable of batches, got 'NoneType'"),
    ("bytes as source (were counted as byte values)", lambda: cp.class_counts(b"labels.csv"), TypeError, "source", "labels, a file path (a str or pathlib.Path"),
    ("an empty generator", lambda: cp.class_counts(iter([])), ValueError, "source", "non-empty, got 'list_iterator that yielded nothing'"),
    ("an empty DataLoader", lambda: cp.class_counts(DataLoader([])), ValueError, "source", "non-empty, got 'DataLoader that yielded nothing'"),
    ("batches of strings, then numbers", lambda: cp.class_counts(iter([["a"], [1]])), TypeError, "labels", "all class indices or all other values (pass `classes` to mix them)"),
    ("a float label in a later batch", lambda: cp.class_counts(iter([torch.tensor([0, 1]), torch.tensor([0.5])])), TypeError, "labels", "integer class indices (floats only when all are whole numbers), got '0.5 at index 0 of batch 1'"),
    ("a key that no batch has", lambda: cp.class_counts([(1, 0)], key=5), ValueError, "key", "an index or key of every batch, got '5 for batch 0 of type tuple'"),
    ("a batch size of 0", lambda: cp.class_counts([0], batch_size=0), ValueError, "batch_size", "an integer larger than 0, got 0"),
    ("a 1-D multilabel target", lambda: cp.class_counts(torch.tensor([0, 1]), multilabel=True), ValueError, "labels", "a 2-D (samples, labels) matrix with multilabel=True"),
    ("a multilabel target of 0.5", lambda: cp.class_counts(torch.tensor([[0.5, 1.0]]), multilabel=True), ValueError, "labels", "0 or 1 (an indicator matrix), got '0.5 at index (0, 0)'"),
    ("ignore_index with multilabel targets", lambda: cp.class_counts(torch.tensor([[1, -1], [0, 1]]), multilabel=True, ignore_index=-1), ValueError, "ignore_index", "None with multilabel=True, got -1"),
    ("a column for labels in memory", lambda: cp.class_counts(torch.tensor([0]), column="y"), ValueError, "column", "None unless `source` is a file, got 'y'"),
    ("all_reduce 'yes'", lambda: cp.class_counts([0], all_reduce="yes"), TypeError, "all_reduce", "True or False, got 'yes'"),
    ("a path that does not exist", lambda: cp.count_labels("no-such-labels.csv"), FileNotFoundError, "source", "an existing file or directory, got 'no-such-labels.csv'"),
    ("a describe of no counts", lambda: cp.describe([]), ValueError, "counts", "non-empty"),
    ("a describe of zeros", lambda: cp.describe([0, 0]), ValueError, "counts", "positive for at least one class, got 'all zeros'"),
    ("one class name for two counts", lambda: cp.describe([1, 2], classes=["a"]), ValueError, "classes", "a sequence of 2 class names, got '1 names'"),
    ("an extreme ratio of 0", lambda: cp.describe([1, 2], extreme_ratio=0), ValueError, "extreme_ratio", "in [1.0, inf], got 0.0"),
    ("an unknown scheme to describe", lambda: cp.describe([1, 2], schemes={"x": {}}), ValueError, "scheme", "one of 'none', 'inverse'"),
    ("a describe normalize 'foo'", lambda: cp.describe([1, 2], normalize="foo"), ValueError, "normalize", "one of 'samples', 'classes', 'sum', 'max', None, got 'foo'"),
]  # fmt: skip

#: Samplers, schedules and adaptive weights.
SAMPLER_CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    ("boolean labels for a sampler", lambda: cp.ClassBalancedSampler(torch.tensor([True, False])), TypeError, "labels", "integer class indices"),
    ("float labels for a sampler", lambda: cp.ClassBalancedSampler(torch.tensor([0.0, 1.0])), TypeError, "labels", "integer class indices"),
    ("string labels for a sampler", lambda: cp.ClassBalancedSampler(["a", "b"]), TypeError, "labels", "integer class indices, got 'array of dtype <U1'"),
    ("None as labels for a sampler", lambda: cp.ClassBalancedSampler(None), ValueError, "labels", "a non-empty 1-D sequence, got 'array of shape ()'"),
    ("a 0-d tensor as labels", lambda: cp.ClassBalancedSampler(torch.tensor(1)), ValueError, "labels", "a 1-D tensor"),
    ("a uint64 label of 2**63", lambda: cp.ClassBalancedSampler(np.array([0, 2**63], dtype=np.uint64)), ValueError, "labels", "class indices in [0, 16777216)"),
    ("boolean class weights for a sampler", lambda: cp.ClassBalancedSampler(L, torch.tensor([True, True, False])), TypeError, "weights", "real numbers"),
    ("class weights as a dict", lambda: cp.ClassBalancedSampler(L, {0: 1.0}), TypeError, "weights", "real numbers, got 'dict'"),
    ("a scalar class weight for a sampler", lambda: cp.ClassBalancedSampler(L, 2.0), ValueError, "weights", "a 1-D tensor"),
    ("no class weights for a sampler", lambda: cp.ClassBalancedSampler(L, []), ValueError, "weights", "non-empty"),
    ("the power scheme for a sampler", lambda: cp.ClassBalancedSampler(L, "power"), ValueError, "beta", "given when scheme='power'"),
    ("num_samples 5.0", lambda: cp.ClassBalancedSampler(L, num_samples=5.0), TypeError, "num_samples", "an integer, got 5.0"),
    ("num_samples True", lambda: cp.ClassBalancedSampler(L, num_samples=True), TypeError, "num_samples", "an integer, got True"),
    ("more samples than there are, without replacement", lambda: cp.ClassBalancedSampler(L, replacement=False, num_samples=11), ValueError, "num_samples", "at most 10 (the samples of the drawn classes) without replacement, got 11"),
    ("a seed of 1.5", lambda: cp.ClassBalancedSampler(L, seed=1.5), TypeError, "seed", "an integer, got 1.5"),
    ("a rank of -1", lambda: cp.ClassBalancedSampler(L, num_replicas=2, rank=-1), ValueError, "rank", "an integer >= 0, got -1"),
    ("a rank without replicas", lambda: cp.ClassBalancedSampler(L, rank=1), ValueError, "rank", "in [0, 0] (num_replicas=1), got 1"),
    ("drop_last 1", lambda: cp.ClassBalancedSampler(L, drop_last=1), TypeError, "drop_last", "a bool, got 1"),
    ("set_epoch(1.0)", lambda: cp.ClassBalancedSampler(L).set_epoch(1.0), TypeError, "epoch", "an integer, got 1.0"),
    ("set_epoch(True)", lambda: cp.ClassBalancedSampler(L).set_epoch(True), TypeError, "epoch", "an integer, got True"),
    ("consumed 1.0", lambda: cp.ClassBalancedSampler(L).state_dict(consumed=1.0), TypeError, "consumed", "an integer, got 1.0"),
    ("consumed -1", lambda: cp.ClassBalancedSampler(L).state_dict(consumed=-1), ValueError, "consumed", "an integer >= 0, got -1"),
    ("more consumed than yielded", lambda: _consumed(cp.ClassBalancedSampler(L), yielded=3, consumed=4), ValueError, "consumed", "at most 3, the indices this pass has yielded, got 4"),
    ("more batches consumed than yielded", lambda: _consumed(cp.EpochBatchSampler(cp.ClassBalancedSampler(L), 4), yielded=1, consumed=2), ValueError, "consumed", "at most 1, the batches this pass has yielded, got 2"),
    ("category names for repeat factors", lambda: cp.RepeatFactorSampler([["cat"], ["dog"]]), ValueError, "multilabel_targets", "category indices: integers >= 0, got 'cat'"),
    ("boolean categories for repeat factors", lambda: cp.RepeatFactorSampler([[True], [False]]), ValueError, "multilabel_targets", "category indices: integers >= 0, got True"),
    ("nested category lists (were accepted)", lambda: cp.RepeatFactorSampler([[[0]], [[1]]]), ValueError, "multilabel_targets", "category indices: integers >= 0, got [0]"),
    ("a category 0.5", lambda: cp.RepeatFactorSampler([[0.5], [1]]), ValueError, "multilabel_targets", "category indices: integers >= 0, got 0.5"),
    ("no annotations", lambda: cp.RepeatFactorSampler([]), ValueError, "multilabel_targets", "a multi-hot matrix or a non-empty sequence of category lists"),
    ("annotations as a dict", lambda: cp.RepeatFactorSampler({0: [1]}), TypeError, "multilabel_targets", "a multi-hot matrix or a non-empty sequence of category lists, got 'dict'"),
    ("a 1-D multi-hot target", lambda: cp.RepeatFactorSampler(torch.tensor([0, 1])), ValueError, "multilabel_targets", "a 2-D multi-hot matrix (N, C)"),
    ("a NaN in a multi-hot matrix", lambda: cp.RepeatFactorSampler(torch.tensor([[nan, 1.0]])), ValueError, "multilabel_targets", "a multi-hot matrix of 0 and 1"),
    ("a multi-hot matrix without rows", lambda: cp.RepeatFactorSampler(torch.zeros(0, 3)), ValueError, "multilabel_targets", "a 2-D multi-hot matrix (N, C)"),
    ("a NaN threshold", lambda: cp.RepeatFactorSampler([[0]], threshold=nan), ValueError, "threshold", "a finite number"),
    ("a threshold as text", lambda: cp.RepeatFactorSampler([[0]], threshold="0.1"), TypeError, "threshold", "a real number, got '0.1'"),
    ("num_epochs 2.5", lambda: cp.ProgressivelyBalancedSampler(L, 2.5), TypeError, "num_epochs", "an integer, got 2.5"),
    ("a schedule returning text", lambda: _probabilities(cp.ProgressivelyBalancedSampler(L, 4, schedule=lambda t: "x")), TypeError, "schedule(0.25)", "a real number, got 'x'"),
    ("a schedule returning NaN", lambda: _probabilities(cp.ProgressivelyBalancedSampler(L, 4, schedule=lambda t: nan)), ValueError, "schedule(0.25)", "a finite number"),
    ("a batch size of 2.0", lambda: cp.EpochBatchSampler(cp.ClassBalancedSampler(L), 2.0), TypeError, "batch_size", "an integer, got 2.0"),
    ("a batch sampler of PyTorch's sampler", lambda: cp.EpochBatchSampler(torch.utils.data.RandomSampler(L), 2), TypeError, "sampler", "a sampler of counterpoise.samplers, got 'RandomSampler'"),
    ("weights ending at another length", lambda: cp.InterpolatedWeights([1.0, 1.0], [1.0, 2.0, 3.0], epochs=3), ValueError, "end", "of the shape of `start` (2,)"),
    ("a NaN starting weight", lambda: cp.InterpolatedWeights([1.0, nan], [1.0, 2.0], epochs=3), ValueError, "start", "finite"),
    ("epochs 2.5", lambda: cp.InterpolatedWeights([1.0], [2.0], epochs=2.5), TypeError, "epochs", "an integer, got 2.5"),
    ("a negative deferred weight", lambda: cp.DeferredReweighting([1.0, -1.0], start_epoch=1), ValueError, "weights", "non-negative"),
    ("weights at epoch -1", lambda: cp.DeferredReweighting([1.0, 1.0], start_epoch=1).weights_at(-1), ValueError, "epoch", "an integer >= 0, got -1"),
    ("an effective-number schedule ending at beta 1", lambda: cp.EffectiveNumberSchedule([10, 1], epochs=3, beta_end=1.0), ValueError, "beta_end", "in [0.0, 1.0), got 1.0"),
    ("a schedule curve 'cos'", lambda: cp.EffectiveNumberSchedule([10, 1], epochs=3, curve="cos"), ValueError, "curve", "one of 'linear', 'cosine', got 'cos'"),
    ("OnlinePriors of 0 classes", lambda: cp.OnlinePriors(0), ValueError, "num_classes", "an integer larger than 0, got 0"),
    ("a decay of 1.5", lambda: cp.OnlinePriors(3, decay=1.5), ValueError, "decay", "in (0.0, 1.0], got 1.5"),
    ("a class beyond the priors", lambda: cp.OnlinePriors(3).update(torch.tensor([0, 3])), ValueError, "targets", "class indices in [0, 3), got '3 at index (1,)'"),
    ("float targets for the priors", lambda: cp.OnlinePriors(3).update(torch.tensor([0.0, 1.0])), TypeError, "targets", "a tensor of integer class indices"),
    ("a list of targets for the priors", lambda: cp.OnlinePriors(3).update([0, 1]), TypeError, "targets", "a tensor of integer class indices, got [0, 1]"),
    ("a max_ratio below 1 for batch weights", lambda: cp.BatchFrequencyWeights(3, max_ratio=0.5), ValueError, "max_ratio", "in [1.0, inf], got 0.5"),
    ("the metric 'f2'", lambda: cp.AdaptiveClassWeights(3, metric="f2"), ValueError, "metric", "one of 'recall', 'fbeta', got 'f2'"),
    ("beta with recall", lambda: cp.AdaptiveClassWeights(3, beta=2.0), ValueError, "beta", "None when metric='recall' (only 'fbeta' uses it)"),
    ("fewer targets than predictions", lambda: cp.AdaptiveClassWeights(3).update(torch.tensor([0, 1]), torch.tensor([0])), ValueError, "targets", "a tensor of shape (2,) like the predictions"),
    ("a predicted class of 4 of 3", lambda: cp.AdaptiveClassWeights(3).update(torch.tensor([0, 4]), torch.tensor([0, 1])), ValueError, "predictions", "class indices in [0, 3), got '4 at index (1,)'"),
]  # fmt: skip


def _consumed(sampler: Any, *, yielded: int, consumed: int) -> Any:
    iterator = iter(sampler)
    for _ in range(yielded):
        next(iterator)
    return sampler.state_dict(consumed=consumed)


def _probabilities(sampler: cp.ProgressivelyBalancedSampler) -> torch.Tensor:
    sampler.set_epoch(1)
    return sampler.class_probabilities


def _sampler(seed: int = 3, **options: Any) -> cp.ClassBalancedSampler:
    return cp.ClassBalancedSampler(L, "sqrt", num_samples=30, seed=seed, **options)


def _state(**changes: Any) -> dict[str, Any]:
    """The state of :func:`_sampler` after 5 indices, with ``changes``."""
    sampler = _sampler()
    _consumed(sampler, yielded=5, consumed=5)
    return {**sampler.state_dict(), **changes}


def _loaded_then(epoch: int, state: dict[str, Any]) -> None:
    sampler = _sampler()
    sampler.load_state_dict(state)
    sampler.set_epoch(epoch)


def _selected_then(epoch: int, state: dict[str, Any]) -> None:
    sampler = _sampler()
    sampler.set_epoch(epoch)
    sampler.load_state_dict(state)


#: Every state_dict, loaded into an object that it does not belong to.
STATE_CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    ("None as a sampler state", lambda: _sampler().load_state_dict(None), ValueError, "state_dict", "a mapping with the keys 'seed', 'epoch', 'position', 'num_samples', 'num_replicas', 'fingerprint', got None"),
    ("a sampler state without its fingerprint", lambda: _sampler().load_state_dict({k: v for k, v in _state().items() if k != "fingerprint"}), ValueError, "state_dict", "a mapping with the keys"),
    ("a sampler state with another key", lambda: _sampler().load_state_dict(_state(extra=1)), ValueError, "state_dict", "a mapping with the keys"),
    ("a schedule's state in a sampler", lambda: _sampler().load_state_dict(cp.DeferredReweighting([1.0], start_epoch=1).state_dict()), ValueError, "state_dict", "a mapping with the keys"),
    ("a sampler's state in a schedule", lambda: cp.DeferredReweighting([1.0], start_epoch=1).load_state_dict(_state()), ValueError, "state_dict", "a mapping with the key 'epoch'"),
    ("a sampler state of epoch -1", lambda: _sampler().load_state_dict(_state(epoch=-1)), ValueError, "state_dict['epoch']", "an integer >= 0, got -1"),
    ("a position given as text", lambda: _sampler().load_state_dict(_state(position="3")), TypeError, "state_dict['position']", "an integer, got '3'"),
    ("a position True", lambda: _sampler().load_state_dict(_state(position=True)), TypeError, "state_dict['position']", "an integer, got True"),
    ("an epoch as a tensor", lambda: _sampler().load_state_dict(_state(epoch=torch.tensor(0))), TypeError, "state_dict['epoch']", "an integer, got tensor(0)"),
    ("a position past the epoch", lambda: _sampler().load_state_dict(_state(position=31)), ValueError, "state_dict['position']", "at most 30, this rank's share, got 31"),
    ("a state of another seed", lambda: _sampler().load_state_dict(_state(seed=4)), ValueError, "state_dict['seed']", "3 as in this sampler, got 4"),
    ("a seed given as text", lambda: _sampler().load_state_dict(_state(seed="3")), ValueError, "state_dict['seed']", "3 as in this sampler, got '3'"),
    ("a state of another number of replicas", lambda: _sampler(num_replicas=2, rank=0).load_state_dict(_state()), ValueError, "state_dict['num_replicas']", "2 as in this sampler, got 1"),
    ("a state of another epoch length", lambda: cp.ClassBalancedSampler(L, "sqrt", num_samples=31, seed=3).load_state_dict(_state()), ValueError, "state_dict['num_samples']", "31, this sampler's length of epoch 0, got 30"),
    ("a state of other labels", lambda: cp.ClassBalancedSampler(L.flip(0), "sqrt", num_samples=30, seed=3).load_state_dict(_state()), ValueError, "state_dict", "the state of a sampler with these labels, weights and settings"),
    ("a state of other weights", lambda: cp.ClassBalancedSampler(L, "balanced", num_samples=30, seed=3).load_state_dict(_state()), ValueError, "state_dict", "the state of a sampler with these labels, weights and settings"),
    ("a state of sampling with replacement, loaded without", lambda: cp.ClassBalancedSampler(L, "sqrt", num_samples=8, replacement=False).load_state_dict(cp.ClassBalancedSampler(L, "sqrt", num_samples=8).state_dict()), ValueError, "state_dict", "the state of a sampler with these labels, weights and settings"),
    ("a class-balanced state in a progressive sampler", lambda: cp.ProgressivelyBalancedSampler(L, 3, weights="sqrt", num_samples=30, seed=3).load_state_dict(_state()), ValueError, "state_dict", "the state of a sampler with these labels"),
    ("a fingerprint that is not one", lambda: _sampler().load_state_dict(_state(fingerprint=3)), ValueError, "state_dict", "the state of a sampler with these labels, weights and settings"),
    ("set_epoch of another epoch after a loaded position", lambda: _loaded_then(1, _state()), ValueError, "epoch", "0, the epoch of the state given to load_state_dict (at position 5 of 30)"),
    ("a state of another epoch after set_epoch", lambda: _selected_then(2, _state()), ValueError, "state_dict['epoch']", "2, the epoch given to set_epoch"),
    ("a state into a batch sampler of another sampler", lambda: cp.EpochBatchSampler(_sampler(seed=4), 2).load_state_dict(_state()), ValueError, "state_dict['seed']", "4 as in this sampler, got 3"),
    ("a schedule state with another key", lambda: cp.DeferredReweighting([1.0, 1.0], start_epoch=1).load_state_dict({"epoch": 1, "x": 2}), ValueError, "state_dict", "a mapping with the key 'epoch'"),
    ("a schedule state of epoch 1.5", lambda: cp.DeferredReweighting([1.0, 1.0], start_epoch=1).load_state_dict({"epoch": 1.5}), TypeError, "state_dict['epoch']", "an integer, got 1.5"),
    ("priors of 2 classes loaded into 3", lambda: cp.OnlinePriors(3).load_state_dict({"counts": torch.ones(2, dtype=torch.float64)}), ValueError, "state_dict['counts']", "a torch.float64 tensor of shape (3,)"),
    ("float32 prior counts", lambda: cp.OnlinePriors(3).load_state_dict({"counts": torch.ones(3)}), ValueError, "state_dict['counts']", "a torch.float64 tensor of shape (3,)"),
    ("prior counts as a list", lambda: cp.OnlinePriors(3).load_state_dict({"counts": [1.0, 1.0, 1.0]}), ValueError, "state_dict['counts']", "a torch.float64 tensor of shape (3,), got [1.0, 1.0, 1.0]"),
    ("priors of 4 classes into batch weights of 3", lambda: cp.BatchFrequencyWeights(3).load_state_dict(cp.OnlinePriors(4).state_dict()), ValueError, "state_dict['counts']", "a torch.float64 tensor of shape (3,)"),
    ("priors into adaptive weights", lambda: cp.AdaptiveClassWeights(3).load_state_dict(cp.OnlinePriors(3).state_dict()), ValueError, "state_dict", "a mapping with the keys 'score', 'seen'"),
    ("adaptive weights into priors", lambda: cp.OnlinePriors(3).load_state_dict(cp.AdaptiveClassWeights(3).state_dict()), ValueError, "state_dict", "a mapping with the keys 'counts'"),
    ("a float 'seen' in adaptive weights", lambda: cp.AdaptiveClassWeights(2).load_state_dict({"score": torch.zeros(2, dtype=torch.float64), "seen": torch.ones(2)}), ValueError, "state_dict['seen']", "a torch.bool tensor of shape (2,)"),
    ("a focal loss of 3 classes into one of 2", lambda: cp.FocalLoss([0.5, 0.5]).load_state_dict(cp.FocalLoss([0.2, 0.3, 0.5]).state_dict()), ValueError, "alpha", "a tensor of shape (2,), as in this module"),
    ("an infinite class weight in a loss state", lambda: cp.WeightedCrossEntropyLoss([1.0, 1.0]).load_state_dict({"weight": torch.tensor([1.0, inf])}), ValueError, "weight", "finite"),
    ("a zero prior in a loss state", lambda: cp.LogitAdjustedLoss([0.5, 0.5]).load_state_dict({"priors": torch.tensor([0.0, 1.0])}), ValueError, "priors", "positive"),
    ("a vector calibration into a temperature", lambda: cp.TemperatureScaling().load_state_dict(cp.TemperatureScaling("vector", num_classes=3).state_dict()), ValueError, "log_temperature", "a tensor of shape (), as in this module"),
    ("a NaN temperature (was loaded)", lambda: cp.TemperatureScaling().load_state_dict({"log_temperature": torch.tensor(nan)}), ValueError, "log_temperature", "finite (no NaN or infinity)"),
]  # fmt: skip

#: Post-hoc corrections, metrics, segmentation and the built-in data set.
OTHER_CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    ("priors of 2 of 3 classes", lambda: cp.adjust_logits(X, [0.5, 0.5]), ValueError, "priors", "a 1-D tensor of length 3"),
    ("a zero prior", lambda: cp.adjust_logits(X, [0.0, 0.5, 0.5]), ValueError, "priors", "positive for every class, got '0 at index 0'"),
    ("integer logits to adjust", lambda: cp.adjust_logits(torch.ones(2, 3, dtype=torch.long), [0.2, 0.3, 0.5]), TypeError, "logits", "a floating-point tensor"),
    ("1-D logits to adjust", lambda: cp.adjust_logits(torch.randn(3), [0.2, 0.3, 0.5]), ValueError, "logits", "a tensor of shape (N, C) or (N, C, d1, ..., dK)"),
    ("a NaN tau to adjust", lambda: cp.adjust_logits(X, [0.2, 0.3, 0.5], tau=nan), ValueError, "tau", "a finite number"),
    ("negative probabilities to correct", lambda: cp.prior_correction(-P, [1.0, 1.0, 1.0]), ValueError, "probs", "probabilities in [0, 1] (pass logits.softmax(1))"),
    ("rows summing to 2 to correct", lambda: cp.prior_correction(P * 2, [1.0, 1.0, 1.0]), ValueError, "probs", "probabilities in [0, 1] (pass logits.softmax(1))"),
    ("zero correction weights", lambda: cp.prior_correction(P, [0.0, 0.0, 0.0]), ValueError, "weights", "positive for every class"),
    ("a zero source prior", lambda: cp.prior_shift(P, [0.0, 0.5, 0.5], [0.3, 0.3, 0.4]), ValueError, "source", "positive for every class"),
    ("a target prior of 2 of 3 classes", lambda: cp.prior_shift(P, [0.3, 0.3, 0.4], [0.5, 0.5]), ValueError, "target", "a 1-D tensor of length 3"),
    ("NaN probabilities to shift", lambda: cp.prior_shift(P.masked_fill(P > 0.3, nan), [0.3, 0.3, 0.4], [0.3, 0.3, 0.4]), ValueError, "probs", "finite (no NaN or infinity)"),
    ("a target class of 3 in tune_tau", lambda: cp.tune_tau(torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 0, 1]), [0.2, 0.3, 0.5]), ValueError, "targets", "class indices in [0, 3), got '3 at index (3,)'"),
    ("no taus", lambda: cp.tune_tau(torch.randn(6, 3), T, [0.2, 0.3, 0.5], taus=[]), ValueError, "taus", "a non-empty sequence, got []"),
    ("a NaN tau among the taus", lambda: cp.tune_tau(torch.randn(6, 3), T, [0.2, 0.3, 0.5], taus=[nan]), ValueError, "taus[0]", "a finite number"),
    ("the tau metric 'acc'", lambda: cp.tune_tau(torch.randn(6, 3), T, [0.2, 0.3, 0.5], metric="acc"), ValueError, "metric", "one of 'balanced_accuracy', 'macro_f1'"),
    ("no rows in tune_tau", lambda: cp.tune_tau(torch.randn(0, 3), torch.zeros(0, dtype=torch.long), [0.2, 0.3, 0.5]), ValueError, "targets", "non-empty"),
    ("(N, L) scores with (N,) targets", lambda: cp.tune_thresholds(torch.rand(6, 2), T % 2), ValueError, "targets", "of the shape of `scores` (6, 2)"),
    ("a binary target of 2", lambda: cp.tune_thresholds(torch.rand(6), torch.tensor([0, 2, 0, 1, 0, 1])), ValueError, "targets", "0 or 1, got 2"),
    ("a NaN score", lambda: cp.tune_thresholds(torch.tensor([nan, 0.5, 0.2, 0.1]), torch.tensor([0, 1, 0, 1])), ValueError, "scores", "finite (no NaN or infinity), got 'nan at index (0,)'"),
    ("no positives to tune F1 on", lambda: cp.tune_thresholds(torch.rand(4), torch.zeros(4)), ValueError, "targets", "at least one positive per label for F-beta, got 'none for label 0'"),
    ("a cost ratio for F1", lambda: cp.tune_thresholds(torch.rand(4), torch.tensor([0, 1, 0, 1]), cost_ratio=2.0), ValueError, "cost_ratio", "None when metric='f1' (only 'cost' uses it)"),
    ("a calibration kind 'platt'", lambda: cp.TemperatureScaling("platt"), ValueError, "kind", "one of 'temperature', 'vector', got 'platt'"),
    ("num_classes for a temperature", lambda: cp.TemperatureScaling(num_classes=3), ValueError, "num_classes", "None when kind='temperature' (only 'vector' uses it)"),
    ("NaN logits to calibrate on", lambda: cp.TemperatureScaling().fit(torch.full((6, 3), nan), T), ValueError, "logits", "finite (no NaN or infinity)"),
    ("fewer targets than logits to calibrate on", lambda: cp.TemperatureScaling().fit(torch.randn(6, 3), T[:2]), ValueError, "targets", "a tensor of shape (6,), one index per row"),
    ("float labels in imbalance_report", lambda: cp.imbalance_report([0.5, 1.0], [0, 1]), TypeError, "y_true", "integer class indices"),
    ("string labels in imbalance_report", lambda: cp.imbalance_report(["a", "b"], ["a", "b"]), TypeError, "y_true", "integer class indices"),
    ("predictions for 2 of 3 samples", lambda: cp.imbalance_report([0, 1, 1], [0, 1]), ValueError, "y_score_or_pred", "3 rows like `y_true`"),
    ("no samples to report on", lambda: cp.imbalance_report([], []), ValueError, "y_true", "a non-empty 1-D array of class indices"),
    ("logits instead of probabilities", lambda: cp.imbalance_report([0, 1], torch.tensor([[0.5, 0.6], [0.2, 0.8]])), ValueError, "y_score", "probabilities in [0, 1] whose rows sum to 1 (pass logits.softmax(-1), not logits)"),
    ("NaN probabilities to report on", lambda: cp.imbalance_report([0, 1], torch.tensor([[nan, 0.5], [0.2, 0.8]])), ValueError, "y_score", "finite probabilities"),
    ("one class name (named num_classes before)", lambda: cp.imbalance_report([0, 1], [0, 1], classes=["a"]), ValueError, "classes", "at least 2 class names, got ['a']"),
    ("labels of one class (named num_classes before)", lambda: cp.imbalance_report([0, 0], [0, 0]), ValueError, "y_true", "labels of at least 2 classes (or give `num_classes`), got 'only class 0'"),
    ("a label beyond num_classes in imbalance_report", lambda: cp.imbalance_report([0, 2], [0, 1], num_classes=2), ValueError, "y_true", "class indices in [0, 2), got 2"),
    ("a calibration of 0 bins", lambda: cp.imbalance_report([0, 1], torch.tensor([[0.5, 0.5], [0.2, 0.8]]), n_bins=0), ValueError, "n_bins", "an integer larger than 0, got 0"),
    ("metrics of 0 classes", lambda: cp.ImbalanceMetrics(0), ValueError, "num_classes", "an integer larger than 0, got 0"),
    ("a label of 3 of 3 classes in a metrics update", lambda: cp.ImbalanceMetrics(3).update(torch.tensor([0, 3, 1, 1, 1, 1]), P), ValueError, "y_true", "class indices in [0, 3), got 3"),
    ("scores of 4 classes for 3", lambda: cp.ImbalanceMetrics(3).update(T[:2], torch.softmax(torch.randn(2, 4), 1)), ValueError, "y_score", "probabilities of shape (N, 3)"),
    ("predictions after probabilities", lambda: _updated(cp.ImbalanceMetrics(3), (T, P), (T, T)), ValueError, "y_score_or_pred", "of the same kind in every batch (all probabilities or all predictions)"),
    ("a compute before any update", lambda: cp.ImbalanceMetrics(3).compute(), ValueError, "update", "called with at least one sample before compute()"),
    ("scores of 2 of 3 labels", lambda: cp.multilabel_report(torch.ones(4, 3), torch.rand(4, 2)), ValueError, "y_score", "of the shape of `y_true` (4, 3)"),
    ("a multilabel target of 2", lambda: cp.multilabel_report(torch.full((4, 3), 2.0), torch.rand(4, 3)), ValueError, "y_true", "0 or 1, got '2.0 at index (0, 0)'"),
    ("label groups (100, 20)", lambda: cp.multilabel_report(torch.eye(3)[[0, 1, 2, 0]], torch.rand(4, 3), boundaries=(100, 20)), ValueError, "boundaries", "(low, high) with low <= high, got (100, 20)"),
    ("a negative mask value", lambda: cp.mask_statistics(torch.tensor([[0, -1]])), ValueError, "labels", "class indices >= 0 (set `ignore_index` to skip a marker value)"),
    ("a mask of 0.5", lambda: cp.mask_statistics(torch.tensor([[0.5, 1.0]])), TypeError, "labels", "integer class indices (floats only when all are whole numbers)"),
    ("a mask without pixels", lambda: cp.mask_statistics(torch.zeros(0, 2, dtype=torch.long)), ValueError, "source", "non-empty"),
    ("a mask class beyond num_classes", lambda: cp.mask_statistics(MASK + 2, num_classes=2), ValueError, "labels", "class indices below num_classes=2"),
    ("a list of lists as masks", lambda: cp.mask_statistics([[0, 1], [1, 1]]), TypeError, "mask", "a tensor, an array, an image or a path to an image, got 'list in item 0'"),
    ("counts instead of mask statistics", lambda: cp.mask_class_weights(torch.tensor([1, 2])), TypeError, "statistics", "a MaskStatistics (from mask_statistics), got 'Tensor'"),
    ("a class without pixels", lambda: cp.mask_class_weights(cp.mask_statistics(MASK * 2)), ValueError, "statistics", "pixels of every class (or pass zero_counts='zero')"),
    ("float instance ids", lambda: cp.border_weight_map(torch.rand(4, 4)), TypeError, "instance_labels", "integer instance ids"),
    ("1-D instance ids", lambda: cp.border_weight_map(torch.tensor([0, 1])), ValueError, "instance_labels", "of shape (H, W) or (D, H, W)"),
    ("a sigma of 0", lambda: cp.border_weight_map(MASK, sigma=0), ValueError, "sigma", "in (0.0, inf], got 0.0"),
    ("instance ids without pixels", lambda: cp.border_weight_map(torch.zeros(0, 4, dtype=torch.long)), ValueError, "instance_labels", "non-empty"),
    ("a negative pixel spacing", lambda: cp.border_weight_map(MASK, spacing=-1.0), ValueError, "spacing", "in (0.0, inf], got -1.0"),
    ("one class weight for two classes", lambda: cp.border_weight_map(MASK, class_weights=[1.0]), ValueError, "class_weights", "a 1-D tensor of length 2"),
    ("distance_to 'edge'", lambda: cp.distance_weight_map(MASK, distance_to="edge"), ValueError, "distance_to", "one of 'boundary', 'foreground', got 'edge'"),
    ("a negative class in a distance map", lambda: cp.distance_weight_map(torch.tensor([[0, -2]])), ValueError, "mask", "non-negative (or ignore_index), got '-2 at index (0, 1)'"),
    ("a weight map that is not a function", lambda: cp.WeightMapDataset([1], 5), TypeError, "weight_map", "a function of a mask, got 'int'"),
    ("a mask key that no item has", lambda: cp.WeightMapDataset([(1, 2)], lambda m: m, key=5)[0], ValueError, "key", "an index or key of every item, got '5 for item 0 of type tuple'"),
    ("an imbalance factor of 0.5", lambda: cp.load_digits_lt(imbalance_factor=0.5), ValueError, "imbalance_factor", "in [1.0, inf], got 0.5"),
    ("no validation images", lambda: cp.load_digits_lt(val_per_class=0), ValueError, "val_per_class", "an integer larger than 0, got 0"),
    ("a negative data set seed", lambda: cp.load_digits_lt(seed=-1), ValueError, "seed", "an integer >= 0, got -1"),
    ("a zero count in an effective-number schedule", lambda: cp.EffectiveNumberSchedule([10, 0], epochs=3), ValueError, "counts", "positive for every class (or pass zero_counts='smooth' or 'zero')"),
    ("an unknown scheme for mask weights", lambda: cp.mask_class_weights(cp.mask_statistics(MASK), "cubic"), ValueError, "scheme", "one of 'median_frequency', 'none'"),
    ("no counts to plot", lambda: plots.plot_class_distribution([]), ValueError, "counts", "a non-empty 1-D sequence of class counts"),
    ("a 1-D confusion matrix to plot", lambda: plots.plot_confusion_matrix(np.array([1, 2]), ["a", "b"]), ValueError, "confusion", "a (2, 2) matrix, got (2,)"),
    ("no recalls to plot", lambda: plots.plot_per_class_recall({}, ["a"]), ValueError, "recalls", "at least one entry"),
    ("no training curves to plot", lambda: plots.plot_training_curves({}), ValueError, "curves", "at least one entry"),
    ("no group scores to plot", lambda: plots.plot_group_scores({}), ValueError, "scores", "at least one series"),
    ("a figure saved without a suffix (was saved under another name)", lambda: plots.save_figure(plots.plot_class_distribution([3, 1]), "distribution"), ValueError, "path", "a file name ending in an image format (.avif"),
]  # fmt: skip


def _updated(metrics: cp.ImbalanceMetrics, *batches: tuple[Any, Any]) -> None:
    for y, s in batches:
        metrics.update(y, s)


ALL_CASES = (
    CASES + LOSS_CASES + WEIGHT_CASES + COUNT_CASES + SAMPLER_CASES + STATE_CASES + OTHER_CASES
)


@pytest.mark.parametrize(
    ("what", "call", "error", "name", "expected"), ALL_CASES, ids=[c[0] for c in ALL_CASES]
)
def test_bad_input_gets_a_clear_error(what, call, error, name, expected, raises):
    with raises(error, name, expected):
        call()


def test_every_case_has_its_own_name():
    names = [c[0] for c in ALL_CASES + FILE_CASES + CLI_CASES]
    assert len(names) == len(set(names))


def test_a_bad_label_in_a_batch_of_a_loader_with_workers_names_the_batch(raises):
    labels = torch.tensor([0, 1, 2, 3, -1, 5])
    loader = DataLoader(labels, batch_size=2, num_workers=2)
    with raises(ValueError, "labels", "class indices >= 0", "-1 at index 0 of batch 2"):
        cp.class_counts(loader)


def test_ddp_denominator_leaves_out_unannotated_labels():
    target = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    assert ddp_denominator(target, ignore_value=-1).item() == 4
    assert ddp_denominator(target, loss=cp.WeightedBCEWithLogitsLoss(ignore_value=-1)).item() == 4
    nan = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    assert ddp_denominator(nan, ignore_value=float("nan")).item() == 3


# --- files -------------------------------------------------------------------------------------


def _write(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return write


def _npz(name: str, **arrays: Any) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        np.savez(path, **arrays)
        return path

    return write


def _empty_dir(folder: Path) -> Path:
    path = folder / "data"
    path.mkdir()
    (path / ".hidden").write_text("x")
    return path


_TABLE = "".join(f"{i % 3},{i * 0.1:.1f}\n" for i in range(30)).encode()
DUPLICATE = _write("dup.csv", b"label,label,f\n" + _TABLE.replace(b",", b",0,"))
LATIN1 = _write("latin.csv", "label,f\nété,1\nhiver,2\nété,3\n".encode("latin-1"))
LATIN1_TEXT = _write("latin.txt", "hiver\nété\nhiver\n".encode("latin-1"))
ONLY_X = _npz("x.npz", X=np.arange(12.0).reshape(6, 2))
EMPTY_NPZ = _write("empty.npz", b"")
TEXT_NPZ = _write("text.npz", b"0\n1\n1\n")
TEXT_NPY = _write("labels.npy", b"0\n1\n1\n")

#: (what is wrong, writes the file into a folder, which call reads it: "count" or "compare",
#: the error, the argument named, the start of the expectation)
FILE_CASES: list[tuple[str, Callable[[Path], Path], str, type[Exception], str, str]] = [
    ("two columns named label, counted", DUPLICATE, "count", ValueError, "source",
     "a table whose column names differ in"),
    ("two columns named label, compared", DUPLICATE, "compare", ValueError, "path",
     "a table whose column names differ in"),
    ("an .npz holding only X, counted", ONLY_X, "count", ValueError, "column",
     "given to choose the labels among the arrays of"),
    ("an .npz holding only X, compared", ONLY_X, "compare", ValueError, "path",
     "an .npz file with arrays named X and y"),
    ("a 0-byte .npz, compared", EMPTY_NPZ, "compare", ValueError, "path",
     "an .npz archive (a zip file of .npy arrays, as numpy.savez writes)"),
    ("a 0-byte .npz, counted", EMPTY_NPZ, "count", ValueError, "source", "an .npz archive"),
    ("a text file named .npz, compared", TEXT_NPZ, "compare", ValueError, "path",
     "an .npz archive"),
    ("a text file named .npz, counted", TEXT_NPZ, "count", ValueError, "source",
     "an .npz archive"),
    ("a text file named .npy, counted", TEXT_NPY, "count", ValueError, "source",
     "an .npy file (as numpy.save writes)"),
    ("a Latin-1 CSV, counted", LATIN1, "count", ValueError, "source",
     "text encoded as UTF-8 (save the file as UTF-8)"),
    ("a Latin-1 CSV, compared", LATIN1, "compare", ValueError, "path",
     "text encoded as UTF-8"),
    ("a Latin-1 text file, counted", LATIN1_TEXT, "count", ValueError, "source",
     "text encoded as UTF-8 (save the file as UTF-8)"),
    ("an empty directory, counted", _empty_dir, "count", ValueError, "source",
     "a file, or a directory that holds Parquet files"),
    ("an empty directory, compared", _empty_dir, "compare", ValueError, "path",
     "a file, or a directory that holds Parquet files"),
]  # fmt: skip


def _npy(name: str, array: np.ndarray) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        np.save(path, array, allow_pickle=array.dtype == object)
        return path

    return write


def _gzip(name: str, content: bytes) -> Callable[[Path], Path]:
    return _write(name, gzip.compress(content))


def _missing(folder: Path) -> Path:
    return folder / "no-such-labels.csv"


def _folder_of_npy(folder: Path) -> Path:
    path = folder / "data"
    path.mkdir()
    np.save(path / "labels.npy", np.array([0, 1]))
    return path


_FEATURES = "".join(f"{i * 0.1:.1f},{i % 2}\n" for i in range(40))
UTF16 = _write("utf16.csv", "label\n0\n1\n1\n".encode("utf-16"))
MORE_FILE_CASES: list[tuple[str, Callable[[Path], Path], str, type[Exception], str, str]] = [
    ("a missing file, counted", _missing, "count", FileNotFoundError, "source", "an existing file or directory"),
    ("a UTF-16 CSV, counted", UTF16, "count", ValueError, "source", "text encoded as UTF-8 (save the file as UTF-8), got \"b'\\\\xff\\\\xfel"),
    ("a UTF-16 CSV, compared", UTF16, "compare", ValueError, "path", "text encoded as UTF-8"),
    ("a Latin-1 header row, counted", _write("h.csv", "étiquette\n0\n1\n".encode("latin-1")), "count", ValueError, "source", "text encoded as UTF-8 (save the file as UTF-8), got \"b'\\\\xe9tiquette' in the header row"),
    ("a UTF-16 text file, counted", _write("utf16.txt", "0\n1\n".encode("utf-16")), "count", ValueError, "source", "text encoded as UTF-8"),
    ("a .csv.gz that is not gzip, counted", _write("x.csv.gz", b"label\n0\n1\n"), "count", ValueError, "source", "a readable CSV file (zlib inflate failed"),
    ("binary bytes named .csv, counted", _write("junk.csv", b"label\n\x00\x01,\xff\n" * 4), "count", ValueError, "source", "a readable CSV file (CSV parse error"),
    ("rows of other lengths, counted", _write("ragged.csv", b"label,f\n0,1\n1\n2,3,4\n"), "count", ValueError, "source", "a readable CSV file (CSV parse error: Row #3: Expected 2 columns, got 1: 1)"),
    ("a header row alone, counted", _write("header.csv", b"label\n"), "count", ValueError, "source", "a non-empty file (at least one label)"),
    ("an empty CSV, counted", _write("empty.csv", b""), "count", ValueError, "source", "a non-empty file (at least one label)"),
    ("blank lines alone, counted", _write("blank.txt", b"\n\n  \n"), "count", ValueError, "source", "a non-empty file (at least one label)"),
    ("an NA cell, counted", _write("na.csv", b"label\n0\nNA\n1\n"), "count", ValueError, "source", "free of missing values in"),
    ("an empty cell, counted", _write("gap.csv", b"label,f\n0,1\n,2\n1,3\n"), "count", ValueError, "source", "free of missing values in"),
    ("a label 0.5 in a CSV, counted", _write("half.csv", b"label\n0.5\n1.5\n"), "count", TypeError, "labels", "integer class indices (floats only when all are whole numbers), got \"0.5 at row 0 of"),
    ("a negative label in a text file, counted", _write("neg.txt", b"-1\n0\n"), "count", ValueError, "labels", "class indices >= 0 (set `ignore_index` to skip a marker value), got \"-1 at row 0 of"),
    ("ids as labels in a CSV, counted", _write("ids.csv", b"label\n0\n99999999999\n"), "count", ValueError, "labels", "class indices below 16777216 without `num_classes` or `classes`"),
    ("true/false labels, counted", _write("bools.csv", b"label\ntrue\nfalse\n"), "count", TypeError, "labels", "integer class indices (use multilabel=True for a 0/1 indicator matrix)"),
    ("a NaN line in a text file, counted", _write("nan.txt", b"0\nnan\n1\n"), "count", ValueError, "labels", "free of missing values, got \"nan at row 1 of"),
    ("float labels in an .npy, counted", _npy("f.npy", np.array([0.5, 1.0])), "count", TypeError, "labels", "integer class indices (floats only when all are whole numbers), got \"0.5 at index 0 of"),
    ("boolean labels in an .npy, counted", _npy("b.npy", np.array([True, False])), "count", TypeError, "labels", "integer class indices (use multilabel=True"),
    ("complex labels in an .npy, counted", _npy("c.npy", np.array([1 + 1j])), "count", TypeError, "labels", "hashable labels"),
    ("objects in an .npy, counted", _npy("o.npy", np.array([1, "a"], dtype=object)), "count", ValueError, "source", "a readable .npy file (Array can't be memory-mapped"),
    ("an empty .npy, counted", _npy("e.npy", np.array([], dtype=np.int64)), "count", ValueError, "source", "a non-empty file (at least one label)"),
    ("a uint64 id in an .npy, counted", _npy("u.npy", np.array([0, 2**64 - 1], dtype=np.uint64)), "count", ValueError, "labels", "class indices below 16777216"),
    ("two columns without a label column, counted", _write("two.csv", b",f\n0,1\n1,2\n"), "count", ValueError, "column", "given to choose among the columns of"),
    ("an .npz without arrays, counted", _npz("none.npz"), "count", ValueError, "column", "given to choose the labels among the arrays of"),
    ("an .npz of no rows, compared", _npz("rows.npz", X=np.zeros((0, 2)), y=np.zeros(0, dtype=int)), "compare", ValueError, "y", "non-empty, got 'no rows'"),
    ("text features in an .npz, compared", _npz("text.npz", X=np.array([["a", "b"]] * 30), y=np.arange(30) % 2), "compare", ValueError, "features", "numeric columns (encode categories first), got 'dtype <U1'"),
    ("5 rows of X for 4 labels, compared", _npz("rows.npz", X=np.zeros((5, 2)), y=np.zeros(4, dtype=int)), "compare", ValueError, "X", "4 rows, one for each row of y, got '5 rows'"),
    ("a NaN feature in an .npz, compared", _npz("nan.npz", X=np.array([[np.nan, 1.0]] * 30), y=np.arange(30) % 2), "compare", ValueError, "features", "finite numbers in nan.npz"),
    ("one class in an .npz, compared", _npz("one.npz", X=np.zeros((30, 2)), y=np.zeros(30, dtype=int)), "compare", ValueError, "y", "at least two classes, got [0]"),
    ("a text feature column, compared", _write("text.csv", b"f,label\n" + b"a,0\nb,1\n" * 20), "compare", ValueError, "features", "numeric columns (encode categories or drop text columns first)"),
    ("an empty feature cell, compared", _write("gap.csv", b"f,label\n" + b",0\n1,1\n" * 20), "compare", ValueError, "features", "finite numbers in gap.csv"),
    ("a label column alone, compared", _write("labels.csv", b"label\n" + b"0\n1\n" * 20), "compare", ValueError, "features", "at least one numeric feature column besides the label"),
    ("a missing label, compared", _write("gap.csv", ("f,label\n" + "1,\n1,1\n2,0\n" * 20).encode()), "compare", ValueError, "label", "a label in every row, got '20 missing labels'"),
    ("ids as labels, compared", _write("ids.csv", ("f,label\n" + "".join(f"{i},{i}\n" for i in range(40))).encode()), "compare", ValueError, "labels", "at least 3 samples in every class (one each for training, validation and test)"),
    ("an unreadable table, compared", _write("junk.csv", b"a,b\n1\n\x00\x01,2,3\n"), "compare", ValueError, "path", "a readable table (CSV parse error"),
    ("a folder of .npy files, counted", _folder_of_npy, "count", ValueError, "source", "a readable Parquet file or directory (labels.npy: Parquet magic bytes not found"),
]  # fmt: skip

#: (what is unusual, writes the file, the labels it holds, by class): read as they are meant
ACCEPTED_FILES: list[tuple[str, Callable[[Path], Path], dict[Any, int]]] = [
    ("semicolons with decimal commas", _write("eu.csv", b"label;f\n0;1,5\n1;2,5\n1;0,5\n"), {0: 1, 1: 2}),
    ("pipes", _write("pipes.csv", b"label|f\n0|1\n1|2\n1|3\n"), {0: 1, 1: 2}),
    ("a UTF-8 byte-order mark", _write("bom.csv", b"\xef\xbb\xbflabel\n0\n1\n1\n"), {0: 1, 1: 2}),
    ("a byte-order mark in a text file", _write("bom.txt", b"\xef\xbb\xbfa\nb\nb\n"), {"a": 1, "b": 2}),
    ("Windows line ends", _write("crlf.csv", b"label\r\n0\r\n1\r\n1\r\n"), {0: 1, 1: 2}),
    ("a blank first line", _write("blank.csv", b"\nlabel\n0\n1\n1\n"), {0: 1, 1: 2}),
    ("quoted numbers", _write("quoted.csv", b'label\n"1"\n"2"\n"2"\n'), {0: 0, 1: 1, 2: 2}),
    ("a gzip-compressed CSV", _gzip("labels.csv.gz", b"label\ncat\ndog\ndog\n"), {"cat": 1, "dog": 2}),
    ("one row", _write("one.csv", b"label\n3\n"), {0: 0, 1: 0, 2: 0, 3: 1}),
    ("blank lines and spaces around text labels", _write("spaced.txt", b"cat\n\n dog \ndog\n"), {"cat": 1, "dog": 2}),
    ("whole floats as class indices", _npy("whole.npy", np.array([0.0, 1.0, 1.0])), {0: 1, 1: 2}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "write", "expected"), ACCEPTED_FILES, ids=[c[0] for c in ACCEPTED_FILES]
)
def test_an_unusual_but_valid_file_is_counted_as_meant(what, write, expected, tmp_path):
    counts = cp.count_labels(write(tmp_path))
    assert dict(zip(counts.classes, counts.counts.tolist())) == expected


FILE_CASES += MORE_FILE_CASES

_READERS: dict[str, Callable[[Path], Any]] = {"count": cp.count_labels, "compare": load_user_data}


@pytest.mark.parametrize(
    ("what", "write", "reader", "error", "name", "expected"),
    FILE_CASES,
    ids=[c[0] for c in FILE_CASES],
)
def test_bad_file_gets_a_clear_error(what, write, reader, error, name, expected, raises, tmp_path):
    path = write(tmp_path)
    with raises(error, name, expected):
        _READERS[reader](path)


#: Where a command's arguments take the written file.
FILE = "<file>"
_TRAIN = _write("train.csv", b"f,label\n" + _FEATURES.encode())
_GOOD = _write("labels.csv", b"label\n" + b"0\n" * 30 + b"1\n" * 5 + b"2\n" * 2)

#: (what is wrong, writes a file (or None), the command's arguments, the start of its one line)
MORE_CLI_CASES: list[tuple[str, Callable[[Path], Path] | None, list[str], str]] = [
    ("a missing file in inspect", _missing, ["inspect", FILE], "Error: `PATH` must be an existing file or directory"),
    ("a UTF-16 CSV in inspect (was Python's decoding error)", UTF16, ["inspect", FILE], "Error: `PATH` must be text encoded as UTF-8 (save the file as UTF-8)"),
    ("a .csv.gz that is not gzip in inspect (was a traceback)", _write("x.csv.gz", b"label\n0\n1\n"), ["inspect", FILE], "Error: `PATH` must be a readable CSV file (zlib inflate failed"),
    ("float labels in an .npy in weights", _npy("f.npy", np.array([0.5, 1.0])), ["weights", FILE], "Error: `--labels` must be integer class indices"),
    ("an .npz of text features in compare (was NumPy's error)", _npz("text.npz", X=np.array([["a", "b"]] * 30), y=np.arange(30) % 2), ["compare", "--quick", FILE], "Error: `features` must be numeric columns"),
    ("an .npz of no rows in compare (was NumPy's error)", _npz("rows.npz", X=np.zeros((0, 2)), y=np.zeros(0, dtype=int)), ["compare", "--quick", FILE], "Error: `y` must be non-empty"),
    ("an unknown column", _GOOD, ["inspect", FILE, "--column", "nope"], "Error: `--column` must be one of the columns of"),
    ("--plot to an unknown format (was matplotlib's message)", _GOOD, ["inspect", FILE, "--plot", "dist.xyz"], "Error: `--plot` must be a file name ending in an image format (.avif"),
    ("--plot without a suffix", _GOOD, ["inspect", FILE, "--plot", "dist"], "Error: `--plot` must be a file name ending in an image format"),
    ("--plot into a missing folder (was named PATH)", _GOOD, ["inspect", FILE, "--plot", "no/such/dir/d.png"], "Error: `--plot` must be in an existing directory"),
    ("--imbalance-factor 0.5 (was a box)", None, ["inspect", "--imbalance-factor", "0.5"], "Error: `--imbalance-factor` must be in [1.0, inf], got 0.5"),
    ("--imbalance-factor nan", None, ["inspect", "--imbalance-factor", "nan"], "Error: `--imbalance-factor` must be a finite number, got nan"),
    ("--imbalance-factor x", None, ["inspect", "--imbalance-factor", "x"], "Error: `--imbalance-factor` must be a number, got 'x'"),
    ("--seed -1", None, ["weights", "--seed", "-1"], "Error: `--seed` must be an integer >= 0, got -1"),
    ("--seed with a file", _GOOD, ["inspect", FILE, "--seed", "3"], "Error: `--seed` applies to the built-in digits-lt only, not to a PATH"),
    ("an unknown option", None, ["inspect", "--bogus"], "Error: No such option: --bogus"),
    ("an unknown command", None, ["count"], "Error: No such command 'count'."),
    ("an option without its value", None, ["weights", "--format"], "Error: Option '--format' requires an argument."),
    ("two paths", _GOOD, ["inspect", FILE, FILE], "Error: Got unexpected extra argument"),
    ("--scheme power without --beta", _GOOD, ["weights", FILE, "--scheme", "power"], "Error: `--beta` must be given with `--scheme power`"),
    ("--beta 1 for effective numbers", _GOOD, ["weights", FILE, "--scheme", "effective", "--beta", "1"], "Error: `--beta` must be in [0.0, 1.0), got 1.0"),
    ("--clip a,b", _GOOD, ["weights", FILE, "--clip", "a,b"], "Error: `--clip` must be two numbers 'LO,HI', got 'a,b'"),
    ("--clip 2,1", _GOOD, ["weights", FILE, "--clip", "2,1"], "Error: `--clip` must be in [2.0, inf], got 1.0"),
    ("--format yaml", _GOOD, ["weights", FILE, "--format", "yaml"], "Error: `--format` must be one of python, json, csv, got 'yaml'"),
    ("--cost of 2 classes for 3", _GOOD, ["weights", FILE, "--scheme", "cost", "--cost", "1,2"], "Error: `--cost` must be of shape (3,) or (3, 3)"),
    ("--cost from a missing file (was an OS error)", _GOOD, ["weights", FILE, "--scheme", "cost", "--cost", "no-such-costs.npy"], "Error: `--cost` must be a readable .npy/.csv file of numbers (No such file or directory)"),
    ("--cost from a CSV of text", _GOOD, ["weights", FILE, "--scheme", "cost", "--cost", FILE], "Error: `--cost` must be a readable .npy/.csv file of numbers (could not convert"),
    ("--seeds 0 (was run with 1 seed)", _TRAIN, ["compare", "--quick", "--seeds", "0", FILE], "Error: `--seeds` must be an integer larger than 0, got 0"),
    ("--seeds abc", _TRAIN, ["compare", "--quick", "--seeds", "abc", FILE], "Error: `--seeds` must be an integer, got 'abc'"),
    ("--epochs 0 (was run for 40 epochs)", _TRAIN, ["compare", "--quick", "--epochs", "0", FILE], "Error: `--epochs` must be an integer larger than 0, got 0"),
    ("--epochs=1.5", _TRAIN, ["compare", "--quick", "--epochs=1.5", FILE], "Error: `--epochs` must be an integer, got '1.5'"),
    ("--hidden 0", _TRAIN, ["compare", "--quick", "--hidden", "0", FILE], "Error: `--hidden` must be an integer larger than 0, got 0"),
    ("--depth -1", _TRAIN, ["compare", "--quick", "--depth", "-1", FILE], "Error: `--depth` must be an integer >= 0, got -1"),
    ("--device tpu", _TRAIN, ["compare", "--quick", "--device", "tpu", FILE], "Error: `--device` must be cpu, cuda or cuda:N, got 'tpu'"),
    ("--strategies nope", _TRAIN, ["compare", "--quick", "--strategies", "nope", FILE], "Error: `--strategies` must be names from"),
    ("--metric auc", _TRAIN, ["compare", "--quick", "--metric", "auc", FILE], "Error: `--metric` must be one of 'balanced_accuracy'"),
    ("--label nope", _TRAIN, ["compare", "--quick", "--label", "nope", FILE], "Error: `--label` must be a column of train.csv"),
    ("--label-groups 5", _TRAIN, ["compare", "--quick", "--label-groups", "5", FILE], "Error: `--label-groups` must be two numbers 'LOW,HIGH', got '5'"),
    ("--out that is a file", _TRAIN, ["compare", "--quick", FILE, "--out", FILE], "Error: `--out` must be a folder, got the file"),
]  # fmt: skip

CLI_CASES: list[tuple[str, Callable[[Path], Path] | None, list[str], str]] = [
    ("duplicate columns in inspect", DUPLICATE, ["inspect", FILE],
     "Error: `PATH` must be a table whose column names differ in"),
    ("duplicate columns in compare", DUPLICATE, ["compare", "--quick", FILE],
     "Error: `PATH` must be a table whose column names differ in"),
    ("an .npz holding only X in inspect", ONLY_X, ["inspect", FILE],
     "Error: `--column` must be given to choose the labels among the arrays of"),
    ("a 0-byte .npz in compare", EMPTY_NPZ, ["compare", "--quick", FILE],
     "Error: `PATH` must be an .npz archive"),
    ("a text file named .npz in compare", TEXT_NPZ, ["compare", "--quick", FILE],
     "Error: `PATH` must be an .npz archive"),
    ("a Latin-1 CSV in weights --format json", LATIN1, ["weights", "--format", "json", FILE],
     "Error: `PATH` must be text encoded as UTF-8"),
    ("a Latin-1 text file in inspect", LATIN1_TEXT, ["inspect", FILE],
     "Error: `PATH` must be text encoded as UTF-8 (save the file as UTF-8), got"),
    ("an empty directory in inspect", _empty_dir, ["inspect", FILE],
     "Error: `PATH` must be a file, or a directory that holds Parquet files"),
    ("an empty directory in compare", _empty_dir, ["compare", "--quick", FILE],
     "Error: `PATH` must be a file, or a directory that holds Parquet files"),
]  # fmt: skip
CLI_CASES += MORE_CLI_CASES


@pytest.mark.parametrize(
    ("what", "write", "command", "line"), CLI_CASES, ids=[c[0] for c in CLI_CASES]
)
def test_bad_input_on_the_command_line_is_one_line(what, write, command, line, tmp_path):
    path = str(write(tmp_path)) if write is not None else None
    args = [path if a == FILE else a for a in command]
    if command[0] == "compare" and "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semicolons.csv", "f;label\n0.5;a\n0.1;b\n0.2;b\n"),
        ("tabs.csv", "f\tlabel\n0.5\ta\n0.1\tb\n0.2\tb\n"),
        ("commas.tsv", "f,label\n0.5,a\n0.1,b\n0.2,b\n"),
    ],
)
def test_a_table_is_read_with_the_delimiter_its_header_row_holds(name, text, tmp_path):
    path = tmp_path / name
    path.write_text(text)
    counts = cp.count_labels(path)
    assert counts.classes == ("a", "b") and counts.counts.tolist() == [1, 2]


def test_compare_reads_a_semicolon_separated_csv(tmp_path):
    path = tmp_path / "data.csv"
    rows = "".join(f"{i * 0.1:.1f};{i % 2}\n" for i in range(40))
    path.write_text("f;label\n" + rows)
    splits = load_user_data(path)
    assert splits.features == ("f",) and splits.num_classes == 2


def test_an_npz_of_one_unnamed_array_is_still_counted(tmp_path):
    path = tmp_path / "labels.npz"
    np.savez(path, np.array([0, 1, 1]))
    assert cp.count_labels(path).counts.tolist() == [1, 2]


def test_a_finite_1e39_class_weight_is_used_as_given():
    sampler = cp.ClassBalancedSampler([0, 1], [1e39, 1.0])
    assert sampler.class_probabilities.tolist() == pytest.approx([1.0, 1e-39], rel=1e-12)


def test_a_finite_1e39_in_a_list_is_read_as_given_and_refused_where_it_must_fit_float32(raises):
    # a list is read in float64: the value is the one given, not infinity
    margins = cf.ldam_margins([1e39, 1.0])
    assert torch.isfinite(margins).all() and margins[1] == 0.5
    with raises(ValueError, "weight", "at most 3.403e+38 (kept in float32)", 1e39):
        cp.WeightedCrossEntropyLoss([1e39, 1.0])
