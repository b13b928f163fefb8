"""counterpoise: class weights, losses, samplers and comparisons for imbalanced data in PyTorch.

>>> import counterpoise as cp
>>> counts = cp.class_counts([0, 0, 0, 0, 1, 1, 2])
>>> counts
tensor([4, 2, 1])
>>> cp.class_weights(counts, "balanced")
tensor([0.5833, 1.1667, 2.3333])
"""

from .counts import LabelCounts, class_counts, count_labels
from .datasets import Dataset, load_digits_lt
from .describe import Description, describe
from .metrics import ImbalanceReport, imbalance_report
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
    "Dataset",
    "Description",
    "ImbalanceReport",
    "LabelCounts",
    "__version__",
    "class_counts",
    "class_weights",
    "compute_class_weight",
    "compute_sample_weight",
    "count_labels",
    "describe",
    "imbalance_report",
    "load_digits_lt",
    "pos_weight",
    "sample_weights",
]
