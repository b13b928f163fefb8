"""Data for ``compare``: the built-in data set or the user's table, split for training.

**Splitting.** A user's data is split per class (stratified) into train / validation / test.
A class needs :data:`MIN_PER_CLASS` samples to be in all three splits; a rarer class is kept,
its samples going to training first and then to the test split (one sample: training only; two
samples: one for training, one for the test), and it is named in :attr:`Splits.notes` and
:attr:`Splits.rare_classes`: the metrics of a split cover the classes present in it. The test
split is balanced (the same number of samples of every class but the rare ones) when every
other class can spare at least :data:`MIN_BALANCED_TEST` samples for it; otherwise it is
stratified like the data, and the report says so. Either way balanced accuracy is the mean of
the per-class recalls, so it does not depend on the test split's class mix; plain accuracy
and calibration do.

**Multilabel data** (several 0/1 label columns, or a 2-D ``y``) cannot be stratified per class:
a row carries several labels at once. It is split by iterative stratification (Sechidis et al.,
2011; see :func:`split_multilabel`), which spreads the positives of every label, rarest first,
over the splits in the requested proportions as closely as whole rows allow; the positives of
a label with fewer than :data:`MIN_PER_CLASS` of them go to training first, then to the test
split. Every label needs a positive and a negative in the training split; labels without a
positive in the validation or test split have no average precision there, are left out of
that split's averages, and are named in the report. Missing values in a label column mean
"not annotated" (:data:`UNKNOWN`): those entries are masked out of the losses and the metrics,
never read as negatives.

**Repeated splits.** One split's test set is a sample: on a small data set, which rows land in
it moves the metrics as much as the choice of strategy does. :meth:`Splits.resplit` draws the
``k``-th split of the same data (0 is the first, the one the loaders return), and
:func:`default_num_splits` says how many to draw; splits that the data gives (a ``split``
column, the ``X_train`` / ``X_val`` / ``X_test`` arrays of an ``.npz`` file) are not drawn
again.

**Tables as they are.** The feature columns of a table are chosen with ``features`` and
``exclude`` (names and patterns) and prepared for a model, each split fitted on its own
training rows:

- numbers are used as they are (the training run standardises them);
- booleans become 1 / 0, dates and timestamps the days since 1970-01-01;
- a text column with at most :data:`MAX_ONE_HOT` distinct values in the training rows (an
  empty cell counting as a value of its own) is one-hot encoded, a 0/1 column per value, and a
  value not seen in training gives zeros; a text column with more values is frequency encoded:
  each value becomes its share of the training rows (0 for a value not seen there), which
  keeps one column and learns nothing from the labels;
- a missing number is filled with the median of its column over the training rows, and a 0/1
  column marks the filled cells when the training rows have any (whether a value is missing
  is often informative); a column without any value in the training rows is left out;
- a column that looks like a row identifier (a different value in every row, and text, or
  integers that run 0..N-1 or are named like an ID, such as ``id``, ``user_id`` or
  ``index``) is left out, unless ``features`` names it.

The columns of ``X_*`` are the number, boolean and date columns in the order chosen, then the
encoded text columns, then the marks of filled cells (:attr:`Splits.features` names them).
Everything done is said in :attr:`Splits.notes` and listed column by column in
:attr:`Splits.preprocessing`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from .._checks import check_number, check_positive_int, fail
from .._io import LABEL_NAMES, TableColumns, read_arrays
from ..datasets import load_digits_lt

__all__ = [
    "MAX_ONE_HOT",
    "MIN_BALANCED_TEST",
    "MIN_PER_CLASS",
    "REPEAT_BELOW_ROWS",
    "UNKNOWN",
    "ColumnStep",
    "Splits",
    "default_num_splits",
    "load_builtin",
    "load_user_data",
    "split_multilabel",
    "split_per_class",
]

#: Fewest test samples per class for which a balanced test split is used; below it a balanced
#: split would be too small to measure anything, and a stratified one is used.
MIN_BALANCED_TEST = 20
#: Fewest samples a class (positives a label) needs to be in training, validation and test;
#: a rarer one is kept, in training first, then in the test split.
MIN_PER_CLASS = 3
#: Most distinct values (in the training rows) of a text column that is one-hot encoded; a
#: column with more is frequency encoded.
MAX_ONE_HOT = 16
#: Data sets with fewer rows than this are compared over 3 repeated splits by default
#: (:func:`default_num_splits`).
REPEAT_BELOW_ROWS = 10_000
_SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
#: The value of a multilabel target that is not annotated (a missing value in a label column).
UNKNOWN = -1.0
# The note on splits that the data gives, by where they come from.
_GIVEN_BY = {
    "column": "Splits given by the `split` column.",
    "arrays": "Splits given by the arrays X_train / y_train, X_val / y_val, X_test / y_test.",
}
# Words of a column name that mark a row identifier (with a different value in every row).
_ID_WORDS = frozenset(
    {"id", "ids", "uuid", "guid", "key", "pk", "index", "idx", "rowid", "row", "unnamed"}
)
# Rows of a split gathered at a time when its features are assembled.
_ROWS = 8192


@dataclass(frozen=True)
class ColumnStep:
    """What was done to one column of a table before training.

    Attributes:
        column: the column's name.
        action: ``"excluded"`` (left out by ``features`` or ``exclude``), ``"identifier"``
            (left out: it looks like a row identifier), ``"empty"`` (left out: no value in the
            training rows), ``"boolean"`` (1 / 0), ``"date"`` (days since 1970-01-01),
            ``"one-hot"``, ``"frequency"`` (each value's share of the training rows) or
            ``"median"`` (missing cells filled with the training rows' median).
        features: the columns of ``X_*`` it gives (empty for a column left out).
        detail: the step in words, with what it learnt from the training rows.

    ``dataclasses.asdict(step)`` is its JSON form.
    """

    column: str
    action: Literal[
        "excluded", "identifier", "empty", "boolean", "date", "one-hot", "frequency", "median"
    ]
    features: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays with integer labels 0..C-1, or multilabel targets.

    Attributes:
        name: where the data came from.
        classes: the original label of each class index; for multilabel data, the name of each
            label (its column).
        X_train, y_train, X_val, y_val, X_test, y_test: float32 features (N, D) and int64
            labels (N,); for multilabel data, float32 targets (N, L) holding 1 (positive),
            0 (negative) or :data:`UNKNOWN` (not annotated).
        test_balanced: whether the test split has the same number of samples in every class
            (every class not in ``rare_classes``, for a split drawn here; always False for
            multilabel data).
        notes: how the data was split and prepared (and anything else the report should say
            about it), in sentences.
        features: the names of the columns of ``X_*`` for a table (a one-hot column is named
            ``column=value``, a frequency-encoded one ``column frequency``, the mark of filled
            cells ``column missing``); empty for arrays (an ``.npz`` file, the built-in data
            set).
        rare_classes: the classes (labels, for multilabel data) missing from the validation or
            the test split (without a positive there, for a label), in increasing order: too
            rare to be in every split. A split's metrics cover the classes present in it.
        preprocessing: what was done to each column of a table that was not used as it is
            (:class:`ColumnStep`), in the order of the table's columns.
        repeat: which of the repeated splits this is (:meth:`resplit`); 0 for the first.
    """

    name: str
    classes: tuple[Hashable, ...]
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_balanced: bool
    notes: tuple[str, ...] = field(default=())
    features: tuple[str, ...] = field(default=())
    rare_classes: tuple[int, ...] = field(default=())
    preprocessing: tuple[ColumnStep, ...] = field(default=())
    repeat: int = 0
    # Draws the k-th split of the same data (holding the whole data set and the settings);
    # None for splits that the data gives.
    _redraw: Callable[[int], Splits] | None = field(default=None, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        """C, the number of classes (L, the number of labels, for multilabel data)."""
        return len(self.classes)

    @property
    def multilabel(self) -> bool:
        """Whether the targets are multilabel, (N, L)."""
        return self.y_train.ndim == 2

    @property
    def num_features(self) -> int:
        """D, the number of input features."""
        return int(self.X_train.shape[1])

    @property
    def can_resplit(self) -> bool:
        """Whether :meth:`resplit` can draw other splits (False for splits the data gives)."""
        return self._redraw is not None

    def resplit(self, k: int) -> Splits:
        """The ``k``-th of the repeated splits of the same data.

        ``k = 0`` is the first split, the one :func:`load_user_data` or :func:`load_builtin`
        returns; each ``k > 0`` is drawn the same way (per class, or by iterative
        stratification) with its own seed, derived from the loader's ``seed`` and ``k``
        (:class:`numpy.random.SeedSequence` of both), so the same ``k`` always gives the same
        split. A table's preparation (medians, encodings) is fitted on each split's own
        training rows. For the built-in digits-lt, ``k > 0`` draws the data set again with
        the derived seed: other images in the balanced validation and test splits, and
        another long-tailed training subset of the same class sizes. Whatever split it is
        called on, ``resplit(k)`` gives the same ``k``-th split; it is drawn when asked for
        (the data set is kept for it, beside the arrays of this split).

        Args:
            k: which split, an integer >= 0.

        Returns:
            :class:`Splits` (``self`` when ``k`` is :attr:`repeat`).

        Raises:
            ValueError: for ``k`` other than :attr:`repeat` when the data gives the splits
                (:attr:`can_resplit` is False), or a negative ``k``.
            TypeError: for a ``k`` that is not an integer.

        Example:
            >>> first = load_builtin(10)
            >>> first.resplit(0) is first, first.resplit(1).sizes() == first.sizes()
            (True, True)
            >>> bool((first.resplit(1).y_train == first.y_train).all())
            False
        """
        k = check_positive_int("k", k, allow_zero=True)
        if k == self.repeat:
            return self
        if self._redraw is None:
            fail(
                "k",
                f"{self.repeat} for splits that the data gives (a `split` column, or the "
                "X_train / X_val / X_test arrays of an .npz file): they cannot be drawn again",
                k,
            )
        return self._redraw(k)

    def feature_summary(self, shown: int = 20) -> str:
        """The features in words, naming the first ``shown`` columns of a table."""
        d = self.num_features
        if not self.features:
            return f"{d} array column{'s' if d != 1 else ''}"
        names = ", ".join(self.features[:shown])
        more = f" and {d - shown} more" if d > shown else ""
        return f"{d} column{'s' if d != 1 else ''}: {names}{more}"

    def sizes(self) -> dict[str, int]:
        """Samples per split."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def deployment_prior(self) -> np.ndarray:
        """The class prior the test split stands for: uniform when it is balanced, else the
        training split's class shares (a stratified test split has the same)."""
        if self.test_balanced:
            return np.full(self.num_classes, 1.0 / self.num_classes)
        counts = self.class_counts("train").astype(np.float64)
        return counts / counts.sum()

    def targets(self, split: str) -> np.ndarray:
        """The labels (or multilabel targets) of ``"train"``, ``"val"`` or ``"test"``."""
        return {"train": self.y_train, "val": self.y_val, "test": self.y_test}[split]

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Samples per class in a split, int64 (C,); positives per label for multilabel data."""
        y = self.targets(split)
        if y.ndim == 2:
            return (y == 1).sum(axis=0).astype(np.int64)
        return np.bincount(y, minlength=self.num_classes).astype(np.int64)

    def negative_counts(self, split: str = "train") -> np.ndarray:
        """Negatives per label in a split (entries that are annotated 0), int64 (L,);
        multilabel data only."""
        y = self.targets(split)
        if y.ndim != 2:
            fail("splits", "multilabel (negatives are counted per label)", self.name)
        return (y == 0).sum(axis=0).astype(np.int64)


def default_num_splits(splits: Splits) -> int:
    """How many repeated splits (:meth:`Splits.resplit`) a comparison should use by default.

    3 when the splits can be drawn again and the data set has fewer than
    :data:`REPEAT_BELOW_ROWS` rows in all; else 1. Below that size a test split holds at most
    a few thousand rows, and its tail classes a handful, so which rows land in it moves the
    metrics about as much as the choice of strategy; three splits show that spread, for three
    times the training. Above it one split's test set is large enough, and training costs
    more. Splits that the data gives are used as they are: 1.

    Example:
        >>> default_num_splits(load_builtin())
        3
    """
    if not splits.can_resplit:
        return 1
    return 3 if sum(splits.sizes().values()) < REPEAT_BELOW_ROWS else 1


def _split_seed(seed: int, k: int) -> int:
    """The seed of the ``k``-th repeated split: ``seed`` itself for the first (``k = 0``),
    else a draw of :class:`numpy.random.SeedSequence` of both (so repeats of neighbouring
    seeds do not coincide, as ``seed + k`` would)."""
    if k == 0:
        return seed
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def load_builtin(imbalance_factor: float = 100.0, *, seed: int = 0) -> Splits:
    """``digits-lt`` as :class:`Splits` (its validation and test splits are balanced).

    :meth:`Splits.resplit` draws the data set again with a seed derived from ``seed``.
    """
    return _builtin(imbalance_factor, seed, 0)


def _builtin(imbalance_factor: float, seed: int, k: int) -> Splits:
    ds = load_digits_lt(imbalance_factor=imbalance_factor, seed=_split_seed(seed, k))
    return Splits(
        name=f"digits-lt (imbalance factor {ds.imbalance_factor:g})",
        classes=ds.classes,
        X_train=ds.X_train,
        y_train=ds.y_train,
        X_val=ds.X_val,
        y_val=ds.y_val,
        X_test=ds.X_test,
        y_test=ds.y_test,
        test_balanced=True,
        notes=(
            "Built-in digits-lt: long-tailed training split, balanced validation and test "
            "splits held out by the data set.",
        ),
        repeat=k,
        _redraw=partial(_builtin, imbalance_factor, seed),
    )


def split_per_class(
    y: np.ndarray,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    classes: Sequence[Hashable] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, str]:
    """Indices of a per-class train / validation / test split.

    A class of at least :data:`MIN_PER_CLASS` samples gives ``max(1, round(n_c *
    val_fraction))`` samples to validation and some to the test split, and keeps at least one
    for training. With ``k = floor(m * test_fraction)``, ``m`` the smallest such class, the
    test split takes ``k`` samples of each of them when ``k`` is at least
    :data:`MIN_BALANCED_TEST` (balanced), else ``max(1, round(n_c * test_fraction))``
    (stratified). The rest is for training.

    A rarer class is kept: its one sample is for training; of two, one is for training and
    one for the test split. The test split is where the comparison is ranked, so a class in
    it is measured there (its recall counts in balanced accuracy as much as any class's);
    the validation split only picks checkpoints, where a single sample of a class would sway
    the choice as much as a whole class does. Such classes leave the balanced test split of
    the others as it is: it is balanced over the classes that have at least
    :data:`MIN_PER_CLASS` samples.

    Args:
        y: int64 labels 0..C-1, shape (N,), every class present.
        val_fraction: share of each class for validation, in (0, 0.5).
        test_fraction: share of each class for the test, in (0, 0.5).
        seed: seed of the random assignment.
        classes: the original label of each class index, for error messages.

    Returns:
        ``(train, val, test, test_balanced, note)``: three index arrays, whether the test split
        is balanced (over the classes of at least :data:`MIN_PER_CLASS` samples), and a
        sentence that says how it was split.

    Raises:
        ValueError: for fractions outside (0, 0.5), or when no class has
            :data:`MIN_PER_CLASS` samples (the validation split would be empty).

    Example:
        >>> y = np.repeat([0, 1, 2], [10, 5, 2])
        >>> train, val, test, balanced, note = split_per_class(y, seed=0)
        >>> [np.bincount(y[part], minlength=3).tolist() for part in (train, val, test)]
        [[6, 3, 1], [2, 1, 0], [2, 1, 1]]
    """
    val_fraction = check_number(
        "val_fraction", val_fraction, low=0.0, high=0.5, low_open=True, high_open=True
    )
    test_fraction = check_number(
        "test_fraction", test_fraction, low=0.0, high=0.5, low_open=True, high_open=True
    )
    counts = np.bincount(y)
    regular = counts >= MIN_PER_CLASS
    if not regular.any():
        names = classes if classes is not None else range(len(counts))
        listed = ", ".join(
            f"class {names[c]!r} ({counts[c]} samples)" for c in range(min(10, len(counts)))
        )
        fail(
            "labels",
            f"a class with at least {MIN_PER_CLASS} samples (for non-empty validation and test "
            "splits)",
            listed,
        )
    k = int(np.floor(counts[regular].min() * test_fraction))
    balanced = k >= MIN_BALANCED_TEST
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for c, n in enumerate(counts):
        members = rng.permutation(np.flatnonzero(y == c))
        if n < MIN_PER_CLASS:  # rare: training first, then the test split
            n_test, n_val = n - 1, 0
        else:
            n_test = k if balanced else max(1, round(n * test_fraction))
            n_val = max(1, round(n * val_fraction))
            n_test = min(n_test, n - 2)
            n_val = min(n_val, n - n_test - 1)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    train, val, test = (rng.permutation(np.concatenate(p)) for p in parts)
    every = "every class" if regular.all() else f"every class of at least {MIN_PER_CLASS}"
    note = (
        f"Balanced test split: {k} samples of {every}."
        if balanced
        else f"Stratified test split ({test_fraction:.0%} of each class): the rarest class "
        + ("" if regular.all() else f"of at least {MIN_PER_CLASS} samples ")
        + f"has too few samples for a balanced one of at least {MIN_BALANCED_TEST} per class."
    )
    return train, val, test, balanced, note


def split_multilabel(
    y: np.ndarray, *, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of a train / validation / test split of multilabel rows, by iterative
    stratification (Sechidis, Tsoumakas and Vlahavas, ECML PKDD 2011).

    With shares :math:`r_s` of the splits (train, validation, test), split :math:`s` wants
    :math:`r_s P_l` positives of each label :math:`l` (:math:`P_l` its positives) and
    :math:`r_s N` rows. Repeatedly, the label with the fewest positives among the rows not yet
    assigned is taken, and each of those rows (in random order) goes to the split that wants
    the most positives of that label (ties: the one that wants the most rows, then a random
    one); the split's wants drop by one for each of the row's labels, and by one row. Rows
    without a positive go last, each to the split that wants the most rows. So the rarest
    labels are spread first, while every choice is still open. Entries that are not
    annotated count as not positive.

    A label with fewer than :data:`MIN_PER_CLASS` positives wants one in training and the
    rest in the test split (as :func:`split_per_class` places a rare class). Last, a label
    with positives (or annotated negatives) but none of them in training gets one of those
    rows, drawn at random, moved to training: every label that can be trained is.

    Args:
        y: targets (N, L): 1 positive, 0 negative, :data:`UNKNOWN` not annotated.
        val_fraction: share of the rows (and of each label's positives) for validation, in
            (0, 0.5).
        test_fraction: share for the test, in (0, 0.5).
        seed: seed of the random choices.

    Returns:
        ``(train, val, test)``: sorted row indices.

    Raises:
        ValueError: for fractions outside (0, 0.5), or too few rows for three non-empty splits.

    Example:
        >>> y = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 1], [0, 0], [1, 0], [0, 0]])
        >>> [part.tolist() for part in split_multilabel(y, val_fraction=0.25, test_fraction=0.25)]
        [[0, 4, 6, 7], [2, 5], [1, 3]]
    """
    val_fraction = check_number(
        "val_fraction", val_fraction, low=0.0, high=0.5, low_open=True, high_open=True
    )
    test_fraction = check_number(
        "test_fraction", test_fraction, low=0.0, high=0.5, low_open=True, high_open=True
    )
    rng = np.random.default_rng(seed)
    positive = np.asarray(y) == 1
    shares = np.array([1.0 - val_fraction - test_fraction, val_fraction, test_fraction])
    want_rows = shares * len(positive)
    total = positive.sum(axis=0)
    want = shares[:, None] * total[None, :]
    rare = (total > 0) & (total < MIN_PER_CLASS)
    want[:, rare] = np.stack([np.ones(int(rare.sum())), np.zeros(int(rare.sum())), total[rare] - 1])
    split = np.full(len(positive), -1)

    def pick(first: np.ndarray) -> int:
        best = np.flatnonzero(first == first.max())
        if best.size > 1:
            rows = want_rows[best]
            best = best[rows == rows.max()]
        return int(best[0] if best.size == 1 else rng.choice(best))

    left = positive.copy()  # positives of the rows not assigned yet
    while True:
        remaining = left.sum(axis=0)
        if not remaining.any():
            break
        rarest = np.flatnonzero(remaining == remaining[remaining > 0].min())
        label = int(rarest[0] if rarest.size == 1 else rng.choice(rarest))
        rows = rng.permutation(np.flatnonzero(left[:, label]))
        for row in rows:
            s = pick(want[:, label])
            split[row] = s
            want[s, positive[row]] -= 1
            want_rows[s] -= 1
        left[rows] = False
    for row in rng.permutation(np.flatnonzero(split < 0)):
        s = pick(want_rows)
        split[row] = s
        want_rows[s] -= 1
    labels = np.asarray(y)
    for value in (1, 0):
        has = labels == value
        for column in np.flatnonzero(has.any(axis=0)):
            if not has[split == 0, column].any():
                split[int(rng.choice(np.flatnonzero(has[:, column])))] = 0
    parts = tuple(np.flatnonzero(split == s) for s in range(3))
    if any(part.size == 0 for part in parts):
        fail("data", "enough rows for non-empty train, validation and test splits", len(split))
    return parts  # type: ignore[return-value]


def load_user_data(
    path: str | Path,
    *,
    label: str | None = None,
    labels: str | Sequence[str] | None = None,
    features: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    """Read a user's data set and split it.

    Accepted files:

    - CSV / TSV / Parquet (file or directory): feature columns and a label column (``label``,
      or the first of ``label``, ``labels``, ``target``, ``y``, ``class``), or with ``labels``
      several 0/1 label columns (multilabel). An optional column ``split`` with values
      ``train`` / ``val`` / ``test`` gives the splits. Feature columns hold numbers, booleans,
      dates or text, with empty cells where values are missing: they are prepared as the
      module's introduction says (text encoded, missing numbers filled, identifiers left out),
      fitted on the training rows.
    - ``.npz`` with arrays ``X`` (N, D) and ``y`` (N,) (features or precomputed embeddings;
      an ``X`` of more dimensions is flattened to (N, D)), or with the given splits
      ``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test`` and ``y_test``, each ``X_*``
      with a row for each of its ``y_*``. A 2-D ``y`` (N, L) of 0/1 is multilabel (NaN: not
      annotated), its labels named 0..L-1. ``X`` is used as it is, and must be finite.

    A ``.csv`` file whose header row reads as one column holding ``;`` or a tab is read with
    that delimiter, as spreadsheets export it; column names must differ and text
    must be UTF-8. A table's numbers are read straight into float32, a group of columns at a
    time (never the whole table in float64, nor numbers as Python objects).

    Multilabel label columns hold 0/1 or true/false; an empty value (NaN in an ``.npz``) is a
    label that is not annotated for that row (:data:`UNKNOWN`), masked out of the losses and
    the metrics. Every other column (but ``split``) is a feature unless ``features`` or
    ``exclude`` say otherwise; the names of the columns of ``X_*`` are kept in
    :attr:`Splits.features`, and a feature column named like a label column (such as
    ``label`` or ``target``, which may leak the answer) is named in the notes.

    Args:
        path: the file.
        label: the label column of a table.
        labels: the 0/1 label columns of a multilabel table: names, as a sequence or one
            comma-separated string, and patterns such as ``"tag_*"`` (``*``, ``?`` and ``[...]``
            as in shell globs), matched against the column names.
        features: the feature columns of a table, named as ``labels`` are, in the order of
            ``X_*`` (a pattern's matches in the table's order); None for every column that is
            not a label or ``split``. A column named here is used even if it looks like an
            identifier.
        exclude: columns of a table to leave out of the features, named as ``labels`` are.
        val_fraction, test_fraction: shares of each class (of the rows and each label's
            positives, for multilabel data) for validation and test when the splits are not
            given.
        seed: seed of the split (and of the repeated splits, :meth:`Splits.resplit`).

    Returns:
        :class:`Splits` with labels encoded 0..C-1 in sorted order of the original labels, or
        multilabel targets (N, L) in the order of ``labels``.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for a file that cannot be read (an ``.npz`` that is empty or not a zip
            archive, a directory without data files, two columns of the same name, text that
            is not UTF-8), a missing label column, ``features`` or ``exclude`` naming a column
            that does not exist (or a label column), no feature column left, a feature column
            of lists or other values that are neither numbers, booleans, dates nor text,
            infinite numbers, missing labels, a single class, or no class with three samples;
            for an ``.npz`` file, ``features`` or ``exclude``, features that are not finite,
            arrays whose rows do not match (``X_train`` and ``y_train``, ...), splits whose
            arrays differ in shape, or a ``y`` that is neither 1-D nor 2-D; for a ``split``
            column, empty or unknown values, or a class without a training row; for multilabel
            data, a label column that does not exist or is chosen twice, values other than
            0/1, a label without a positive (or a negative) at all (or, for given splits, in
            the training split), or a validation or test split without any positive.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "pets.csv"
        >>> rows = [
        ...     f"{'cat' if i % 3 else 'dog'},{'' if i % 10 == 0 else i % 7},{'red' if i % 2 else 'blue'}"
        ...     for i in range(60)
        ... ]
        >>> _ = path.write_text("pet,weight,colour\\n" + "\\n".join(rows) + "\\naxolotl,1,pink\\n")
        >>> s = load_user_data(path, label="pet")
        >>> s.classes, s.rare_classes
        (('axolotl', 'cat', 'dog'), (0,))
        >>> s.features
        ('weight', 'colour=blue', 'colour=pink', 'colour=red', 'weight missing')
        >>> [(step.column, step.action) for step in s.preprocessing]
        [('weight', 'median'), ('colour', 'one-hot')]
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if labels is not None and label is not None:
        fail("labels", "None when `label` is given (one label column, or several 0/1 ones)", labels)
    if path.suffix.lower() == ".npz":
        for option, value in (("labels", labels), ("features", features), ("exclude", exclude)):
            if value is not None:
                why = "a 2-D `y` is multilabel" if option == "labels" else "its X has no columns"
                fail(option, f"None for an .npz file ({why})", value)
        return _load_npz(path, val_fraction, test_fraction, seed)
    table = TableColumns(path)
    columns = list(table.names)
    split_col = "split" if "split" in columns else None
    if labels is not None:
        targets = _named_columns("labels", labels, columns, path.name, {"split"})
    else:
        if label is None:
            label = next((c for c in LABEL_NAMES if c in columns), None)
            if label is None:
                fail("label", f"the label column, one of {columns}", None)
        elif label not in columns:
            fail("label", f"a column of {path.name}: one of {columns}", label)
        if label == "split":
            fail("label", "the label column, not the `split` column", label)
        targets = [label]
    taken = {*targets, *([split_col] if split_col else [])}
    chosen, named, notes, steps = _choose_features(columns, taken, features, exclude, path.name)
    table.load([*targets, *([split_col] if split_col else []), *chosen], floats=chosen)
    if labels is not None:  # the labels first: bad ones fail before the features are read
        y: np.ndarray = np.column_stack([_indicator(table.values(n), repr(n)) for n in targets])
        classes: tuple[Hashable, ...] = tuple(targets)
    else:
        y, classes = _encode(table.values(targets[0]), "label")
    parts = None if split_col is None else _given_parts(table.values(split_col))
    data_columns, more_notes, more_steps = _table_columns(table, chosen, named, path.name)
    notes = [*notes, *more_notes, *_label_like(chosen)]
    steps = [*steps, *more_steps]
    data = _Data(path.name, data_columns, y, classes, tuple(notes), tuple(steps), tuple(columns))
    if parts is not None:
        return _given(data, parts, "column")
    return _draw(data, val_fraction, test_fraction, seed, 0)


def _named_columns(
    name: str,
    spec: str | Sequence[str],
    columns: list[str],
    source: str,
    reserved: set[str],
    *,
    once: bool = True,
) -> list[str]:
    """The columns that ``spec`` (the argument ``name``) names, in its order (a pattern's
    matches in the table's order). A reserved column (the labels, ``split``) named exactly is
    an error, and patterns do not match one; with ``once``, so is a column chosen twice."""
    specs = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen: dict[str, str] = {}  # column -> the name or pattern that chose it
    for item in (str(x).strip() for x in specs):
        if item in reserved:
            what = "`split` column" if item == "split" else "label column"
            expected = "0/1 label columns" if name == "labels" else "feature columns"
            fail(name, f"{expected}, not the {what}", item)
        if item in columns:  # a name first, even if it holds pattern characters
            matched = [item]
        elif any(ch in item for ch in "*?["):
            matched = [c for c in columns if c not in reserved and fnmatchcase(c, item)]
            if not matched:
                fail(name, f"patterns that match columns of {source}: {columns}", item)
        elif item:
            fail(name, f"columns of {source}: one of {columns}", item)
        else:
            continue
        for column in matched:
            if column in chosen and once:
                fail(
                    name,
                    "names and patterns that choose each column once",
                    f"{column!r} chosen by {chosen[column]!r} and by {item!r}",
                )
            chosen.setdefault(column, item)
    if not chosen:
        fail(name, "at least one column name", spec)
    return list(chosen)


def _choose_features(
    columns: list[str],
    taken: set[str],
    features: str | Sequence[str] | None,
    exclude: str | Sequence[str] | None,
    source: str,
) -> tuple[list[str], set[str], list[str], list[ColumnStep]]:
    """The feature columns that ``features`` and ``exclude`` choose, the ones named exactly
    in ``features``, and the notes and steps of the columns left out."""
    notes: list[str] = []
    steps: list[ColumnStep] = []
    if features is None:
        chosen, named = [c for c in columns if c not in taken], set()
    else:
        chosen = _named_columns("features", features, columns, source, taken)
        specs = features.split(",") if isinstance(features, str) else list(features)
        named = {c for c in (str(s).strip() for s in specs) if c in columns}
        left = [c for c in columns if c not in taken and c not in chosen]
        if left:
            notes.append(f"Left out, not chosen by `features`: {_listed(left)}.")
            steps += [ColumnStep(c, "excluded", (), "not chosen by `features`") for c in left]
    if exclude is not None:
        out = _named_columns("exclude", exclude, columns, source, taken, once=False)
        dropped = [c for c in chosen if c in out]
        chosen = [c for c in chosen if c not in out]
        if dropped:
            notes.append(f"Left out by `exclude`: {_listed(dropped)}.")
            steps += [ColumnStep(c, "excluded", (), "left out by `exclude`") for c in dropped]
    if not chosen:
        fail("features", "at least one feature column besides the labels", columns)
    return chosen, named, notes, steps


def _listed(names: Sequence[Hashable], shown: int = 10) -> str:
    """Names for a sentence: ``'a', 'b' and 3 more``."""
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _label_like(names: Sequence[str]) -> list[str]:
    """A note for each feature column named like a label column: it may leak the answer."""
    return [
        f"The column {n!r} is used as a feature, though it is named like a label column: if it "
        "holds labels (or anything derived from them), drop it or choose it as a label column."
        for n in names
        if n.strip().lower() in LABEL_NAMES
    ]


def _id_name(name: str) -> bool:
    """Whether a column name reads like a row identifier: ``id``, ``user_id``, ``customerID``,
    ``Unnamed: 0`` (an index written by a data frame), ``__index_level_0__``, ..."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return any(word.lower() in _ID_WORDS for word in words)


@dataclass(frozen=True)
class _Columns:
    """The features of every row before any split: what each split's preparation is fitted
    on (its training rows) and applied to.

    ``numbers``: float32 (N, D) of the number, boolean and date columns (an ``.npz`` file's
    ``X``), NaN where a cell is missing; ``names``, ``kinds`` and ``missing`` (cells per
    column) describe its columns (empty names for arrays); ``texts``: each text column's name,
    codes (int32 (N,), -1 for an empty cell) and values."""

    numbers: np.ndarray
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    missing: np.ndarray
    texts: tuple[tuple[str, np.ndarray, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class _Data:
    """A data set before it is split: features, targets (int64 (N,) labels or float32 (N, L)
    multilabel targets), their classes, the notes and steps of the columns left out, and the
    order of a table's columns (that the steps are listed in)."""

    name: str
    columns: _Columns
    y: np.ndarray
    classes: tuple[Hashable, ...]
    notes: tuple[str, ...] = ()
    steps: tuple[ColumnStep, ...] = ()
    order: tuple[str, ...] = ()


def _table_columns(
    table: TableColumns, chosen: list[str], named: set[str], source: str
) -> tuple[_Columns, list[str], list[ColumnStep]]:
    """The chosen feature columns of a table, read: identifiers left out (unless ``named``),
    numbers, booleans and dates as one float32 matrix, text as codes."""
    n = table.num_rows
    kinds = {c: table.kind(c) for c in chosen}
    other = [c for c in chosen if kinds[c] == "other"]
    if other:
        fail(
            "features",
            "columns of numbers, booleans, dates or text (leave the others out with `exclude`)",
            f"{other[0]!r} of type {table.type_name(other[0])}",
        )
    ids = [
        c
        for c in chosen
        if c not in named
        and n > 1
        and table.distinct(c) == n
        and (kinds[c] == "text" or _id_name(c) or table.span(c) == n)
    ]
    notes, steps = [], []
    if ids:
        notes.append(
            "Left out as row identifiers (a different value in every row): "
            f"{_listed(ids)}; name a column in `features` to use it."
        )
        steps += [
            ColumnStep(c, "identifier", (), "a different value in every row: left out") for c in ids
        ]
    used = [c for c in chosen if c not in ids]
    numeric = [c for c in used if kinds[c] != "text"]
    block = table.floats(numeric)
    bad = np.flatnonzero(block.infinite)
    if bad.size:
        fail(
            "feature columns",
            f"finite numbers or empty cells in {source}",
            f"{int(block.infinite.sum())} infinite values, first in {numeric[int(bad[0])]!r}",
        )
    texts = tuple((c, *table.codes(c)) for c in used if kinds[c] == "text")
    columns = _Columns(
        block.values, tuple(numeric), tuple(kinds[c] for c in numeric), block.missing, texts
    )
    return columns, notes, steps


@dataclass(frozen=True)
class _Plan:
    """A split's preparation of the features, fitted on its training rows."""

    kept: np.ndarray  # the columns of numbers used (int64 indices)
    fills: tuple[tuple[int, float, int | None], ...]  # (column of X, median, its mark's column)
    texts: tuple[tuple[np.ndarray, int, np.ndarray, bool], ...]  # codes, offset, lookup, one-hot
    width: int
    names: tuple[str, ...]
    steps: tuple[ColumnStep, ...]
    notes: tuple[str, ...]

    @property
    def plain(self) -> bool:
        """Whether ``X`` is the numbers as they are."""
        return not self.fills and not self.texts and self.width == len(self.kept)


def _fit(columns: _Columns, train: np.ndarray, every: int) -> _Plan:
    """The preparation of the features fitted on the rows ``train`` (of ``every`` rows)."""
    numbers = columns.numbers
    d = numbers.shape[1]
    keep = np.ones(d, dtype=bool)
    medians: dict[int, tuple[float, bool]] = {}
    steps: list[ColumnStep] = []
    empty: list[str] = []
    marked: list[str] = []
    unmarked: list[str] = []
    for j in np.flatnonzero(columns.missing):
        values = numbers[train, j]
        missing = np.isnan(values)
        name = columns.names[j] if columns.names else f"column {j}"
        if missing.all():
            keep[j] = False
            empty.append(name)
            steps.append(ColumnStep(name, "empty", (), "no value in the training rows: left out"))
            continue
        medians[int(j)] = (float(np.median(values[~missing])), bool(missing.any()))
    kept = np.flatnonzero(keep)
    position = {int(j): i for i, j in enumerate(kept)}
    names: list[str] = [columns.names[j] for j in kept] if columns.names else []
    for j in kept:
        kind = columns.kinds[j] if columns.kinds else "number"
        if kind == "boolean":
            steps.append(ColumnStep(columns.names[j], "boolean", (columns.names[j],), "1 / 0"))
        elif kind == "date":
            steps.append(
                ColumnStep(columns.names[j], "date", (columns.names[j],), "days since 1970-01-01")
            )
    width = len(kept)
    texts: list[tuple[np.ndarray, int, np.ndarray, bool]] = []
    one_hot: list[str] = []
    frequency: list[str] = []
    for name, codes, values in columns.texts:
        counts = np.bincount(codes[train] + 1, minlength=len(values) + 1)  # 0: empty cells
        seen = np.flatnonzero(counts)
        if seen.size <= MAX_ONE_HOT:
            lookup = np.full(len(values) + 1, -1, dtype=np.int64)
            lookup[seen] = np.arange(seen.size)
            new = tuple(f"{name} missing" if s == 0 else f"{name}={values[s - 1]}" for s in seen)
            texts.append((codes, width, lookup, True))
            one_hot.append(f"{name!r} ({seen.size} value{'s' if seen.size != 1 else ''})")
            detail = f"a 0/1 column for each of the {seen.size} values of the training rows"
            steps.append(ColumnStep(name, "one-hot", new, detail))
        else:
            share = (counts / len(train)).astype(np.float32)
            new = (f"{name} frequency",)
            texts.append((codes, width, share, False))
            frequency.append(f"{name!r} ({seen.size:,} values)")
            detail = f"each value's share of the training rows ({seen.size:,} values there)"
            steps.append(ColumnStep(name, "frequency", new, detail))
        names += new
        width += len(new)
    fills: list[tuple[int, float, int | None]] = []
    for i, (value, mark) in medians.items():
        name = columns.names[i] if columns.names else f"column {i}"
        total = int(columns.missing[i])
        in_train = int(np.isnan(numbers[train, i]).sum())
        new = (f"{name} missing",) if mark else ()
        fills.append((position[i], value, width if mark else None))
        names += new
        width += len(new)
        (marked if mark else unmarked).append(f"{name!r} ({total:,} cells)")
        detail = (
            f"{total:,} missing cells of {every:,} ({in_train:,} in the training rows) filled "
            f"with the training rows' median, {value:.6g}"
            + (", and marked in a 0/1 column" if mark else "")
        )
        steps.append(ColumnStep(name, "median", new, detail))
    notes = []
    booleans = [columns.names[j] for j in kept if columns.kinds and columns.kinds[j] == "boolean"]
    dates = [columns.names[j] for j in kept if columns.kinds and columns.kinds[j] == "date"]
    if booleans:
        notes.append(f"True / false as 1 / 0: {_listed(booleans)}.")
    if dates:
        notes.append(f"Dates as days since 1970-01-01: {_listed(dates)}.")
    if one_hot:
        notes.append(
            "One-hot encoded, a 0/1 column for each value of the training rows (an empty cell "
            f"is a value of its own; a value not seen there gives zeros): {', '.join(one_hot)}."
        )
    if frequency:
        notes.append(
            f"Frequency encoded (more than {MAX_ONE_HOT} values): each value becomes its share "
            f"of the training rows, 0 for a value not seen there: {', '.join(frequency)}."
        )
    if marked:
        notes.append(
            "Missing numbers filled with the median of the training rows, the filled cells "
            f"marked in a 0/1 column `<name> missing`: {', '.join(marked)}."
        )
    if unmarked:
        notes.append(
            "Missing numbers outside the training rows filled with the median of the training "
            f"rows: {', '.join(unmarked)}."
        )
    if empty:
        notes.append(f"Left out, without any value in the training rows: {_listed(empty)}.")
    return _Plan(kept, tuple(fills), tuple(texts), width, tuple(names), tuple(steps), tuple(notes))


def _apply(plan: _Plan, columns: _Columns, rows: np.ndarray) -> np.ndarray:
    """The features of ``rows``, prepared by ``plan``: float32 (len(rows), width)."""
    numbers = columns.numbers
    if plan.plain:
        return numbers[rows] if len(plan.kept) == numbers.shape[1] else numbers[rows][:, plan.kept]
    X = np.empty((len(rows), plan.width), dtype=np.float32)
    every = len(plan.kept) == numbers.shape[1]
    for start in range(0, len(rows), _ROWS):  # a bounded gather at a time
        block = numbers[rows[start : start + _ROWS]]
        X[start : start + _ROWS, : len(plan.kept)] = block if every else block[:, plan.kept]
    for column, value, mark in plan.fills:
        missing = np.isnan(X[:, column])
        if mark is not None:
            X[:, mark] = missing
        X[missing, column] = value
    for codes, offset, lookup, one_hot in plan.texts:
        shifted = codes[rows] + 1
        if one_hot:
            width = int(lookup.max()) + 1
            X[:, offset : offset + width] = 0.0
            where = lookup[shifted]
            hit = np.flatnonzero(where >= 0)
            X[hit, offset + where[hit]] = 1.0
        else:
            X[:, offset] = lookup[shifted]
    return X


def _build(
    data: _Data,
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    test_balanced: bool,
    notes: Sequence[str],
    rare: tuple[int, ...],
    repeat: int = 0,
    redraw: Callable[[int], Splits] | None = None,
) -> Splits:
    """:class:`Splits` of ``parts`` (train, val, test), the features prepared on the training
    rows; ``notes`` on the split come first, then those on the columns."""
    columns = data.columns
    plan = _fit(columns, parts[0], len(data.y))
    X = [_apply(plan, columns, part) for part in parts]
    y = [data.y[part] for part in parts]
    order = {c: i for i, c in enumerate(data.order)}
    steps = sorted((*data.steps, *plan.steps), key=lambda step: order.get(step.column, -1))
    return Splits(
        data.name,
        data.classes,
        X[0],
        y[0],
        X[1],
        y[1],
        X[2],
        y[2],
        test_balanced=test_balanced,
        notes=(*notes, *data.notes, *plan.notes),
        features=plan.names,
        rare_classes=rare,
        preprocessing=tuple(steps),
        repeat=repeat,
        _redraw=redraw,
    )


def _draw(data: _Data, val_fraction: float, test_fraction: float, seed: int, k: int) -> Splits:
    """The ``k``-th drawn split of ``data`` (its seed derived from ``seed`` and ``k``)."""
    redraw = partial(_draw, data, val_fraction, test_fraction, seed)
    seed_k = _split_seed(seed, k)
    if data.y.ndim == 2:
        parts = split_multilabel(
            data.y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed_k
        )
        notes, rare = _multilabel_notes(data.y, data.classes, parts, "stratified")
        return _build(
            data, parts, test_balanced=False, notes=notes, rare=rare, repeat=k, redraw=redraw
        )
    train, val, test, balanced, note = split_per_class(
        data.y,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed_k,
        classes=data.classes,
    )
    parts = (train, val, test)
    notes, rare = _rare_notes(data.y, data.classes, parts, drawn=True)
    return _build(
        data,
        parts,
        test_balanced=balanced,
        notes=(note, *notes),
        rare=rare,
        repeat=k,
        redraw=redraw,
    )


def _given(data: _Data, parts: tuple[np.ndarray, np.ndarray, np.ndarray], how: str) -> Splits:
    """:class:`Splits` of the rows that a ``split`` column (``how="column"``) or the arrays of
    an ``.npz`` file (``"arrays"``) assign, after checking that training holds every class
    (every label's positives and negatives)."""
    if data.y.ndim == 2:
        notes, rare = _multilabel_notes(data.y, data.classes, parts, how)
        return _build(data, parts, test_balanced=False, notes=notes, rare=rare)
    tr, _, te = parts
    missing = np.flatnonzero(np.bincount(data.y[tr], minlength=len(data.classes)) == 0)
    if missing.size:
        fail(
            "split" if how == "column" else "y_train",
            "every class in the 'train' rows",
            f"no 'train' rows of class(es) {[data.classes[c] for c in missing[:10]]}",
        )
    test_counts = np.bincount(data.y[te], minlength=len(data.classes))
    notes, rare = _rare_notes(data.y, data.classes, parts, drawn=False)
    balanced = bool(test_counts.min() == test_counts.max())
    return _build(data, parts, test_balanced=balanced, notes=(_GIVEN_BY[how], *notes), rare=rare)


def _rare_notes(
    y: np.ndarray,
    classes: tuple[Hashable, ...],
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    drawn: bool,
) -> tuple[list[str], tuple[int, ...]]:
    """The note naming the classes missing from the validation or test split, with their
    rows in each split, and those classes."""
    counts = np.stack([np.bincount(y[p], minlength=len(classes)) for p in parts])
    rare = np.flatnonzero((counts[1] == 0) | (counts[2] == 0))
    if not rare.size:
        return [], ()
    shown = [f"{classes[c]!r} {' / '.join(map(str, counts[:, c]))}" for c in rare[:10]]
    more = f" and {rare.size - 10} more" if rare.size > 10 else ""
    head = (
        f"Rare classes kept (fewer than {MIN_PER_CLASS} samples: training first, then test; "
        if drawn
        else "Classes missing from the validation or test split ("
    )
    return [
        f"{head}samples in train / validation / test): {', '.join(shown)}{more}. Validation "
        "and test metrics cover the classes present in each split."
    ], tuple(int(c) for c in rare)


def _multilabel_notes(
    y: np.ndarray,
    labels: Sequence[Hashable],
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    how: str,
) -> tuple[list[str], tuple[int, ...]]:
    """The notes on a multilabel split, and the labels without a positive in validation or
    test, after checking that every label can be trained and every split evaluated; ``how``
    says where the splits come from: ``"column"`` (a table's ``split`` column), ``"arrays"``
    (``X_train``, ``X_val`` and ``X_test`` of an ``.npz`` file) or ``"stratified"``."""
    tr, va, te = parts

    def listed(mask: np.ndarray) -> str:
        return _listed([labels[int(i)] for i in np.flatnonzero(mask)])

    for value, kind in ((1, "positive"), (0, "negative")):
        missing = (y[tr] == value).sum(axis=0) == 0
        if missing.any():
            everywhere = (y == value).sum(axis=0)[missing].tolist()
            fail(
                "labels",
                f"columns with at least one {kind} in the training split",
                f"no {kind} for {listed(missing)} ({kind}s in all rows: {everywhere})",
            )
    notes = [
        _GIVEN_BY[how]
        if how in _GIVEN_BY
        else "Iterative stratification (Sechidis et al., 2011): the positives of every label, "
        "rarest first, spread over train / validation / test in the requested shares."
    ]
    positives = np.stack([(y[p] == 1).sum(axis=0) for p in parts])
    few = np.flatnonzero(positives.sum(axis=0) < MIN_PER_CLASS)
    if few.size and how not in _GIVEN_BY:
        shown = [f"{labels[c]!r} {' / '.join(map(str, positives[:, c]))}" for c in few[:10]]
        more = f" and {few.size - 10} more" if few.size > 10 else ""
        notes.append(
            f"Rare labels kept (fewer than {MIN_PER_CLASS} positives: training first, then "
            f"test; positives in train / validation / test): {', '.join(shown)}{more}."
        )
    for part, split in ((va, "validation"), (te, "test")):
        if not (y[part] == 1).any():
            key = "val" if split == "validation" else split
            where = {"column": f"rows whose `split` is {key!r}", "arrays": f"rows of y_{key}"}
            fail(
                f"positives in the {split} split",
                "at least 1 (average precision, which ranks the strategies, needs a positive "
                "of some label)",
                f"0 in its {len(part)} {where.get(how, 'rows')}",
            )
        absent = (y[part] == 1).sum(axis=0) == 0
        if absent.any():
            notes.append(
                f"No positive in the {split} split for {listed(absent)}: average precision is "
                f"undefined there, so they are left out of the {split} averages"
                + (" (and keep the threshold 0.5)." if split == "validation" else ".")
            )
    unknown = int((y == UNKNOWN).sum())
    if unknown:
        notes.append(
            f"{unknown} label entries are not annotated (missing values): masked out of the "
            "losses and the metrics."
        )
    rare = np.flatnonzero((positives[1] == 0) | (positives[2] == 0))
    return notes, tuple(int(c) for c in rare)


def _features(X: np.ndarray, source: str) -> np.ndarray:
    """An ``.npz`` file's features as float32 (N, D), checked to be finite."""
    if X.ndim != 2 or X.shape[1] == 0:
        fail("X", "an array with at least one feature per row", X.shape)
    if X.dtype.kind not in "biuf":
        fail("X", "numeric features (encode categories first)", f"dtype {X.dtype}")
    X = X.astype(np.float32, copy=False)
    bad = ~np.isfinite(X)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        fail(
            "X",
            f"finite numbers in {source}",
            f"{int(bad.sum())} NaN/inf values, first in 'column {col}'",
        )
    return X


def _array_columns(X: np.ndarray) -> _Columns:
    """An ``.npz`` file's features as :class:`_Columns`: used as they are."""
    return _Columns(X, (), (), np.zeros(X.shape[1], dtype=np.int64))


def _encode(labels: np.ndarray, name: str) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    if labels.size == 0:
        fail(name, "non-empty", "no rows")
    if labels.dtype.kind == "f":
        missing = np.isnan(labels)
        if missing.any():
            fail(name, "a label in every row", f"{int(missing.sum())} missing labels")
    elif labels.dtype == object and any(v is None for v in labels):
        fail(name, "a label in every row", f"{sum(v is None for v in labels)} missing labels")
    classes, y = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        fail(name, "at least two classes", classes.tolist())
    return y.astype(np.int64), tuple(c.item() if isinstance(c, np.generic) else c for c in classes)


def _indicator(values: np.ndarray, column: str, name: str = "labels") -> np.ndarray:
    """A label column as float32 1 / 0, with :data:`UNKNOWN` for missing values; errors name
    the argument ``name`` (``labels`` for a table's columns, ``y`` for an array)."""
    expected = f"0/1 or true/false values in column {column}"
    if values.dtype == object:  # booleans (or numbers) with missing values, or text
        numbers = (bool, int, float, np.number, np.bool_)
        text = sorted({v for v in values if v is not None and not isinstance(v, numbers)}, key=str)
        if text:
            fail(name, expected, text[:5])
        values = np.array([np.nan if v is None else float(v) for v in values])
    elif values.dtype.kind not in "biuf":
        fail(name, expected, f"dtype {values.dtype}")
    v = values.astype(np.float64)
    missing = np.isnan(v)
    bad = np.unique(v[~missing & (v != 0) & (v != 1)])
    if bad.size:
        shown = [int(b) if b == int(b) else float(b) for b in bad[:5]]
        fail(name, expected, shown)
    return np.where(missing, UNKNOWN, v).astype(np.float32)


def _given_parts(split: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The train, val and test rows of a ``split`` column, each checked to be non-empty."""
    empty = np.array([s is None or (isinstance(s, float) and s != s) for s in split], dtype=bool)
    values = np.array([_SPLIT_NAMES.get(str(s).strip().lower(), "?") for s in split])
    values[empty] = "?"
    unknown = sorted({str(s) for s, v, e in zip(split, values, empty) if v == "?" and not e})
    if unknown or empty.any():
        shown = [f"{int(empty.sum())} empty cell(s)"] if empty.any() else []
        shown += [f"the value(s) {unknown[:5]}"] if unknown else []
        fail("split", "train, val or test in every row", " and ".join(shown))
    tr, va, te = (np.flatnonzero(values == k) for k in ("train", "val", "test"))
    for k, rows in (("train", tr), ("test", te)):
        if rows.size == 0:
            fail("split", f"at least one {k!r} row", "none")
    if va.size == 0:
        fail("split", "at least one 'val' row (early stopping needs a validation split)", "none")
    return tr, va, te


def _load_npz(path: Path, val_fraction: float, test_fraction: float, seed: int) -> Splits:
    arrays = read_arrays(path)
    if {"X_train", "y_train", "X_test", "y_test"} <= set(arrays):
        keys = ("train", "val", "test")
        for key in ("X_val", "y_val"):
            if key not in arrays:
                fail(key, f"present in {path.name} (early stopping needs a validation split)", None)
        pairs = {k: _npz_pair(arrays, f"X_{k}", f"y_{k}") for k in keys}
        for k in keys[1:]:
            for a in ("X", "y"):
                given, first = arrays[f"{a}_{k}"], arrays[f"{a}_train"]
                if given.shape[1:] != first.shape[1:]:
                    fail(f"{a}_{k}", f"shaped like {a}_train, {_layout(first)}", given.shape)
        y_all = np.concatenate([pairs[k][1] for k in keys])
        X_all = _features(np.concatenate([pairs[k][0] for k in keys]), path.name)
        split = np.concatenate([np.full(len(pairs[k][1]), k) for k in keys])
        parts = _given_parts(split)
        if y_all.ndim == 2:
            y_multi, names = _npz_indicators(y_all)
            data = _Data(path.name, _array_columns(X_all), y_multi, names)
        else:
            data = _Data(path.name, _array_columns(X_all), *_encode(y_all, "y"))
        return _given(data, parts, "arrays")
    if "X" not in arrays or "y" not in arrays:
        fail(
            "path",
            "an .npz file with arrays named X and y (or X_train, y_train, X_val, y_val, "
            f"X_test, y_test), found {sorted(arrays)}",
            str(path),
        )
    X, y = _npz_pair(arrays, "X", "y")
    X = _features(X, path.name)
    if y.ndim == 2:
        y_multi, names = _npz_indicators(y)
        data = _Data(path.name, _array_columns(X), y_multi, names)
    else:
        data = _Data(path.name, _array_columns(X), *_encode(y, "y"))
    return _draw(data, val_fraction, test_fraction, seed, 0)


def _layout(a: np.ndarray) -> str:
    """An array's shape with its rows as N, e.g. ``(N,)`` or ``(N, 10)``."""
    return "(N" + "".join(f", {d}" for d in a.shape[1:]) + (",)" if a.ndim == 1 else ")")


def _npz_pair(arrays: dict[str, np.ndarray], x_key: str, y_key: str) -> tuple[np.ndarray, ...]:
    """Features ``x_key`` flattened to (N, D) and labels ``y_key``, (N,) or (N, L), of an
    ``.npz`` file, checked to have a row each for the same samples."""
    X, y = arrays[x_key], arrays[y_key]
    if y.ndim not in (1, 2):
        fail(
            y_key,
            "labels of shape (N,) or multilabel 0/1 targets of shape (N, L)",
            f"an array of shape {y.shape}",
        )
    if X.ndim == 0:
        fail(x_key, "an array with one row per sample", f"an array of shape {X.shape}")
    if len(X) != len(y):
        fail(x_key, f"{len(y)} rows, one for each row of {y_key}", f"{len(X)} rows")
    if len(y) == 0:
        fail(y_key, "non-empty", "no rows")
    return X.reshape(len(X), -1), y


def _npz_indicators(y: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """A 2-D ``y`` of an ``.npz`` file as multilabel targets, its labels named 0..L-1."""
    if y.shape[1] == 0:
        fail("y", "at least one label column", y.shape)
    columns = [_indicator(y[:, j], str(j), "y") for j in range(y.shape[1])]
    return np.column_stack(columns), tuple(range(y.shape[1]))
