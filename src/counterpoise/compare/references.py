"""Reference models for ``compare``: what a user of tabular data would try first.

Two scikit-learn classifiers, class-weighted ("balanced": class :math:`c` weighs
:math:`N / (C' n_c)` over the :math:`C'` classes of the training split), trained on the training
rows of a :class:`~counterpoise.compare.data.Splits` and scored like the strategies, so that
the report can say whether a deep model earns its keep:

- ``logreg_balanced``: logistic regression on standardised features (each column's mean and
  standard deviation from the training rows), L2 penalty ``C = 1``, L-BFGS for at most
  :data:`LOGREG_MAX_ITER` iterations, multinomial over the classes. On an ``.npz`` of
  precomputed embeddings this is the *linear probe*, the usual measure of what the embeddings
  already separate.
- ``hgb_balanced``: histogram gradient boosting (``HistGradientBoostingClassifier``) with its
  defaults (learning rate 0.1, 31 leaves), stopped on the validation split as the strategies'
  checkpoints are chosen there: trees are added :data:`HGB_STEP` iterations at a time, up to
  :data:`HGB_MAX_ITER`, while the class-balanced log loss on the validation split (the mean
  over the classes present there of their samples' :math:`-\\log p`) improves, and the best
  number of iterations is kept. When the validation split holds fewer than two of the
  classes the model knows, :data:`HGB_DEFAULT_ITER` iterations are used. Features are cut into
  at most 255 bins at the quantiles of the training rows, as the boosting does (unweighted:
  given class weights, recent scikit-learn bins by weighted quantiles, far more slowly than it
  boosts). Its training rows are
  subsampled when there are more than :data:`HGB_MAX_CELLS` / D of them: each class keeps its
  share, and at least :data:`HGB_KEEP_PER_CLASS` rows (all of a smaller class), so the tail is
  not thinned. The "balanced" weights are computed on the rows used, whose class mix they undo
  anyway.

Multilabel data gets one binary model per label (one-vs-rest), each trained on the rows where
that label is annotated (:data:`~counterpoise.compare.data.UNKNOWN` entries are left out of
its training and of its early stopping), and returns each label's probability of being
positive. A label whose training entries are all of one value gets that value as its
probability (0 or 1; 0.5 without any annotated entry).

A class missing from the training split (possible only when the data gives the splits) gets
probability 0; the probabilities always have a column for each class, in the order 0..C-1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import islice
from typing import Any

import numpy as np

from .._checks import check_choice, check_positive_int
from .._optional import require
from .data import UNKNOWN, Splits
from .training import RunResult

__all__ = [
    "HGB_DEFAULT_ITER",
    "HGB_KEEP_PER_CLASS",
    "HGB_MAX_CELLS",
    "HGB_MAX_ITER",
    "HGB_STEP",
    "LOGREG_MAX_ITER",
    "REFERENCES",
    "reference_probabilities",
    "reference_run",
]

#: The reference models by name, each with what it is in a sentence.
REFERENCES: dict[str, str] = {
    "logreg_balanced": "logistic regression with balanced class weights on standardised "
    "features (the linear probe, on embeddings)",
    "hgb_balanced": "histogram gradient boosting with balanced class weights, stopped on the "
    "validation split",
}
#: Most L-BFGS iterations of the logistic regression.
LOGREG_MAX_ITER = 1000
#: Most boosting iterations, and how many are added between two looks at the validation loss.
HGB_MAX_ITER = 100
HGB_STEP = 10
#: Boosting iterations when the validation split cannot stop the boosting.
HGB_DEFAULT_ITER = 100
#: Training rows times features that gradient boosting trains on, at most; more rows are
#: subsampled (the time of each iteration grows with both, and with the classes: one tree
#: per class and iteration). 100,000 rows of 360 features and 8 long-tailed classes train on
#: about 3,000 rows (the tail classes' minimum included), in seconds on one core.
HGB_MAX_CELLS = 1_000_000
#: Rows each class keeps at least when gradient boosting's training rows are subsampled.
HGB_KEEP_PER_CLASS = 100
# Boosting stops once this many iterations have passed without a better validation loss.
_HGB_PATIENCE = 20
# Probabilities are clipped to [_EPS, 1] inside the log loss.
_EPS = 1e-15


def reference_probabilities(
    name: str, splits: Splits, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The validation and test probabilities of the reference model ``name``.

    Args:
        name: one of :data:`REFERENCES`.
        splits: the data; the model trains on its training rows (and ``hgb_balanced`` stops
            on its validation rows).
        seed: seed of the model's random choices (gradient boosting's subsample and ties);
            the same seed gives the same probabilities.

    Returns:
        ``(val, test)``, float64 of shapes (N_val, C) and (N_test, C): each row the
        probabilities of the classes 0..C-1 (summing to 1); for multilabel data (N_val, L)
        and (N_test, L), each entry the probability that the label is positive.

    Raises:
        ValueError: for a name that is not one of :data:`REFERENCES`, or a negative ``seed``.
        ModuleNotFoundError: without scikit-learn (the ``metrics`` extra).

    Example:
        >>> from counterpoise.compare.data import load_builtin
        >>> splits = load_builtin(10)
        >>> val, test = reference_probabilities("logreg_balanced", splits)
        >>> val.shape, test.shape, bool(np.allclose(test.sum(1), 1.0))
        ((200, 10), (300, 10), True)
        >>> bool((test.argmax(1) == splits.y_test).mean() > 0.9)  # accuracy on the balanced test
        True
    """
    check_choice("name", name, REFERENCES)
    seed = check_positive_int("seed", seed, allow_zero=True)
    fit = _logreg if name == "logreg_balanced" else _hgb
    X_train, X_val, X_test = splits.X_train, splits.X_val, splits.X_test
    if name == "logreg_balanced":
        preprocessing = require("sklearn.preprocessing", extra="metrics")
        scaler = preprocessing.StandardScaler().fit(X_train)
        X_train, X_val, X_test = (scaler.transform(X) for X in (X_train, X_val, X_test))
    if not splits.multilabel:
        return _fitted(
            fit,
            X_train,
            splits.y_train,
            X_val,
            splits.y_val,
            X_test,
            seed,
            None,
            num_classes=splits.num_classes,
        )
    val = np.empty((len(X_val), splits.num_classes))
    test = np.empty((len(X_test), splits.num_classes))
    for j in range(splits.num_classes):
        y, yv = splits.y_train[:, j], splits.y_val[:, j]
        rows, rows_val = y != UNKNOWN, yv != UNKNOWN
        val_j, test_j = _fitted(
            fit,
            X_train[rows],
            y[rows].astype(np.int64),
            X_val[rows_val],
            yv[rows_val].astype(np.int64),
            X_test,
            seed,
            X_val,
            num_classes=2,
        )
        val[:, j], test[:, j] = val_j[:, 1], test_j[:, 1]
    return val, test


Fit = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]


def _fitted(
    fit: Fit,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray,
    seed: int,
    X_val_all: np.ndarray | None,
    *,
    num_classes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Validation and test probabilities, a column for each of the ``num_classes`` classes.
    ``X_val``, ``y_val``: the validation rows the
    model may stop on; ``X_val_all``: the rows to predict, when they are not ``X_val``."""
    c = num_classes
    X_out = X_val if X_val_all is None else X_val_all
    val = np.zeros((len(X_out), c))
    test = np.zeros((len(X_test), c))
    present = np.unique(y)
    if present.size == 0:
        val[:], test[:] = 1.0 / c, 1.0 / c
    elif present.size == 1:  # one class to learn: it is certain
        val[:, present[0]] = test[:, present[0]] = 1.0
    else:
        classes, p_val, p_test = fit(X, y, X_val, y_val, X_out, X_test, seed)
        # float32 features give float32 probabilities: their rows, in float64, sum to 1
        val[:, classes] = p_val / p_val.sum(axis=1, keepdims=True, dtype=np.float64)
        test[:, classes] = p_test / p_test.sum(axis=1, keepdims=True, dtype=np.float64)
    return val, test


def _logreg(
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_out: np.ndarray,
    X_test: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    linear = require("sklearn.linear_model", extra="metrics")
    model = linear.LogisticRegression(
        class_weight="balanced", max_iter=LOGREG_MAX_ITER, random_state=seed
    )
    model.fit(X, y)
    return model.classes_, model.predict_proba(X_out), model.predict_proba(X_test)


def _hgb(
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_out: np.ndarray,
    X_test: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ensemble = require("sklearn.ensemble", extra="metrics")
    rows = _subsample(y, max(1, HGB_MAX_CELLS // max(1, X.shape[1])), seed)
    X, y = X[rows], y[rows]
    X, X_val, X_out, X_test = _binned(X, X_val, X_out, X_test)
    classes = np.unique(y)
    known = np.isin(y_val, classes)
    stops = np.unique(y_val[known]).size >= 2
    model = ensemble.HistGradientBoostingClassifier(
        class_weight="balanced",
        max_iter=HGB_STEP if stops else HGB_DEFAULT_ITER,
        early_stopping=False,
        warm_start=True,
        random_state=seed,
    )
    model.fit(X, y)
    best = model.max_iter
    if stops:
        best_loss = _balanced_log_loss(y_val[known], model.predict_proba(X_val[known]), classes)
        while model.max_iter < HGB_MAX_ITER and model.max_iter - best < _HGB_PATIENCE:
            model.set_params(max_iter=model.max_iter + HGB_STEP)
            model.fit(X, y)  # adds HGB_STEP iterations
            loss = _balanced_log_loss(y_val[known], model.predict_proba(X_val[known]), classes)
            if loss < best_loss:
                best, best_loss = model.max_iter, loss
    return classes, _stage(model, X_out, best), _stage(model, X_test, best)


def _binned(X: np.ndarray, *others: np.ndarray, bins: int = 255) -> list[np.ndarray]:
    """``X`` and ``others`` with each column of more than ``bins`` distinct values in ``X``
    replaced by its bin, 0..bins-1, cut at the quantiles of ``X``'s column (the unweighted
    binning of gradient boosting, done beforehand: given class weights, scikit-learn 1.7 and
    later bin by weighted quantiles, a Python loop per bin and column that outlasts the
    boosting itself). Trees split on order alone, so a column of few values stays as it is."""
    out = [np.array(a, dtype=np.float32) for a in (X, *others)]
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    for j in range(X.shape[1]):
        column = out[0][:, j]
        if np.unique(column).size <= bins:
            continue
        edges = np.unique(np.quantile(column, levels, method="averaged_inverted_cdf"))
        for a in out:
            a[:, j] = np.searchsorted(edges, a[:, j], side="left")
    return out


def _stage(model: Any, X: np.ndarray, iterations: int) -> np.ndarray:
    """The probabilities of a boosted model after its first ``iterations`` iterations."""
    if iterations == model.n_iter_:
        return np.asarray(model.predict_proba(X))
    return np.asarray(next(islice(model.staged_predict_proba(X), iterations - 1, None)))


def _balanced_log_loss(y: np.ndarray, probs: np.ndarray, classes: np.ndarray) -> float:
    """The mean over the classes in ``y`` of their samples' mean :math:`-\\log p` (``probs``
    has a column for each of ``classes``)."""
    column = np.searchsorted(classes, y)
    nll = -np.log(np.clip(probs[np.arange(len(y)), column], _EPS, 1.0))
    return float(np.mean([nll[y == c].mean() for c in np.unique(y)]))


def _subsample(y: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted rows of at most about ``limit`` (all when there are fewer): each class keeps its
    share, and at least :data:`HGB_KEEP_PER_CLASS` rows (all of a smaller class)."""
    if len(y) <= limit:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    share = limit / len(y)
    kept = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        keep = min(len(members), max(round(len(members) * share), HGB_KEEP_PER_CLASS))
        kept.append(rng.choice(members, size=keep, replace=False))
    return np.sort(np.concatenate(kept))


def reference_run(name: str, splits: Splits, *, seed: int = 0) -> RunResult:
    """A reference model's outputs in the form of a training run, so that the comparison
    scores them as it scores the strategies: logits whose softmax (sigmoid, for multilabel
    data) gives back :func:`reference_probabilities` (log-probabilities, or log-odds clipped at
    1e-7 from 0 and 1). It fits with one thread for each library that has a thread pool, as
    every run of a comparison does.
    """
    start = time.perf_counter()
    limits = require("threadpoolctl", extra="metrics").threadpool_limits
    with limits(limits=1):
        val, test = reference_probabilities(name, splits, seed=seed)

    def logits(p: np.ndarray) -> np.ndarray:
        if splits.multilabel:
            q = np.clip(p, 1e-7, 1 - 1e-7)
            return (np.log(q) - np.log1p(-q)).astype(np.float32)
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(p), -1e4).astype(np.float32)  # a class never seen: -1e4

    return RunResult(
        val_logits=logits(val),
        test_logits=logits(test),
        best_epoch=0,
        epochs_run=0,
        seconds=time.perf_counter() - start,
    )
