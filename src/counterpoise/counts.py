"""Class counts from labels, multilabel targets, segmentation masks, streams and files.

Every weighting scheme starts from the number of samples of each class,

.. math::

    n_c = \\sum_{i=1}^{N} [y_i = c], \\qquad c = 0, \\dots, C - 1,

where the sum runs over the labels that are not ``ignore_index``, or, for a multilabel indicator
matrix :math:`Y \\in \\{0, 1\\}^{N \\times L}`, from the number of positives of each label,
:math:`n_l = \\sum_i Y_{il}` (and :math:`N - n_l` negatives).

:func:`count_labels` computes them from whatever holds the labels: a tensor or array of class
indices of any shape (a segmentation mask is just a larger array), a list of arbitrary hashable
labels, a stream of batches such as a :class:`~torch.utils.data.DataLoader`, or a file (CSV,
TSV, Parquet, a directory of Parquet files, ``.npy``, ``.npz`` or plain text). Class indices
are counted with ``np.bincount`` over chunks of ``batch_size`` labels, about as fast as one
``np.bincount`` of all of them (a min/max pass checks the range first; no sorting, no Python
loop over labels, no masking pass for an ``ignore_index`` such as 255); streams and files are
read in batches, so memory stays constant however many labels
there are. Tensors on an accelerator are copied to the CPU one chunk at a time.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import torch

from . import _collectives as distributed
from ._checks import check_nonnegative, check_positive_int, describe_tensor, fail
from ._io import (
    Columns,
    ValueCounts,
    Where,
    as_numpy,
    index_text,
    read_labels,
    stream_batches,
)

__all__ = ["LabelCounts", "class_counts", "count_labels"]

# Values below this cost little to count with one bin each: a non-negative ``ignore_index``
# below it gets its own bin, dropped afterwards (other values are masked out of the chunks
# that contain them), and integer ``classes`` below it are counted by np.bincount.
_DENSE_LIMIT = 1 << 16
# Without ``num_classes`` or ``classes``, class indices must be below this: the counts have one
# bin per index up to the largest label (128 MiB of int64 at most), so a stray ID such as
# 123456789012 is an error instead of an allocation of hundreds of GiB. Such labels are
# counted with ``classes`` (sparse, in its order) or below an explicit ``num_classes``.
_INDEX_LIMIT = 1 << 24


@dataclass(frozen=True, eq=False)
class LabelCounts:
    """How many samples each class has.

    Attributes:
        counts: int64 tensor of shape (C,): samples per class; for multilabel data, positives
            per label.
        classes: the class (or label, or column) each entry of ``counts`` stands for, in order;
            ``tuple(range(C))`` for class indices.
        num_samples: N, the number of labels counted (those equal to ``ignore_index`` are not);
            for multilabel data, the number of rows.
        multilabel: whether ``counts`` holds positives per label of an indicator matrix.

    Raises:
        TypeError: if ``counts`` is not a tensor.
        ValueError: if ``counts`` is not 1-D int64 and non-negative, if ``classes`` does not
            have one entry per count, or if the counts do not add up to ``num_samples`` (single
            label) or exceed it (multilabel).

    Example:
        >>> lc = LabelCounts(torch.tensor([3, 1]), ("cat", "dog"), num_samples=4)
        >>> len(lc), lc.as_dict()
        (2, {'cat': 3, 'dog': 1})
        >>> lc.negatives
        tensor([1, 3])
    """

    counts: torch.Tensor
    classes: tuple[Hashable, ...]
    num_samples: int
    multilabel: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.counts, torch.Tensor):
            fail("counts", "a tensor", type(self.counts).__name__, error=TypeError)
        if self.counts.dtype != torch.int64 or self.counts.ndim != 1:
            fail("counts", "a 1-D int64 tensor", describe_tensor(self.counts))
        check_nonnegative("counts", self.counts)
        object.__setattr__(self, "classes", tuple(self.classes))
        if len(self.classes) != self.counts.numel():
            fail("classes", f"one per count ({self.counts.numel()} classes)", len(self.classes))
        num_samples = check_positive_int("num_samples", self.num_samples, allow_zero=True)
        object.__setattr__(self, "num_samples", num_samples)
        total = int(self.counts.sum())
        if self.multilabel and self.counts.numel() and int(self.counts.max()) > num_samples:
            fail("num_samples", "at least the largest count", num_samples)
        if not self.multilabel and total != num_samples:
            fail("num_samples", f"the sum of the counts ({total})", num_samples)

    def __len__(self) -> int:
        return self.counts.numel()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelCounts):
            return NotImplemented
        return (
            self.classes == other.classes
            and self.num_samples == other.num_samples
            and self.multilabel == other.multilabel
            and torch.equal(self.counts, other.counts)
        )

    @property
    def num_classes(self) -> int:
        """C, the number of classes (labels, for multilabel data)."""
        return self.counts.numel()

    @property
    def negatives(self) -> torch.Tensor:
        """Samples that are not of each class, :math:`N - n_c` (negatives per label)."""
        return self.num_samples - self.counts

    def as_dict(self) -> dict[Hashable, int]:
        """The counts as a ``{class: count}`` dictionary, in class order."""
        return dict(zip(self.classes, self.counts.tolist()))


def _is_index(value: object) -> bool:
    """Whether ``value`` is a class index that np.bincount can count in a bin of its own."""
    return (
        isinstance(value, (int, np.integer))
        and not isinstance(value, bool)
        and bool(0 <= value < _DENSE_LIMIT)
    )


def _first(mask: np.ndarray) -> int:
    """The flat position of the first true element of ``mask``."""
    return int(np.flatnonzero(mask)[0])


class _Tally:
    """Counts accumulated over the batches of one :func:`count_labels` call.

    Without ``classes``, class indices accumulate in ``counts`` (grown as larger labels appear)
    and other labels in the ``values`` dictionary; one source cannot mix the two. With
    ``classes``, everything accumulates in ``counts`` in the order of ``classes``.
    """

    def __init__(
        self,
        *,
        num_classes: int | None,
        classes: tuple[Hashable, ...] | None,
        ignore_index: int | None,
        multilabel: bool,
    ) -> None:
        self.num_classes = num_classes
        self.classes = classes
        self.ignore_index = ignore_index
        self.multilabel = multilabel
        size = len(classes) if classes is not None else num_classes
        self.counts = np.zeros(size or 0, dtype=np.int64)
        self.width = size if multilabel else None
        self.values: dict[Hashable, int] = {}
        self.mode: Literal["indices", "values"] | None = None
        self.num_samples = 0
        self.seen = False
        self.names: tuple[str, ...] | None = None
        self.positions: dict[Hashable, int] | None = None
        self.lookup: np.ndarray | None = None
        self.allowed: np.ndarray | None = None
        if classes is not None and not multilabel:
            self.positions = {c: i for i, c in enumerate(classes)}
            if all(_is_index(c) for c in classes):
                self.lookup = np.array(classes, dtype=np.int64)
                self.allowed = np.zeros(int(self.lookup.max()) + 1, dtype=bool)
                self.allowed[self.lookup] = True

    @property
    def bound(self) -> int | None:
        """Class indices must be below this (``None``: any index)."""
        return self.allowed.size if self.allowed is not None else self.num_classes

    def _set_mode(self, mode: Literal["indices", "values"]) -> None:
        if self.positions is not None:
            return
        if self.mode not in (None, mode):
            fail(
                "labels",
                "all class indices or all other values (pass `classes` to mix them)",
                "a mixture",
                error=TypeError,
            )
        self.mode = mode

    def _reject(self, labels: np.ndarray, value: Any, at: Callable[[int], str]) -> NoReturn:
        """Raise for the class index ``value`` (a number as given) found in ``labels``."""
        if value < 0:
            expected = "class indices >= 0 (set `ignore_index` to skip a marker value)"
        elif self.classes is not None:
            expected = "one of `classes`"
        elif self.num_classes is not None:
            expected = f"class indices below num_classes={self.num_classes}"
        else:
            expected = (
                f"class indices below {_INDEX_LIMIT} without `num_classes` or `classes` "
                "(pass `classes` to count larger integers as labels)"
            )
        fail("labels", expected, f"{_shown(value)} at {at(_first(labels == value))}")

    def add_numbers(self, labels: np.ndarray, at: Callable[[int], str]) -> None:
        """Count a 1-D chunk of numeric labels."""
        _check_numbers(labels, at)
        if self.positions is not None and self.lookup is None:
            values, freqs = np.unique(labels, return_counts=True)
            found = dict(zip((_shown(v) for v in values.tolist()), freqs.tolist()))
            self.add_values(found, lambda value: at(_first(labels == value)))
        else:
            self._add_indices(labels, at)

    def _add_indices(self, labels: np.ndarray, at: Callable[[int], str]) -> None:
        self._set_mode("indices")
        bound, ignore = self.bound, self.ignore_index
        # The range is checked before np.bincount allocates a bin per value up to the largest,
        # and before a float or uint64 label is cast to int64 (which would change its value).
        raw = kept = labels
        lo, hi = labels.min().item(), labels.max().item()
        if ignore is not None and lo <= ignore <= hi and not 0 <= ignore < _DENSE_LIMIT:
            kept = labels[labels != ignore]  # a value without a bin of its own: masked out
            if kept.size == 0:
                return
            lo, hi = kept.min().item(), kept.max().item()
        if lo < 0:
            self._reject(raw, lo, at)
        if hi >= (_INDEX_LIMIT if bound is None else bound) and hi != ignore:
            self._reject(raw, hi, at)
        if kept.dtype.kind == "f" or kept.dtype == np.uint64:  # np.bincount takes neither
            kept = kept.astype(np.int64)
        bins = np.bincount(kept, minlength=bound or 0)
        if ignore is not None and 0 <= ignore < bins.size:
            bins[ignore] = 0  # a small ignore_index has a bin of its own, emptied here
            if bound is None:  # C is the largest label that is not ignored + 1
                found = np.flatnonzero(bins)
                bins = bins[: found[-1] + 1 if found.size else 0]
        if bound is not None:
            beyond = np.flatnonzero(bins[bound:])
            if beyond.size:
                self._reject(raw, bound + int(beyond[0]), at)
            bins = bins[:bound]
        if self.allowed is not None and self.lookup is not None:
            outside = np.flatnonzero(np.where(self.allowed, 0, bins))
            if outside.size:
                self._reject(raw, int(outside[0]), at)
            bins = bins[self.lookup]
        elif bins.size > self.counts.size:
            self.counts = np.concatenate(
                [self.counts, np.zeros(bins.size - self.counts.size, np.int64)]
            )
        self.counts[: bins.size] += bins
        self.num_samples += int(bins.sum())

    def add_values(self, found: Mapping[Hashable, int], locate: Callable[[Hashable], str]) -> None:
        """Count labels given as ``{label: count}``; ``locate`` says where a label occurs."""
        found = dict(found)
        if self.ignore_index is not None:
            found.pop(self.ignore_index, None)
        for value in found:
            if value is None or (isinstance(value, float) and value != value):
                fail("labels", "free of missing values", f"{value} at {locate(value)}")
        if self.positions is not None:
            index = []
            for value in found:
                position = self.positions.get(value)
                if position is None:
                    fail("labels", "one of `classes`", f"{value!r} at {locate(value)}")
                index.append(position)
            np.add.at(self.counts, index, list(found.values()))
        else:
            self._set_mode("values")
            for value, n in found.items():
                self.values[value] = self.values.get(value, 0) + n
        self.num_samples += sum(found.values())

    def add_rows(self, rows: np.ndarray, at: Callable[[int], str]) -> None:
        """Count a chunk of rows of a multilabel indicator matrix."""
        if rows.dtype != bool:
            bad = (rows != 0) & (rows != 1)
            if bad.any():
                i = _first(bad)
                fail("labels", "0 or 1 (an indicator matrix)", f"{rows.flat[i]} at {at(i)}")
            rows = rows != 0
        width = rows.shape[1]
        if self.width is None:
            self.width = width
            self.counts = np.zeros(width, dtype=np.int64)
        elif width != self.width:
            fail("labels", f"rows of {self.width} columns (one per label)", f"{width} columns")
        self.counts += rows.sum(axis=0)
        self.num_samples += rows.shape[0]

    def all_reduce(self, *, failed: bool = False) -> None:
        """Sum the counts over the ranks of the default process group (no-op without one).

        Every rank must call it, ``failed`` if counting raised there (that rank then returns,
        to raise its own error; the others raise naming it). The ranks first share, in one
        collective, whether each failed, has labels, has labels that are not class indices
        and how many columns it found; all of them take the same decision from that, so
        either every rank raises or every rank reaches the collective that sums the counts.
        Whether any rank had labels (``seen``) is then the same on every rank.
        """
        if not distributed.is_initialized():
            return
        size = self.counts.size
        width_known = not self.multilabel or self.width is not None
        state = torch.tensor(
            [
                distributed.get_rank() + 1 if failed else 0,  # the last rank that failed, + 1
                int(self.mode == "values" and self.positions is None),
                int(self.seen),
                size,
                -size if width_known else -(1 << 62),  # - the fewest columns found
            ],
            dtype=torch.int64,
        )
        bad_rank, values, seen, largest, fewest = distributed.all_reduce_max(state).tolist()
        if failed:
            return
        if bad_rank:
            fail(
                "source",
                "counted on every rank (all_reduce=True)",
                f"an error on rank {bad_rank - 1}",
            )
        if values:
            fail(
                "classes",
                "given with all_reduce=True when the labels are not class indices, "
                "so that every rank counts the same classes",
                None,
            )
        if self.multilabel and fewest != -(1 << 62) and -fewest != largest:
            fail(
                "labels",
                "as many columns on every rank",
                f"{size if width_known else 'no rows'} here, from {-fewest} to {largest}",
            )
        packed = np.zeros(largest + 1, dtype=np.int64)  # the counts, then N: one collective
        packed[:size], packed[-1] = self.counts, self.num_samples
        total = distributed.all_reduce_sum(torch.from_numpy(packed)).numpy()
        self.counts, self.num_samples = total[:-1], int(total[-1])
        self.seen = bool(seen)
        if self.multilabel and self.width is None:
            self.width = largest

    def result(self) -> LabelCounts:
        """The counts as a :class:`LabelCounts`."""
        if self.multilabel:
            names: Sequence[Hashable] = self.classes or self.names or range(self.counts.size)
            return LabelCounts(torch.from_numpy(self.counts), tuple(names), self.num_samples, True)
        if self.mode == "values" and self.positions is None:
            keys = list(self.values)
            try:
                keys = sorted(keys)  # type: ignore[type-var]
            except TypeError:
                pass  # not comparable: keep the order of first appearance
            if keys and self.num_classes not in (None, len(keys)):
                fail(
                    "num_classes",
                    f"the number of distinct labels ({len(keys)}); "
                    "pass `classes` to include labels that do not occur",
                    self.num_classes,
                )
            counts = np.array([self.values[k] for k in keys], dtype=np.int64)
        else:
            keys = list(self.classes if self.classes is not None else range(self.counts.size))
            counts = self.counts
        if not keys:
            fail(
                "labels",
                "other than `ignore_index` at least once (or give `num_classes`)",
                f"only {self.ignore_index}",
            )
        return LabelCounts(torch.from_numpy(counts), tuple(keys), self.num_samples)


def _shown(value: Any) -> Any:
    """A numeric label as the user gave it; whole floats in the int64 range as integers."""
    if isinstance(value, float) and abs(value) < 2**63:
        return int(value)
    return value


def _check_numbers(labels: np.ndarray, at: Callable[[int], str]) -> None:
    """Raise unless ``labels`` are integers, or floats that are all whole numbers."""
    kind = labels.dtype.kind
    if kind in "bc":
        fail(
            "labels",
            "integer class indices (use multilabel=True for a 0/1 indicator matrix)",
            f"dtype {labels.dtype}",
            error=TypeError,
        )
    if kind == "f":
        missing = ~np.isfinite(labels)
        if missing.any():
            i = _first(missing)
            fail("labels", "free of missing values", f"{labels[i]} at {at(i)}")
        fractional = labels != np.trunc(labels)
        if fractional.any():
            i = _first(fractional)
            fail(
                "labels",
                "integer class indices (floats only when all are whole numbers)",
                f"{labels[i]} at {at(i)}",
                error=TypeError,
            )


def _value_counts(chunk: np.ndarray) -> dict[Hashable, int]:
    """``{label: count}`` of a flat array of strings, bytes or Python objects."""
    if chunk.dtype.kind in "US":
        values, freqs = np.unique(chunk, return_counts=True)
        return dict(zip(values.tolist(), freqs.tolist()))
    return _counter(chunk.tolist())


def _counter(labels: Sequence[Any]) -> dict[Hashable, int]:
    try:
        return Counter(labels)
    except TypeError as error:
        fail("labels", "hashable values", str(error), error=TypeError)


def _as_data(
    batch: Any, multilabel: bool
) -> torch.Tensor | np.ndarray | list[Any] | tuple[Any, ...]:
    """A tensor or array of ``batch``, or ``batch`` itself if it is a sequence of hashable labels.

    A list or tuple is a sequence of labels, one per item; items that are tuples are labels
    themselves (not rows), items that are lists make a nested array.
    """
    if isinstance(batch, (torch.Tensor, np.ndarray)):
        return batch
    if isinstance(batch, (list, tuple)):
        if not batch:
            return np.zeros(0, dtype=np.int64)
        if not multilabel and isinstance(batch[0], tuple):
            for item in batch:
                if isinstance(item, tuple) and any(
                    isinstance(v, (torch.Tensor, np.ndarray)) for v in item
                ):
                    fail(
                        "labels",
                        "hashable labels, not (inputs, labels) samples (pass key=1 to count "
                        "the labels of a list of samples)",
                        f"a tuple of {', '.join(type(v).__name__ for v in item)}",
                        error=TypeError,
                    )
            return batch
        try:
            array = np.asarray(batch)
        except ValueError:  # ragged
            if multilabel:
                fail("labels", "rows of equal length", [len(row) for row in batch[:5]])
            return batch
        return array if multilabel or array.dtype.kind in "biuf" else batch
    if hasattr(batch, "__array__") and not isinstance(batch, Mapping):
        return np.asarray(batch)
    fail(
        "labels",
        "a tensor, an array or a list of labels",
        type(batch).__name__,
        error=TypeError,
    )


def _count_batch(tally: _Tally, batch: Any, where: Where, batch_size: int) -> None:
    """Count one batch of labels (of any shape), ``batch_size`` labels (or rows) at a time."""
    data = _as_data(batch, tally.multilabel)
    if isinstance(data, (list, tuple)):
        tally.seen = True
        tally.add_values(_counter(data), _locator(data, lambda i: where((i,))))
        return
    shape = tuple(data.shape)
    if 0 in shape:
        return
    tally.seen = True

    def at(offset: int) -> Callable[[int], str]:
        def locate(i: int) -> str:
            index = np.unravel_index(offset + i, shape) if shape else ()
            return where(tuple(int(j) for j in index))

        return locate

    if not isinstance(data, torch.Tensor) and data.dtype.kind not in "biuf":
        if tally.multilabel or data.dtype.kind not in "USO":
            expected = "0 or 1 (an indicator matrix)" if tally.multilabel else "hashable labels"
            fail("labels", expected, f"dtype {data.dtype}", error=TypeError)
        objects = data.reshape(-1)
        for start in range(0, objects.shape[0], batch_size):
            chunk = objects[start : start + batch_size]
            tally.add_values(_value_counts(chunk), _locator(chunk, at(start)))
        return
    if tally.multilabel:
        if len(shape) != 2:
            fail("labels", "a 2-D (samples, labels) matrix with multilabel=True", f"shape {shape}")
        for start in range(0, shape[0], batch_size):
            tally.add_rows(as_numpy(data[start : start + batch_size]), at(start * shape[1]))
        return
    flat = data.reshape(-1)
    for start in range(0, flat.shape[0], batch_size):
        tally.add_numbers(as_numpy(flat[start : start + batch_size]), at(start))


def _locator(
    labels: Sequence[Any] | np.ndarray, at: Callable[[int], str]
) -> Callable[[Hashable], str]:
    """Says where a label first occurs in the flat ``labels`` (for error messages only)."""

    def locate(value: Hashable) -> str:
        items = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
        return at(items.index(value))

    return locate


def _count_stream(tally: _Tally, source: Any, key: Any, batch_size: int) -> None:
    """Count an iterable of batches or samples; samples are gathered into batches."""
    for batch, where in stream_batches(source, key, batch_size, tally.multilabel):
        _count_batch(tally, batch, where, batch_size)


def _count_file(tally: _Tally, path: Path, column: Any, batch_size: int) -> None:
    """Count the labels of a file, read in batches."""
    parts = read_labels(path, column=column, multilabel=tally.multilabel, batch_size=batch_size)
    for part in parts:
        if isinstance(part, Columns):
            tally.names = part.names
        elif isinstance(part, ValueCounts):
            tally.seen = True
            tally.add_values(part.found, part.locate)
        else:
            _count_batch(tally, part.array, part.where, batch_size)


def _describe(source: Any) -> str:
    if isinstance(source, torch.Tensor):
        return describe_tensor(source)
    if isinstance(source, np.ndarray):
        return f"array of shape {source.shape} and dtype {source.dtype}"
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (list, tuple)):
        return f"{type(source).__name__} of length {len(source)}"
    return f"{type(source).__name__} that yielded nothing"


def count_labels(
    source: Any,
    *,
    num_classes: int | None = None,
    classes: Sequence[Hashable] | None = None,
    ignore_index: int | None = None,
    multilabel: bool = False,
    column: str | Sequence[str] | None = None,
    key: int | str | Callable[[Any], Any] | None = None,
    batch_size: int = 1_000_000,
    all_reduce: bool = False,
) -> LabelCounts:
    """Count the samples of each class (the positives of each label, for multilabel data).

    .. math::

        n_c = \\sum_{i=1}^{N} [y_i = c] \\quad (y_i \\ne \\mathrm{ignore\\_index}), \\qquad
        n_l = \\sum_{i=1}^{N} Y_{il} \\quad \\text{(multilabel)}

    The same counts as ``np.bincount`` (class indices), ``collections.Counter`` / ``np.unique``
    (other labels) or ``Y.sum(0)`` (multilabel), from any of these sources:

    * **Class indices**: a tensor, NumPy array, list or tuple of integers of any shape (a
      segmentation mask of shape (H, W), (N, H, W) or (N, D, H, W) is flattened). C is
      ``num_classes`` if given, else the largest label + 1; classes in that range that do not
      occur count 0. Without ``num_classes`` or ``classes``, labels must be below
      :math:`2^{24} = 16{,}777{,}216` (one bin per index, 128 MiB at most): a larger integer,
      such as an ID 123456789012, is an error rather than hundreds of GiB of bins; count such
      labels with ``classes`` (e.g. ``classes=np.unique(labels)``: ``counts[i]`` is then the
      count of ``classes[i]``, not of the label ``i``). Floats are accepted when every value
      is a whole number (as when a column with missing values was read as float); bools are
      not class indices. Errors show a label as given (a uint64 or a float beyond the int64
      range too).
    * **Other hashable labels** (strings, tuples, mixed): ``classes`` lists them in sorted
      order (the order of ``np.unique`` and scikit-learn's ``LabelEncoder``), or in order of
      first appearance when they cannot be sorted. A list or tuple passed as ``source`` (with
      no ``key``) holds the labels themselves, one per item: a list of tuples is a list of
      tuple labels, such as ``[("cat", 1), ("dog", 0)]`` (tuples holding tensors or arrays are
      samples, an error). In a stream, by contrast, a tuple is a sample (see below).
    * **Multilabel indicator matrices** of shape (N, L) with ``multilabel=True``: 0/1 values
      (bool or numeric); ``classes`` are ``range(L)`` or the column names.
    * **Streams**: any other iterable, such as a :class:`~torch.utils.data.DataLoader` or a
      generator, yielding batches of any of the kinds above, or single labels (rows, for
      multilabel data) that are gathered ``batch_size`` at a time. Memory stays constant.
      A :class:`~torch.utils.data.Dataset` (anything with ``__getitem__``) is a stream of
      its samples. ``key`` picks the labels out of each item: an index for tuples (``key=1``
      for ``(inputs, labels)``), a key for dictionaries (``key="labels"``) or a function;
      what it returns is labels (tuples in it are tuple labels). With ``key`` given, a list or
      tuple source is a stream of items too. Without ``key``, an item that is a tuple or a
      dictionary, whatever it holds, or a list (a DataLoader collates tuples into lists)
      that holds tuples, dictionaries or arrays or that mixes strings with other values, is
      an error: it is a sample such as ``(inputs, labels)`` or ``(path, label)``, not labels
      (``key=lambda item: [item]`` counts a stream of tuple labels).
    * **Files** (a ``str`` or :class:`~pathlib.Path`): CSV / TSV (``.csv``, ``.tsv``, also
      compressed, e.g. ``.csv.gz``) and Parquet (``.parquet``, ``.pq``, or a directory of
      Parquet files) read by pyarrow ``batch_size`` rows at a time; ``.npy`` (memory-mapped);
      ``.npz``; any other file is text with one label per line. ``column`` names the label
      column (or ``.npz`` array); without it, the only one, else the first of ``label``,
      ``labels``, ``target``, ``y``, ``class`` that exists (an ``.npz`` file's only array
      is not taken when it is named like features, such as ``X``: features are not labels).
      Integer columns are counted like class indices, string
      columns like other labels. A CSV file must have a header row: when every column name is
      a number (a file without a header, whose first row was read as one) a
      :class:`UserWarning` says so. A ``.csv`` file whose header row reads as one column
      holding ``;`` or a tab (a ``.tsv`` file: holding ``,``) that splits into several columns
      at it is read with that delimiter, as spreadsheets export it. Column names must differ,
      text must be UTF-8, and a directory must hold data files: else an error says so. In a text file, each line is stripped of surrounding
      whitespace (``"cat "`` is ``"cat"``) and lines left blank are skipped; its labels are
      integers when all of its first ``batch_size`` labels are (whole) numbers, else strings (``NA`` and
      ``null`` included). Empty fields and markers such as ``NA`` or ``null`` in a CSV and
      nulls in a Parquet file are missing values, an error. A file without labels (empty,
      blank, a header alone) is an error.

    With ``classes`` given, the counts follow its order (for class indices too, e.g.
    ``classes=[3, 1, 2]``) and a label that is not in it is an error.

    Args:
        source: the labels, as above.
        num_classes: C, the number of classes (class indices must be below it); for
            multilabel data, the number of labels L. Default: inferred.
        classes: the classes to count, in the order of the result; must not repeat.
        ignore_index: a class index that is not counted (e.g. ``255`` or ``-100``, as in
            ``torch.nn.CrossEntropyLoss``). Not for multilabel data.
        multilabel: whether ``source`` holds (N, L) indicator matrices. Default: False.
        column: for files: the label column (or ``.npz`` array). With ``multilabel=True``: a
            list of 0/1 columns, or a prefix ending in ``*`` (``"tag_*"``); default: all.
        key: for streams: picks the labels out of each item (index, key or function).
        batch_size: labels (rows, for files and multilabel data) counted at a time, at least 1.
            Default: 1,000,000.
        all_reduce: sum the counts over all ranks of the default ``torch.distributed`` process
            group (ranks first agree on C). A no-op without an initialised process group.
            Every rank must call it; labels that are not class indices need ``classes``. A rank
            whose shard is empty contributes nothing; ``source`` must be non-empty on at least
            one rank. Errors are raised on every rank, never on some while others wait: a
            rank whose counting fails raises its error, the others one naming that rank.

    Returns:
        The counts, the classes they stand for and N.

    Raises:
        TypeError: for an unsupported source, bool labels, floats that are not whole numbers,
            unhashable labels, tuple labels holding tensors or arrays (samples), or options
            of the wrong type.
        ValueError: for an empty source or a file without labels; a negative label other
            than ``ignore_index``; a label not below ``num_classes`` (or :math:`2^{24}`
            without it) or not in ``classes``; multilabel values other than 0/1; missing
            values; a stream of tuples, dictionaries or mixed lists without ``key``; an
            unknown ``column``; an unreadable file (the message names the value and where it
            is).
        FileNotFoundError: if the file does not exist.

    Warns:
        UserWarning: when every column name of a CSV file is a number (no header row?).

    Example:
        >>> count_labels([2, 0, 2, 1, 2])
        LabelCounts(counts=tensor([1, 1, 3]), classes=(0, 1, 2), num_samples=5, multilabel=False)
        >>> mask = torch.tensor([[0, 255, 2], [2, 2, 255]])
        >>> count_labels(mask, ignore_index=255, num_classes=4).counts
        tensor([1, 0, 3, 0])
        >>> count_labels(["dog", "cat", "dog"]).as_dict()
        {'cat': 1, 'dog': 2}
        >>> count_labels(torch.tensor([[1, 0, 1], [0, 0, 1]]), multilabel=True).negatives
        tensor([1, 2, 0])
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> data = TensorDataset(torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 1]))
        >>> count_labels(DataLoader(data, batch_size=4), key=1).counts
        tensor([2, 4])
    """
    if num_classes is not None:
        num_classes = check_positive_int("num_classes", num_classes)
    known = _check_classes(classes, num_classes)
    if ignore_index is not None:
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            fail("ignore_index", "an integer or None", ignore_index, error=TypeError)
        ignore_index = int(ignore_index)
        if multilabel:
            fail("ignore_index", "None with multilabel=True", ignore_index)
        if known is not None and ignore_index in known:
            fail("ignore_index", "a value that is not one of `classes`", ignore_index)
    for name, flag in (("multilabel", multilabel), ("all_reduce", all_reduce)):
        if not isinstance(flag, bool):
            fail(name, "True or False", flag, error=TypeError)
    if column is not None and not isinstance(column, str):
        if not multilabel:
            fail(
                "column",
                "a column name (several columns need multilabel=True)",
                column,
                error=TypeError,
            )
        if isinstance(column, bytes) or not all(isinstance(c, str) for c in column):
            fail("column", "a column name or a sequence of column names", column, error=TypeError)
    if (
        key is not None
        and not callable(key)
        and (isinstance(key, bool) or not isinstance(key, (int, str)))
    ):
        fail("key", "an index, a key, a function or None", key, error=TypeError)
    batch_size = check_positive_int("batch_size", batch_size)

    tally = _Tally(
        num_classes=num_classes, classes=known, ignore_index=ignore_index, multilabel=multilabel
    )
    # With a process group, every rank must reach the collectives, even one whose shard is
    # empty, of another kind or bad: the ranks first share what they found, then all raise
    # (or none does), so that no rank waits forever for another that has given up.
    together = all_reduce and distributed.is_initialized()
    try:
        _count_source(tally, source, column, key, batch_size)
    except Exception:
        if together:
            tally.all_reduce(failed=True)  # lets the other ranks raise too
        raise
    if together:
        tally.all_reduce()
    if not tally.seen:
        is_file = isinstance(source, (str, os.PathLike))
        expected = "a non-empty file (at least one label)" if is_file else "non-empty"
        fail("source", expected + (" on at least one rank" if together else ""), _describe(source))
    return tally.result()


def _count_source(tally: _Tally, source: Any, column: Any, key: Any, batch_size: int) -> None:
    """Count the labels of ``source`` (a file, labels or a stream) into ``tally``."""
    if isinstance(source, (str, os.PathLike)):
        if key is not None:
            fail("key", "None when `source` is a file", key)
        _count_file(tally, Path(source), column, batch_size)
        return
    if column is not None:
        fail("column", "None unless `source` is a file", column)
    if isinstance(source, Mapping):
        fail(
            "source",
            "labels, a file path or an iterable of batches, not a dictionary "
            "(pass the labels, e.g. source['labels'])",
            type(source).__name__,
            error=TypeError,
        )
    if isinstance(source, (bytes, bytearray)):  # its items are byte values, not labels
        fail(
            "source",
            "labels, a file path (a str or pathlib.Path, e.g. os.fsdecode(path)) or an "
            "iterable of batches",
            type(source).__name__,
            error=TypeError,
        )
    if key is None and (
        isinstance(source, (torch.Tensor, np.ndarray, list, tuple)) or hasattr(source, "__array__")
    ):
        _count_batch(tally, source, lambda i: f"index {index_text(i)}", batch_size)
    else:
        _count_stream(tally, source, key, batch_size)


def _check_classes(classes: Any, num_classes: int | None) -> tuple[Hashable, ...] | None:
    """``classes`` as a tuple of distinct hashable labels, consistent with ``num_classes``."""
    if classes is None:
        return None
    if isinstance(classes, (str, bytes, Mapping)) or not isinstance(classes, Iterable):
        fail("classes", "a sequence of labels", classes, error=TypeError)
    known = tuple(classes.tolist() if isinstance(classes, (np.ndarray, torch.Tensor)) else classes)
    if not known:
        fail("classes", "non-empty", classes)
    seen: set[Hashable] = set()
    for value in known:
        try:
            repeated = value in seen
        except TypeError:
            fail("classes", "hashable labels", value, error=TypeError)
        if repeated:
            fail("classes", "free of repeated labels", value)
        seen.add(value)
    if num_classes is not None and num_classes != len(known):
        fail("num_classes", f"len(classes) = {len(known)}", num_classes)
    return known


def class_counts(
    source: Any,
    *,
    num_classes: int | None = None,
    classes: Sequence[Hashable] | None = None,
    ignore_index: int | None = None,
    multilabel: bool = False,
    column: str | Sequence[str] | None = None,
    key: int | str | Callable[[Any], Any] | None = None,
    batch_size: int = 1_000_000,
    all_reduce: bool = False,
) -> torch.Tensor:
    """The counts of :func:`count_labels` alone: an int64 tensor of shape (C,).

    Takes the same arguments as :func:`count_labels` (see there for the sources, the formula
    and the errors).

    Example:
        >>> class_counts(torch.tensor([1, 1, 0, 3]))
        tensor([1, 2, 0, 1])
        >>> class_counts(["b", "a", "b"], classes=["b", "a", "c"])
        tensor([2, 1, 0])
    """
    return count_labels(
        source,
        num_classes=num_classes,
        classes=classes,
        ignore_index=ignore_index,
        multilabel=multilabel,
        column=column,
        key=key,
        batch_size=batch_size,
        all_reduce=all_reduce,
    ).counts
