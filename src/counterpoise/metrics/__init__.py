"""Imbalance-aware evaluation: what happened to every class, not just the average.

Plain accuracy on long-tailed data is dominated by the head classes. The package has three parts:

- :mod:`~counterpoise.metrics.multiclass`: :func:`~counterpoise.metrics.multiclass.imbalance_report`
  combines the measures that expose the tail (per-class recall, balanced accuracy, macro-F1, the
  geometric mean and the minimum of the recalls, Matthews' correlation coefficient, per-class
  average precision and the expected calibration error), and
  :class:`~counterpoise.metrics.multiclass.ImbalanceMetrics` accumulates them over batches and
  processes.
- :mod:`~counterpoise.metrics.multilabel`:
  :func:`~counterpoise.metrics.multilabel.multilabel_report` gives per-label average precision and
  F1 (at 0.5 and at tuned per-label thresholds) and their averages over the head, medium and tail
  labels, grouped by training frequency, so that the rare labels are seen apart from the frequent
  ones.
- :mod:`~counterpoise.metrics.calibration`: the binned top-label statistics behind the expected
  calibration error (Guo et al., ICML 2017) and the reliability diagram.

Every public name is available from ``counterpoise.metrics`` itself.
"""

from .calibration import CalibrationBins
from .multiclass import (
    CONFUSION_METRICS,
    SUMMARY_METRICS,
    ImbalanceMetrics,
    ImbalanceReport,
    confusion_metrics,
    imbalance_report,
)
from .multilabel import (
    DEFAULT_BOUNDARIES,
    LABEL_GROUPS,
    MULTILABEL_SUMMARY_METRICS,
    LabelGroup,
    MultilabelReport,
    multilabel_report,
)
from .multilabel import (
    Thresholds as Thresholds,  # also of counterpoise.posthoc, which tunes them
)
from .multilabel import (
    _check_boundaries as _check_boundaries,  # counterpoise.compare checks its options with it
)

__all__ = [
    "CONFUSION_METRICS",
    "DEFAULT_BOUNDARIES",
    "LABEL_GROUPS",
    "MULTILABEL_SUMMARY_METRICS",
    "SUMMARY_METRICS",
    "CalibrationBins",
    "ImbalanceMetrics",
    "ImbalanceReport",
    "LabelGroup",
    "MultilabelReport",
    "confusion_metrics",
    "imbalance_report",
    "multilabel_report",
]
