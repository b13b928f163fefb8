"""The user's PyTorch data sets in a comparison: their labels, and splits made of labels alone.

A comparison of the user's own model (:func:`~counterpoise.compare.model.compare_model`) trains on
map-style data sets that yield ``(input, label)``, and scores the outputs against the labels of
the validation and test sets. Those labels are read without loading any input where the data set
exposes them (:func:`dataset_labels`); :func:`label_splits` checks them and gathers them into a
:class:`~counterpoise.compare.data.Splits` without features, which is all that scoring a
comparison needs.

A label is a class index (an integer, or a 0-d tensor holding one) for multiclass data, or a
float vector of L entries, 1 (positive), 0 (negative) or -1 (not annotated, masked out of the
losses and the metrics), for multilabel data.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Subset, TensorDataset

from .._checks import fail
from .data import UNKNOWN, Splits

__all__ = ["SPLIT_NAMES", "dataset_labels", "exposed_labels", "label_array", "label_splits"]

#: The data sets of a comparison, in order.
SPLIT_NAMES = ("train", "val", "test")


def exposed_labels(dataset: Any) -> np.ndarray | None:
    """The labels a data set exposes without loading its inputs, or None.

    They are read from, in this order: a :class:`~torch.utils.data.Subset` (its data set's
    labels at its indices), a :class:`~torch.utils.data.ConcatDataset` (its data sets' labels
    one after the other), a :class:`~torch.utils.data.TensorDataset` of two tensors (the
    second), and a ``targets`` or ``labels`` attribute with one entry per sample (as
    torchvision's data sets have).

    Example:
        >>> from torch.utils.data import Subset, TensorDataset
        >>> data = TensorDataset(torch.zeros(5, 2), torch.tensor([0, 1, 1, 2, 0]))
        >>> exposed_labels(Subset(data, [3, 0, 1])).tolist()
        [2, 0, 1]
    """
    if isinstance(dataset, Subset):
        parent = exposed_labels(dataset.dataset)
        return None if parent is None else parent[np.asarray(dataset.indices, dtype=np.int64)]
    if isinstance(dataset, ConcatDataset):
        parts = [exposed_labels(d) for d in dataset.datasets]
        if any(p is None for p in parts) or not parts:
            return None
        return np.concatenate([p for p in parts if p is not None])
    if isinstance(dataset, TensorDataset):
        return _numpy(dataset.tensors[1]) if len(dataset.tensors) == 2 else None
    for attribute in ("targets", "labels"):
        values = getattr(dataset, attribute, None)
        if values is None or callable(values) or isinstance(values, (str, bytes)):
            continue
        try:
            array = _numpy(values)
        except (TypeError, ValueError):
            continue
        if array.ndim >= 1 and len(array) == len(dataset):
            return array
    return None


def dataset_labels(dataset: Any, *, name: str = "dataset") -> np.ndarray:
    """Every label of a map-style data set that yields ``(input, label)``, in index order.

    Read without loading inputs where the data set exposes them (:func:`exposed_labels`);
    then its first sample is loaded to check that the label it yields is the exposed one (a
    ``target_transform`` may change it). Otherwise every sample is loaded once.

    Args:
        dataset: a map-style data set (``__len__`` and ``__getitem__``).
        name: the argument's name in error messages.

    Returns:
        int64 class indices (N,), or float32 multilabel targets (N, L) (see :func:`label_array`).

    Raises:
        TypeError: for something that is not a map-style data set, or samples that are not
            ``(input, label)`` pairs.
        ValueError: for an empty data set, labels that are neither (see :func:`label_array`),
            or exposed labels that differ from those the samples hold.

    Example:
        >>> samples = [(torch.zeros(3), 1), (torch.ones(3), 0), (torch.ones(3), 1)]
        >>> dataset_labels(samples).tolist()
        [1, 0, 1]
    """
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        fail(
            name,
            "a map-style data set (with __len__ and __getitem__) yielding (input, label)",
            type(dataset).__name__,
            error=TypeError,
        )
    if len(dataset) == 0:
        fail(name, "a data set with at least one sample", f"{type(dataset).__name__} of length 0")
    exposed = exposed_labels(dataset)
    if exposed is None:
        return label_array([label_of(dataset[i], name) for i in range(len(dataset))], name)
    labels = label_array(exposed, name)
    first = label_array([label_of(dataset[0], name)], name)[0]
    if first.shape != labels[0].shape or not np.array_equal(first, labels[0]):
        fail(
            name,
            "a data set whose samples hold the labels it exposes (`targets` or `labels`, or "
            "its data set's for a Subset); a target_transform changes them: pass a data set "
            "whose labels are exposed as its samples hold them",
            f"{labels[0].tolist()} exposed, {first.tolist()} in sample 0",
        )
    return labels


def label_of(sample: Any, name: str) -> Any:
    """The label of one ``(input, label)`` sample."""
    if not isinstance(sample, (tuple, list)) or len(sample) != 2:
        shown = (
            f"a {type(sample).__name__} of length {len(sample)}"
            if isinstance(sample, (tuple, list))
            else type(sample).__name__
        )
        fail(name, "a data set whose samples are (input, label) pairs", shown, error=TypeError)
    return sample[1]


def label_array(labels: Any, name: str) -> np.ndarray:
    """Labels as int64 class indices (N,) or float32 multilabel targets (N, L).

    Class indices are integers (or whole floats) from 0; multilabel targets hold 1, 0 or -1
    (:data:`~counterpoise.compare.data.UNKNOWN`, not annotated).

    Example:
        >>> label_array([torch.tensor(2), 0, 1.0], "labels").tolist()
        [2, 0, 1]
        >>> label_array([[1.0, 0.0], [0.0, -1.0]], "labels").dtype
        dtype('float32')
    """
    if isinstance(labels, (list, tuple)):
        labels = [_numpy(v) if isinstance(v, torch.Tensor) else v for v in labels]
    try:
        array = _numpy(labels)
    except (TypeError, ValueError):
        fail(name, "labels of one shape: class indices, or vectors of L 0/1 targets", "ragged")
    if array.dtype.kind not in "biuf":
        fail(name, "numeric labels (class indices, or 0/1 targets)", f"dtype {array.dtype}")
    if array.dtype.kind == "b":
        array = array.astype(np.float32) if array.ndim == 2 else array
        if array.ndim != 2:
            fail(name, "class indices (integers), not booleans", "booleans", error=TypeError)
    if array.ndim == 1:
        values = array.astype(np.float64)
        bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
        if bad.any():
            fail(name, "class indices: whole numbers from 0", array[bad][:5].tolist())
        return values.astype(np.int64)
    if array.ndim == 2:
        values = array.astype(np.float32)
        bad = ~np.isin(values, (0.0, 1.0, UNKNOWN))
        if bad.any():
            fail(
                name,
                "multilabel targets of 1 (positive), 0 (negative) or -1 (not annotated)",
                sorted(set(values[bad].tolist()))[:5],
            )
        return values
    fail(
        name,
        "labels that are class indices (N,) or vectors of L targets (N, L)",
        f"labels of shape {array.shape}",
    )


def label_splits(
    labels: Sequence[np.ndarray],
    *,
    name: str,
    classes: Sequence[Hashable] | None = None,
    notes: Sequence[str] = (),
) -> Splits:
    """:class:`~counterpoise.compare.data.Splits` of the train, validation and test labels,
    without features, after checking that a comparison can train and score on them.

    Multiclass: C is ``len(classes)``, else the largest label + 1; every class needs a sample in
    the training and validation sets. The test set is balanced when it holds as many samples
    of every class. Multilabel: every label needs a positive and a negative in the training
    set, and the validation and test sets a positive of some label.

    Args:
        labels: the train, validation and test labels (:func:`label_array`).
        name: the data's name in the report.
        classes: the name of each class (label), in index order; default ``0..C-1``.
        notes: what the report should say about the data.

    Raises:
        ValueError: for labels of different kinds or widths, labels outside ``classes``, or a
            class (label) missing where it is needed.

    Example:
        >>> s = label_splits([np.array([0, 0, 1, 2]), np.array([0, 1, 2]), np.array([2, 1, 0])],
        ...                  name="toy")
        >>> s.classes, s.class_counts("train").tolist(), s.test_balanced
        ((0, 1, 2), [2, 1, 1], True)
    """
    y_train, y_val, y_test = labels
    shapes = {k: y.shape[1:] for k, y in zip(SPLIT_NAMES, labels)}
    if len(set(shapes.values())) != 1:
        fail(
            "labels",
            "labels of one kind in the train, val and test sets (class indices in all, or "
            "vectors of the same number of targets)",
            ", ".join(
                f"{k}: {'(N' + ''.join(f', {d}' for d in v) + ')'}" for k, v in shapes.items()
            ),
        )
    multilabel = y_train.ndim == 2
    width = y_train.shape[1] if multilabel else 1 + max(int(y.max()) for y in labels)
    if classes is not None:
        classes = tuple(classes)
        if multilabel and len(classes) != width:
            fail("classes", f"{width} names, one per label", len(classes))
        if not multilabel and len(classes) < width:
            largest = {k: int(y.max()) for k, y in zip(SPLIT_NAMES, labels)}
            fail("classes", f"a name for every class index up to {width - 1}", largest)
        width = len(classes)
    names: tuple[Hashable, ...] = classes if classes is not None else tuple(range(width))
    notes = list(notes)
    if multilabel:
        _check_multilabel(labels, names)
        for key, y in zip(("validation", "test"), labels[1:]):
            absent = [names[i] for i in np.flatnonzero((y == 1).sum(axis=0) == 0)]
            if absent:
                shown = ", ".join(repr(a) for a in absent[:10])
                more = f" and {len(absent) - 10} more" if len(absent) > 10 else ""
                notes.append(
                    f"No positive in the {key} set for {shown}{more}: average precision is "
                    f"undefined there, so they are left out of the {key} averages."
                )
    else:
        _check_classes(labels, names)
    test_counts = None if multilabel else np.bincount(y_test, minlength=width)
    empty = np.empty((0, 0), np.float32)
    return Splits(
        name=name,
        classes=names,
        X_train=empty,
        y_train=y_train,
        X_val=empty,
        y_val=y_val,
        X_test=empty,
        y_test=y_test,
        test_balanced=test_counts is not None and bool(test_counts.min() == test_counts.max()),
        notes=tuple(notes),
    )


def _check_classes(labels: Sequence[np.ndarray], classes: tuple[Hashable, ...]) -> None:
    if len(classes) < 2:
        fail("labels", "at least two classes", list(classes))
    for key, y in zip(SPLIT_NAMES[:2], labels[:2]):
        missing = np.flatnonzero(np.bincount(y, minlength=len(classes)) == 0)
        if missing.size:
            fail(
                key,
                "a data set with a sample of every class (the losses are built from the "
                "training counts; the validation score needs every class)",
                f"no sample of class(es) {[classes[c] for c in missing[:10]]}",
            )


def _check_multilabel(labels: Sequence[np.ndarray], names: tuple[Hashable, ...]) -> None:
    y_train = labels[0]
    for value, kind in ((1, "positive"), (0, "negative")):
        missing = np.flatnonzero((y_train == value).sum(axis=0) == 0)
        if missing.size:
            fail(
                "train",
                f"a data set with a {kind} of every label",
                f"no {kind} for label(s) {[names[i] for i in missing[:10]]}",
            )
    for key, y in zip(SPLIT_NAMES[1:], labels[1:]):
        if not (y == 1).any():
            fail(key, "a data set with a positive of some label", "none")


def _numpy(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)
