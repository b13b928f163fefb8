"""Data for ``compare``: the built-in data set or the user's table, split for training.

A user's data is split per class (stratified) into train / validation / test. The test split is
balanced (the same number of samples from every class) when every class can spare at least
:data:`MIN_BALANCED_TEST` samples for it; otherwise it is stratified like the data, and the
report says so. Either way balanced accuracy is the mean of the per-class recalls, so it does not
depend on the test split's class mix; plain accuracy and calibration do.

Multilabel data (several 0/1 label columns, or a 2-D ``y``) cannot be stratified per class: a
row carries several labels at once. It is split by iterative stratification (Sechidis et al.,
2011; see :func:`split_multilabel`), which spreads the positives of every label, rarest first,
over the splits in the requested proportions as closely as whole rows allow. Every label needs
a positive and a negative in the training split; labels without a positive in the validation or
test split have no average precision there, are left out of that split's averages, and are
named in the report. Missing values in a label column mean "not annotated" (:data:`UNKNOWN`):
those entries are masked out of the losses and the metrics, never read as negatives.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from .._checks import check_number, fail
from .._io import LABEL_NAMES, read_arrays, read_table
from ..datasets import load_digits_lt

__all__ = [
    "MIN_BALANCED_TEST",
    "UNKNOWN",
    "Splits",
    "load_builtin",
    "load_user_data",
    "split_multilabel",
    "split_per_class",
]

#: Fewest test samples per class for which a balanced test split is used; below it a balanced
#: split would be too small to measure anything, and a stratified one is used.
MIN_BALANCED_TEST = 20
#: Fewest samples a class needs: one each for train, validation and test.
MIN_PER_CLASS = 3
_SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
#: The value of a multilabel target that is not annotated (a missing value in a label column).
UNKNOWN = -1.0
# The note on splits that the data gives, by where they come from.
_GIVEN_BY = {
    "column": "Splits given by the `split` column.",
    "arrays": "Splits given by the arrays X_train / y_train, X_val / y_val, X_test / y_test.",
}


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
            (always False for multilabel data).
        notes: how the data was split (and anything else the report should say about it).
        features: the names of the feature columns of a table, in the order of the columns
            of ``X_*``; empty for arrays (an ``.npz`` file, the built-in data set).
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


def load_builtin(imbalance_factor: float = 100.0, *, seed: int = 0) -> Splits:
    """``digits-lt`` as :class:`Splits` (its validation and test splits are balanced)."""
    ds = load_digits_lt(imbalance_factor=imbalance_factor, seed=seed)
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

    Each class gives ``max(1, round(n_c * val_fraction))`` samples to validation. The test split
    takes ``k = floor(min_c n_c * test_fraction)`` samples of every class when ``k`` is at least
    :data:`MIN_BALANCED_TEST` (balanced), else ``max(1, round(n_c * test_fraction))`` of each
    (stratified). The rest is for training.

    Args:
        y: int64 labels 0..C-1, shape (N,).
        val_fraction: share of each class for validation, in (0, 0.5).
        test_fraction: share of each class for the test, in (0, 0.5).
        seed: seed of the random assignment.
        classes: the original label of each class index, for error messages.

    Returns:
        ``(train, val, test, test_balanced, note)``: three index arrays, whether the test split
        is balanced, and a sentence that says how it was split.

    Raises:
        ValueError: when a class has fewer than three samples, naming it.
    """
    val_fraction = check_number(
        "val_fraction", val_fraction, low=0.0, high=0.5, low_open=True, high_open=True
    )
    test_fraction = check_number(
        "test_fraction", test_fraction, low=0.0, high=0.5, low_open=True, high_open=True
    )
    counts = np.bincount(y)
    small = np.flatnonzero(counts < MIN_PER_CLASS)
    if small.size:
        names = classes if classes is not None else range(len(counts))
        listed = ", ".join(f"class {names[c]!r} ({counts[c]} samples)" for c in small[:10])
        fail(
            "labels",
            f"at least {MIN_PER_CLASS} samples in every class (one each for training, "
            "validation and test); remove or merge the rare classes",
            listed,
        )
    k = int(np.floor(counts.min() * test_fraction))
    balanced = k >= MIN_BALANCED_TEST
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for c, n in enumerate(counts):
        members = rng.permutation(np.flatnonzero(y == c))
        n_test = k if balanced else max(1, round(n * test_fraction))
        n_val = max(1, round(n * val_fraction))
        n_test = min(n_test, n - 2)
        n_val = min(n_val, n - n_test - 1)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    train, val, test = (rng.permutation(np.concatenate(p)) for p in parts)
    note = (
        f"Balanced test split: {k} samples of every class."
        if balanced
        else f"Stratified test split ({test_fraction:.0%} of each class): the rarest class has "
        f"too few samples for a balanced one of at least {MIN_BALANCED_TEST} per class."
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
    want = shares[:, None] * positive.sum(axis=0)[None, :]
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
    parts = tuple(np.flatnonzero(split == s) for s in range(3))
    if any(part.size == 0 for part in parts):
        fail("data", "enough rows for non-empty train, validation and test splits", len(split))
    return parts  # type: ignore[return-value]


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


def _features(X: np.ndarray, columns: Sequence[str] | None, source: str) -> np.ndarray:
    if X.ndim != 2 or X.shape[1] == 0:
        fail("features", "a 2-D array with at least one column", X.shape)
    if X.dtype.kind not in "biuf":
        fail("features", "numeric columns (encode categories first)", f"dtype {X.dtype}")
    X = X.astype(np.float32)
    bad = ~np.isfinite(X)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        name = columns[col] if columns is not None else f"column {col}"
        fail(
            "features",
            f"finite numbers in {source}",
            f"{int(bad.sum())} NaN/inf values, first in {name!r}",
        )
    return X


def load_user_data(
    path: str | Path,
    *,
    label: str | None = None,
    labels: str | Sequence[str] | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    """Read a user's data set and split it.

    Accepted files:

    - CSV / TSV / Parquet (file or directory): numeric feature columns and a label column
      (``label``, or the first of ``label``, ``labels``, ``target``, ``y``, ``class``), or with
      ``labels`` several 0/1 label columns (multilabel). An optional column ``split`` with
      values ``train`` / ``val`` / ``test`` gives the splits.
    - ``.npz`` with arrays ``X`` (N, D) and ``y`` (N,) (features or precomputed embeddings;
      an ``X`` of more dimensions is flattened to (N, D)), or with the given splits
      ``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test`` and ``y_test``, each ``X_*``
      with a row for each of its ``y_*``. A 2-D ``y`` (N, L) of 0/1 is multilabel (NaN: not
      annotated), its labels named 0..L-1.

    A ``.csv`` file whose header row reads as one column holding ``;`` or a tab is read with
    that delimiter, as spreadsheets export it; column names must differ and text
    must be UTF-8.

    Multilabel label columns hold 0/1 or true/false; an empty value (NaN in an ``.npz``) is a
    label that is not annotated for that row (:data:`UNKNOWN`), masked out of the losses and
    the metrics. Every other column (but ``split``) is a numeric feature; their names are
    kept in :attr:`Splits.features`, and a feature column named like a label column (such as
    ``label`` or ``target``, which may leak the answer) is named in the notes.

    Args:
        path: the file.
        label: the label column of a table.
        labels: the 0/1 label columns of a multilabel table: names, as a sequence or one
            comma-separated string, and patterns such as ``"tag_*"`` (``*``, ``?`` and ``[...]``
            as in shell globs), matched against the column names.
        val_fraction, test_fraction: shares of each class (of the rows and each label's
            positives, for multilabel data) for validation and test when the splits are not
            given.
        seed: seed of the split.

    Returns:
        :class:`Splits` with labels encoded 0..C-1 in sorted order of the original labels, or
        multilabel targets (N, L) in the order of ``labels``.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for a file that cannot be read (an ``.npz`` that is empty or not a zip
            archive, a directory without data files, two columns of the same name, text that
            is not UTF-8), a missing label column, non-numeric or missing features, missing labels,
            a single class, or a class with fewer than three samples; for an ``.npz`` file,
            arrays whose rows do not match (``X_train`` and ``y_train``, ...), splits whose
            arrays differ in shape, or a ``y`` that is neither 1-D nor 2-D; for a ``split``
            column, empty or unknown values; for multilabel data, a label column that does
            not exist or is chosen twice, values other than 0/1, a label without a positive
            (or a negative) in the training split, or a validation or test split without any
            positive.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if labels is not None and label is not None:
        fail("labels", "None when `label` is given (one label column, or several 0/1 ones)", labels)
    if path.suffix.lower() == ".npz":
        if labels is not None:
            fail("labels", "None for an .npz file (a 2-D `y` is multilabel)", labels)
        return _load_npz(path, val_fraction, test_fraction, seed)
    table = read_table(path)
    columns = list(table)
    if labels is not None:
        names = _label_columns(labels, columns, path.name)
        y_multi = np.column_stack([_indicator(table.pop(n), repr(n)) for n in names])
        split_col = table.pop("split", None)
        X = _table_features(table, columns, path.name)
        if split_col is not None:
            parts, how = _given_parts(split_col), "column"
        else:
            parts = split_multilabel(
                y_multi, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
            )
            how = "stratified"
        return _with_features(_multilabel_splits(path.name, X, y_multi, names, parts, how), table)
    if label is None:
        label = next((c for c in LABEL_NAMES if c in table), None)
        if label is None:
            fail("label", f"the label column, one of {columns}", None)
    elif label not in table:
        fail("label", f"a column of {path.name}: one of {columns}", label)
    split_col = table.pop("split", None)
    y, classes = _encode(table.pop(label), "label")
    X = _table_features(table, columns, path.name)
    if split_col is not None:
        return _with_features(_given_splits(path.name, X, y, classes, split_col, "column"), table)
    return _with_features(
        _split(path.name, X, y, classes, val_fraction, test_fraction, seed), table
    )


def _with_features(splits: Splits, table: dict[str, np.ndarray]) -> Splits:
    """``splits`` with the names of its feature columns (the columns left in ``table``), and a
    note for each one named like a label column: a label read as a feature leaks the answer."""
    names = tuple(table)
    notes = [
        f"The column {n!r} is used as a feature, though it is named like a label column: if it "
        "holds labels (or anything derived from them), drop it or choose it as a label column."
        for n in names
        if n.strip().lower() in LABEL_NAMES
    ]
    return replace(splits, features=names, notes=(*splits.notes, *notes))


def _table_features(table: dict[str, np.ndarray], columns: list[str], source: str) -> np.ndarray:
    """The remaining columns of a table (the labels and ``split`` taken out) as features."""
    non_numeric = [c for c, v in table.items() if v.dtype.kind not in "biuf"]
    if non_numeric:
        fail(
            "features",
            "numeric columns (encode categories or drop text columns first)",
            f"non-numeric columns {non_numeric}",
        )
    if not table:
        fail("features", "at least one numeric feature column besides the label", columns)
    return _features(np.column_stack(list(table.values())), list(table), source)


def _label_columns(labels: str | Sequence[str], columns: list[str], source: str) -> list[str]:
    """The label columns that ``labels`` names, in its order (a pattern's matches in the
    table's order); a column chosen twice is an error."""
    specs = labels.split(",") if isinstance(labels, str) else list(labels)
    chosen: dict[str, str] = {}  # column -> the name or pattern that chose it
    for spec in (str(x).strip() for x in specs):
        if spec == "split":
            fail("labels", "0/1 label columns, not the `split` column", spec)
        if spec in columns:  # a name first, even if it holds pattern characters
            matched = [spec]
        elif any(ch in spec for ch in "*?["):
            matched = [c for c in columns if c != "split" and fnmatchcase(c, spec)]
            if not matched:
                fail("labels", f"patterns that match columns of {source}: {columns}", spec)
        elif spec:
            fail("labels", f"columns of {source}: one of {columns}", spec)
        else:
            continue
        for column in matched:
            if column in chosen:
                fail(
                    "labels",
                    "names and patterns that choose each column once",
                    f"{column!r} chosen by {chosen[column]!r} and by {spec!r}",
                )
            chosen[column] = spec
    if not chosen:
        fail("labels", "at least one column name", labels)
    return list(chosen)


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


def _multilabel_splits(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    labels: Sequence[Hashable],
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    how: str,
) -> Splits:
    """Multilabel :class:`Splits` of ``parts`` (train, val, test), after checking that every
    label can be trained and every split evaluated; ``how`` says where the splits come from:
    ``"column"`` (a table's ``split`` column), ``"arrays"`` (``X_train``, ``X_val`` and
    ``X_test`` of an ``.npz`` file) or ``"stratified"``."""
    tr, va, te = parts

    def listed(mask: np.ndarray) -> str:
        chosen = [repr(labels[int(i)]) for i in np.flatnonzero(mask)]
        return ", ".join(chosen[:10]) + (
            f" and {len(chosen) - 10} more" if len(chosen) > 10 else ""
        )

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
    return Splits(
        name,
        tuple(labels),
        X[tr],
        y[tr],
        X[va],
        y[va],
        X[te],
        y[te],
        test_balanced=False,
        notes=tuple(notes),
    )


def _split(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    classes: tuple[Hashable, ...],
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> Splits:
    train, val, test, balanced, note = split_per_class(
        y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, classes=classes
    )
    return Splits(
        name, classes, X[train], y[train], X[val], y[val], X[test], y[test], balanced, (note,)
    )


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


def _given_splits(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    classes: tuple[Hashable, ...],
    split: np.ndarray,
    how: str,
) -> Splits:
    """:class:`Splits` of the rows a ``split`` column (or, ``how="arrays"``, the arrays of an
    ``.npz`` file) assigns, after checking that training and validation hold every class."""
    tr, va, te = _given_parts(split)
    for k, rows in (("train", tr), ("val", va)):
        missing = np.flatnonzero(np.bincount(y[rows], minlength=len(classes)) == 0)
        if missing.size:
            fail(
                "split" if how == "column" else f"y_{k}",
                f"every class in the {k!r} rows",
                f"no {k!r} rows of class(es) {[classes[c] for c in missing[:10]]}",
            )
    test_counts = np.bincount(y[te], minlength=len(classes))
    balanced = bool(test_counts.min() == test_counts.max())
    return Splits(
        name,
        classes,
        X[tr],
        y[tr],
        X[va],
        y[va],
        X[te],
        y[te],
        test_balanced=balanced,
        notes=(_GIVEN_BY[how],),
    )


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
        X_all = _features(np.concatenate([pairs[k][0] for k in keys]), None, path.name)
        split = np.concatenate([np.full(len(pairs[k][1]), k) for k in keys])
        if y_all.ndim == 2:
            y_multi, names = _npz_indicators(y_all)
            parts = _given_parts(split)
            return _multilabel_splits(path.name, X_all, y_multi, names, parts, "arrays")
        y_enc, classes = _encode(y_all, "y")
        return _given_splits(path.name, X_all, y_enc, classes, split, "arrays")
    if "X" not in arrays or "y" not in arrays:
        fail(
            "path",
            "an .npz file with arrays named X and y (or X_train, y_train, X_val, y_val, "
            f"X_test, y_test), found {sorted(arrays)}",
            str(path),
        )
    X, y = _npz_pair(arrays, "X", "y")
    X = _features(X, None, path.name)
    if y.ndim == 2:
        y_multi, names = _npz_indicators(y)
        parts = split_multilabel(
            y_multi, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
        )
        return _multilabel_splits(path.name, X, y_multi, names, parts, "stratified")
    y_enc, classes = _encode(y, "y")
    return _split(path.name, X, y_enc, classes, val_fraction, test_fraction, seed)


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
