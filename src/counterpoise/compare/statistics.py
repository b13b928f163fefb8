"""How sure a comparison is: bootstrap intervals of every metric and of paired differences.

A strategy's test score varies for three reasons: the test rows (a few hundred rows measure a
metric with an error of several points), the training seed, and the split. Its interval here
accounts for all three with one hierarchical bootstrap. Replicate :math:`r` draws the splits
with replacement, within each drawn split the seeds with replacement, and the test rows of each
split with replacement (multinomial row weights :math:`w_r`), and averages the metric of the
drawn runs on their reweighted rows:

.. math::

    m_r(s) = \\frac{1}{K S} \\sum_{k \\in K_r} \\sum_{j \\in S_{r,k}} M_s(\\text{run}_{k j};\\, w_{r,k})

The 95% interval is the 2.5th to 97.5th percentile of :math:`m_r(s)`. Every strategy is drawn
with the same splits, seeds and rows in a replicate, so the difference of two strategies,
:math:`m_r(a) - m_r(b)`, is a paired bootstrap: the shared noise of the test rows cancels.
A difference whose interval holds 0 is within noise.

Every metric is computed from weighted sufficient statistics (confusion matrices, calibration
bins, the cumulative sums behind average precision), exactly as the reports compute it from
the rows themselves: with whole-number weights, a metric equals the report's metric on the
rows repeated that often (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..metrics import LABEL_GROUPS

__all__ = [
    "LEVEL",
    "RESAMPLES",
    "combine_runs",
    "describe_difference",
    "interval",
    "multiclass_scores",
    "multilabel_scores",
    "row_weights",
    "weighted_average_precision",
    "within_noise",
]

#: Bootstrap replicates of every interval.
RESAMPLES = 400
#: Coverage of the intervals.
LEVEL = 0.95


def row_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each of ``resamples`` bootstrap samples:
    float64 (resamples, n) multinomial counts, each row of them summing to ``n``."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def _grouped_sums(weights: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
    """(B, size): for each key value, the sum of ``weights``' columns of the rows with it."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sums = np.add.reduceat(weights[:, order], starts, axis=1)
    out = np.zeros((weights.shape[0], size))
    out[:, sorted_keys[starts]] = sums
    return out


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, 0 where b is 0 (scikit-learn's ``zero_division=0``)."""
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)


def weighted_average_precision(
    score: np.ndarray, positive: np.ndarray, valid: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Step-wise average precision of one label under row weights.

    The mean over the positives, each weighted, of the precision at the cut that first predicts
    them positive (the end of their run of equal scores), as
    :func:`~counterpoise.metrics.multilabel_report` and scikit-learn compute it.

    Args:
        score: scores (n,).
        positive: bool (n,), the positives.
        valid: bool (n,), the rows that count (annotated).
        weights: (B, n) row weights.

    Returns:
        (B,) average precisions, NaN where the weighted positives are 0.
    """
    n = len(score)
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    last = np.ones(n, dtype=bool)
    last[:-1] = ranked[1:] != ranked[:-1]
    end = np.minimum.accumulate(np.where(last, np.arange(n), n)[::-1])[::-1]
    w = weights[:, order]
    hit = positive[order] & valid[order]
    tp = np.cumsum(w * hit, axis=1)
    predicted = np.cumsum(w * valid[order], axis=1)
    precision = _divide(tp[:, end], predicted[:, end])
    total = tp[:, -1]
    summed = (precision * (w * hit)).sum(axis=1)
    return np.divide(summed, total, out=np.full(total.shape, np.nan), where=total > 0)


def multiclass_scores(
    y: np.ndarray,
    probs: np.ndarray,
    pred: np.ndarray,
    weights: np.ndarray,
    *,
    n_bins: int = 15,
) -> dict[str, np.ndarray]:
    """Every summary metric of :func:`~counterpoise.metrics.imbalance_report` under row
    weights.

    Args:
        y: int labels (n,).
        probs: float probabilities (n, C).
        pred: int predictions (n,).
        weights: (B, n) row weights.
        n_bins: calibration bins, as the report's.

    Returns:
        Metric name -> (B,) values.
    """
    # the report's own clipping and renormalisation, so that equal scores stay equal
    probs = np.clip(probs.astype(np.float64), 0.0, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    c = probs.shape[1]
    confusion = _grouped_sums(weights, y * c + pred, c * c).reshape(-1, c, c)
    correct = np.diagonal(confusion, axis1=1, axis2=2)
    support, predicted = confusion.sum(2), confusion.sum(1)
    total = support.sum(1)
    recall = _divide(correct, support)
    f1 = _divide(2 * correct, support + predicted)
    present = support > 0
    shown = present | (predicted > 0)
    k = present.sum(1)
    masked = np.where(present, recall, 1.0)
    gmean = np.where(
        (np.where(present, recall, 1.0) > 0).all(1),
        np.exp(np.where(present, np.log(np.maximum(masked, 1e-300)), 0.0).sum(1) / k),
        0.0,
    )
    mcc_num = correct.sum(1) * total - (support * predicted).sum(1)
    mcc_den = np.sqrt((total**2 - (predicted**2).sum(1)) * (total**2 - (support**2).sum(1)))
    out = {
        "balanced_accuracy": (recall * present).sum(1) / k,
        "macro_f1": (f1 * shown).sum(1) / shown.sum(1),
        "worst_class_recall": np.where(present, recall, np.inf).min(1),
        "gmean_recall": gmean,
        "accuracy": correct.sum(1) / total,
        "mcc": _divide(mcc_num, mcc_den),
    }
    ap = np.full((weights.shape[0], c), np.nan)
    everywhere = np.ones(len(y), dtype=bool)
    for cls in np.unique(y):
        ap[:, cls] = weighted_average_precision(probs[:, cls], y == cls, everywhere, weights)
    out["macro_average_precision"] = _nanmean(ap)
    conf = probs.max(1)
    right = (probs.argmax(1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], conf, side="left")
    gap = _grouped_sums(weights * (right - conf), which, n_bins)
    out["ece"] = np.abs(gap).sum(1) / total
    return out


def multilabel_scores(
    y: np.ndarray,
    probs: np.ndarray,
    weights: np.ndarray,
    *,
    members: dict[str, np.ndarray],
    thresholds: np.ndarray | None = None,
    ignore_value: float = -1.0,
) -> dict[str, np.ndarray]:
    """The summary metrics of :func:`~counterpoise.metrics.multilabel_report` under row
    weights: mAP, macro F1 at 0.5 (and at ``thresholds``), and their means over each label
    group.

    Args:
        y: targets (n, L): 1, 0 or ``ignore_value``.
        probs: probabilities (n, L).
        weights: (B, n) row weights.
        members: group name -> bool (L,), the labels of each group (as the report's).
        thresholds: per-label thresholds (L,), or None.
        ignore_value: the value of entries that are not annotated.

    Returns:
        Metric name -> (B,) values (NaN in a replicate where no label of it has a positive).
    """
    num_labels = y.shape[1]
    valid = y != ignore_value
    positive = (y == 1) & valid
    resamples = weights.shape[0]
    ap = np.empty((resamples, num_labels))
    f1 = {"": np.empty_like(ap), "_tuned": np.empty_like(ap)}
    cuts = {"": np.full(num_labels, 0.5)}
    if thresholds is not None:
        cuts["_tuned"] = np.asarray(thresholds, dtype=np.float64)
    for label in range(num_labels):
        v, p = valid[:, label], positive[:, label]
        ap[:, label] = weighted_average_precision(probs[:, label], p, v, weights)
        positives = weights @ p.astype(np.float64)
        for suffix, cut in cuts.items():
            hit = (probs[:, label] >= cut[label]) & v
            tp = weights @ (hit & p).astype(np.float64)
            den = weights @ hit.astype(np.float64) + positives
            f1[suffix][:, label] = np.divide(
                2 * tp, den, out=np.full(resamples, np.nan), where=positives > 0
            )
    out: dict[str, np.ndarray] = {}
    for name, values in (("map", ap), *((f"macro_f1{s}", f1[s]) for s in cuts)):
        out[name] = _nanmean(values)
        for group in LABEL_GROUPS:
            out[f"{group}_{name}"] = _nanmean(np.where(members[group], values, np.nan))
    return out


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Row means over the finite entries; NaN for a row with none (no warning)."""
    finite = np.isfinite(values)
    count = finite.sum(1)
    total = np.where(finite, values, 0.0).sum(1)
    return np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)


def combine_runs(
    replicates: np.ndarray, seed: int = 0, *, resamples: int | None = None
) -> np.ndarray:
    """The bootstrap distribution of a strategy's mean over runs.

    Args:
        replicates: (K, S, B): for each split k and seed j, the metric of that run on each of
            the B row resamples of split k's test rows.
        seed: the seed of the draws of splits and seeds; the same seed draws the same splits
            and seeds for every strategy, which pairs them.
        resamples: R, the replicates to draw (default B; at most B).

    Returns:
        (R,) replicate means: replicate r averages, over K splits drawn with replacement and S
        seeds drawn with replacement within each, the runs' metric on row resample r.
    """
    k, s, b = replicates.shape
    r = b if resamples is None else min(resamples, b)
    rng = np.random.default_rng(seed)
    splits = rng.integers(k, size=(r, k)) if k > 1 else np.zeros((r, 1), dtype=np.int64)
    seeds = rng.integers(s, size=(r, k, s)) if s > 1 else np.zeros((r, k, 1), dtype=np.int64)
    rows = np.arange(r)[:, None, None]
    drawn = replicates[splits[:, :, None], seeds, rows]
    with np.errstate(invalid="ignore"):
        return _nanmean(drawn.reshape(r, -1))


def interval(values: np.ndarray, level: float = LEVEL) -> list[float] | None:
    """The central ``level`` percentile interval ``[low, high]`` of bootstrap values (NaN ones
    left out), or None when none is finite."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return [float(low), float(high)]


def within_noise(difference_interval: Sequence[float] | None) -> bool:
    """Whether a paired difference's interval holds 0 (or is unknown)."""
    return difference_interval is None or difference_interval[0] <= 0.0 <= difference_interval[1]


def describe_difference(
    difference: float, difference_interval: Sequence[float] | None, *, lower_is_better: bool
) -> dict[str, Any]:
    """``{"difference", "interval", "within_noise"}`` of a paired difference."""
    return {
        "difference": float(difference),
        "interval": None if difference_interval is None else list(difference_interval),
        "within_noise": within_noise(difference_interval),
        "better": (difference < 0) if lower_is_better else (difference > 0),
    }
