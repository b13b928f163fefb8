"""Imbalance-aware evaluation of a classifier: what happened to every class, not just the average.

Plain accuracy on long-tailed data is dominated by the head classes. :func:`imbalance_report`
combines the measures that expose the tail: per-class recall, balanced accuracy (the mean
recall), macro-F1, the geometric mean and the minimum of the recalls, Matthews' correlation
coefficient, per-class average precision, and the expected calibration error of the predicted
probabilities. The label metrics are computed from the confusion matrix by
:func:`confusion_metrics`, with scikit-learn's definitions (a sufficient statistic, so that
:class:`ImbalanceMetrics` can accumulate them over batches and processes, and cheap enough to
score every epoch of ``compare``); this module chooses, validates and presents them. The calibration error is that of
:class:`~counterpoise.metrics.calibration.CalibrationBins`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import _collectives as distributed
from .. import plots
from .._checks import (
    PROBABILITY_TOLERANCE,
    check_positive_int,
    describe_tensor,
    device_assert,
    eager_checks,
    fail,
)
from .._optional import require
from . import _tables
from ._common import _as_numpy
from .calibration import CalibrationBins

__all__ = [
    "CONFUSION_METRICS",
    "SUMMARY_METRICS",
    "ImbalanceMetrics",
    "ImbalanceReport",
    "confusion_metrics",
    "imbalance_report",
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

#: The summary metrics that the confusion matrix alone gives (see :func:`confusion_metrics`).
CONFUSION_METRICS = (
    "balanced_accuracy",
    "macro_f1",
    "worst_class_recall",
    "gmean_recall",
    "accuracy",
)


def confusion_metrics(confusion: np.ndarray) -> dict[str, Any]:
    """The label metrics of a confusion matrix (rows true classes, columns predictions).

    Per class, with :math:`t_c` the correct predictions, :math:`n_c` the support and
    :math:`p_c` the predictions of class :math:`c` (each 0 where its denominator is 0, as
    scikit-learn's ``zero_division=0``):

    .. math::

        \\text{precision}_c = t_c / p_c, \\quad \\text{recall}_c = t_c / n_c, \\quad
        F_1 = 2 t_c / (n_c + p_c);

    ``balanced_accuracy``, ``worst_class_recall`` and ``gmean_recall`` are the mean, minimum
    and geometric mean (0 when one is 0) of the recalls of the classes present, ``macro_f1``
    the mean F1 over the classes present or predicted (those of scikit-learn's
    ``f1_score(average="macro")``; a class absent from both has no F1), ``accuracy`` the trace
    over the total. Cheap enough to score every epoch of a training run;
    :func:`imbalance_report` builds on it.

    Args:
        confusion: (C, C) counts with at least one sample.

    Returns:
        ``precision``, ``recall``, ``f1`` (float64 (C,)), ``support`` (int64 (C,)) and the
        float metrics of :data:`CONFUSION_METRICS`, by name.

    Example:
        >>> m = confusion_metrics(np.array([[8, 2], [1, 1]]))
        >>> m["recall"].tolist(), m["balanced_accuracy"], round(m["macro_f1"], 4)
        ([0.8, 0.5], 0.65, 0.6211)
    """
    # in float64 torch: the same operations, in the same order, as every epoch's score
    cm = torch.as_tensor(np.asarray(confusion)).double()
    correct, support, predicted = cm.diag(), cm.sum(1), cm.sum(0)
    zeros = torch.zeros_like(correct)
    precision = torch.where(predicted > 0, correct / predicted.clamp_min(1), zeros)
    recall = torch.where(support > 0, correct / support.clamp_min(1), zeros)
    both = support + predicted
    f1 = torch.where(both > 0, 2 * correct / both.clamp_min(1), zeros)
    present = recall[support > 0]
    shown = f1[(support > 0) | (predicted > 0)]
    gmean = present.clamp_min(1e-300).log().mean().exp() if bool((present > 0).all()) else 0.0
    return {
        "precision": precision.numpy(),
        "recall": recall.numpy(),
        "f1": f1.numpy(),
        "support": support.numpy().astype(np.int64),
        "accuracy": float(correct.sum() / cm.sum()),
        "balanced_accuracy": float(present.mean()),
        "macro_f1": float(shown.mean()),
        "gmean_recall": float(gmean),
        "worst_class_recall": float(present.min()),
    }


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
        macro_f1: unweighted mean of the per-class F1 over the classes present in ``y_true``
            or predicted (a class absent from both has no F1: scikit-learn's default labels).
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
        return plots.plot_confusion_matrix(self.confusion, self.classes, title=title)

    def plot_reliability(self, title: str = "Reliability") -> Any:
        """Accuracy against confidence per calibration bin, as a matplotlib figure."""
        if self.calibration is None:
            fail("calibration", "present (the report needs probabilities)", None)
        return plots.plot_reliability_bins({"model": self.calibration}, title=title)

    def print(self, console: Any = None) -> None:
        """Print the per-class table and the summary with rich."""
        _tables.print_imbalance_report(self, console)


def _check_probabilities(probs: np.ndarray, num_classes: int) -> np.ndarray:
    if probs.ndim == 1:  # binary: the probability of class 1
        probs = np.stack([1.0 - probs, probs], axis=1)
    if probs.shape[1] != num_classes:
        fail("y_score", f"probabilities of shape (N, {num_classes})", probs.shape)
    if not np.all(np.isfinite(probs)):
        fail("y_score", "finite probabilities", "NaN or infinity")
    rows = probs.sum(axis=1)
    if (
        probs.min() < -PROBABILITY_TOLERANCE
        or probs.max() > 1 + PROBABILITY_TOLERANCE
        or np.abs(rows - 1).max() > PROBABILITY_TOLERANCE
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
    matthews_corrcoef = require("sklearn.metrics", extra="metrics").matthews_corrcoef
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
    skm = require("sklearn.metrics", extra="metrics")

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
    # what the number of classes comes from, named when it is below 2
    source = "num_classes"
    shown: Any = num_classes
    if num_classes is None:
        if classes is not None:
            num_classes, source, shown = len(classes), "classes", list(classes)
        elif scored and s.ndim == 2:
            num_classes, source, shown = s.shape[1], "y_score_or_pred", s.shape
        elif scored:
            num_classes = 2
        else:
            num_classes = int(max(y.max(), s.max())) + 1
            source, shown = "y_true", f"only class {num_classes - 1}"
    num_classes = check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        what = {
            "classes": "at least 2 class names",
            "y_score_or_pred": "probabilities of at least 2 classes",
            "y_true": "labels of at least 2 classes (or give `num_classes`)",
        }.get(source, "at least 2")
        fail(source, what, shown)
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

    The label metrics are :func:`confusion_metrics`; scikit-learn computes Matthews'
    correlation from the C x C (true, predicted) pairs weighted by their counts, which gives
    exactly what it gives on the samples themselves.
    """
    c = confusion.shape[0]
    true, pred = np.repeat(np.arange(c), c), np.tile(np.arange(c), c)
    weight = confusion.ravel().astype(np.float64)
    return ImbalanceReport(
        classes=classes,
        confusion=confusion.astype(np.int64),
        **confusion_metrics(confusion),
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
        # sums of batches on an accelerator, kept there until compute()
        self._on_device: dict[str, torch.Tensor] | None = None

    def update(self, y_true: Any, y_score_or_pred: Any) -> None:
        """Add a batch: true classes (N,) and predictions (N,) or probabilities (N, C), as for
        :func:`imbalance_report`. Every batch must be of the same kind.

        Tensors on an accelerator are summed there, without a host-device synchronisation:
        their values are checked by device-side assertions, and the sums (in float32 for the
        calibration bins) reach the host in :meth:`compute`.
        """
        if (
            isinstance(y_true, torch.Tensor)
            and isinstance(y_score_or_pred, torch.Tensor)
            and not eager_checks(y_true, y_score_or_pred)
        ):
            self._update_on_device(y_true, y_score_or_pred)
            return
        y, probs, pred, _, _ = _validate(
            y_true, y_score_or_pred, classes=self.classes, num_classes=None, y_pred=None
        )
        self._same_kind(probs is not None)
        c = self.num_classes
        self.confusion += np.bincount(y * c + pred, minlength=c * c).reshape(c, c)
        if probs is not None:
            bins = CalibrationBins.of(probs, y, self.n_bins)
            self.calibration = bins if self.calibration is None else self.calibration + bins

    def _same_kind(self, scored: bool) -> None:
        if self._scored is not None and scored != self._scored:
            fail(
                "y_score_or_pred",
                "of the same kind in every batch (all probabilities or all predictions)",
                "probabilities" if scored else "predictions",
            )
        self._scored = scored

    def _update_on_device(self, y: torch.Tensor, s: torch.Tensor) -> None:
        """:meth:`update` for tensors on an accelerator: shapes checked here, values on the
        device, and the confusion matrix and bins summed there (``index_add_``: unlike
        ``bincount``, it needs no maximum read back)."""
        c, n_bins = self.num_classes, self.n_bins
        if y.ndim != 1 or y.numel() == 0:
            fail("y_true", "a non-empty 1-D tensor of class indices", describe_tensor(y))
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            fail("y_true", "integer class indices", describe_tensor(y), error=TypeError)
        if s.ndim == 0 or s.shape[0] != y.shape[0] or s.device != y.device:
            fail(
                "y_score_or_pred",
                f"{y.shape[0]} rows on {y.device} like `y_true`",
                describe_tensor(s),
            )
        scored = s.is_floating_point()
        self._same_kind(scored)
        y = y.long()
        device_assert((y >= 0) & (y < c), "y_true", f"class indices in [0, {c})")
        state = self._on_device
        if state is None:
            state = self._on_device = {
                "confusion": torch.zeros(c * c, dtype=torch.long, device=y.device),
                "count": torch.zeros(n_bins, dtype=torch.long, device=y.device),
                "confidence": torch.zeros(n_bins, device=y.device),
                "correct": torch.zeros(n_bins, device=y.device),
            }
        if scored:
            probs = s if s.ndim == 2 else torch.stack([1 - s, s], dim=1)
            if probs.ndim != 2 or probs.shape[1] != c:
                fail("y_score", f"probabilities of shape (N, {c})", describe_tensor(s))
            probs = probs.float()
            rows = probs.sum(dim=1)
            tol = PROBABILITY_TOLERANCE
            ok = (
                (probs >= -tol).all(dim=1)
                & (probs <= 1 + tol).all(dim=1)
                & ((rows - 1).abs() <= tol)
            )
            device_assert(ok, "y_score", "probabilities in [0, 1] whose rows sum to 1")
            probs = probs.clamp(0.0, 1.0)
            probs = probs / probs.sum(dim=1, keepdim=True)
            conf, pred = probs.max(dim=1)
            edges = torch.linspace(0.0, 1.0, n_bins + 1, device=y.device)[1:-1]
            which = torch.searchsorted(edges, conf, side="left")
            state["count"].index_add_(0, which, torch.ones_like(which))
            state["confidence"].index_add_(0, which, conf)
            state["correct"].index_add_(0, which, (pred == y).float())
        else:
            if s.ndim != 1 or s.is_complex() or s.dtype == torch.bool:
                fail(
                    "y_score_or_pred",
                    "integer predictions of shape (N,) or float probabilities",
                    describe_tensor(s),
                )
            pred = s.long()
            device_assert((pred >= 0) & (pred < c), "y_score_or_pred", f"class indices in [0, {c})")
        state["confusion"].index_add_(0, y * c + pred, torch.ones_like(y))

    def _host_sums(self) -> tuple[np.ndarray, CalibrationBins | None]:
        """The confusion matrix and bins of every batch, those summed on a device included."""
        confusion, bins = self.confusion, self.calibration
        if self._on_device is not None:
            state = {k: v.cpu() for k, v in self._on_device.items()}
            c = self.num_classes
            confusion = confusion + state["confusion"].view(c, c).numpy()
            if self._scored:
                device_bins = CalibrationBins(
                    state["count"].numpy(),
                    state["confidence"].double().numpy(),
                    state["correct"].double().numpy(),
                )
                bins = device_bins if bins is None else bins + device_bins
        return confusion, bins

    def compute(self) -> ImbalanceReport:
        """The report of everything seen (on every rank, when a process group is initialised).

        Raises:
            ValueError: before any update.
        """
        confusion, bins = self._host_sums()
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
