"""Data for ``compare``: the built-in data set or the user's table, split for training.

A user's data is split per class (stratified) into train / validation / test. The test split is
balanced (the same number of samples from every class) when every class can spare at least
:data:`MIN_BALANCED_TEST` samples for it; otherwise it is stratified like the data, and the
report says so. Either way balanced accuracy is the mean of the per-class recalls, so it does not
depend on the test split's class mix; plain accuracy and calibration do.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import check_number, fail

__all__ = ["MIN_BALANCED_TEST", "Splits", "load_builtin", "load_user_data", "split_per_class"]

#: Fewest test samples per class for which a balanced test split is used; below it a balanced
#: split would be too small to measure anything, and a stratified one is used.
MIN_BALANCED_TEST = 20
#: Fewest samples a class needs: one each for train, validation and test.
MIN_PER_CLASS = 3
_LABEL_NAMES = ("label", "labels", "target", "y", "class")
_SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays with integer labels 0..C-1.

    Attributes:
        name: where the data came from.
        classes: the original label of each class index.
        X_train, y_train, X_val, y_val, X_test, y_test: float32 features (N, D) and int64 labels.
        test_balanced: whether the test split has the same number of samples in every class.
        notes: how the data was split, for the report.
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

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return len(self.classes)

    @property
    def num_features(self) -> int:
        """D, the number of input features."""
        return int(self.X_train.shape[1])

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

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Samples per class in a split, int64 (C,)."""
        y = {"train": self.y_train, "val": self.y_val, "test": self.y_test}[split]
        return np.bincount(y, minlength=self.num_classes).astype(np.int64)


def load_builtin(imbalance_factor: float = 100.0, *, seed: int = 0) -> Splits:
    """``digits-lt`` as :class:`Splits` (its validation and test splits are balanced)."""
    from ..datasets import load_digits_lt

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


def _read_table(path: Path) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffixes = [s.lower() for s in path.suffixes]
    try:
        if path.is_dir() or ".parquet" in suffixes or ".pq" in suffixes:
            table = pq.read_table(path)
        else:
            delimiter = "\t" if ".tsv" in suffixes else ","
            table = pacsv.read_csv(
                path,
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                # empty fields and markers such as NA are missing values, in text columns too
                convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"could not read {path.name} as a table: {exc}") from None
    out: dict[str, np.ndarray] = {}
    for name, col in zip(table.column_names, table.columns):
        out[name] = col.to_numpy(zero_copy_only=False)
    return out


def load_user_data(
    path: str | Path,
    *,
    label: str | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    """Read a user's data set and split it.

    Accepted files:

    - CSV / TSV / Parquet (file or directory): numeric feature columns and a label column
      (``label``, or the first of ``label``, ``labels``, ``target``, ``y``, ``class``). An optional
      column ``split`` with values ``train`` / ``val`` / ``test`` gives the splits.
    - ``.npz`` with arrays ``X`` (N, D) and ``y`` (N,) (features or precomputed embeddings),
      or with ``X_train``, ``y_train``, ``X_test``, ``y_test`` and optionally ``X_val``, ``y_val``.

    Args:
        path: the file.
        label: the label column of a table.
        val_fraction, test_fraction: shares of each class for validation and test when the
            splits are not given.
        seed: seed of the split.

    Returns:
        :class:`Splits` with labels encoded 0..C-1 in sorted order of the original labels.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for a missing label column, non-numeric or missing features, missing labels,
            a single class, or a class with fewer than three samples.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".npz":
        return _load_npz(path, val_fraction, test_fraction, seed)
    table = _read_table(path)
    columns = list(table)
    if label is None:
        label = next((c for c in _LABEL_NAMES if c in table), None)
        if label is None:
            fail("label", f"the label column, one of {columns}", None)
    elif label not in table:
        fail("label", f"a column of {path.name}: one of {columns}", label)
    split_col = table.pop("split", None)
    y, classes = _encode(table.pop(label), "label")
    non_numeric = [c for c, v in table.items() if v.dtype.kind not in "biuf"]
    if non_numeric:
        fail(
            "features",
            "numeric columns (encode categories or drop text columns first)",
            f"non-numeric columns {non_numeric}",
        )
    if not table:
        fail("features", "at least one numeric feature column besides the label", columns)
    X = _features(np.column_stack(list(table.values())), list(table), path.name)
    if split_col is not None:
        return _given_splits(path.name, X, y, classes, split_col)
    return _split(path.name, X, y, classes, val_fraction, test_fraction, seed)


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


def _given_splits(
    name: str, X: np.ndarray, y: np.ndarray, classes: tuple[Hashable, ...], split: np.ndarray
) -> Splits:
    values = np.array([_SPLIT_NAMES.get(str(s).strip().lower(), "?") for s in split])
    unknown = sorted({str(s) for s, v in zip(split, values) if v == "?"})
    if unknown:
        fail("split", "train, val or test in every row", unknown[:5])
    parts = {k: np.flatnonzero(values == k) for k in ("train", "val", "test")}
    for k in ("train", "test"):
        if parts[k].size == 0:
            fail("split", f"at least one {k!r} row", "none")
    if parts["val"].size == 0:
        fail("split", "at least one 'val' row (early stopping needs a validation split)", "none")
    for k in ("train", "val"):
        missing = np.flatnonzero(np.bincount(y[parts[k]], minlength=len(classes)) == 0)
        if missing.size:
            fail(
                "split",
                f"every class in the {k!r} rows",
                f"no {k!r} rows of class(es) {[classes[c] for c in missing[:10]]}",
            )
    test_counts = np.bincount(y[parts["test"]], minlength=len(classes))
    balanced = bool(test_counts.min() == test_counts.max())
    tr, va, te = parts["train"], parts["val"], parts["test"]
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
        notes=("Splits given by the `split` column.",),
    )


def _load_npz(path: Path, val_fraction: float, test_fraction: float, seed: int) -> Splits:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if {"X_train", "y_train", "X_test", "y_test"} <= set(arrays):
        if "X_val" not in arrays or "y_val" not in arrays:
            fail("X_val", f"present in {path.name} (early stopping needs a validation split)", None)
        keys = ["train", "val", "test"]
        y_all = np.concatenate([arrays[f"y_{k}"] for k in keys])
        y_enc, classes = _encode(y_all, "y")
        X_all = _features(np.concatenate([arrays[f"X_{k}"] for k in keys]), None, path.name)
        split = np.concatenate([np.full(len(arrays[f"y_{k}"]), k) for k in keys])
        return _given_splits(path.name, X_all, y_enc, classes, split)
    if "X" not in arrays or "y" not in arrays:
        fail(
            "npz",
            "arrays named X and y (or X_train, y_train, X_val, y_val, X_test, y_test)",
            sorted(arrays),
        )
    y, classes = _encode(arrays["y"], "y")
    X = _features(arrays["X"].reshape(len(arrays["X"]), -1), None, path.name)
    if len(X) != len(y):
        fail("X", f"{len(y)} rows like y", len(X))
    return _split(path.name, X, y, classes, val_fraction, test_fraction, seed)
