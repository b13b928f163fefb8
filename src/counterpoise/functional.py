"""Every loss as a pure function.

Conventions shared by all of them:

* ``input`` holds logits of shape (N, C) or (N, C, d1, ..., dK) (segmentation); class-index
  targets have shape (N,) or (N, d1, ..., dK), and elements equal to ``ignore_index`` contribute
  neither loss nor weight nor gradient.
* Binary and multilabel losses (sigmoid family) take logits (N,), (N, L) or (N, L, d1, ..., dK)
  and targets in [0, 1] of the same shape (soft targets allowed); with ``ignore_value``, the
  elements whose target equals it (labels that were not annotated) contribute neither loss nor
  weight nor gradient.
* ``sample_weight`` (the shape of the target, non-negative, e.g. a pixel weight map) multiplies
  each element's loss *and* its weight in the mean, so ``"mean"`` is a weighted mean.
* ``reduction="mean"`` divides by the summed weights of the elements that count (class weight of
  the target times sample weight; 1 each when there are none), or by ``denominator`` when it is
  given: the same sum over all micro-batches or ranks, so that micro-batch means add up to the
  mean of the whole batch. A batch in which nothing counts gives 0 with a zero gradient.
* float16 and bfloat16 inputs are computed in float32; results and gradients come back in the
  input's dtype. Class weights, priors and counts never receive gradients.

The softmax-family losses share one autograd function (see ``counterpoise._autograd``), which
saves one number per element between the forward and backward passes; the sigmoid family
shares another, which computes the gradient with the loss and keeps only it. So a
sigmoid-family loss (binary cross-entropy, the sigmoid and anchor focal losses, the asymmetric
and distribution-balanced losses) costs the gradient's work whenever ``input`` requires grad
and grad mode is on: evaluate it under ``torch.no_grad()`` when no gradient is needed
(validation). Every loss is differentiable once: a backward pass with ``create_graph=True``
(second derivatives, gradient penalties) through one raises a ``RuntimeError`` rather than
return a gradient without its second-order terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F

from ._autograd import (
    Rebalance,
    SigmoidTerms,
    SoftmaxTerms,
    SplitTerms,
    compute_dtype,
    per_target,
    sigmoid_family_loss,
    softmax_family_loss,
    weighted_sum,
)
from ._checks import (
    check_choice,
    check_entries,
    check_finite,
    check_nonnegative,
    check_number,
    counts_with_total,
    describe_tensor,
    fail,
)
from .reduction import REDUCTIONS, Reduction, reduce

__all__ = [
    "ANCHOR_REDUCTIONS",
    "AnchorReduction",
    "anchor_focal_loss",
    "asymmetric_loss",
    "balanced_softmax_loss",
    "binary_cross_entropy_with_logits",
    "cost_matrix",
    "cost_sensitive_loss",
    "cross_entropy",
    "distribution_balanced_loss",
    "focal_alpha",
    "focal_loss",
    "label_alpha",
    "ldam_loss",
    "ldam_margins",
    "log_class_weights",
    "logit_adjusted_loss",
    "sigmoid_focal_loss",
]

#: Anything that converts to a 1-D tensor of per-class values.
VectorLike = torch.Tensor | np.ndarray | Sequence[float]


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: VectorLike | None = None,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Weighted cross-entropy, identical to :func:`torch.nn.functional.cross_entropy`.

    For class-index targets, with :math:`\log p_{ic} = \operatorname{log\_softmax}(x_i)_c`,
    class weights :math:`w` and label smoothing :math:`\varepsilon` over :math:`C` classes,

    .. math::

        \ell_i = -(1 - \varepsilon)\, w_{y_i} \log p_{iy_i}
                 - \frac{\varepsilon}{C} \sum_c w_c \log p_{ic},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    over the non-ignored elements (each smoothing column weighted by its own class weight, the
    mean normalised by the target weights: PyTorch's convention). For probability targets
    :math:`q`, :math:`\ell_i = -\sum_c w_c q'_{ic} \log p_{ic}` with
    :math:`q' = (1 - \varepsilon) q + \varepsilon / C`, and the mean divides by the number of
    elements.

    Every argument shared with PyTorch gives PyTorch's result, with one documented difference:
    when every target is ignored, ``"mean"`` gives 0 with a zero gradient instead of NaN.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), integers in [0, C) or
            ``ignore_index``; or class probabilities of the shape of ``input``.
        weight: (C,) non-negative class weights. Default: all 1.
        ignore_index: Target value that is ignored (index targets only: probability targets
            raise unless it is left at -100, as in PyTorch). Default -100.
        label_smoothing: :math:`\varepsilon` in [0, 1]. Default 0.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target`` without its
            class dimension; multiplies the loss and the mean's normaliser.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Shape:
        Output: the shape of ``target`` (without the class dimension) for ``"none"``,
        otherwise a scalar.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: Shapes that do not match, targets outside [0, C), a weight vector of
            another length than C, negative or non-finite weights, ``label_smoothing`` outside
            [0, 1], an unknown ``reduction``.
        TypeError: A non-floating ``input``, or targets that are neither integer nor floating.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = cross_entropy(x, y, torch.tensor([1.0, 1.0, 4.0]))
        >>> loss
        tensor(1.6055, grad_fn=<DivBackward0>)
        >>> loss.backward()
        >>> cross_entropy(x, torch.tensor([-100, -100]))
        tensor(0., grad_fn=<DivBackward0>)
    """
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    if target.is_floating_point():
        if ignore_index != -100:
            fail("ignore_index", "left at -100 with probability targets", ignore_index)
        return _soft_target_cross_entropy(
            input, target, weight, eps, reduction, sample_weight, denominator
        )
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=weight,
        smoothing=eps,
    )


def focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: VectorLike | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Softmax focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017).

    With :math:`p_t = \operatorname{softmax}(x_i)_{y_i}` and per-class weights :math:`\alpha`,

    .. math::

        \ell_i = -\alpha_{y_i} (1 - p_t)^\gamma \log p_t,
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i \alpha_{y_i}}.

    The paper leaves the normalisation open; here :math:`\alpha` plays exactly the role of the
    class weight of :func:`cross_entropy`, so ``focal_loss(x, y, gamma=0, alpha=w)`` equals
    ``cross_entropy(x, y, w)`` for every reduction, and scaling :math:`\alpha` leaves the mean
    unchanged. (kornia's and MONAI's focal losses instead divide the sum by :math:`N \cdot C`,
    which gives the focal loss divided by :math:`C` and ignores the weights in the
    normaliser.) RetinaNet-style normalisation by a count of your own is
    ``reduction="sum"`` divided by it, or ``denominator``.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        gamma: Focusing parameter :math:`\gamma \ge 0`. Default 2; 0 gives cross-entropy.
        alpha: (C,) non-negative class weights. Default: all 1.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``: the shape of ``target`` for ``"none"``, otherwise
        a scalar.

    Raises:
        ValueError: As :func:`cross_entropy`, and a negative or non-finite ``gamma``.
        TypeError: A non-floating ``input`` or non-integer ``target``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = focal_loss(x, y, gamma=2.0, alpha=torch.tensor([1.0, 1.0, 4.0]))
        >>> loss
        tensor(1.1624, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=alpha,
        gamma=check_number("gamma", gamma, low=0.0),
        weight_name="alpha",
    )


def logit_adjusted_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    priors: VectorLike,
    *,
    tau: float = 1.0,
    weight: VectorLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021).

    From "Long-tail learning via logit adjustment":

    .. math::

        \ell_i = -w_{y_i} \log \operatorname{softmax}(x_i + \tau \log \pi)_{y_i},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    with class priors :math:`\pi`. Only their ratios matter (softmax ignores a constant shift),
    so counts may be passed as priors. At test time predict with
    :math:`\operatorname{argmax}(x - \tau \log \pi)`, or simply :math:`\operatorname{argmax} x`
    when the model was trained with this loss.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        priors: (C,) positive class priors (or counts).
        tau: Temperature :math:`\tau \ge 0` of the adjustment. Default 1.
        weight: (C,) non-negative class weights. Default: all 1.
        label_smoothing: :math:`\varepsilon` in [0, 1], as in :func:`cross_entropy`, applied to
            the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy`; priors that are not positive and finite or not
            of length C; a negative ``tau``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = logit_adjusted_loss(x, y, torch.tensor([0.7, 0.2, 0.1]))
        >>> loss
        tensor(1.5565, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    tau = check_number("tau", tau, low=0.0)
    log_priors = _class_vector("priors", priors, positive=True).log()
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=weight,
        smoothing=eps,
        bias=tau * log_priors,
    )


def balanced_softmax_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    counts: VectorLike,
    *,
    weight: VectorLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Balanced softmax loss (Ren et al., NeurIPS 2020).

    From "Balanced Meta-Softmax for Long-Tailed Visual Recognition":

    .. math::

        \ell_i = -w_{y_i} \log \frac{n_{y_i} e^{x_{iy_i}}}{\sum_c n_c e^{x_{ic}}}
               = -w_{y_i} \log \operatorname{softmax}(x_i + \log n)_{y_i},

    the logit-adjusted loss with :math:`\tau = 1` and the class counts :math:`n` as priors;
    ``"mean"`` divides by :math:`\sum_i w_{y_i}` (the number of elements without weights).

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        counts: (C,) positive training counts per class.
        weight: (C,) non-negative class weights. Default: all 1.
        label_smoothing: :math:`\varepsilon` in [0, 1], as in :func:`cross_entropy`, applied to
            the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy`; counts that are not positive and finite or not of
            length C.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = balanced_softmax_loss(x, y, torch.tensor([700, 200, 100]))
        >>> loss
        tensor(1.5565, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=weight,
        smoothing=eps,
        bias=_class_vector("counts", counts, positive=True).log(),
        bias_name="counts",
    )


def ldam_margins(counts: VectorLike, max_margin: float = 0.5) -> torch.Tensor:
    r"""LDAM's per-class margins: proportional to :math:`n_c^{-1/4}`, the largest ``max_margin``.

    .. math::

        m_c = m_{\max} \left(\frac{\min_j n_j}{n_c}\right)^{1/4}

    Args:
        counts: (C,) positive training counts per class.
        max_margin: The margin of the rarest class, > 0. Default 0.5.

    Returns:
        float32 tensor of shape (C,).

    Raises:
        ValueError: Counts that are not positive and finite; a ``max_margin`` that is not
            positive.

    Example:
        >>> ldam_margins([10000, 625, 16])
        tensor([0.1000, 0.2000, 0.5000])
    """
    max_margin = check_number("max_margin", max_margin, low=0.0, low_open=True)
    n = _class_vector("counts", counts, positive=True).double()
    return (max_margin * (n.min() / n) ** 0.25).float()


def ldam_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    counts: VectorLike,
    *,
    max_margin: float = 0.5,
    scale: float = 30.0,
    weight: VectorLike | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Label-distribution-aware margin (LDAM) loss (Cao et al., NeurIPS 2019).

    From "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss":
    cross-entropy on scaled logits with the target logit lowered by its class margin
    (:func:`ldam_margins`):

    .. math::

        \ell_i = -w_{y_i} \log \operatorname{softmax}\big(s\,(x_i - m_{y_i} e_{y_i})\big)_{y_i},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

    with :math:`e_{y}` the one-hot vector of :math:`y` and scale :math:`s`. The paper's
    deferred re-weighting (DRW) passes effective-number ``weight`` in late epochs.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK); the paper uses normalised (cosine)
            logits, which is why they are scaled.
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        counts: (C,) positive training counts per class.
        max_margin: Margin of the rarest class, > 0. Default 0.5.
        scale: :math:`s > 0`. Default 30.
        weight: (C,) non-negative class weights. Default: all 1.
        label_smoothing: :math:`\varepsilon` in [0, 1], as in :func:`cross_entropy`, applied to
            the adjusted logits. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the summed weights.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy` and :func:`ldam_margins`; a ``scale`` that is not
            positive.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.9, 0.1, -0.3], [0.2, 0.4, 0.1]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> loss = ldam_loss(x, y, torch.tensor([10000, 625, 16]))
        >>> loss
        tensor(12.0012, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    scale = check_number("scale", scale, low=0.0, low_open=True)
    eps = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        weight=weight,
        smoothing=eps,
        margin=ldam_margins(counts, max_margin),
        scale=scale,
    )


def cost_sensitive_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    cost: VectorLike,
    *,
    cross_entropy_weight: float = 0.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Expected misclassification cost under the softmax, optionally plus cross-entropy.

    With a cost matrix :math:`M` (row: true class, column: predicted class) and
    :math:`p_i = \operatorname{softmax}(x_i)`,

    .. math::

        \ell_i = \sum_c M_{y_i c}\, p_{ic} - \lambda \log p_{iy_i},
        \qquad
        \text{mean} = \frac{\sum_i \ell_i}{N}

    over non-ignored elements (the summed sample weights with ``sample_weight``). A cost
    vector :math:`c` stands for :math:`M_{yk} = c_y` for :math:`k \ne y` and 0 on the
    diagonal: :math:`c_y` is the cost of missing class :math:`y`, and
    :math:`\ell_i = c_{y_i} (1 - p_{iy_i})`. The expected cost alone has small gradients for
    confidently wrong predictions; a little cross-entropy (:math:`\lambda > 0`) helps early
    training.

    Args:
        input: Logits, (N, C) or (N, C, d1, ..., dK).
        target: Class indices, (N,) or (N, d1, ..., dK), in [0, C) or ``ignore_index``.
        cost: (C, C) finite cost matrix or (C,) finite per-class cost vector.
        cross_entropy_weight: :math:`\lambda \ge 0`. Default 0.
        ignore_index: Target value that is ignored. Default -100.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.
        sample_weight: Non-negative weight per element, the shape of ``target``.
        denominator: With ``"mean"``: divide by this instead of the element count.

    Returns:
        The loss, in the dtype of ``input``.

    Raises:
        ValueError: As :func:`cross_entropy`; a cost that is neither (C, C) nor (C,) or not
            finite; a negative ``cross_entropy_weight``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]], requires_grad=True)
        >>> y = torch.tensor([0, 2])
        >>> cost = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [5.0, 5.0, 0.0]])
        >>> loss = cost_sensitive_loss(x, y, cost)
        >>> loss
        tensor(2.2275, grad_fn=<DivBackward0>)
        >>> loss.backward()
    """
    lam = check_number("cross_entropy_weight", cross_entropy_weight, low=0.0)
    matrix = cost_matrix(cost)
    return _softmax_family(
        input,
        target,
        ignore_index=ignore_index,
        reduction=reduction,
        sample_weight=sample_weight,
        denominator=denominator,
        cost=matrix,
        ce=lam,
    )


def cost_matrix(cost: VectorLike) -> torch.Tensor:
    r"""The (C, C) cost matrix of a cost matrix or of a per-class cost vector.

    A vector :math:`c` becomes :math:`M_{yk} = c_y` for :math:`k \ne y` and 0 on the
    diagonal: missing class :math:`y` costs :math:`c_y`, whatever is predicted instead.

    Args:
        cost: (C, C) finite matrix (row: true class, column: prediction) or (C,) finite vector.

    Returns:
        The checked matrix, floating point (float64 for integer input), shape (C, C).

    Raises:
        ValueError: Another shape, or values that are not finite.
        TypeError: Something that is not numbers.

    Example:
        >>> cost_matrix([1.0, 5.0])
        tensor([[0., 1.],
                [5., 0.]])
    """
    matrix = _as_tensor("cost", cost)
    if matrix.ndim == 1 and matrix.shape[0] > 0:
        matrix = matrix[:, None] * (
            1 - torch.eye(len(matrix), dtype=matrix.dtype, device=matrix.device)
        )
    elif matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        fail("cost", "a (C, C) matrix or a (C,) vector", describe_tensor(matrix))
    check_finite("cost", matrix)
    return matrix


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
    check_choice("reduction", reduction, REDUCTIONS)
    _check_input(input, min_ndim=1)
    target, known = _binary_target(target, input, ignore_value)
    terms = SigmoidTerms(
        pos_weight=_label_weight("pos_weight", pos_weight, input),
        neg_weight=_label_weight("neg_weight", neg_weight, input),
    )
    loss = sigmoid_family_loss(input, target, terms)
    return _reduce_elements(loss, reduction, None, known, sample_weight, denominator, input.dtype)


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
    check_choice("reduction", reduction, REDUCTIONS)
    gamma = check_number("gamma", gamma, low=0.0)
    _check_input(input, min_ndim=0)
    target, known = _binary_target(target, input, ignore_value)
    terms = SigmoidTerms(
        gamma=gamma,
        alpha=_focal_alpha(alpha, input),
        weight=_label_weight("weight", weight, input),
    )
    loss = sigmoid_family_loss(input, target, terms)
    return _reduce_elements(loss, reduction, None, known, sample_weight, denominator, input.dtype)


def label_alpha(
    counts: Any,
    num_samples: int | None = None,
    scheme: str = "balanced",
    **scheme_options: Any,
) -> torch.Tensor:
    r"""Per-label focal :math:`\alpha` from the positives of each label, for multilabel data.

    In the sigmoid focal loss, :math:`\alpha_l / (1 - \alpha_l)` is the weight of the
    positives of label :math:`l` relative to its negatives. This function sets it to the ratio
    of the weights that a weighting scheme of :func:`counterpoise.weights.class_weights` gives
    the two counts of the label, its :math:`P_l` positives and :math:`N - P_l` negatives:

    .. math::

        \alpha_l = \frac{w(P_l)}{w(P_l) + w(N - P_l)}.

    With ``"balanced"`` (or ``"inverse"``, ``"max"``, ``"median"``: :math:`w(n) \propto 1/n`)
    this is :math:`\alpha_l = (N - P_l) / N`, and the positives and the negatives of every label
    weigh the same in total; ``"effective"`` (Cui et al., CVPR 2019) damps it with effective
    numbers of samples, :math:`w(n) = (1 - \beta) / (1 - \beta^n)`, ``"sqrt"`` with square
    roots; ``"none"`` gives 0.5. Pass the result as ``alpha`` of :func:`sigmoid_focal_loss`.

    Args:
        counts: Positives per label, shape (L,), finite and non-negative (soft counts
            allowed), or a multilabel :class:`counterpoise.counts.LabelCounts` (from
            ``count_labels(targets, multilabel=True)``), which carries :math:`N`.
        num_samples: :math:`N`, the number of samples counted; None when ``counts`` carries
            it.
        scheme: A counting scheme of :func:`counterpoise.weights.class_weights` (not
            ``"cost"``). Default ``"balanced"``.
        **scheme_options: Passed to :func:`counterpoise.weights.class_weights` (``beta``,
            ``c``, ``zero_counts``, ``smoothing``; not ``normalize``, which the ratio
            ignores). With ``zero_counts="zero"`` a label without positives gets
            :math:`\alpha = 0`, one without negatives 1.

    Returns:
        float32 tensor of shape (L,) with values in [0, 1].

    Raises:
        ValueError: Counts that are not 1-D, negative, non-finite or above ``num_samples``; a
            label without positives or without negatives (named) unless ``zero_counts`` says
            otherwise; ``"cost"``, ``normalize`` or a bad scheme option.
        TypeError: Counts that are not numbers, or a ``num_samples`` that is not an integer.

    Example:
        >>> label_alpha([10, 100, 500], num_samples=1000)
        tensor([0.9900, 0.9000, 0.5000])
        >>> label_alpha([10, 100, 500], num_samples=1000, scheme="effective", beta=0.99)
        tensor([0.9127, 0.6120, 0.5000])
    """
    from .weights import class_weights  # the weighting schemes are optional for the losses

    if scheme == "cost":
        fail("scheme", "a counting scheme (not 'cost')", scheme)
    if "normalize" in scheme_options:
        fail(
            "normalize",
            "not given to label_alpha (a ratio of weights)",
            scheme_options["normalize"],
        )
    positives, total = counts_with_total("counts", counts, num_samples)
    if total is None:
        fail("num_samples", "the number of samples (or counts that carry it)", None)
    negatives = total - positives
    if scheme_options.get("zero_counts", "error") == "error":
        policies = "(or pass zero_counts='smooth' or 'zero')"
        expected = f"positive for every label {policies}"
        check_entries("counts", positives > 0, expected, "none", noun=_LABELS)
        expected = f"below num_samples for every label {policies}"
        check_entries("counts", negatives > 0, expected, "all", noun=_LABELS)
    both = _Counts(torch.cat([positives, negatives]), int(total))
    w = class_weights(both, scheme, normalize=None, **scheme_options).double()  # type: ignore[arg-type]
    w_pos, w_neg = w[: len(positives)], w[len(positives) :]
    total_w = w_pos + w_neg
    return torch.where(total_w > 0, w_pos / torch.where(total_w > 0, total_w, 1.0), 0.5).float()


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
    _check_input(input, min_ndim=1)
    target, known = _binary_target(target, input, ignore_value)
    terms = SplitTerms(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=margin)
    loss = sigmoid_family_loss(input, target, terms)
    return _reduce_elements(loss, reduction, None, known, sample_weight, denominator, input.dtype)


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
    positive) and N (None when not given; required, and above every count, for kappa > 0)."""
    n, total = counts_with_total("counts", counts, num_samples)
    check_entries("counts", n > 0, "positive for every label", "no positives", noun=_LABELS)
    if kappa > 0:
        if total is None:
            fail("num_samples", "the number of training samples when kappa > 0", None)
        expected = f"below num_samples={total:g} for every label"
        check_entries("counts", n < total, expected, "no negatives", noun=_LABELS)
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
    dtype = _check_input(input, min_ndim=2)
    target, known = _binary_target(target, input, ignore_value)
    _check_length("counts", counts, input.shape[1], what="labels")
    # The per-label terms, in the compute dtype on the input's device: a few operations on
    # (L,) vectors, and no copy between devices for counts held there (a module's buffer).
    n = counts.to(dtype=dtype, device=input.device)
    inverse = n.reciprocal()  # 1 / n_l for the rate
    along = (1, -1) + (1,) * (input.ndim - 2)
    # R_k = sum_j y_kj / n_j over dimension 1, as a matrix product (no (N, L) temporary);
    # for (N, L) a matrix-vector product, some ten times faster than N batched products
    y = target.to(dtype)
    rate = (y @ inverse if y.ndim == 2 else weighted_sum(y, inverse)).unsqueeze(1)
    rebalance = Rebalance(
        inv_rate=rate.reciprocal_(),
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
    loss = sigmoid_family_loss(input, target, terms)
    return _reduce_elements(loss, reduction, None, known, sample_weight, denominator, input.dtype)


#: The reductions of :func:`anchor_focal_loss`: RetinaNet's ``"positives"`` and the usual three.
AnchorReduction = Literal["positives", "mean", "sum", "none"]
ANCHOR_REDUCTIONS: tuple[str, ...] = get_args(AnchorReduction)


def anchor_focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float | VectorLike | None = 0.25,
    gamma: float = 2.0,
    weight: VectorLike | None = None,
    ignore_index: int = -100,
    background: int | None = None,
    reduction: AnchorReduction = "positives",
    sample_weight: torch.Tensor | None = None,
    denominator: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Sigmoid focal loss on anchor logits with class-index targets, normalised as RetinaNet.

    Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017). Every anchor :math:`i`
    has :math:`C` sigmoid outputs (the class dimension is the *last* one, as detection heads
    lay them out). Its target :math:`y_i` is a class in [0, C) for a positive anchor, whose
    output :math:`y_i` is a positive and the other :math:`C - 1` outputs are negatives;
    ``background`` for a negative anchor, all of whose outputs are negatives; or
    ``ignore_index`` for an anchor that contributes nothing (no loss, no gradient, not counted).
    With the one-hot targets :math:`t_{ic} = [y_i = c]`, :math:`p = \sigma(x)` and
    :math:`p_t = p\,t + (1 - p)(1 - t)`,

    .. math::

        \ell_{ic} = -w_c\, \alpha_{t,ic} (1 - p_{t,ic})^\gamma
                    \big[t_{ic} \log p_{ic} + (1 - t_{ic}) \log (1 - p_{ic})\big],
        \qquad
        \alpha_{t,ic} = \alpha_c\, t_{ic} + (1 - \alpha_c)(1 - t_{ic}),

        \text{positives} = \frac{\sum_{i\, \text{not ignored}} \sum_c \ell_{ic}}
                                {\max(1, P)},
        \qquad P = \#\{i : 0 \le y_i < C\}.

    So on the one-hot targets this is :func:`sigmoid_focal_loss` (the same computation), and
    the default reduction is RetinaNet's: the sum over all non-ignored anchors and classes
    divided by the number of positive anchors. A batch without positive anchors gives the sum
    of its negative terms (divided by 1): finite, never NaN, and the negatives still train.

    ``alpha`` is a number (RetinaNet: :math:`\alpha` for every positive, :math:`1 - \alpha`
    for every negative; 0.25 by default) or a (C,) vector in [0, 1]: the positives of class
    :math:`c` weigh :math:`\alpha_c`, the negatives of output :math:`c` weigh
    :math:`1 - \alpha_c` (see :func:`focal_alpha` to derive it from class counts). ``weight``
    :math:`w` (e.g. :func:`log_class_weights`) scales every term of output :math:`c`, positive
    and negative alike: it changes how much each class's output counts, ``alpha`` its balance of
    positives and negatives.

    Args:
        input: Logits, (N, A, C): N images, A anchors, C classes (any (..., C) with at least
            two dimensions works the same way, e.g. (P, C) for flattened anchors).
        target: Integer class indices of shape ``input.shape[:-1]``: in [0, C) for positive
            anchors, ``background`` for negative anchors, ``ignore_index`` for ignored ones.
        alpha: A number in [0, 1], a (C,) vector in [0, 1], or None for no
            :math:`\alpha_t`. Default 0.25.
        gamma: Focusing parameter :math:`\gamma \ge 0`. Default 2.
        weight: (C,) non-negative class weights :math:`w`, one per output. Default: all 1.
        ignore_index: Target value of ignored anchors. Default -100.
        background: Target value of negative (background) anchors, outside [0, C) and other
            than ``ignore_index``. Default None: C, the convention of detectron2 and
            mmdetection (torchvision's matcher marks background with -1: pass ``-1``).
        reduction: ``"positives"`` (default, see above), ``"mean"`` (over the non-ignored
            elements, anchors times classes; with ``sample_weight`` a weighted mean),
            ``"sum"`` or ``"none"``.
        sample_weight: Non-negative weights, per anchor (the shape of ``target``) or per
            element (the shape of ``input``); they multiply the loss, and the normaliser of
            ``"mean"`` but not the count :math:`P` of ``"positives"``.
        denominator: With ``"positives"``: the number of positive anchors to use for
            :math:`P` instead of this batch's, e.g. summed over micro-batches or averaged
            over ranks (still floored at 1, as detectron2 and mmdetection do). With
            ``"mean"``: the normaliser, as in :func:`counterpoise.reduction.reduce`.

    Shape:
        Output: the shape of ``input`` for ``"none"`` (ignored anchors are 0), otherwise a
        scalar.

    Returns:
        The loss, in the dtype of ``input`` (computed in float32 for half inputs).

    Raises:
        ValueError: ``input`` with fewer than two dimensions; ``target`` of another shape or
            with values that are neither classes, ``background`` nor ``ignore_index``; a
            ``background`` inside [0, C) or equal to ``ignore_index``; ``alpha`` outside
            [0, 1] or a vector of another length than C; bad ``weight``, ``gamma``,
            ``sample_weight`` or ``reduction``; a ``denominator`` with ``"sum"`` or ``"none"``.
        TypeError: A non-floating ``input`` or a non-integer ``target``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[2.0, -1.0, -3.0], [-2.0, 0.5, -1.0], [0.0, -4.0, 1.0]]],
        ...                  requires_grad=True)
        >>> y = torch.tensor([[0, 3, -100]])  # a positive of class 0, background, ignored
        >>> loss = anchor_focal_loss(x, y)
        >>> loss
        tensor(0.3189, grad_fn=<DivBackward0>)
        >>> loss.backward()
        >>> y = torch.tensor([[0, -1, -100]])  # background marked -1, as torchvision
        >>> anchor_focal_loss(x, y, alpha=torch.tensor([0.5, 0.25, 0.1]), background=-1)
        tensor(0.3223, grad_fn=<DivBackward0>)
    """
    check_choice("reduction", reduction, ANCHOR_REDUCTIONS)
    gamma = check_number("gamma", gamma, low=0.0)
    dtype = _check_input(input, min_ndim=0)
    if input.ndim < 2:
        fail("input", "of shape (N, A, C) (or (..., C), 2-D or more)", describe_tensor(input))
    num_classes = input.shape[-1]
    if denominator is not None and reduction not in ("positives", "mean"):
        fail("denominator", 'None unless reduction is "positives" or "mean"', denominator)
    one_hot, valid, positive = _anchor_target(target, input, ignore_index, background, dtype)
    terms = _anchor_terms(alpha, weight, gamma, num_classes, dtype, input.device)
    loss = sigmoid_family_loss(input, one_hot, terms)
    mask = None if valid is None else valid.unsqueeze(-1).expand(loss.shape)
    if sample_weight is not None and isinstance(sample_weight, torch.Tensor):
        if sample_weight.shape == target.shape:
            sample_weight = sample_weight.unsqueeze(-1).expand(loss.shape)
        elif sample_weight.shape != loss.shape:
            shapes = f"{tuple(target.shape)} (per anchor) or {tuple(loss.shape)}"
            fail("sample_weight", f"a tensor of shape {shapes}", describe_tensor(sample_weight))
    if reduction != "positives":
        return _reduce_elements(
            loss, reduction, None, mask, sample_weight, denominator, input.dtype
        )
    total = _reduce_elements(loss, "sum", None, mask, sample_weight, None, loss.dtype)
    if denominator is None:
        count = positive.sum().to(loss.dtype)  # a tensor: no host synchronisation
    else:
        value = check_number("denominator", denominator, low=0.0)
        count = torch.tensor(value, dtype=loss.dtype, device=loss.device)
    return (total / count.clamp_min(1.0)).to(input.dtype)


def focal_alpha(
    counts: Any,
    scheme: str = "balanced",
    *,
    base: float = 0.25,
    **scheme_options: Any,
) -> torch.Tensor:
    r"""Per-class focal :math:`\alpha` from class counts, for :func:`anchor_focal_loss`.

    In the sigmoid focal loss, :math:`\alpha_c / (1 - \alpha_c)` is the weight of the
    positives of class :math:`c` relative to its negatives. This function sets that odds ratio
    to RetinaNet's :math:`\alpha` (``base``) times a class weight, so that rarer classes get
    more weight on their positives and less on their negatives:

    .. math::

        \operatorname{logit} \alpha_c = \operatorname{logit}(\text{base}) + \log r_c,
        \quad\text{i.e.}\quad
        \alpha_c = \frac{\text{base}\; r_c}{\text{base}\; r_c + 1 - \text{base}},
        \qquad
        r_c = \frac{w_c}{\big(\prod_j w_j\big)^{1/C}},

    with :math:`w` the raw weights of :func:`counterpoise.weights.class_weights` for
    ``scheme`` (its options pass through: ``beta``, ``c``, ``max_ratio``, ``zero_counts``,
    ...). Dividing by the geometric mean makes the result independent of the weights' scale
    and the mean of :math:`\operatorname{logit} \alpha_c` equal to
    :math:`\operatorname{logit}(\text{base})`: with equal counts every class gets ``base``,
    i.e. RetinaNet's loss; with ``"balanced"`` (:math:`w_c \propto 1 / n_c`) the class whose
    count is the geometric mean of the counts gets ``base``, a ten times rarer class the odds
    of ``base`` times 10. With ``base=0.5`` this is :math:`\alpha_c = r_c / (1 + r_c)`. Damped
    schemes (``"sqrt"``, ``"effective"``, ``"log"``) or ``max_ratio`` keep the rarest classes'
    negatives from being switched off (:math:`\alpha_c \to 1`) under extreme imbalance.
    Classes with weight 0 (``zero_counts="zero"``) get :math:`\alpha_c = 0` and do not enter
    the geometric mean.

    Args:
        counts: (C,) class counts (positive anchors or annotated boxes per class), or an
            object with a ``counts`` attribute.
        scheme: A scheme of :func:`counterpoise.weights.class_weights`. Default
            ``"balanced"``.
        base: :math:`\alpha` of a class at the geometric-mean weight, in (0, 1). Default 0.25
            (RetinaNet's).
        **scheme_options: Passed to :func:`counterpoise.weights.class_weights` (not
            ``normalize``: the geometric mean is the normalisation here).

    Returns:
        float32 tensor of shape (C,) with values in [0, 1].

    Raises:
        ValueError: As :func:`counterpoise.weights.class_weights`; ``base`` outside (0, 1);
            a ``normalize`` option.

    Example:
        >>> focal_alpha([1000, 100, 10], base=0.5)
        tensor([0.0909, 0.5000, 0.9091])
        >>> focal_alpha([50, 50, 50])
        tensor([0.2500, 0.2500, 0.2500])
    """
    from .weights import class_weights  # the weighting schemes are optional for the losses

    base = check_number("base", base, low=0.0, high=1.0, low_open=True, high_open=True)
    if "normalize" in scheme_options:
        fail(
            "normalize",
            "not given to focal_alpha (it divides by the geometric mean)",
            scheme_options["normalize"],
        )
    w = class_weights(counts, scheme, normalize=None, **scheme_options).double()  # type: ignore[arg-type]
    present = w > 0
    if not bool(present.any()):
        fail("counts", "such that some class has a positive weight", describe_tensor(w))
    log_w = torch.where(present, w, 1.0).log()
    log_r = log_w - log_w[present].mean()
    logit = math.log(base / (1 - base)) + log_r
    return torch.where(present, torch.sigmoid(logit), 0.0).to(torch.float32)


def log_class_weights(
    counts: Any,
    *,
    offset: float = 1.0,
    clip: tuple[float, float] | None = None,
) -> torch.Tensor:
    r"""Log-scaled class weights, the damped inverse frequency used with SSD/YOLO-style detectors.

    .. math::

        w_c = \text{offset} + \ln \frac{N}{n_c}, \qquad N = \sum_j n_j,

    clipped to ``clip`` if given. Since :math:`n_c \le N` the logarithm is non-negative, so
    ``offset > 0`` keeps every weight positive (a class holding almost every sample gets about
    ``offset``); a ten times rarer class gains :math:`\ln 10 \approx 2.3`, where inverse
    frequency would multiply its weight by 10. Pass the result as ``weight`` of
    :func:`anchor_focal_loss` (or of any loss taking class weights). The weights are not
    normalised: with ``reduction="positives"`` their scale multiplies the loss, so tune the
    learning rate or ``offset`` accordingly.

    Args:
        counts: (C,) positive class counts (smooth zero counts yourself: a class without
            samples has no finite log weight), or an object with a ``counts`` attribute.
        offset: Added to every weight, >= 0. Default 1.
        clip: ``(lo, hi)`` bounds with ``0 <= lo <= hi``, applied last. Default None.

    Returns:
        float32 tensor of shape (C,).

    Raises:
        ValueError: Counts that are not positive and finite, a negative ``offset``, bad
            ``clip`` bounds.
        TypeError: Counts that are not real numbers.

    Example:
        >>> log_class_weights([900, 90, 10])
        tensor([1.1054, 3.4079, 5.6052])
    """
    offset = check_number("offset", offset, low=0.0)
    n = _class_vector("counts", getattr(counts, "counts", counts), positive=True).double()
    w = offset + torch.log(n.sum() / n)
    if clip is not None:
        if not isinstance(clip, tuple) or len(clip) != 2:
            fail("clip", "a pair (lo, hi)", clip, error=TypeError)
        lo = check_number("clip[0]", clip[0], low=0.0)
        hi = check_number("clip[1]", clip[1], low=lo)
        w = w.clamp(lo, hi)
    return w.to(torch.float32)


# --------------------------------------------------------------------------- shared steps


def _softmax_family(
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    ignore_index: int,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
    weight: VectorLike | None = None,
    weight_name: str = "weight",
    bias: torch.Tensor | None = None,
    bias_name: str = "priors",
    margin: torch.Tensor | None = None,
    cost: torch.Tensor | None = None,
    **options: Any,
) -> torch.Tensor:
    """Validate, run the shared autograd function, and reduce (weighted mean by w[y])."""
    check_choice("reduction", reduction, REDUCTIONS)
    dtype = _check_input(input, min_ndim=2)
    num_classes = input.shape[1]
    safe_target, valid = _check_index_target(target, input, ignore_index)
    w = None if weight is None else _class_vector(weight_name, weight, length=num_classes)
    if bias is not None:
        _check_length(bias_name, bias, num_classes)
    if margin is not None:
        _check_length("counts", margin, num_classes)
    if cost is not None and cost.shape[0] != num_classes:
        fail("cost", f"of {num_classes} classes", describe_tensor(cost))

    def like(v: torch.Tensor | None) -> torch.Tensor | None:
        return None if v is None else v.to(dtype=dtype, device=input.device)

    terms = SoftmaxTerms(
        weight=like(w), bias=like(bias), margin=like(margin), cost=like(cost), **options
    )
    target_weight = None if terms.weight is None else per_target(terms.weight, safe_target)
    loss = softmax_family_loss(input, safe_target, terms, target_weight)
    return _reduce_elements(
        loss, reduction, target_weight, valid, sample_weight, denominator, input.dtype
    )


def _soft_target_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: VectorLike | None,
    eps: float,
    reduction: Reduction,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
) -> torch.Tensor:
    """Cross-entropy with class-probability targets: differentiable in both arguments."""
    check_choice("reduction", reduction, REDUCTIONS)
    x = input.to(_check_input(input, min_ndim=2))
    if target.shape != input.shape:
        fail("target", f"probabilities of shape {tuple(input.shape)}", describe_tensor(target))
    num_classes = input.shape[1]
    q = target.to(x.dtype)
    if eps > 0:
        q = (1 - eps) * q + eps / num_classes
    if weight is not None:
        w = _class_vector("weight", weight, length=num_classes).to(x.dtype).to(input.device)
        q = q * w.view((1, -1) + (1,) * (input.ndim - 2))
    loss = -(q * F.log_softmax(x, dim=1)).sum(dim=1)
    return _reduce_elements(loss, reduction, None, None, sample_weight, denominator, input.dtype)


def _reduce_elements(
    loss: torch.Tensor,
    reduction: Reduction,
    weight: torch.Tensor | None,
    mask: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
    denominator: float | torch.Tensor | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Apply ``sample_weight`` to the loss and its normaliser, reduce, return in ``dtype``."""
    if sample_weight is not None:
        if not isinstance(sample_weight, torch.Tensor):
            fail("sample_weight", "a tensor", type(sample_weight).__name__, error=TypeError)
        if sample_weight.shape != loss.shape:
            fail(
                "sample_weight",
                f"a tensor of shape {tuple(loss.shape)}",
                describe_tensor(sample_weight),
            )
        check_nonnegative("sample_weight", sample_weight)
        s = sample_weight.to(loss.dtype)
        loss = loss * s
        weight = s if weight is None else weight * s
    return reduce(loss, reduction, weight=weight, mask=mask, denominator=denominator).to(dtype)


def _check_input(input: torch.Tensor, *, min_ndim: int) -> torch.dtype:
    """Check a floating tensor of at least ``min_ndim`` dimensions; return the compute dtype."""
    if not isinstance(input, torch.Tensor) or not input.is_floating_point():
        actual = describe_tensor(input) if isinstance(input, torch.Tensor) else type(input).__name__
        fail("input", "a floating-point tensor", actual, error=TypeError)
    if input.ndim < min_ndim:
        shape = "(N, C) or (N, C, d1, ..., dK)" if min_ndim == 2 else f"{min_ndim}-D or more"
        fail("input", f"of shape {shape}", describe_tensor(input))
    return compute_dtype(input.dtype)


def _check_integer_target(target: Any) -> None:
    """Class-index targets must be an integer (not boolean) tensor."""
    is_tensor = isinstance(target, torch.Tensor)
    if (
        not is_tensor
        or target.is_floating_point()
        or target.is_complex()
        or target.dtype == torch.bool
    ):
        actual = describe_tensor(target) if is_tensor else type(target)
        fail("target", "an integer tensor of class indices", actual, error=TypeError)


def _check_index_target(
    target: torch.Tensor, input: torch.Tensor, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Class-index targets: (target with ignored elements set to 0, mask of valid elements, or
    None when no element is ignored: the reduction then skips two masking passes)."""
    _check_integer_target(target)
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        fail("target", f"a tensor of shape {tuple(expected)}", describe_tensor(target))
    target = target.long()
    valid = target != ignore_index
    safe, mask = target, None
    if not bool(valid.all()):
        safe, mask = torch.where(valid, target, 0), valid
    if safe.numel() > 0:
        low, high = safe.aminmax()  # one pass; the error path below looks for the culprit
        if int(low) < 0 or int(high) >= input.shape[1]:
            first = tuple(int(i) for i in ((safe < 0) | (safe >= input.shape[1])).nonzero()[0])
            fail(
                "target",
                f"class indices in [0, {input.shape[1]}) or ignore_index={ignore_index}",
                f"{target[first].item()} at index {first}",
            )
    return safe, mask


def _anchor_target(
    target: torch.Tensor,
    input: torch.Tensor,
    ignore_index: int,
    background: int | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Class-index anchor targets (class dimension last) as (one-hot targets of the shape of
    ``input`` in ``dtype``, mask of non-ignored anchors or None when none is ignored, mask of
    positive anchors)."""
    _check_integer_target(target)
    num_classes = input.shape[-1]
    if target.shape != input.shape[:-1]:
        fail("target", f"a tensor of shape {tuple(input.shape[:-1])}", describe_tensor(target))
    if isinstance(background, bool) or not isinstance(background, (int, type(None))):
        fail("background", "an integer or None", background, error=TypeError)
    bg = num_classes if background is None else background
    if 0 <= bg < num_classes or bg == ignore_index:
        fail("background", f"outside [0, {num_classes}) and other than ignore_index", bg)
    target = target.long()
    positive = (target >= 0) & (target < num_classes)
    ignored = target == ignore_index
    bad = ~(positive | ignored | (target == bg))
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        fail(
            "target",
            f"class indices in [0, {num_classes}), background={bg} or ignore_index={ignore_index}",
            f"{target[first].item()} at index {first}",
        )
    one_hot = torch.zeros(input.shape, dtype=dtype, device=input.device)
    index = torch.where(positive, target, 0).unsqueeze(-1)
    one_hot.scatter_(-1, index, positive.unsqueeze(-1).to(dtype))
    return one_hot, (None if not bool(ignored.any()) else ~ignored), positive


def _anchor_terms(
    alpha: Any,
    weight: VectorLike | None,
    gamma: float,
    num_classes: int,
    dtype: torch.dtype,
    device: torch.device,
) -> SigmoidTerms:
    """The sigmoid-family terms of :func:`anchor_focal_loss`.

    A number ``alpha`` without class weights is the focal :math:`\\alpha_t` itself (exactly
    :func:`sigmoid_focal_loss`'s computation). Otherwise it goes into the per-output weights of
    the positive and negative terms, :math:`A_c = w_c \\alpha_c` and
    :math:`B_c = w_c (1 - \\alpha_c)`: for 0/1 targets, :math:`\\alpha_t \\cdot w_c` times the
    unweighted terms, the same loss and gradient.
    """
    w = None
    if weight is not None:
        w = _class_vector("weight", weight, length=num_classes).to(dtype=dtype, device=device)
    a = _anchor_alpha(alpha, num_classes)
    if not isinstance(a, torch.Tensor):
        if w is None:
            return SigmoidTerms(gamma=gamma, alpha=a)
        if a is None:
            return SigmoidTerms(gamma=gamma, pos_weight=w, neg_weight=w)
        return SigmoidTerms(gamma=gamma, pos_weight=w * a, neg_weight=w * (1 - a))
    v = a.to(dtype=dtype, device=device)
    pos, neg = v, 1 - v
    if w is not None:
        pos, neg = pos * w, neg * w
    return SigmoidTerms(gamma=gamma, pos_weight=pos, neg_weight=neg)


def _anchor_alpha(alpha: Any, length: int | None = None) -> float | torch.Tensor | None:
    """``alpha`` of :func:`anchor_focal_loss` checked: None, a number in [0, 1], or a 1-D
    tensor of values in [0, 1] (of ``length`` when given)."""
    if alpha is None:
        return None
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        return check_number("alpha", alpha, low=0.0, high=1.0)
    v = _class_vector("alpha", alpha, length=length)
    if bool((v > 1).any()):
        fail("alpha", "values in [0, 1]", f"{v.max().item()} at index {int(v.argmax())}")
    return v


def _binary_target(
    target: torch.Tensor, input: torch.Tensor, ignore_value: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Checked targets in [0, 1] with the elements equal to ``ignore_value`` set to 0, and the
    mask of the known elements (None when none is ignored: the reduction then skips two
    masking passes)."""
    if not isinstance(target, torch.Tensor) or target.is_complex():
        fail("target", "a tensor", type(target).__name__, error=TypeError)
    if target.requires_grad:
        fail("target", "a tensor that does not require grad", describe_tensor(target))
    if target.shape != input.shape:
        fail("target", f"a tensor of shape {tuple(input.shape)}", describe_tensor(target))
    ignore = _ignore_value(ignore_value)
    if target.numel() == 0 or target.dtype == torch.bool:
        return target, None
    known = None
    if ignore is not None:
        unknown = torch.isnan(target) if math.isnan(ignore) else target == ignore
        if bool(unknown.any()):
            known = ~unknown
            target = torch.where(unknown, 0, target)
    # One pass over the target; NaN makes the comparison fail as well.
    low, high = (float(v) for v in target.aminmax())
    if not (low >= 0 and high <= 1):
        check_finite("target", target)
        bad = (target < 0) | (target > 1)
        first = tuple(int(i) for i in bad.nonzero()[0]) if target.ndim else ()
        allowed = "" if ignore is None else f" or ignore_value={ignore!r}"
        fail("target", f"values in [0, 1]{allowed}", f"{target[first].item()} at index {first}")
    return target, known


def _ignore_value(value: Any) -> float | None:
    """``ignore_value`` checked: None, NaN, or a number outside [0, 1]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail("ignore_value", "a number or None", value, error=TypeError)
    v = float(value)
    if 0.0 <= v <= 1.0:
        fail("ignore_value", "a number outside [0, 1] (no label's target value), or NaN", v)
    return v


def _focal_alpha(alpha: Any, x: torch.Tensor) -> float | torch.Tensor | None:
    """The focal ``alpha`` checked: None, a number in [0, 1], or a per-label vector of values
    in [0, 1] (length L or 1) viewed along dimension 1 of ``x``."""
    if alpha is None:
        return None
    if isinstance(alpha, (torch.Tensor, np.ndarray)) and alpha.ndim == 0:
        alpha = alpha.item()
    if not isinstance(alpha, (torch.Tensor, np.ndarray, Sequence)):
        return check_number("alpha", alpha, low=0.0, high=1.0)
    v = _label_vector("alpha", alpha, x)
    if bool((v > 1).any()):
        # v is viewed along dimension 1 only: its flat index is the label's
        fail("alpha", "values in [0, 1]", f"{v.max().item()} at index {int(v.argmax())}")
    return v


#: How errors about labels name them (see :func:`counterpoise._checks.check_entries`).
_LABELS = ("label", "labels")


@dataclass(frozen=True)
class _Counts:
    """Counts with their number of samples, as :func:`counterpoise.weights.class_weights`
    reads them."""

    counts: torch.Tensor
    num_samples: int


def _as_tensor(name: str, value: Any) -> torch.Tensor:
    """A floating tensor from a tensor, an array or a sequence of numbers."""
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        fail(name, "a tensor or a sequence of numbers", value, error=TypeError)
    if t.dtype == torch.bool or t.is_complex():
        fail(name, "real numbers", describe_tensor(t), error=TypeError)
    return t if t.is_floating_point() else t.double()


def _class_vector(
    name: str, value: Any, *, length: int | None = None, positive: bool = False
) -> torch.Tensor:
    """A checked 1-D vector of per-class values: finite, non-negative (or positive)."""
    v = _as_tensor(name, value)
    if v.ndim != 1 or v.shape[0] == 0:
        fail(name, "a non-empty 1-D tensor", describe_tensor(v))
    if length is not None:
        _check_length(name, v, length)
    check_nonnegative(name, v)
    if positive and not bool((v > 0).all()):
        fail(name, "positive", f"{v.min().item()} at index {int(v.argmin())}")
    return v


def _check_length(name: str, v: torch.Tensor, length: int, *, what: str = "classes") -> None:
    if v.shape[0] != length:
        fail(name, f"a 1-D tensor of length {length} (the number of {what})", describe_tensor(v))


def _label_weight(name: str, value: Any, x: torch.Tensor) -> torch.Tensor | None:
    """A per-label weight of length L or 1, viewed to broadcast along dimension 1 of ``x``
    (L = 1 for a 1-D ``x``), in the compute dtype."""
    return None if value is None else _label_vector(name, value, x)


def _label_vector(name: str, value: Any, x: torch.Tensor) -> torch.Tensor:
    """A per-label vector of length L or 1 as :func:`_label_weight` returns it."""
    labels = 1 if x.ndim <= 1 else x.shape[1]
    v = _class_vector(name, value)
    if v.shape[0] not in (1, labels):
        expected = (
            f"a 1-D tensor of length {labels} (the number of labels) or 1"
            if x.ndim >= 2
            else f"a 1-D tensor of length 1 (a {x.ndim}-D input has one label)"
        )
        fail(name, expected, describe_tensor(v))
    v = v.to(dtype=compute_dtype(x.dtype), device=x.device)
    if x.ndim == 0:
        return v.view(())
    return v.view((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else v
