"""Every loss as a pure function, as :mod:`torch.nn.functional` offers PyTorch's.

The functions live with their modules in the loss families of :mod:`counterpoise.losses`
(:mod:`~counterpoise.losses.softmax`, :mod:`~counterpoise.losses.sigmoid`,
:mod:`~counterpoise.losses.detection`); this module gathers them under one name. The maps
from counts to the vectors that some losses take (:func:`ldam_margins`, :func:`label_alpha`,
:func:`focal_alpha`, :func:`log_class_weights`) live in :mod:`counterpoise.weights` and are
imported here too.

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

The softmax-family losses share one autograd function (see ``counterpoise.losses._autograd``), which
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

from ._checks import VectorLike
from .losses.detection import ANCHOR_REDUCTIONS, AnchorReduction, anchor_focal_loss
from .losses.sigmoid import (
    asymmetric_loss,
    binary_cross_entropy_with_logits,
    distribution_balanced_loss,
    sigmoid_focal_loss,
)
from .losses.softmax import (
    balanced_softmax_loss,
    cost_matrix,
    cost_sensitive_loss,
    cross_entropy,
    focal_loss,
    ldam_loss,
    logit_adjusted_loss,
)
from .weights import focal_alpha, label_alpha, ldam_margins, log_class_weights

__all__ = [
    "ANCHOR_REDUCTIONS",
    "AnchorReduction",
    "VectorLike",
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
