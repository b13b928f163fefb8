"""Multilabel evaluation: per-label average precision and F1, and their averages over the head,
medium and tail labels.

:func:`multilabel_report` gives per-label average precision and F1 (at 0.5 and at tuned per-label
thresholds) and their averages over the head, medium and tail labels, grouped by training
frequency, so that the rare labels are seen apart from the frequent ones.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from .. import plots
from .._checks import check_choice, check_ignore_value, check_number, fail
from . import _tables
from ._common import _as_numpy

__all__ = [
    "DEFAULT_BOUNDARIES",
    "LABEL_GROUPS",
    "MULTILABEL_SUMMARY_METRICS",
    "LabelGroup",
    "MultilabelReport",
    "Thresholds",
    "multilabel_report",
]

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


class Thresholds(NamedTuple):
    """The result of :func:`~counterpoise.posthoc.tune_thresholds`, which
    :func:`multilabel_report` takes as its ``thresholds``.

    Attributes:
        thresholds: one threshold per label, shape (L,) (a 0-d tensor for scores of shape
            (N,)), in the dtype of floating-point scores and float64 for integer or boolean
            scores; predict positive where ``scores >= thresholds``. A threshold of ``inf``
            means: predict no positive.
        values: float64, the metric achieved on the validation data with each threshold (the
            F-beta score, or the expected cost per sample in units of a false positive's cost).
    """

    thresholds: torch.Tensor
    values: torch.Tensor


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
        source = "training positives" if self.group_by == "counts" else "positives in y_true"
        return plots.plot_label_average_precision(
            self.average_precision,
            self.frequency,
            self.label_groups,
            boundaries=self.boundaries,
            xlabel=source,
            title=title,
        )

    def plot_groups(self, title: str = "Scores by label group") -> Any:
        """mAP and macro F1 of the head, medium and tail groups, as a matplotlib bar chart."""
        series = {"mAP": "map", "macro F1 at 0.5": "macro_f1"}
        if self.thresholds is not None:
            series["macro F1, tuned thresholds"] = "macro_f1_tuned"
        scores = {
            label: {f"{g.name} ({len(g.indices)})": getattr(g, attr) for g in self.groups}
            for label, attr in series.items()
        }
        return plots.plot_group_scores(scores, title=title)

    def print(self, console: Any = None, *, max_labels: int = 40) -> None:
        """Print the per-label table (the ``max_labels`` most frequent and rarest labels when
        there are more), the groups and the summary with rich."""
        _tables.print_multilabel_report(self, console, max_labels=max_labels)


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
    ignore_value = check_ignore_value(ignore_value)  # the losses' rule: NaN or outside [0, 1]
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
