"""The sigmoid family: binary and multilabel losses, logits (N,), (N, L) or (N, L, ...).

Binary cross-entropy with positive and negative weights, the sigmoid focal loss (Lin et al., 2017),
the asymmetric loss (Ridnik et al., 2021) and the distribution-balanced loss (Wu et al., 2020);
each as a pure function (documented with :mod:`counterpoise.functional`) and as a module whose
``forward`` is one call of it. They share one custom autograd function, which computes the
gradient with the loss. The conventions they follow are in :mod:`counterpoise.functional`.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from .._checks import (
    LABELS,
    VectorLike,
    check_binary_target,
    check_choice,
    check_entries,
    check_focal_alpha,
    check_ignore_value,
    check_input,
    check_length,
    check_number,
    check_positive_int,
    class_vector_or_none,
    counts_with_total,
    describe_tensor,
    device_assert,
    eager_checks,
    fail,
    label_view,
    result_dtype,
)
from ..reduction import REDUCTIONS, Reduction, reduce_elements
from ..weights import label_alpha
from ..weights import pos_weight as positive_weights
from ._autograd import (
    Rebalance,
    SigmoidTerms,
    SplitTerms,
    full_matmul,
    sigmoid_family_loss,
    weighted_sum,
)
from ._base import Denominator, LossModule, buffer, counts_of, weights_from_counts

__all__ = [
    "AsymmetricLoss",
    "DistributionBalancedLoss",
    "SigmoidFocalLoss",
    "WeightedBCEWithLogitsLoss",
    "asymmetric_loss",
    "binary_cross_entropy_with_logits",
    "distribution_balanced_loss",
    "sigmoid_focal_loss",
]


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    pos_weight: VectorLike | None = None,
    neg_weight: VectorLike | None = None,
    ignore_value: float | None = None,
    sample_weight: torch.Tensor | None = None,
    reduction: Reduction = "mean",
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Binary / multilabel cross-entropy on logits, with a weight for positives and for negatives.

    .. math::

        \ell_{il} = -\big[a_l\, y_{il} \log \sigma(x_{il})
                         + b_l (1 - y_{il}) \log (1 - \sigma(x_{il}))\big],
        \qquad
        \text{mean} = \frac{\sum_{il} \ell_{il}}{N L}

    with positive weights :math:`a` (``pos_weight``) and negative weights :math:`b`
    (``neg_weight``) per label. This is what ``BCEWithLogitsLoss(weight=torch.tensor([0.1,
    0.9]))`` is usually meant to do: PyTorch's ``weight`` multiplies elements, not classes.
    With ``pos_weight`` only, the result equals ``F.binary_cross_entropy_with_logits(...,
    pos_weight=...)``. The weights do not enter the mean's normaliser (PyTorch's convention);
    ``sample_weight`` does: the mean is then :math:`\sum s \ell / \sum s`. Elements whose target
    equals ``ignore_value`` (labels that were not annotated) contribute neither loss nor
    gradient, and the mean is taken over the known elements only.

    Args:
        input: Logits: (N,) binary, (N, L) multilabel, or (N, L, d1, ..., dK).
        target: Targets in [0, 1] of the shape of ``input`` (soft labels allowed), or
            ``ignore_value``.
        pos_weight: Non-negative weight of the positives, length L (or 1 for all labels).
            Default 1.
        neg_weight: Non-negative weight of the negatives, length L (or 1). Default 1.
        ignore_value: The target value of unknown labels: a number outside [0, 1] (such as
            -1) or ``float("nan")``. Default None: every target must lie in [0, 1].
        sample_weight: Non-negative weight per element, the shape of ``input``.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        denominator: With ``"mean"``: divide by this instead of the element count.

    Shape:
        The label dimension is dimension 1 (L = 1 for (N,) inputs): a weight vector whose
        length is neither L nor 1 is an error, never broadcast elsewhere.

    Returns:
        The loss, in the dtype of ``input`` (ignored elements are 0 with ``"none"``).

    Raises:
        ValueError: ``target`` of another shape, outside [0, 1] (other than
            ``ignore_value``) or requiring grad (the loss differentiates the input only);
            weights of a bad length, negative or non-finite; an ``ignore_value`` inside
            [0, 1]; an unknown ``reduction``.
        TypeError: A non-floating ``input``, or a ``target`` that is not a tensor.

    Example:
        >>> import torch
        >>> x = torch.tensor([[1.0, -2.0], [0.0, 3.0]], requires_grad=True)
        >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> loss = binary_cross_entropy_with_logits(
        ...     x, y, pos_weight=torch.tensor([1.0, 4.0]), neg_weight=torch.tensor([0.5, 1.0]))
        >>> loss
        tensor(0.2453, grad_fn=<DivBackward0>)
        >>> loss.backward()
        >>> y_unknown = torch.tensor([[1.0, -1.0], [0.0, 1.0]])  # -1: not annotated
        >>> binary_cross_entropy_with_logits(x, y_unknown, ignore_value=-1)
        tensor(0.3517, grad_fn=<DivBackward0>)
    """
    return _binary_cross_entropy(
        input,
        target,
        class_vector_or_none("pos_weight", pos_weight),
        class_vector_or_none("neg_weight", neg_weight),
        ignore_value=ignore_value,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
    )


def _binary_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    pos_weight: torch.Tensor | None,
    neg_weight: torch.Tensor | None,
    *,
    ignore_value: float | None,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """:func:`binary_cross_entropy_with_logits` for weights whose values are checked (a
    module's buffers, checked when they entered it): per call only their lengths."""
    check_choice("reduction", reduction, REDUCTIONS)
    check_input(input, min_ndim=1)
    target, known = check_binary_target(target, input, ignore_value)
    terms = SigmoidTerms(
        pos_weight=label_view("pos_weight", pos_weight, input),
        neg_weight=label_view("neg_weight", neg_weight, input),
    )
    loss = sigmoid_family_loss(input, target, terms)
    return reduce_elements(
        loss, reduction, None, known, sample_weight, denominator, result_dtype(input)
    )


def sigmoid_focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float | VectorLike | None = 0.25,
    gamma: float = 2.0,
    weight: VectorLike | None = None,
    ignore_value: float | None = None,
    reduction: Reduction = "none",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Sigmoid focal loss, the detection form of Lin et al. (ICCV 2017) as in RetinaNet.

    With :math:`p = \sigma(x)` and :math:`p_t = p\,y + (1 - p)(1 - y)`,

    .. math::

        \ell_{il} = -w_l\, \alpha_{t} (1 - p_t)^\gamma
               \big[y \log p + (1 - y) \log (1 - p)\big],
        \qquad
        \alpha_t = \alpha_l\, y + (1 - \alpha_l)(1 - y),

    which equals ``torchvision.ops.sigmoid_focal_loss`` for the same arguments (``alpha=None``
    where torchvision takes a negative alpha: no :math:`\alpha_t`). The default reduction is
    ``"none"``, as there; RetinaNet divides the sum by the number of positive anchors: pass it
    as ``denominator`` with ``reduction="mean"``.

    For multilabel data, ``alpha`` may be one number per label (:func:`label_alpha` derives it
    from the positives and negatives of each label), and ``weight`` :math:`w` scales every term
    of a label. ``weight=counterpoise.class_weights(positives, "effective", beta=0.999)`` with
    ``alpha=None`` adapts the class-balanced focal loss of Cui et al. (CVPR 2019) to labels:
    each label's terms weighted by the effective number of its positives (Cui et al. weight
    each sample, all of its sigmoid terms, by its ground-truth class). Neither enters the
    mean's normaliser. Elements whose target equals ``ignore_value`` contribute neither loss
    nor gradient and are left out of the mean.

    Args:
        input: Logits of any shape; labels along dimension 1 ((N, L) or (N, L, d1, ..., dK))
            when ``alpha`` or ``weight`` is a vector.
        target: Targets in [0, 1] of the shape of ``input``, or ``ignore_value``.
        alpha: Weight of the positives in [0, 1], negatives get :math:`1 - \alpha`: a number,
            one value per label (length L, or 1), or None for no weighting. Default 0.25.
        gamma: Focusing parameter :math:`\gamma \ge 0`. Default 2.
        weight: Non-negative weight of each label, length L (or 1). Default: all 1.
        ignore_value: The target value of unknown labels: a number outside [0, 1] or
            ``float("nan")``. Default None.
        reduction: ``"none"`` (default), ``"mean"`` (over the known elements) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``input``.
        denominator: With ``"mean"``: divide by this instead of the element count.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: ``target`` of another shape, outside [0, 1] or requiring grad;
            ``alpha`` outside [0, 1]; a vector ``alpha`` or ``weight`` of another length than
            L or 1, or a negative ``weight``; a negative ``gamma``; an ``ignore_value`` inside
            [0, 1]; an unknown ``reduction``.
        TypeError: A non-floating ``input``, or a ``target`` that is not a tensor.

    Example:
        >>> import torch
        >>> x = torch.tensor([[3.0, -1.0], [0.5, -4.0]], requires_grad=True)
        >>> y = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
        >>> loss = sigmoid_focal_loss(x, y, reduction="sum")
        >>> loss
        tensor(1.0026, grad_fn=<SumBackward0>)
        >>> loss.backward()
        >>> sigmoid_focal_loss(x, y, alpha=torch.tensor([0.25, 0.9]), reduction="sum")
        tensor(3.5066, grad_fn=<SumBackward0>)
    """
    return _sigmoid_focal(
        input,
        target,
        check_focal_alpha(alpha),
        check_number("gamma", gamma, low=0.0),
        class_vector_or_none("weight", weight),
        ignore_value=ignore_value,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
    )


def _sigmoid_focal(
    input: torch.Tensor,
    target: torch.Tensor,
    alpha: float | torch.Tensor | None,
    gamma: float,
    weight: torch.Tensor | None,
    *,
    ignore_value: float | None,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """:func:`sigmoid_focal_loss` for ``alpha``, ``gamma`` and ``weight`` already checked (a
    module's): per call only the lengths of the vectors."""
    check_choice("reduction", reduction, REDUCTIONS)
    check_input(input, min_ndim=0)
    target, known = check_binary_target(target, input, ignore_value)
    terms = SigmoidTerms(
        gamma=gamma,
        alpha=label_view("alpha", alpha, input) if isinstance(alpha, torch.Tensor) else alpha,
        weight=label_view("weight", weight, input),
    )
    loss = sigmoid_family_loss(input, target, terms)
    return reduce_elements(
        loss, reduction, None, known, sample_weight, denominator, result_dtype(input)
    )


def asymmetric_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float | None = 0.05,
    ignore_value: float | None = None,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Asymmetric loss (Ridnik et al., "Asymmetric Loss for Multi-Label Classification",
    ICCV 2021).

    Separate focusing for the positives and the negatives of each label, and a probability
    margin :math:`m` (``clip``) that discards easy negatives: with :math:`p = \sigma(x)` and the
    shifted probability :math:`p_m = \max(p - m, 0)`,

    .. math::

        \ell = y\, (1 - p)^{\gamma_+} \big(-\log p\big)
             + (1 - y)\, p_m^{\gamma_-} \big(-\log(1 - p_m)\big),
        \qquad
        \text{mean} = \frac{\sum \ell}{\#\text{known elements}}.

    A negative whose probability is below :math:`m` contributes nothing, and a confidently
    wrong negative (:math:`p \to 1`) at most :math:`(1 - m)^{\gamma_-} \log(1/m)`, so that
    mislabelled negatives (missing annotations) cannot dominate. The defaults are the paper's
    recommended ones (:math:`\gamma_+ = 0`, :math:`\gamma_- = 4`, :math:`m = 0.05`).

    The computation is exact in logit space: :math:`-\log p = \operatorname{softplus}(-x)`,
    :math:`1 - p_m = \min(\sigma(-x) + m, 1) \ge m`, and without a margin
    :math:`-\log(1 - p) = \operatorname{softplus}(x)`; loss and gradient stay finite for any
    logit. The authors' implementation differs in three ways, all of which this function
    leaves out: it clamps the arguments of the logarithms at ``eps = 1e-8`` (so its loss stops
    growing, and its gradient vanishes, for a positive below :math:`x \approx -18.4`); its
    training script detaches the focusing weights from the graph (their gradient is
    dropped); and for soft targets it interpolates the exponents and probabilities
    (:math:`(1 - p_t)^{\gamma_+ y + \gamma_- (1 - y)}` times the cross-entropy), where here
    the loss is linear in :math:`y`: the positive term weighted by :math:`y`, the negative
    term by :math:`1 - y`. For 0/1 targets and logits above -18 the values agree; the
    reference returns the sum over all elements (``reduction="sum"`` here).

    Args:
        input: Logits: (N,) binary, (N, L) multilabel, or (N, L, d1, ..., dK).
        target: Targets in [0, 1] of the shape of ``input`` (soft labels allowed), or
            ``ignore_value``.
        gamma_pos: :math:`\gamma_+ \ge 0`, focusing of the positives. Default 0.
        gamma_neg: :math:`\gamma_- \ge 0`, focusing of the negatives. Default 4.
        clip: The margin :math:`m` in [0, 1); None or 0 for no shifting. Default 0.05.
        ignore_value: The target value of unknown labels: a number outside [0, 1] or
            ``float("nan")``. Default None.
        reduction: ``"none"``, ``"mean"`` (default, over the known elements) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``input``; multiplies the
            loss and the mean's normaliser.
        denominator: With ``"mean"``: divide by this instead of the element count.

    Shape:
        - Input: (N,), (N, L) or (N, L, d1, ..., dK).
        - Target, ``sample_weight``: the shape of the input.
        - Output: the shape of the input for ``"none"`` (unknown labels are 0), otherwise a
          scalar.

    Returns:
        The loss, in the dtype of ``input`` (computed in float32 for half inputs).

    Raises:
        ValueError: ``target`` of another shape, outside [0, 1] (other than
            ``ignore_value``) or requiring grad; a negative ``gamma_pos`` or ``gamma_neg``;
            ``clip`` outside [0, 1); an ``ignore_value`` inside [0, 1]; an unknown
            ``reduction``.
        TypeError: A non-floating ``input``, or a ``target`` that is not a tensor.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, -0.2]], requires_grad=True)
        >>> y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> loss = asymmetric_loss(x, y)
        >>> loss
        tensor(0.0909, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    check_choice("reduction", reduction, REDUCTIONS)
    gamma_pos = check_number("gamma_pos", gamma_pos, low=0.0)
    gamma_neg = check_number("gamma_neg", gamma_neg, low=0.0)
    margin = 0.0 if clip is None else check_number("clip", clip, low=0.0, high=1.0, high_open=True)
    check_input(input, min_ndim=1)
    target, known = check_binary_target(target, input, ignore_value)
    terms = SplitTerms(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=margin)
    loss = sigmoid_family_loss(input, target, terms)
    return reduce_elements(
        loss, reduction, None, known, sample_weight, denominator, result_dtype(input)
    )


def distribution_balanced_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    counts: Any,
    num_samples: int | None = None,
    *,
    alpha: float = 0.1,
    beta: float = 10.0,
    mu: float = 0.2,
    neg_scale: float = 2.0,
    kappa: float = 0.05,
    gamma: float = 0.0,
    ignore_value: float | None = None,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Distribution-balanced loss (Wu et al., "Distribution-Balanced Loss for Multi-Label
    Classification in Long-Tailed Datasets", ECCV 2020).

    Binary cross-entropy with two modifications for long-tailed multilabel data, from the
    training counts :math:`n_l` (positives of label :math:`l` among :math:`N` samples).

    *Re-balanced weighting.* Class-aware re-sampling draws a sample :math:`k` with a
    probability proportional to :math:`\sum_{j: y_{kj} = 1} 1 / n_j` (once through each of its
    labels), while a single-label view of label :math:`l` would draw it in proportion to
    :math:`1 / n_l`. Every label of sample :math:`k` is weighted by the ratio, smoothed:

    .. math::

        r_{kl} = \frac{1 / n_l}{\sum_j y_{kj} / n_j}, \qquad
        \hat r_{kl} = \alpha + \sigma\big(\beta (r_{kl} - \mu)\big).

    *Negative-tolerant regularisation.* With the class prior :math:`p_l = n_l / N`, the logits
    are shifted by :math:`\nu_l = \frac{\kappa}{\lambda} \log \frac{p_l}{1 - p_l}` (negative for
    a rare label, so that its score starts nearer its prior and the flood of negatives pushes
    it down less), and the negative term is computed at :math:`\lambda z` and scaled by
    :math:`1/\lambda`, so that its gradient :math:`\sigma(\lambda z)` vanishes sooner once a
    negative's logit is below 0 (it tolerates negatives that are already suppressed):

    .. math::

        z = x + \nu, \qquad
        \ell_{kl} = \hat r_{kl} \Big[y\, \sigma(-z)^\gamma \operatorname{softplus}(-z)
            + (1 - y)\, \frac{1}{\lambda}\, \sigma(\lambda z)^\gamma
            \operatorname{softplus}(\lambda z)\Big],
        \qquad
        \text{mean} = \frac{\sum \ell}{\#\text{known elements}}.

    :math:`\gamma = 0` applies both modifications to binary cross-entropy; :math:`\gamma > 0`
    adds a focal factor (DB-Focal), taken for each term at that term's own logit, as the
    authors' implementation does. The weights :math:`\hat r` do not enter the mean's
    normaliser (the authors' convention, as BCE's ``pos_weight``).

    Defaults and their sources: :math:`\alpha = 0.1`, :math:`\beta = 10`, :math:`\mu = 0.2`,
    :math:`\lambda = 2`, :math:`\kappa = 0.05` are the authors' configuration for COCO-MLT
    (their VOC-MLT configuration uses :math:`\mu = 0.3` and :math:`\lambda = 5`). Both of
    their released configurations train DB-Focal: ``gamma=2``, with the loss further multiplied
    by 2 (a constant factor, equivalent to doubling the learning rate). The bias follows their
    implementation (its ``init_bias``), which divides the prior logit times :math:`\kappa` by
    :math:`\lambda`, so that the negative term sees :math:`\lambda x + \kappa \log \frac{p_l}{1 -
    p_l}`.

    Decisions where the paper is silent: soft targets count fractionally in the instance rate
    :math:`\sum_j y_{kj}/n_j` and mix the two terms linearly; labels equal to
    ``ignore_value`` count in neither the rate nor the loss; a sample without any (known)
    positive label has an infinite ratio and so weight :math:`\alpha + 1`, as in the authors'
    implementation (where :math:`1/0 = \infty`). For (N, L, d1, ..., dK) inputs each position
    is an instance.

    Args:
        input: Logits, (N, L) or (N, L, d1, ..., dK).
        target: Targets in [0, 1] of the shape of ``input``, or ``ignore_value``.
        counts: Training positives per label, shape (L,), all positive (a label without
            positives has no finite weight or prior), or a multilabel
            :class:`counterpoise.counts.LabelCounts`, which also gives :math:`N`.
        num_samples: :math:`N`, the number of training samples, at least every count;
            required for ``kappa > 0`` (unless ``counts`` carries it), and then every count
            must be below it (a label in every sample has no finite prior logit).
        alpha: :math:`\alpha \ge 0`, the lift of the smoothed weight. Default 0.1.
        beta: :math:`\beta > 0`, its steepness. Default 10.
        mu: :math:`\mu \ge 0`, the ratio at which it is half-way. Default 0.2.
        neg_scale: :math:`\lambda > 0`, the scale of the negative term. Default 2.
        kappa: :math:`\kappa \ge 0`, the strength of the prior bias; 0 switches it off.
            Default 0.05.
        gamma: :math:`\gamma \ge 0`, the focal exponent. Default 0.
        ignore_value: The target value of unknown labels: a number outside [0, 1] or
            ``float("nan")``. Default None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``input``; multiplies the
            loss and the mean's normaliser.
        denominator: With ``"mean"``: divide by this instead of the element count.

    Shape:
        - Input: (N, L) or (N, L, d1, ..., dK).
        - Target, ``sample_weight``: the shape of the input.
        - ``counts``: (L,).
        - Output: the shape of the input for ``"none"`` (unknown labels are 0), otherwise a
          scalar.

    Returns:
        The loss, in the dtype of ``input`` (computed in float32 for half inputs).

    Raises:
        ValueError: ``input`` with fewer than two dimensions; ``target`` of another shape or
            outside [0, 1] (other than ``ignore_value``); ``counts`` of another length than
            L, non-finite, with labels without positives (named) or above ``num_samples``;
            with ``kappa > 0``, a missing ``num_samples`` or labels in every sample (named);
            negative hyper-parameters, or ``beta`` or ``neg_scale`` of 0; an unknown
            ``reduction``.
        TypeError: A non-floating ``input``, a ``target`` that is not a tensor, or a
            ``num_samples`` that is not an integer.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, -0.2]], requires_grad=True)
        >>> y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        >>> loss = distribution_balanced_loss(x, y, counts=[900, 90, 10], num_samples=1000)
        >>> loss
        tensor(0.2030, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    check_choice("reduction", reduction, REDUCTIONS)
    alpha = check_number("alpha", alpha, low=0.0)
    beta = check_number("beta", beta, low=0.0, low_open=True)
    mu = check_number("mu", mu, low=0.0)
    neg_scale = check_number("neg_scale", neg_scale, low=0.0, low_open=True)
    kappa = check_number("kappa", kappa, low=0.0)
    gamma = check_number("gamma", gamma, low=0.0)
    n, total = _balanced_counts(counts, num_samples, kappa)
    return _distribution_balanced(
        input,
        target,
        n,
        total,
        alpha=alpha,
        beta=beta,
        mu=mu,
        neg_scale=neg_scale,
        kappa=kappa,
        gamma=gamma,
        ignore_value=ignore_value,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
    )


def _balanced_counts(
    counts: Any, num_samples: int | None, kappa: float
) -> tuple[torch.Tensor, float | None]:
    """The checked counts of :func:`distribution_balanced_loss` (a float64 CPU vector, all
    positive) and N (None when not given; required, and above every count, for kappa > 0).
    Counts on an accelerator stay there, their values asserted on the device."""
    source = getattr(counts, "counts", counts)
    if isinstance(source, torch.Tensor) and not eager_checks(source):
        if num_samples is not None and hasattr(counts, "counts"):
            fail("num_samples", "None when the counts carry their own", num_samples)
        given = getattr(counts, "num_samples", None) if hasattr(counts, "counts") else num_samples
        if source.ndim != 1 or not source.is_floating_point():
            fail("counts", "a 1-D floating tensor on the device", describe_tensor(source))
        total = None if given is None else float(check_positive_int("num_samples", given))
        if kappa > 0 and total is None:
            fail("num_samples", "the number of training samples when kappa > 0", None)
        ok = (source > 0) if total is None else (source > 0) & (source < total)
        expected = "positive" + ("" if total is None else f" and below num_samples={total:g}")
        device_assert(ok, "counts", f"{expected} for every label")
        return source, total
    n, total = counts_with_total("counts", counts, num_samples)
    check_entries("counts", n > 0, "positive for every label", "no positives", noun=LABELS)
    if kappa > 0:
        if total is None:
            fail("num_samples", "the number of training samples when kappa > 0", None)
        expected = f"below num_samples={total:g} for every label"
        check_entries("counts", n < total, expected, "no negatives", noun=LABELS)
    return n, total


def _distribution_balanced(
    input: torch.Tensor,
    target: torch.Tensor,
    counts: torch.Tensor,
    num_samples: float | None,
    *,
    alpha: float,
    beta: float,
    mu: float,
    neg_scale: float,
    kappa: float,
    gamma: float,
    ignore_value: float | None,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """:func:`distribution_balanced_loss` for options and counts checked by the caller (the
    module checks them once); ``counts`` may be on any device, in any floating dtype."""
    dtype = check_input(input, min_ndim=2)
    target, known = check_binary_target(target, input, ignore_value)
    check_length("counts", counts, input.shape[1], what="labels")
    # The per-label terms, in the compute dtype on the input's device: a few operations on
    # (L,) vectors, and no copy between devices for counts held there (a module's buffer).
    n = counts.to(dtype=dtype, device=input.device)
    inverse = n.reciprocal()  # 1 / n_l for the rate
    along = (1, -1) + (1,) * (input.ndim - 2)
    # R_k = sum_j y_kj / n_j over dimension 1, as a matrix product (no (N, L) temporary);
    # for (N, L) a matrix-vector product, some ten times faster than N batched products
    y = target.to(dtype)
    rate = (full_matmul(y, inverse) if y.ndim == 2 else weighted_sum(y, inverse)).unsqueeze(1)
    rebalance = Rebalance(
        scaled=inverse.mul(beta).view(along),  # beta / n_l for the weight
        alpha=alpha,
        offset=beta * mu,
    )
    bias = None
    if kappa > 0:  # the prior bias kappa / lambda log(n / (N - n))
        assert num_samples is not None  # the callers require it for kappa > 0
        bias = torch.div(n, torch.rsub(n, num_samples)).log_().mul_(kappa / neg_scale).view(along)
    terms = SplitTerms(
        gamma_pos=gamma,
        gamma_neg=gamma,
        neg_scale=neg_scale,
        bias=bias,
        rebalance=rebalance,
    )
    loss = sigmoid_family_loss(input, target, terms, rate.reciprocal_())
    return reduce_elements(
        loss, reduction, None, known, sample_weight, denominator, result_dtype(input)
    )


class WeightedBCEWithLogitsLoss(LossModule):
    """BCE on logits with per-label positive and negative weights.

    :func:`counterpoise.functional.binary_cross_entropy_with_logits` as a module.

    Args:
        pos_weight: Weight of the positives, length L or 1, or None.
        neg_weight: Weight of the negatives, length L or 1, or None.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> targets = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        >>> loss_fn = WeightedBCEWithLogitsLoss.from_counts(targets)
        >>> loss_fn.pos_weight
        tensor([3., 1.])
        >>> loss_fn(torch.zeros(4, 2, requires_grad=True), targets).backward()
    """

    pos_weight: torch.Tensor | None
    neg_weight: torch.Tensor | None

    def __init__(
        self,
        pos_weight: VectorLike | None = None,
        neg_weight: VectorLike | None = None,
        *,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("pos_weight", buffer("pos_weight", pos_weight))
        self.register_buffer("neg_weight", buffer("neg_weight", neg_weight))
        self.ignore_value = check_ignore_value(ignore_value)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        num_samples: int | None = None,
        scheme: Literal["balanced", "none"] = "balanced",
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
        **scheme_options: Any,
    ) -> WeightedBCEWithLogitsLoss:
        """``pos_weight`` from the positives per label: with ``scheme="balanced"`` (the
        default) negatives / positives, by :func:`counterpoise.weights.pos_weight` (which also
        takes the targets themselves instead of counts, and the options ``zero_counts`` and
        ``smoothing``), so that every label's positives weigh as much as its negatives;
        ``"none"`` for no weights."""
        check_choice("scheme", scheme, ("balanced", "none"))
        weight = None
        if scheme == "balanced":
            weight = positive_weights(counts, num_samples, **scheme_options)
        elif scheme_options:
            fail("scheme", '"balanced" when its options are given', scheme)
        return cls(weight, ignore_value=ignore_value, reduction=reduction)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return _binary_cross_entropy(
            input,
            target,
            self.pos_weight,
            self.neg_weight,
            ignore_value=self.ignore_value,
            sample_weight=sample_weight,
            reduction=self.reduction,
            denominator=denominator,
        )


class SigmoidFocalLoss(LossModule):
    """Sigmoid focal loss (detection form): :func:`counterpoise.functional.sigmoid_focal_loss`.

    Args:
        alpha: Weight of the positives in [0, 1] (negatives: 1 - alpha): a number, a per-label
            vector (kept as a buffer), or None. Default 0.25.
        gamma: Focusing parameter >= 0. Default 2.
        weight: Non-negative weight of each label (length L or 1), or None.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"`` (default), ``"mean"`` or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = SigmoidFocalLoss(reduction="sum")
        >>> x = torch.tensor([[3.0, -1.0], [0.5, -4.0]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([[1.0, 0.0], [1.0, 1.0]])).backward()
        >>> loss_fn = SigmoidFocalLoss.from_counts([10, 500], num_samples=1000, reduction="mean")
        >>> loss_fn.alpha
        tensor([0.9900, 0.5000])
    """

    alpha: torch.Tensor | float | None
    weight: torch.Tensor | None

    def __init__(
        self,
        *,
        alpha: float | VectorLike | None = 0.25,
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_value: float | None = None,
        reduction: Reduction = "none",
    ) -> None:
        super().__init__(reduction)
        checked = check_focal_alpha(alpha)
        if isinstance(checked, torch.Tensor):
            self.register_buffer("alpha", checked.to(torch.float32))
        else:
            self.alpha = checked
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.register_buffer("weight", buffer("weight", weight))
        self.ignore_value = check_ignore_value(ignore_value)

    def check_buffers(self) -> None:
        """Weights finite and non-negative, a per-label alpha in [0, 1]."""
        super().check_buffers()
        if isinstance(self.alpha, torch.Tensor):
            check_focal_alpha(self.alpha)

    @classmethod
    def from_counts(
        cls,
        counts: Any,
        *,
        num_samples: int | None = None,
        scheme: str = "balanced",
        apply_to: Literal["alpha", "weight"] = "alpha",
        gamma: float = 2.0,
        weight: VectorLike | None = None,
        ignore_value: float | None = None,
        reduction: Reduction = "none",
        **scheme_options: Any,
    ) -> SigmoidFocalLoss:
        """Per-label alpha or per-label weights from the positives per label.

        With ``apply_to="alpha"`` (the default), alpha by
        :func:`counterpoise.weights.label_alpha` from the positives and the number of
        samples: it balances each label's positives against its negatives
        (``scheme="effective"`` with ``beta`` damps it with effective numbers of samples).
        With ``apply_to="weight"``, no alpha, and label weights by
        :func:`counterpoise.weights.class_weights` from the positives alone: they weigh the
        labels against each other (``scheme="effective"`` is the class-balanced loss of Cui et
        al., 2019). ``scheme="none"``: neither.
        """
        check_choice("apply_to", apply_to, ("alpha", "weight"))
        alpha = None
        if apply_to == "alpha" and scheme != "none":
            alpha = label_alpha(counts, num_samples, scheme, **scheme_options)
        elif apply_to == "weight":
            if weight is not None:
                fail(
                    "weight",
                    'None with apply_to="weight" (the weights come from the counts)',
                    weight,
                )
            weight = weights_from_counts(counts_of(counts), scheme, scheme_options)
        elif scheme_options:
            fail("scheme", 'a weighting scheme when its options are given, not "none"', scheme)
        return cls(
            alpha=alpha,
            gamma=gamma,
            weight=weight,
            ignore_value=ignore_value,
            reduction=reduction,
        )

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return _sigmoid_focal(
            input,
            target,
            self.alpha,
            self.gamma,
            self.weight,
            ignore_value=self.ignore_value,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class AsymmetricLoss(LossModule):
    """Asymmetric loss (Ridnik et al., ICCV 2021): :func:`counterpoise.functional.asymmetric_loss`.

    Args:
        gamma_pos: Focusing of the positives, >= 0. Default 0.
        gamma_neg: Focusing of the negatives, >= 0. Default 4.
        clip: Probability margin of the negatives in [0, 1), or None. Default 0.05.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = AsymmetricLoss()
        >>> x = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, -0.2]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])).backward()
    """

    def __init__(
        self,
        *,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float | None = 0.05,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.gamma_pos = check_number("gamma_pos", gamma_pos, low=0.0)
        self.gamma_neg = check_number("gamma_neg", gamma_neg, low=0.0)
        self.clip = (
            None if clip is None else check_number("clip", clip, low=0.0, high=1.0, high_open=True)
        )
        self.ignore_value = check_ignore_value(ignore_value)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return asymmetric_loss(
            input,
            target,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            ignore_value=self.ignore_value,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )


class DistributionBalancedLoss(LossModule):
    """Distribution-balanced loss (Wu et al., ECCV 2020):
    :func:`counterpoise.functional.distribution_balanced_loss`.

    Args:
        counts: Training positives per label (L,), all positive, or a multilabel
            :class:`counterpoise.counts.LabelCounts` (which also gives ``num_samples``); kept
            as a float32 buffer (exact up to 2**24).
        num_samples: The number of training samples, at least every count; required for
            ``kappa > 0`` (unless ``counts`` carries it), and then above every count.
        alpha: Lift of the smoothed re-balancing weight, >= 0. Default 0.1.
        beta: Its steepness, > 0. Default 10.
        mu: Its midpoint, >= 0. Default 0.2.
        neg_scale: Scale lambda > 0 of the negative term. Default 2.
        kappa: Strength of the prior bias, >= 0. Default 0.05.
        gamma: Focal exponent, >= 0 (2 for DB-Focal). Default 0.
        ignore_value: Target value of unknown labels (outside [0, 1], or NaN), or None.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Example:
        >>> import torch
        >>> loss_fn = DistributionBalancedLoss([900, 90, 10], num_samples=1000)
        >>> x = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, -0.2]], requires_grad=True)
        >>> loss_fn(x, torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])).backward()
    """

    counts: torch.Tensor

    def __init__(
        self,
        counts: Any,
        num_samples: int | None = None,
        *,
        alpha: float = 0.1,
        beta: float = 10.0,
        mu: float = 0.2,
        neg_scale: float = 2.0,
        kappa: float = 0.05,
        gamma: float = 0.0,
        ignore_value: float | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        self.alpha = check_number("alpha", alpha, low=0.0)
        self.beta = check_number("beta", beta, low=0.0, low_open=True)
        self.mu = check_number("mu", mu, low=0.0)
        self.neg_scale = check_number("neg_scale", neg_scale, low=0.0, low_open=True)
        self.kappa = check_number("kappa", kappa, low=0.0)
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.ignore_value = check_ignore_value(ignore_value)
        # checked here once (forward does not check them again)
        n, total = _balanced_counts(counts, num_samples, self.kappa)
        self.register_buffer("counts", n.to(torch.float32))
        self.num_samples = None if total is None else int(total)

    def check_buffers(self) -> None:
        """The counts as the constructor checks them: positive for every label, at most
        ``num_samples`` (below it for ``kappa > 0``)."""
        _balanced_counts(self.counts, self.num_samples, self.kappa)

    @classmethod
    def from_counts(
        cls, counts: Any, *, num_samples: int | None = None, **options: Any
    ) -> DistributionBalancedLoss:
        """The loss of the training positives per label (a vector with ``num_samples``, or a
        multilabel :class:`~counterpoise.counts.LabelCounts`): the constructor's arguments
        as keywords, for a signature shared with the other losses."""
        return cls(counts, num_samples, **options)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        *,
        sample_weight: torch.Tensor | None = None,
        denominator: Denominator = None,
    ) -> torch.Tensor:
        return _distribution_balanced(
            input,
            target,
            self.counts,
            self.num_samples,
            alpha=self.alpha,
            beta=self.beta,
            mu=self.mu,
            neg_scale=self.neg_scale,
            kappa=self.kappa,
            gamma=self.gamma,
            ignore_value=self.ignore_value,
            reduction=self.reduction,
            sample_weight=sample_weight,
            denominator=denominator,
        )
