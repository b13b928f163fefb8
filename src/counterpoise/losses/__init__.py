"""The losses: one file per family, each loss as a pure function and a module side by side.

* :mod:`counterpoise.losses.softmax`: one class per sample (cross-entropy, focal, logit-adjusted,
  balanced softmax, LDAM, cost-sensitive);
* :mod:`counterpoise.losses.sigmoid`: binary and multilabel (BCE, sigmoid focal, asymmetric,
  distribution-balanced);
* :mod:`counterpoise.losses.detection`: the focal loss on anchors;
* :mod:`counterpoise.losses.registry`: every loss by name, with how to build it from counts and
  what its mean divides by.

This package offers the modules; :mod:`counterpoise.functional` offers the functions.

Each module holds its configuration and its tensors (class weights, priors, counts, costs) as
registered float32 buffers, so ``.to(device)`` moves them and ``state_dict`` saves them. They
keep float32 through every dtype conversion of the module (``.half()``, ``.bfloat16()``,
``.double()``, ``.to(dtype)``, also of a model that holds the loss): half precision would
overflow counts above 65504 and round weights, and the losses compute in float32 (float64 for
float64 inputs) whatever the buffers' dtype. Neither does autocast change them. ``forward`` is
one call of the loss's function (in :mod:`counterpoise.functional` and beside the module), whose docstring
gives the formula. Arguments are checked when the module is built; tensors when it is called.

``forward(input, target, *, sample_weight=None, denominator=None)`` takes the per-element
weights and the externally computed denominator of a weighted mean (gradient accumulation,
data parallelism) as call arguments, as they change from batch to batch.
"""

from __future__ import annotations

from .detection import AnchorFocalLoss
from .sigmoid import (
    AsymmetricLoss,
    DistributionBalancedLoss,
    SigmoidFocalLoss,
    WeightedBCEWithLogitsLoss,
)
from .softmax import (
    BalancedSoftmaxLoss,
    CostSensitiveLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    WeightedCrossEntropyLoss,
)

__all__ = [
    "AnchorFocalLoss",
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "CostSensitiveLoss",
    "DistributionBalancedLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "SigmoidFocalLoss",
    "WeightedBCEWithLogitsLoss",
    "WeightedCrossEntropyLoss",
]
