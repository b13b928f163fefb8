"""counterpoise: class weights, losses, samplers and comparisons for imbalanced data in PyTorch.

>>> import counterpoise as cp
>>> counts = cp.class_counts([0, 0, 0, 0, 1, 1, 2])
>>> counts
tensor([4, 2, 1])
>>> cp.class_weights(counts, "balanced")
tensor([0.5833, 1.1667, 2.3333])
>>> loss_fn = cp.FocalLoss.from_counts(counts, scheme="effective", beta=0.999)
"""

from . import functional
from .adaptive import AdaptiveClassWeights, BatchFrequencyWeights, OnlinePriors
from .compare.model import compare_custom, compare_model
from .counts import LabelCounts, class_counts, count_labels
from .datasets import Dataset, load_digits_lt
from .describe import Description, describe
from .losses import (
    AnchorFocalLoss,
    AsymmetricLoss,
    BalancedSoftmaxLoss,
    CostSensitiveLoss,
    DistributionBalancedLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    SigmoidFocalLoss,
    WeightedBCEWithLogitsLoss,
    WeightedCrossEntropyLoss,
)
from .metrics import (
    ImbalanceMetrics,
    ImbalanceReport,
    MultilabelReport,
    imbalance_report,
    multilabel_report,
)
from .posthoc import (
    TemperatureScaling,
    adjust_logits,
    prior_correction,
    prior_shift,
    tune_tau,
    tune_thresholds,
)
from .samplers import (
    ClassBalancedSampler,
    EpochBatchSampler,
    ProgressivelyBalancedSampler,
    RepeatFactorSampler,
)
from .schedules import DeferredReweighting, EffectiveNumberSchedule, InterpolatedWeights
from .segmentation import (
    MaskStatistics,
    WeightMapDataset,
    border_weight_map,
    distance_weight_map,
    mask_class_weights,
    mask_statistics,
)
from .weights import (
    SCHEMES,
    class_weights,
    compute_class_weight,
    compute_sample_weight,
    pos_weight,
    sample_weights,
)

__version__ = "0.1.0"

__all__ = [
    "SCHEMES",
    "AdaptiveClassWeights",
    "AnchorFocalLoss",
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "BatchFrequencyWeights",
    "ClassBalancedSampler",
    "CostSensitiveLoss",
    "Dataset",
    "DeferredReweighting",
    "Description",
    "DistributionBalancedLoss",
    "EffectiveNumberSchedule",
    "EpochBatchSampler",
    "FocalLoss",
    "ImbalanceMetrics",
    "ImbalanceReport",
    "InterpolatedWeights",
    "LDAMLoss",
    "LabelCounts",
    "LogitAdjustedLoss",
    "MaskStatistics",
    "MultilabelReport",
    "OnlinePriors",
    "ProgressivelyBalancedSampler",
    "RepeatFactorSampler",
    "SigmoidFocalLoss",
    "TemperatureScaling",
    "WeightMapDataset",
    "WeightedBCEWithLogitsLoss",
    "WeightedCrossEntropyLoss",
    "__version__",
    "adjust_logits",
    "border_weight_map",
    "class_counts",
    "class_weights",
    "compare_custom",
    "compare_model",
    "compute_class_weight",
    "compute_sample_weight",
    "count_labels",
    "describe",
    "distance_weight_map",
    "functional",
    "imbalance_report",
    "load_digits_lt",
    "mask_class_weights",
    "mask_statistics",
    "multilabel_report",
    "pos_weight",
    "prior_correction",
    "prior_shift",
    "sample_weights",
    "tune_tau",
    "tune_thresholds",
]
