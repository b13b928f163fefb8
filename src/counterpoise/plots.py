"""Matplotlib figures. Every function returns a :class:`matplotlib.figure.Figure` and never
opens a window (the non-interactive Agg canvas is used), so it works on servers and in CI.

The functions take the numbers they draw (arrays, mappings of names to values); the reports of
:mod:`counterpoise.metrics` draw themselves through them. matplotlib is an optional dependency
(the ``plots`` extra), imported when a figure is made.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import check_positive_int, fail
from ._optional import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "plot_class_distribution",
    "plot_confusion_matrix",
    "plot_group_scores",
    "plot_label_average_precision",
    "plot_per_class_recall",
    "plot_reliability_bins",
    "plot_reliability_diagram",
    "plot_training_curves",
    "save_figure",
]

_MAX_TICK_LABELS = 40
# Colours of the label-frequency groups (head, medium, tail) and of any other group.
_GROUP_COLOURS = {"head": "#4C72B0", "medium": "#DD8452", "tail": "#C44E52"}
_OTHER_COLOUR = "#8C8C8C"


def plot_class_distribution(
    counts: Any,
    classes: Sequence[Hashable] | None = None,
    *,
    log: bool = True,
    sort: bool = True,
    title: str | None = None,
) -> Figure:
    """Bar chart of samples per class, largest first, on a log scale by default.

    Args:
        counts: samples per class, shape (C,), or the result of :func:`counterpoise.count_labels`.
        classes: class names for the x axis (default: those of ``counts``, else 0..C-1); the names
            are shown when there are at most 40 classes.
        log: use a logarithmic y axis (classes with zero samples are then drawn as empty).
        sort: order the bars from the largest class to the smallest.
        title: the figure's title (default: C, N and the imbalance ratio).

    Returns:
        The figure.
    """
    names = getattr(counts, "classes", None)
    n = np.asarray(getattr(counts, "counts", counts), dtype=np.float64)
    if n.ndim != 1 or n.size == 0:
        fail("counts", "a non-empty 1-D sequence of class counts", n.shape)
    labels = [str(c) for c in (classes if classes is not None else names or range(n.size))]
    if len(labels) != n.size:
        fail("classes", f"a sequence of {n.size} class names", f"{len(labels)} names")
    order = np.argsort(-n, kind="stable") if sort else np.arange(n.size)

    fig = _figure(max(6.0, min(14.0, 0.35 * n.size)), 4.0)
    ax = fig.add_subplot()
    ax.bar(np.arange(n.size), n[order], color="#4C72B0", width=0.85)
    if log:
        ax.set_yscale("log")
    if n.size <= _MAX_TICK_LABELS:
        ax.set_xticks(
            np.arange(n.size), [labels[i] for i in order], rotation=90 if n.size > 12 else 0
        )
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{n.size} classes, sorted by count" if sort else f"{n.size} classes")
    if n.size <= _MAX_TICK_LABELS:
        ax.set_xlabel("class (sorted by count)" if sort else "class")
    ax.set_ylabel("samples (log scale)" if log else "samples")
    present = n[n > 0]
    ratio = present.max() / present.min() if present.size else float("nan")
    ax.set_title(
        title or f"{n.size} classes, {int(n.sum()):,} samples, imbalance ratio {ratio:,.0f}:1"
    )
    ax.grid(axis="y", alpha=0.3, which="both")
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, e.g. .png, .svg, .pdf) and return it."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        fail("path", "in an existing directory", str(path))
    fig.savefig(path, dpi=dpi)
    return path


def _figure(width: float, height: float) -> Figure:
    """An empty figure on the non-interactive Agg canvas."""
    figure = require("matplotlib.figure", extra="plots")
    agg = require("matplotlib.backends.backend_agg", extra="plots")
    fig = figure.Figure(figsize=(width, height), layout="constrained")
    agg.FigureCanvasAgg(fig)
    return fig


def plot_per_class_recall(
    recalls: Mapping[str, Any], classes: Sequence[Hashable], *, title: str = "Recall per class"
) -> Figure:
    """Heat map of per-class recall, one row per strategy (or model), one column per class.

    Args:
        recalls: name to recall per class, shape (C,), values in [0, 1].
        classes: the class names, length C.
        title: the figure's title.
    """
    names = list(recalls)
    if not names:
        fail("recalls", "at least one entry", {})
    grid = np.array([np.asarray(recalls[n], dtype=np.float64) for n in names])
    if grid.ndim != 2 or grid.shape[1] != len(classes):
        fail("recalls", f"vectors of length {len(classes)} (one per class)", grid.shape)
    fig = _figure(max(6.0, 0.45 * len(classes) + 3.0), max(2.5, 0.32 * len(names) + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_yticks(np.arange(len(names)), names)
    if len(classes) <= _MAX_TICK_LABELS:
        ax.set_xticks(np.arange(len(classes)), [str(c) for c in classes])
        if len(classes) * len(names) <= 400:
            for (i, j), v in np.ndenumerate(grid):
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < 0.6 else "black",
                )
    ax.set_xlabel("class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="recall")
    return fig


def plot_confusion_matrix(
    confusion: Any, classes: Sequence[Hashable], *, title: str = "Confusion matrix"
) -> Figure:
    """The confusion matrix normalised per true class (each row sums to 1).

    Args:
        confusion: counts (C, C), rows true classes and columns predictions.
        classes: the class names, length C.
        title: the figure's title.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    if cm.ndim != 2 or cm.shape != (len(classes), len(classes)):
        fail("confusion", f"a ({len(classes)}, {len(classes)}) matrix", cm.shape)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = max(4.0, 0.45 * len(classes) + 2.0)
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    image = ax.imshow(norm, vmin=0.0, vmax=1.0, cmap="Blues")
    if len(classes) <= _MAX_TICK_LABELS:
        ticks = np.arange(len(classes))
        ax.set_xticks(ticks, [str(c) for c in classes])
        ax.set_yticks(ticks, [str(c) for c in classes])
        if len(classes) <= 20:
            for (i, j), v in np.ndenumerate(norm):
                if v >= 0.005:
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v > 0.5 else "black",
                    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig


def plot_reliability_diagram(
    models: Mapping[str, tuple[Any, Any]], *, n_bins: int = 15, title: str = "Reliability"
) -> Figure:
    """Accuracy against confidence of the top-label probability, per model.

    Args:
        models: name to ``(probs, y_true)``: probabilities (N, C) and true classes (N,).
        n_bins: equal-width confidence bins.
        title: the figure's title.
    """
    bins = {
        name: _ReliabilityBins.of(np.asarray(p, dtype=np.float64), np.asarray(y), n_bins)
        for name, (p, y) in models.items()
    }
    return plot_reliability_bins(bins, title=title)


@dataclass(frozen=True)
class _ReliabilityBins:
    """Per-bin sums of the top-label probability, with the binning rule of
    :class:`counterpoise.metrics.calibration.CalibrationBins` (bin ``b`` of ``B`` holds the
    confidences in :math:`(b / B, (b + 1) / B]`, 0 goes to the first)."""

    count: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray

    @classmethod
    def of(cls, probs: np.ndarray, y: np.ndarray, n_bins: int) -> _ReliabilityBins:
        n_bins = check_positive_int("n_bins", n_bins)
        conf = probs.max(axis=1)
        which = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], conf, side="left")
        return cls(
            count=np.bincount(which, minlength=n_bins),
            confidence=np.bincount(which, weights=conf, minlength=n_bins),
            correct=np.bincount(which, weights=probs.argmax(axis=1) == y, minlength=n_bins),
        )

    @property
    def ece(self) -> float:
        return float(np.abs(self.correct - self.confidence).sum() / self.count.sum())


def plot_reliability_bins(bins: Mapping[str, Any], *, title: str = "Reliability") -> Figure:
    """Reliability diagram from :class:`counterpoise.metrics.CalibrationBins`, one line per
    model: the accuracy of each non-empty bin against its mean confidence.

    Args:
        bins: name to calibration bins (any object with the per-bin arrays ``count``,
            ``confidence`` and ``correct`` and the float ``ece`` of
            :class:`~counterpoise.metrics.CalibrationBins`).
        title: the figure's title.
    """
    if not bins:
        fail("bins", "at least one entry", {})
    fig = _figure(5.5, 5.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    for name, b in bins.items():
        used = b.count > 0
        ax.plot(
            b.confidence[used] / b.count[used],
            b.correct[used] / b.count[used],
            marker="o",
            markersize=3,
            label=f"{name} (ECE {b.ece:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-label probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_training_curves(
    curves: Mapping[str, Sequence[Sequence[float]]],
    *,
    ylabel: str = "validation score",
    title: str = "Training curves",
) -> Figure:
    """Validation score per epoch, one line per strategy (the mean over its runs, which may
    have stopped at different epochs).

    Args:
        curves: name to a list of per-epoch series (one per run).
        ylabel: the y axis label.
        title: the figure's title.
    """
    if not curves:
        fail("curves", "at least one entry", {})
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    for k, (name, runs) in enumerate(curves.items()):
        length = max(len(r) for r in runs)
        padded = np.full((len(runs), length), np.nan)
        for i, r in enumerate(runs):
            padded[i, : len(r)] = r
        style = ("-", "--", ":", "-.")[(k // 10) % 4]  # the colour cycle repeats after ten
        ax.plot(
            np.arange(1, length + 1), np.nanmean(padded, axis=0), style, label=name, linewidth=1.2
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_label_average_precision(
    average_precision: Any,
    frequency: Any,
    groups: Sequence[str],
    *,
    boundaries: tuple[float, float] | None = None,
    xlabel: str = "training positives",
    title: str = "Average precision per label",
) -> Figure:
    """Average precision of each label against its frequency, one colour per group.

    The x axis is logarithmic (symmetric-logarithmic, linear below 1, when a frequency is 0).
    Labels whose average precision is undefined (NaN) are not drawn; the title says how many.

    Args:
        average_precision: per label, shape (L,), in [0, 1] or NaN.
        frequency: per label, shape (L,), non-negative (e.g. training positives).
        groups: the group of each label (e.g. ``"head"``, ``"medium"``, ``"tail"``), length L.
        boundaries: ``(low, high)`` group boundaries, drawn as dashed vertical lines.
        xlabel: what ``frequency`` counts.
        title: the figure's title.

    Returns:
        The figure.
    """
    ap = np.asarray(average_precision, dtype=np.float64)
    n = np.asarray(frequency, dtype=np.float64)
    if ap.ndim != 1 or ap.size == 0:
        fail("average_precision", "a non-empty 1-D sequence", ap.shape)
    if n.shape != ap.shape:
        fail("frequency", f"one value per label, of shape {ap.shape}", n.shape)
    if len(groups) != ap.size:
        fail("groups", f"one group per label ({ap.size})", len(groups))
    ticker = require("matplotlib.ticker", extra="plots")
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    names = np.asarray(groups, dtype=object)
    drawn = np.isfinite(ap)
    for name in dict.fromkeys(groups):
        points = drawn & (names == name)
        ax.scatter(
            n[points],
            ap[points],
            s=18,
            alpha=0.8,
            color=_GROUP_COLOURS.get(name, _OTHER_COLOUR),
            label=f"{name} ({int(points.sum())})",
        )
    if n.min() > 0:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    else:
        ax.set_xscale("symlog", linthresh=1.0)
    # counts as plain numbers; minor ticks unlabelled (their labels collide)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    if boundaries is not None:
        for b in boundaries:
            ax.axvline(b, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel("average precision")
    missing = int((~drawn).sum())
    ax.set_title(f"{title} ({missing} without positives not shown)" if missing else title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def plot_group_scores(
    scores: Mapping[str, Mapping[str, float | None]],
    *,
    ylabel: str = "score",
    title: str = "Scores by label group",
) -> Figure:
    """Grouped bars: one cluster per label group, one bar per series (a metric or a model).

    A group without a value in a series (None or missing) gets no bar but an "n/a" mark.

    Args:
        scores: series name to (group name to value in [0, 1] or None); the groups appear in
            the order first seen.
        ylabel: the y axis label.
        title: the figure's title.

    Returns:
        The figure.
    """
    if not scores:
        fail("scores", "at least one series", {})
    groups = list(dict.fromkeys(g for series in scores.values() for g in series))
    if not groups:
        fail("scores", "series with at least one group", dict(scores))
    fig = _figure(max(5.0, 1.2 * len(groups) * max(1, len(scores)) ** 0.5 + 2.0), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(scores)
    for k, (name, series) in enumerate(scores.items()):
        x = np.arange(len(groups)) - 0.4 + (k + 0.5) * width
        values = [series.get(g) for g in groups]
        present = [v is not None for v in values]
        ax.bar(
            x[present],
            [float(v) for v in values if v is not None],
            width=width * 0.95,
            label=name,
        )
        for xi, ok in zip(x, present):
            if not ok:
                ax.text(xi, 0.01, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_xlim(-0.5, len(groups) - 0.5)  # every cluster, also one that has no bar
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("label group")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
