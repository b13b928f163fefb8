"""Imbalance-aware evaluation: what happened to every class, not just the average.

Plain accuracy on long-tailed data is dominated by the head classes. :func:`imbalance_report`
combines the measures that expose the tail: per-class recall, balanced accuracy (the mean
recall), macro-F1, the geometric mean and the minimum of the recalls, Matthews' correlation
coefficient, per-class average precision, and the expected calibration error of the predicted
probabilities. The label metrics are scikit-learn's, computed from the confusion matrix (a
sufficient statistic, so that :class:`ImbalanceMetrics` can accumulate them over batches and
processes); this module chooses, validates and presents them. The calibration error is the
usual binned top-label form (Guo et al., ICML 2017), as torchmetrics computes it.

For multilabel outputs, :func:`multilabel_report` gives per-label average precision and F1 (at
0.5 and at tuned per-label thresholds) and their averages over the head, medium and tail labels,
grouped by training frequency, so that the rare labels are seen apart from the frequent ones.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._checks import check_choice, check_number, check_positive_int, fail
from ._checks import check_ignore_value as _ignore_value
from .posthoc import Thresholds

__all__ = [
    "DEFAULT_BOUNDARIES",
    "LABEL_GROUPS",
    "MULTILABEL_SUMMARY_METRICS",
    "SUMMARY_METRICS",
    "CalibrationBins",
    "ImbalanceMetrics",
    "ImbalanceReport",
    "LabelGroup",
    "MultilabelReport",
    "imbalance_report",
    "multilabel_report",
]

#: Scalar metrics of a report, by name; every one is "higher is better" except ``ece``.
SUMMARY_METRICS = (
    "balanced_accuracy",
    "macro_f1",
    "worst_class_recall",
    "gmean_recall",
    "accuracy",
    "mcc",
    "macro_average_precision",
    "ece",
)

_PROB_TOLERANCE = 1e-3


@dataclass(frozen=True)
class CalibrationBins:
    """Top-label calibration statistics in ``B`` equal-width confidence bins.

    Bin ``b`` holds the samples whose top probability lies in
    :math:`(b / B, (b + 1) / B]` (a confidence of exactly 0 goes to the first bin). These sums
    are all that the calibration error and the reliability diagram need, and they add up over
    batches and processes.

    Attributes:
        count: int64 (B,), samples per bin.
        confidence: float64 (B,), the sum of their top probabilities.
        correct: float64 (B,), how many of them were predicted right.
    """

    count: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray

    @classmethod
    def of(cls, probs: np.ndarray, y: np.ndarray, n_bins: int) -> CalibrationBins:
        """The bins of probabilities (N, C) for true classes (N,); a prediction is right when
        the top class is the true one."""
        n_bins = check_positive_int("n_bins", n_bins)
        conf = probs.max(axis=1)
        right = probs.argmax(axis=1) == y
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        which = np.searchsorted(edges[1:-1], conf, side="left")
        return cls(
            count=np.bincount(which, minlength=n_bins).astype(np.int64),
            confidence=np.bincount(which, weights=conf, minlength=n_bins),
            correct=np.bincount(which, weights=right, minlength=n_bins),
        )

    def __add__(self, other: CalibrationBins) -> CalibrationBins:
        return CalibrationBins(
            self.count + other.count,
            self.confidence + other.confidence,
            self.correct + other.correct,
        )

    @property
    def ece(self) -> float:
        """Expected calibration error:
        :math:`\\sum_b \\frac{|B_b|}{N} |\\text{acc}(B_b) - \\text{conf}(B_b)|`."""
        return float(np.abs(self.correct - self.confidence).sum() / self.count.sum())


@dataclass(frozen=True)
class ImbalanceReport:
    """Per-class and summary metrics of a classifier (see :func:`imbalance_report`).

    Attributes:
        classes: the class each row and column stands for.
        support: int64 (C,), true samples per class.
        precision, recall, f1: float64 (C,) per class (0 where undefined, as scikit-learn's
            ``zero_division=0``).
        confusion: int64 (C, C), rows are true classes, columns predicted classes.
        accuracy: fraction of correct predictions.
        balanced_accuracy: mean recall over the classes present in ``y_true``.
        macro_f1: unweighted mean of the per-class F1 over all classes.
        gmean_recall: geometric mean of the recalls of the classes present (0 if any is 0).
        worst_class_recall: the smallest recall among the classes present.
        mcc: Matthews' correlation coefficient (multiclass form).
        average_precision: float64 (C,) one-vs-rest average precision (area under the
            precision-recall curve), NaN for classes without positives; None without scores.
        macro_average_precision: mean of the defined per-class average precisions, or None.
        ece: expected calibration error of the top-label probability (L1, equal-width bins),
            or None without probabilities.
        calibration: the :class:`CalibrationBins` behind ``ece``, or None.
    """

    classes: tuple[Hashable, ...]
    support: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    confusion: np.ndarray
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    gmean_recall: float
    worst_class_recall: float
    mcc: float
    average_precision: np.ndarray | None = None
    macro_average_precision: float | None = None
    ece: float | None = None
    calibration: CalibrationBins | None = None

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return len(self.classes)

    @property
    def confusion_normalized(self) -> np.ndarray:
        """The confusion matrix with each row divided by its class's support (rows of absent
        classes are 0)."""
        rows = self.confusion.sum(axis=1, keepdims=True)
        return np.divide(self.confusion, rows, out=np.zeros(self.confusion.shape), where=rows > 0)

    def summary(self) -> dict[str, float]:
        """The scalar metrics by name (those that could be computed), in :data:`SUMMARY_METRICS`
        order."""
        values = {name: getattr(self, name) for name in SUMMARY_METRICS}
        return {k: float(v) for k, v in values.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-serialisable (NaN becomes None)."""

        def arr(a: np.ndarray | None) -> list[Any] | None:
            return None if a is None else [None if x != x else x for x in a.tolist()]

        return {
            **self.summary(),
            "classes": [c if isinstance(c, (str, int)) else str(c) for c in self.classes],
            "support": self.support.tolist(),
            "precision": arr(self.precision),
            "recall": arr(self.recall),
            "f1": arr(self.f1),
            "average_precision": arr(self.average_precision),
            "confusion": self.confusion.tolist(),
        }

    def plot_confusion_matrix(self, title: str = "Confusion matrix") -> Any:
        """The confusion matrix, normalised per true class, as a matplotlib figure."""
        from .plots import plot_confusion_matrix

        return plot_confusion_matrix(self.confusion, self.classes, title=title)

    def plot_reliability(self, title: str = "Reliability") -> Any:
        """Accuracy against confidence per calibration bin, as a matplotlib figure."""
        if self.calibration is None:
            fail("calibration", "present (the report needs probabilities)", None)
        from .plots import plot_reliability_bins

        return plot_reliability_bins({"model": self.calibration}, title=title)

    def print(self, console: Any = None) -> None:
        """Print the per-class table and the summary with rich."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        table = Table(title="Per class", title_justify="left")
        for col in ("class", "support", "precision", "recall", "F1"):
            table.add_column(col, justify="right")
        if self.average_precision is not None:
            table.add_column("AP", justify="right")
        for i, c in enumerate(self.classes):
            row = [str(c), f"{self.support[i]:,}", f"{self.precision[i]:.3f}"]
            row += [f"{self.recall[i]:.3f}", f"{self.f1[i]:.3f}"]
            if self.average_precision is not None:
                ap = self.average_precision[i]
                row.append("n/a" if ap != ap else f"{ap:.3f}")
            table.add_row(*row)
        console.print(table)
        summary = Table(title="Summary", title_justify="left")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        for k, v in self.summary().items():
            summary.add_row(k, f"{v:.4f}")
        console.print(summary)


def _as_numpy(name: str, x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        return x.numpy()
    try:
        return np.asarray(x)
    except Exception:
        fail(name, "an array-like", type(x).__name__, error=TypeError)


def _check_probabilities(probs: np.ndarray, num_classes: int) -> np.ndarray:
    if probs.ndim == 1:  # binary: the probability of class 1
        probs = np.stack([1.0 - probs, probs], axis=1)
    if probs.shape[1] != num_classes:
        fail("y_score", f"probabilities of shape (N, {num_classes})", probs.shape)
    if not np.all(np.isfinite(probs)):
        fail("y_score", "finite probabilities", "NaN or infinity")
    rows = probs.sum(axis=1)
    if (
        probs.min() < -_PROB_TOLERANCE
        or probs.max() > 1 + _PROB_TOLERANCE
        or np.abs(rows - 1).max() > _PROB_TOLERANCE
    ):
        fail(
            "y_score",
            "probabilities in [0, 1] whose rows sum to 1 (pass logits.softmax(-1), not logits)",
            f"values in [{probs.min():.3g}, {probs.max():.3g}] with row sums up to "
            f"{np.abs(rows - 1).max() + 1:.3g}",
        )
    # Within the tolerance, rounding may leave values a hair outside [0, 1]: clip and
    # renormalise, so that every computation downstream sees exact probabilities.
    probs = np.clip(probs.astype(np.float64), 0.0, 1.0)
    return probs / probs.sum(axis=1, keepdims=True)


def _mcc(y: np.ndarray, pred: np.ndarray, weight: np.ndarray) -> float:
    from sklearn.metrics import matthews_corrcoef

    with warnings.catch_warnings():
        # scikit-learn warns when y and pred hold a single class; the value (0) is still right
        warnings.simplefilter("ignore", UserWarning)
        return float(matthews_corrcoef(y, pred, sample_weight=weight))


def imbalance_report(
    y_true: Any,
    y_score_or_pred: Any,
    *,
    classes: Sequence[Hashable] | None = None,
    num_classes: int | None = None,
    y_pred: Any = None,
    n_bins: int | None = None,
) -> ImbalanceReport:
    """Per-class and summary metrics that show what happens to the rare classes.

    .. math::

        \\text{balanced accuracy} = \\frac{1}{|K|} \\sum_{c \\in K} \\text{recall}_c, \\qquad
        \\text{gmean} = \\Big(\\prod_{c \\in K} \\text{recall}_c\\Big)^{1/|K|}, \\qquad
        \\text{ECE} = \\sum_b \\frac{|B_b|}{N} \\big|\\text{acc}(B_b) - \\text{conf}(B_b)\\big|

    with :math:`K` the classes present in ``y_true`` and :math:`B_b` the samples whose top
    probability falls in the b-th of ``n_bins`` equal-width bins.

    Args:
        y_true: true class indices, shape (N,), integers in [0, C).
        y_score_or_pred: predicted class indices (N,) (integers), or probabilities (N, C)
            (floats; rows sum to 1), or for two classes the probability of class 1 (N,) (floats).
            With probabilities, the prediction is their argmax, and average precision and ECE
            are computed too.
        classes: class names (default 0..C-1).
        num_classes: C (default: ``len(classes)``, else the probabilities' width, else the
            largest label + 1).
        y_pred: predicted class indices (N,) to use instead of the argmax of the probabilities,
            e.g. after tuning decision thresholds; only with probabilities.
        n_bins: bins of the calibration error (default 15); only with probabilities.

    Returns:
        An :class:`ImbalanceReport`.

    Raises:
        ValueError: for empty or mismatched inputs, labels out of range, or scores that are not
            probabilities (logits must be turned into probabilities first).

    Example:
        >>> r = imbalance_report([0, 0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 1, 0, 0])
        >>> round(r.accuracy, 3), round(r.balanced_accuracy, 3), r.worst_class_recall
        (0.714, 0.5, 0.0)
        >>> r.recall.tolist()
        [1.0, 0.5, 0.0]
    """
    from sklearn import metrics as skm

    y, probs, pred, num_classes, names = _validate(
        y_true, y_score_or_pred, classes=classes, num_classes=num_classes, y_pred=y_pred
    )
    if probs is None and n_bins is not None:
        fail("n_bins", "None when only predictions are given (no calibration to measure)", n_bins)
    confusion = skm.confusion_matrix(y, pred, labels=np.arange(num_classes))
    if probs is None:
        return _report(confusion, names)
    ap = np.full(num_classes, np.nan)
    for c in np.flatnonzero(confusion.sum(axis=1) > 0):
        ap[c] = skm.average_precision_score(y == c, probs[:, c])
    bins = CalibrationBins.of(probs, y, 15 if n_bins is None else n_bins)
    return _report(confusion, names, calibration=bins, average_precision=ap)


def _validate(
    y_true: Any,
    y_score_or_pred: Any,
    *,
    classes: Sequence[Hashable] | None,
    num_classes: int | None,
    y_pred: Any,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, int, tuple[Hashable, ...]]:
    """Checked labels, probabilities (or None), predictions, C and class names."""
    y = _as_numpy("y_true", y_true)
    s = _as_numpy("y_score_or_pred", y_score_or_pred)
    if y.ndim != 1 or y.size == 0:
        fail("y_true", "a non-empty 1-D array of class indices", y.shape)
    if not np.issubdtype(y.dtype, np.integer):
        fail("y_true", "integer class indices", y.dtype, error=TypeError)
    if s.ndim == 0 or s.shape[0] != y.shape[0]:
        fail("y_score_or_pred", f"{y.shape[0]} rows like `y_true`", s.shape)
    scored = np.issubdtype(s.dtype, np.floating)
    if scored and s.ndim not in (1, 2):
        fail("y_score_or_pred", "probabilities of shape (N, C) or (N,)", s.shape)
    if scored and s.ndim == 1 and (num_classes not in (None, 2) or s.min() < 0 or s.max() > 1):
        fail(
            "y_score_or_pred",
            "integer class predictions, or for two classes the probability of class 1 in "
            "[0, 1] (1-D floats are read as such probabilities)",
            f"floats in [{s.min():.3g}, {s.max():.3g}]",
        )
    if not scored and (s.ndim != 1 or not np.issubdtype(s.dtype, np.integer)):
        fail(
            "y_score_or_pred",
            "integer predictions of shape (N,) or float probabilities",
            f"{s.dtype} array of shape {s.shape}",
        )
    if num_classes is None:
        if classes is not None:
            num_classes = len(classes)
        elif scored and s.ndim == 2:
            num_classes = s.shape[1]
        elif scored:
            num_classes = 2
        else:
            num_classes = int(max(y.max(), s.max())) + 1
    num_classes = check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        fail("num_classes", "at least 2", num_classes)
    names = tuple(classes) if classes is not None else tuple(range(num_classes))
    if len(names) != num_classes:
        fail("classes", f"{num_classes} class names", len(names))
    if y.min() < 0 or y.max() >= num_classes:
        bad = y[(y < 0) | (y >= num_classes)][0]
        fail("y_true", f"class indices in [0, {num_classes})", int(bad))

    probs = _check_probabilities(s, num_classes) if scored else None
    if y_pred is not None:
        if probs is None:
            fail("y_pred", "None when `y_score_or_pred` holds predictions", "predictions twice")
        pred = _as_numpy("y_pred", y_pred)
        if pred.shape != y.shape or not np.issubdtype(pred.dtype, np.integer):
            fail(
                "y_pred", f"integer class indices of shape {y.shape}", f"{pred.dtype} {pred.shape}"
            )
    else:
        pred = probs.argmax(axis=1) if probs is not None else s.astype(np.int64)
    if pred.min() < 0 or pred.max() >= num_classes:
        bad = pred[(pred < 0) | (pred >= num_classes)][0]
        fail(
            "y_pred" if y_pred is not None else "y_score_or_pred",
            f"class indices in [0, {num_classes})",
            int(bad),
        )
    return y.astype(np.int64), probs, pred.astype(np.int64), num_classes, names


def _report(
    confusion: np.ndarray,
    classes: tuple[Hashable, ...],
    *,
    calibration: CalibrationBins | None = None,
    average_precision: np.ndarray | None = None,
) -> ImbalanceReport:
    """A report from sufficient statistics: the confusion matrix (and calibration bins).

    scikit-learn computes the metrics from the C x C (true, predicted) pairs weighted by their
    counts, which gives exactly what it gives on the samples themselves.
    """
    from sklearn import metrics as skm

    c = confusion.shape[0]
    true, pred = np.repeat(np.arange(c), c), np.tile(np.arange(c), c)
    weight = confusion.ravel().astype(np.float64)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        true, pred, labels=np.arange(c), sample_weight=weight, zero_division=0
    )
    support = confusion.sum(axis=1).astype(np.int64)
    present = support > 0
    rec = recall[present]
    total = confusion.sum()
    return ImbalanceReport(
        classes=classes,
        support=support,
        precision=precision,
        recall=recall,
        f1=f1,
        confusion=confusion.astype(np.int64),
        accuracy=float(np.trace(confusion) / total),
        balanced_accuracy=float(rec.mean()),
        macro_f1=float(f1.mean()),
        gmean_recall=float(np.exp(np.log(rec).mean())) if rec.min() > 0 else 0.0,
        worst_class_recall=float(rec.min()),
        mcc=_mcc(true, pred, weight),
        average_precision=average_precision,
        macro_average_precision=(
            None if average_precision is None else float(np.nanmean(average_precision))
        ),
        ece=None if calibration is None else calibration.ece,
        calibration=calibration,
    )


class ImbalanceMetrics:
    """Accumulates an :class:`ImbalanceReport` over batches (and processes).

    Keeps only sufficient statistics: the confusion matrix and, when probabilities are given,
    the calibration bins; so memory does not grow with the data. Average precision needs every
    score and is not accumulated (use :func:`imbalance_report` on the gathered scores). Under
    ``torch.distributed``, :meth:`compute` sums the statistics over all ranks first, so every
    rank gets the report of the whole data set.

    Args:
        num_classes: C, at least 2.
        classes: class names (default 0..C-1).
        n_bins: bins of the calibration error (default 15).

    Example:
        >>> m = ImbalanceMetrics(3)
        >>> m.update([0, 0, 1], [[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1]])
        >>> m.update([2], [[0.1, 0.1, 0.8]])
        >>> r = m.compute()
        >>> r.recall.tolist(), r.balanced_accuracy
        ([0.5, 1.0, 1.0], 0.8333333333333334)
    """

    def __init__(
        self, num_classes: int, *, classes: Sequence[Hashable] | None = None, n_bins: int = 15
    ) -> None:
        self.num_classes = check_positive_int("num_classes", num_classes)
        if self.num_classes < 2:
            fail("num_classes", "at least 2", num_classes)
        self.classes = tuple(classes) if classes is not None else tuple(range(self.num_classes))
        if len(self.classes) != self.num_classes:
            fail("classes", f"{self.num_classes} class names", len(self.classes))
        self.n_bins = check_positive_int("n_bins", n_bins)
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        c = self.num_classes
        self.confusion = np.zeros((c, c), dtype=np.int64)
        self.calibration: CalibrationBins | None = None
        self._scored: bool | None = None

    def update(self, y_true: Any, y_score_or_pred: Any) -> None:
        """Add a batch: true classes (N,) and predictions (N,) or probabilities (N, C), as for
        :func:`imbalance_report`. Every batch must be of the same kind."""
        y, probs, pred, _, _ = _validate(
            y_true, y_score_or_pred, classes=self.classes, num_classes=None, y_pred=None
        )
        scored = probs is not None
        if self._scored is not None and scored != self._scored:
            fail(
                "y_score_or_pred",
                "of the same kind in every batch (all probabilities or all predictions)",
                "probabilities" if scored else "predictions",
            )
        self._scored = scored
        c = self.num_classes
        self.confusion += np.bincount(y * c + pred, minlength=c * c).reshape(c, c)
        if probs is not None:
            bins = CalibrationBins.of(probs, y, self.n_bins)
            self.calibration = bins if self.calibration is None else self.calibration + bins

    def compute(self) -> ImbalanceReport:
        """The report of everything seen (on every rank, when a process group is initialised).

        Raises:
            ValueError: before any update.
        """
        from . import distributed

        confusion, bins = self.confusion, self.calibration
        if distributed.is_initialized():
            confusion = distributed.all_reduce_sum(torch.from_numpy(confusion)).numpy()
            # every rank takes part in the same sums, also one that saw no sample
            if distributed.all_reduce_max(int(bins is not None)):
                if bins is None:
                    empty = np.empty((0, self.num_classes))
                    bins = CalibrationBins.of(empty, np.empty(0, np.int64), self.n_bins)
                stacked = np.stack([bins.count.astype(np.float64), bins.confidence, bins.correct])
                summed = distributed.all_reduce_sum(torch.from_numpy(stacked)).numpy()
                bins = CalibrationBins(summed[0].round().astype(np.int64), summed[1], summed[2])
        if confusion.sum() == 0:
            fail("update", "called with at least one sample before compute()", "no samples")
        return _report(confusion, self.classes, calibration=bins)


# ---------------------------------------------------------------------------------------------
# Multilabel


#: Label-frequency groups of a :class:`MultilabelReport`, from the most frequent labels to the
#: rarest.
LABEL_GROUPS = ("head", "medium", "tail")

#: Every key that :meth:`MultilabelReport.summary` can hold, in its order; all are "higher is
#: better".
MULTILABEL_SUMMARY_METRICS = (
    "map",
    "macro_f1",
    "macro_f1_tuned",
    *(f"{g}_{m}" for m in ("map", "macro_f1", "macro_f1_tuned") for g in LABEL_GROUPS),
)

#: The usual long-tail boundaries (Liu et al., CVPR 2019): tail below 20 training positives,
#: head above 100.
DEFAULT_BOUNDARIES = (20, 100)

# The fixed decision threshold of MultilabelReport.f1.
_F1_THRESHOLD = 0.5
# Average precision sorts the scores of this many entries (N x labels) at a time.
_AP_BLOCK = 1 << 19


@dataclass(frozen=True)
class LabelGroup:
    """The labels of one frequency group of a :class:`MultilabelReport` and their averages.

    Attributes:
        name: ``"head"``, ``"medium"`` or ``"tail"``.
        rule: which labels belong to it, in words (e.g. "more than 100 training positives").
        indices: the positions of its labels, in label order (may be empty).
        map: mean average precision of its labels that have a positive in ``y_true``, or None
            when none has.
        macro_f1: mean F1 at the threshold 0.5 of those labels, or None.
        macro_f1_tuned: mean F1 at the given per-label thresholds of those labels, or None
            (also without thresholds).
    """

    name: str
    rule: str
    indices: tuple[int, ...]
    map: float | None
    macro_f1: float | None
    macro_f1_tuned: float | None


@dataclass(frozen=True)
class MultilabelReport:
    """Per-label, per-group and summary metrics of a multilabel classifier (see
    :func:`multilabel_report`).

    Per-label arrays hold NaN for the labels without a positive in ``y_true`` (their AP and F1
    are undefined); these labels are listed in :attr:`undefined_labels` and left out of every
    average, so no average is ever NaN.

    Attributes:
        labels: the name of each label, length L.
        positives: int64 (L,), positives of each label in ``y_true`` (ignored entries aside).
        annotated: int64 (L,), entries of each label that are not ignored (N without
            ``ignore_value``).
        average_precision: float64 (L,), average precision per label.
        f1: float64 (L,), F1 per label, predicting positive where the score is >= 0.5.
        map: mean average precision over the labels with a positive.
        macro_f1: mean of ``f1`` over the labels with a positive.
        groups: the head, medium and tail :class:`LabelGroup`, in that order.
        group_by: ``"counts"`` (training positives) or ``"y_true"`` (positives in the evaluated
            data, without ``counts``): the label frequency that defines the groups.
        boundaries: ``(low, high)``: tail below ``low``, medium from ``low`` to ``high``
            inclusive, head above ``high``.
        counts: int64 (L,), training positives per label, or None.
        thresholds: float64 (L,), the per-label thresholds given, or None.
        f1_tuned: float64 (L,), F1 per label at ``thresholds``, or None.
        macro_f1_tuned: mean of ``f1_tuned`` over the labels with a positive, or None.
    """

    labels: tuple[Hashable, ...]
    positives: np.ndarray
    annotated: np.ndarray
    average_precision: np.ndarray
    f1: np.ndarray
    map: float
    macro_f1: float
    groups: tuple[LabelGroup, ...]
    group_by: str
    boundaries: tuple[float, float]
    counts: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    f1_tuned: np.ndarray | None = None
    macro_f1_tuned: float | None = None

    @property
    def num_labels(self) -> int:
        """L, the number of labels."""
        return len(self.labels)

    @property
    def frequency(self) -> np.ndarray:
        """The label frequency the groups are formed from: ``counts``, else ``positives``."""
        return self.positives if self.counts is None else self.counts

    @property
    def label_groups(self) -> tuple[str, ...]:
        """The group name of each label, length L."""
        names = [""] * self.num_labels
        for g in self.groups:
            for i in g.indices:
                names[i] = g.name
        return tuple(names)

    @property
    def undefined_labels(self) -> tuple[Hashable, ...]:
        """The labels without a positive in ``y_true``, left out of every average."""
        return tuple(self.labels[i] for i in np.flatnonzero(self.positives == 0))

    def group(self, name: str) -> LabelGroup:
        """The group called ``name`` (one of :data:`LABEL_GROUPS`)."""
        check_choice("name", name, LABEL_GROUPS)
        return self.groups[LABEL_GROUPS.index(name)]

    def summary(self) -> dict[str, float]:
        """The headline numbers by name, in :data:`MULTILABEL_SUMMARY_METRICS` order: mAP and
        macro F1 (at 0.5 and, with thresholds, tuned) overall and per group. Numbers that do
        not exist (no thresholds, a group without labels with positives) are absent."""
        values: dict[str, float | None] = {
            "map": self.map,
            "macro_f1": self.macro_f1,
            "macro_f1_tuned": self.macro_f1_tuned,
        }
        for metric in ("map", "macro_f1", "macro_f1_tuned"):
            for g in self.groups:
                values[f"{g.name}_{metric}"] = getattr(g, metric)
        return {k: float(v) for k in MULTILABEL_SUMMARY_METRICS if (v := values[k]) is not None}

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-serialisable: NaN (an undefined metric) and infinite thresholds
        (predict no positive) become None."""

        def arr(a: np.ndarray | None) -> list[Any] | None:
            return None if a is None else [x if np.isfinite(x) else None for x in a.tolist()]

        return {
            **self.summary(),
            "labels": [_json_name(c) for c in self.labels],
            "group_by": self.group_by,
            "boundaries": list(self.boundaries),
            "groups": {
                g.name: {
                    "rule": g.rule,
                    "labels": [_json_name(self.labels[i]) for i in g.indices],
                    "map": g.map,
                    "macro_f1": g.macro_f1,
                    "macro_f1_tuned": g.macro_f1_tuned,
                }
                for g in self.groups
            },
            "undefined_labels": [_json_name(c) for c in self.undefined_labels],
            "counts": None if self.counts is None else self.counts.tolist(),
            "positives": self.positives.tolist(),
            "annotated": self.annotated.tolist(),
            "group": list(self.label_groups),
            "average_precision": arr(self.average_precision),
            "f1": arr(self.f1),
            "thresholds": arr(self.thresholds),
            "f1_tuned": arr(self.f1_tuned),
        }

    def plot_average_precision(self, title: str = "Average precision per label") -> Any:
        """Average precision of each label against its frequency (log axis), coloured by
        group, as a matplotlib figure."""
        from .plots import plot_label_average_precision

        source = "training positives" if self.group_by == "counts" else "positives in y_true"
        return plot_label_average_precision(
            self.average_precision,
            self.frequency,
            self.label_groups,
            boundaries=self.boundaries,
            xlabel=source,
            title=title,
        )

    def plot_groups(self, title: str = "Scores by label group") -> Any:
        """mAP and macro F1 of the head, medium and tail groups, as a matplotlib bar chart."""
        from .plots import plot_group_scores

        series = {"mAP": "map", "macro F1 at 0.5": "macro_f1"}
        if self.thresholds is not None:
            series["macro F1, tuned thresholds"] = "macro_f1_tuned"
        scores = {
            label: {f"{g.name} ({len(g.indices)})": getattr(g, attr) for g in self.groups}
            for label, attr in series.items()
        }
        return plot_group_scores(scores, title=title)

    def print(self, console: Any = None, *, max_labels: int = 40) -> None:
        """Print the per-label table (the ``max_labels`` most frequent and rarest labels when
        there are more), the groups and the summary with rich."""
        from rich.console import Console
        from rich.table import Table

        max_labels = check_positive_int("max_labels", max_labels)
        console = console or Console()

        def num(x: float | None) -> str:
            return "n/a" if x is None or x != x else f"{x:.3f}"

        table = Table(title="Per label, most frequent first", title_justify="left")
        columns = ["label", "group"]
        columns += ["train pos."] if self.counts is not None else []
        columns += ["pos.", "AP", "F1@0.5"]
        columns += ["threshold", "F1@thr."] if self.thresholds is not None else []
        for col in columns:
            table.add_column(col, justify="right")
        order = np.argsort(-self.frequency, kind="stable")
        head, tail = (max_labels + 1) // 2, max_labels // 2
        if order.size > max_labels:
            shown: list[int | None] = [*order[:head], None, *order[order.size - tail :]]
        else:
            shown = list(order)
        groups = self.label_groups
        for i in shown:
            if i is None:
                table.add_row(f"… {self.num_labels - max_labels:,} more")
                continue
            row = [str(self.labels[i]), groups[i]]
            row += [f"{self.counts[i]:,}"] if self.counts is not None else []
            row += [f"{self.positives[i]:,}", num(self.average_precision[i]), num(self.f1[i])]
            if self.thresholds is not None and self.f1_tuned is not None:
                row += [f"{self.thresholds[i]:.4g}", num(self.f1_tuned[i])]
            table.add_row(*row)
        console.print(table)

        by_group = Table(title="Groups", title_justify="left")
        for col in ("group", "labels", "rule", "mAP", "macro F1@0.5"):
            by_group.add_column(col, justify="right" if col != "rule" else "left")
        if self.thresholds is not None:
            by_group.add_column("macro F1@thr.", justify="right")
        for g in self.groups:
            row = [g.name, f"{len(g.indices):,}", g.rule, num(g.map), num(g.macro_f1)]
            row += [num(g.macro_f1_tuned)] if self.thresholds is not None else []
            by_group.add_row(*row)
        console.print(by_group)

        summary = Table(title="Summary", title_justify="left")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        for k, v in self.summary().items():
            summary.add_row(k, f"{v:.4f}")
        console.print(summary)
        undefined = self.undefined_labels
        if undefined:
            names = ", ".join(str(c) for c in undefined[:20])
            more = f" and {len(undefined) - 20} more" if len(undefined) > 20 else ""
            console.print(
                f"{len(undefined)} label(s) without a positive in y_true, left out of every "
                f"average: {names}{more}"
            )


def _json_name(c: Hashable) -> Any:
    return c if isinstance(c, (str, int)) else str(c)


def multilabel_report(
    y_true: Any,
    y_score: Any,
    *,
    counts: Any = None,
    thresholds: Any = None,
    boundaries: tuple[float, float] | None = None,
    label_names: Sequence[Hashable] | None = None,
    ignore_value: float | None = None,
) -> MultilabelReport:
    """Per-label average precision and F1, and their averages over head, medium and tail labels.

    For label :math:`l`, with its (non-ignored) scores sorted from the largest, and
    :math:`P_k, R_k` the precision and recall when every sample scoring at least the k-th
    largest distinct score is predicted positive (:math:`R_0 = 0`):

    .. math::

        \\text{AP}_l = \\sum_k (R_k - R_{k-1})\\, P_k, \\qquad
        F_1^{(l)}(t) = \\frac{2\\, TP}{2\\, TP + FP + FN} \\text{ with }
        \\hat{y}_{il} = [s_{il} \\ge t_l], \\qquad
        \\text{mAP} = \\frac{1}{|D|} \\sum_{l \\in D} \\text{AP}_l

    the step-wise average precision of scikit-learn's ``average_precision_score`` and
    torchmetrics' ``MultilabelAveragePrecision`` (no interpolation), and :math:`D` the labels
    with at least one positive in ``y_true``. AP and F1 are undefined (0 / 0 recall) for the
    other labels: they are NaN per label, named in :attr:`MultilabelReport.undefined_labels`
    and left out of every average (torchmetrics instead scores them 0 and averages them in).
    Macro F1 is the mean of :math:`F_1^{(l)}` over :math:`D` likewise.

    F1 is always reported at the threshold 0.5 and, given ``thresholds``, at those per-label
    thresholds, with the same ">=" rule as :func:`~counterpoise.posthoc.tune_thresholds`. Tune
    them on validation data, not on the data evaluated here (thresholds tuned on the test
    labels make F1 optimistic).

    The labels are grouped by frequency :math:`n_l` with ``boundaries`` :math:`(b_1, b_2)`:
    **tail** :math:`n_l < b_1`, **medium** :math:`b_1 \\le n_l \\le b_2`, **head**
    :math:`n_l > b_2`. With ``counts``, :math:`n_l` is the number of training positives and
    the default boundaries are (20, 100), the few/medium/many-shot split of Liu et al. ("Large-
    scale long-tailed recognition in an open world", CVPR 2019), used for multilabel data by
    Wu et al. ("Distribution-balanced loss", ECCV 2020). Without ``counts``, :math:`n_l` is the
    number of positives in ``y_true`` and the default boundaries are its tertiles (the 1/3 and
    2/3 quantiles over the labels, linearly interpolated), so that the groups are the rarest,
    middle and most frequent thirds of the labels; the report states which (``group_by``,
    ``boundaries``). A group without any label with a positive has no averages (None).

    Args:
        y_true: true labels, shape (N, L), 0 or 1 (bool, integer or float), or
            ``ignore_value`` for entries that are not annotated.
        y_score: predicted probabilities, shape (N, L), in [0, 1] (sigmoid outputs: pass
            ``logits.sigmoid()``, the fixed threshold 0.5 is a probability); finite; float16
            and bfloat16 are computed in float64 like every input.
        counts: training positives per label, shape (L,), non-negative whole numbers, or the
            :class:`~counterpoise.LabelCounts` of the training labels (its ``classes`` name the
            labels when ``label_names`` is not given).
        thresholds: per-label decision thresholds, shape (L,), in [0, 1] or ``inf`` (predict
            no positive), or the :class:`~counterpoise.posthoc.Thresholds` that
            :func:`~counterpoise.posthoc.tune_thresholds` returns.
        boundaries: ``(b1, b2)`` with :math:`0 \\le b_1 \\le b_2`, finite. Default (20, 100)
            with ``counts``, the tertiles of the positives in ``y_true`` without.
        label_names: a name per label (default: those of ``counts``, else 0..L-1).
        ignore_value: the value of ``y_true`` that marks an entry as not annotated: a number
            outside [0, 1] (e.g. -1) or ``float("nan")``, as for the losses; such entries are
            left out of every metric of their label. Default: none.

    Returns:
        A :class:`MultilabelReport`.

    Raises:
        ValueError: for arrays that are empty, not 2-D or of different shapes, targets other
            than 0, 1 and ``ignore_value``, an ``ignore_value`` inside [0, 1], scores that are
            not finite or outside [0, 1], counts, thresholds or names of the wrong length or
            with invalid values, bad ``boundaries``, or targets without any positive at all.
        TypeError: for inputs (``ignore_value`` included) that are not real numbers.

    Example:
        >>> y = [[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 0]]
        >>> s = [[0.9, 0.2, 0.1], [0.8, 0.4, 0.3], [0.3, 0.6, 0.2], [0.6, 0.3, 0.4], [0.2, 0.1, 0.5]]
        >>> r = multilabel_report(y, s, counts=[500, 40, 3], label_names=["cat", "dog", "owl"])
        >>> r.average_precision.round(3).tolist(), round(r.map, 3)
        ([1.0, 1.0, 0.5], 0.833)
        >>> r.f1.round(3).tolist()
        [1.0, 0.667, 0.0]
        >>> r.summary()["tail_map"], r.group("tail").rule
        (0.5, 'fewer than 20 training positives')
        >>> r = multilabel_report(y, s, counts=[500, 40, 3], thresholds=[0.5, 0.4, 0.4])
        >>> r.f1_tuned.round(3).tolist(), round(r.macro_f1_tuned, 3)
        ([1.0, 1.0, 0.667], 0.889)
    """
    positive, valid = _multilabel_targets(y_true, ignore_value)
    s = _as_numpy("y_score", y_score)
    if s.shape != positive.shape:
        fail("y_score", f"of the shape of `y_true` {positive.shape}", s.shape)
    if s.dtype.kind not in "biuf":
        fail("y_score", "real numbers", f"an array of dtype {s.dtype}", error=TypeError)
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        fail("y_score", "finite (no NaN or infinity)", _first_position(~np.isfinite(s), s))
    if s.min() < 0 or s.max() > 1:
        fail(
            "y_score",
            "probabilities in [0, 1] (pass logits.sigmoid(), not logits)",
            f"values in [{s.min():.3g}, {s.max():.3g}]",
        )
    num_labels = positive.shape[1]
    train = _label_counts(counts, num_labels)
    names_default = getattr(counts, "classes", None) if train is not None else None
    names = tuple(label_names if label_names is not None else names_default or range(num_labels))
    if len(names) != num_labels:
        fail("label_names", f"{num_labels} names (one per label)", len(names))
    tuned = _label_thresholds(thresholds, num_labels)

    positives = positive.sum(axis=0).astype(np.int64)
    if positives.sum() == 0:
        fail("y_true", "a matrix with at least one positive (1) that is not ignored", "none")
    defined = positives > 0
    ap = _average_precision(s, positive, valid)
    f1 = _f1(s >= _F1_THRESHOLD, positive, valid, defined)
    f1_tuned = None if tuned is None else _f1(s >= tuned, positive, valid, defined)

    frequency = positives if train is None else train
    if boundaries is None:
        if train is None:
            low, high = np.quantile(positives, [1 / 3, 2 / 3]).tolist()
            bounds = (low, high)
        else:
            bounds = (float(DEFAULT_BOUNDARIES[0]), float(DEFAULT_BOUNDARIES[1]))
    else:
        bounds = _check_boundaries(boundaries)
    unit = "positives in y_true" if train is None else "training positives"
    low, high = bounds
    members = (frequency > high, (frequency >= low) & (frequency <= high), frequency < low)
    rules = (
        f"more than {high:g} {unit}",
        f"{low:g} to {high:g} {unit}",
        f"fewer than {low:g} {unit}",
    )
    groups = tuple(
        LabelGroup(
            name=name,
            rule=rule,
            indices=tuple(int(i) for i in np.flatnonzero(member)),
            map=_mean_defined(ap, member & defined),
            macro_f1=_mean_defined(f1, member & defined),
            macro_f1_tuned=None if f1_tuned is None else _mean_defined(f1_tuned, member & defined),
        )
        for name, member, rule in zip(LABEL_GROUPS, members, rules)
    )
    return MultilabelReport(
        labels=names,
        positives=positives,
        annotated=valid.sum(axis=0).astype(np.int64),
        average_precision=ap,
        f1=f1,
        map=float(ap[defined].mean()),
        macro_f1=float(f1[defined].mean()),
        groups=groups,
        group_by="y_true" if train is None else "counts",
        boundaries=bounds,
        counts=train,
        thresholds=tuned,
        f1_tuned=f1_tuned,
        macro_f1_tuned=None if f1_tuned is None else float(f1_tuned[defined].mean()),
    )


def _first_position(bad: np.ndarray, values: np.ndarray) -> str:
    """The first flagged value and its index, for error messages."""
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{values[where].item()} at index {where}"


def _multilabel_targets(y_true: Any, ignore_value: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The positives of the checked targets (booleans (N, L)) and the mask of the entries
    that are not ignored."""
    y = _as_numpy("y_true", y_true)
    if y.ndim != 2 or y.size == 0:
        fail("y_true", "a non-empty array of shape (N, L)", y.shape)
    if y.dtype.kind not in "biuf":
        fail("y_true", "real numbers", f"an array of dtype {y.dtype}", error=TypeError)
    ignore_value = _ignore_value(ignore_value)  # the losses' rule: NaN or outside [0, 1]
    if ignore_value is None:
        valid = np.ones(y.shape, dtype=bool)
    elif math.isnan(ignore_value):
        valid = ~np.isnan(y)
    else:
        valid = y != ignore_value
    bad = valid & (y != 0) & (y != 1)
    if bad.any():
        also = "" if ignore_value is None else f" (or the ignore_value {ignore_value:g})"
        fail("y_true", f"0 or 1{also}", _first_position(bad, y))
    return (y == 1) & valid, valid


def _label_counts(counts: Any, num_labels: int) -> np.ndarray | None:
    """Training positives per label as int64 (L,), or None."""
    if counts is None:
        return None
    n = _as_numpy("counts", getattr(counts, "counts", counts))
    if n.dtype.kind not in "biuf":
        fail("counts", "real numbers", f"an array of dtype {n.dtype}", error=TypeError)
    if n.shape != (num_labels,):
        fail("counts", f"training positives per label, of shape ({num_labels},)", n.shape)
    bad = ~np.isfinite(n) | (n < 0) | (n != np.round(n))
    if bad.any():
        fail("counts", "non-negative whole numbers", _first_position(bad, n))
    return n.astype(np.int64)


def _label_thresholds(thresholds: Any, num_labels: int) -> np.ndarray | None:
    """Per-label thresholds as float64 (L,), or None."""
    if thresholds is None:
        return None
    if isinstance(thresholds, Thresholds):
        thresholds = thresholds.thresholds
    t = _as_numpy("thresholds", thresholds)
    if t.dtype.kind not in "biuf":
        fail("thresholds", "real numbers", f"an array of dtype {t.dtype}", error=TypeError)
    if t.shape != (num_labels,):
        fail("thresholds", f"one per label, of shape ({num_labels},)", t.shape)
    t = t.astype(np.float64)
    bad = ~(((t >= 0) & (t <= 1)) | (t == np.inf))
    if bad.any():
        fail(
            "thresholds",
            "in [0, 1] or inf, on the scale of the probabilities `y_score`",
            _first_position(bad, t),
        )
    return t


def _check_boundaries(boundaries: Any) -> tuple[float, float]:
    try:
        low, high = boundaries
    except (TypeError, ValueError):
        fail("boundaries", "a pair (low, high)", boundaries)
    low = check_number("boundaries[0]", low, low=0.0)
    high = check_number("boundaries[1]", high, low=0.0)
    if low > high:
        fail("boundaries", "(low, high) with low <= high", boundaries)
    return low, high


def _average_precision(score: np.ndarray, positive: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Step-wise average precision of every label of scores (N, L), over the entries that are
    ``valid``; NaN for a label without a positive.

    :math:`\\sum_k (R_k - R_{k-1}) P_k` is the mean, over the positives, of the precision at
    the cut that first predicts them positive: the end of their run of equal scores, since
    ">=" predicts a whole run at once. One stable sort per label (the labels in blocks, to
    bound the memory), cumulative sums, and a reverse running minimum that finds each run's
    end. Ignored entries take part in the sort but in no count, so they change no cut.
    """
    n, num_labels = score.shape
    out = np.full(num_labels, np.nan)
    width = max(1, _AP_BLOCK // n)
    index = np.arange(n)
    for start in range(0, num_labels, width):
        cols = slice(start, start + width)
        s = np.ascontiguousarray(score[:, cols].T)
        order = np.argsort(-s, axis=1, kind="stable")
        ranked = np.take_along_axis(s, order, axis=1)
        hit = np.take_along_axis(positive[:, cols].T, order, axis=1)
        tp = hit.cumsum(axis=1)
        predicted = np.take_along_axis(valid[:, cols].T, order, axis=1).cumsum(axis=1)
        last = np.ones(s.shape, dtype=bool)
        last[:, :-1] = ranked[:, 1:] != ranked[:, :-1]
        end = np.minimum.accumulate(np.where(last, index, n)[:, ::-1], axis=1)[:, ::-1]
        # at a positive's cut at least that positive is predicted: the floor of 1 only spares
        # the 0 / 0 of runs of ignored entries, which are not summed
        precision = np.take_along_axis(tp, end, axis=1) / np.maximum(
            np.take_along_axis(predicted, end, axis=1), 1
        )
        total = tp[:, -1]
        summed = (precision * hit).sum(axis=1)
        out[cols] = np.divide(summed, total, out=np.full(total.shape, np.nan), where=total > 0)
    return out


def _f1(
    predicted: np.ndarray, positive: np.ndarray, valid: np.ndarray, defined: np.ndarray
) -> np.ndarray:
    """F1 per label of boolean predictions (N, L) over the entries not ignored; NaN where
    undefined (no positive: the denominator 2 TP + FP + FN >= P is positive elsewhere)."""
    predicted = predicted & valid
    tp = (predicted & positive).sum(axis=0)
    denominator = predicted.sum(axis=0) + positive.sum(axis=0)  # 2 TP + FP + FN
    return np.divide(2.0 * tp, denominator, out=np.full(tp.shape, np.nan), where=defined)


def _mean_defined(values: np.ndarray, member: np.ndarray) -> float | None:
    return float(values[member].mean()) if member.any() else None
