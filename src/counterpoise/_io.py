"""Label and table sources: files, image masks, streams and the items of streams.

Everything in the package that reads labels, masks or tables does it through this module, so
that counting (:mod:`counterpoise.counts`), mask statistics (:mod:`counterpoise.segmentation`)
and the data of ``compare`` (:mod:`counterpoise.compare.data`) share one reader of each kind:

* **Label files** (:func:`read_labels`): CSV / TSV (also compressed), Parquet files and
  directories, and text files of one label per line, read by pyarrow a batch of rows at a
  time; ``.npy`` (memory-mapped) and ``.npz`` arrays. They come as :class:`Labels` (an array
  and where each label is), :class:`ValueCounts` (strings already counted by pyarrow) and, for
  multilabel tables, :class:`Columns` (the indicator columns, before any row).
* **Tables** (:func:`read_table`): a whole CSV, TSV or Parquet table as NumPy columns, and
  the arrays of an ``.npz`` file (:func:`read_arrays`).
* **Image masks** (:func:`read_image`, :func:`image_array`): one class index per pixel,
  read with Pillow.
* **Streams**: the labels (or the mask) that ``key`` picks out of each item (:func:`pick`,
  :func:`pick_labels`), single samples gathered into batches (:func:`stream_batches`) and the
  masks of a segmentation source one at a time (:func:`iter_masks`).

pyarrow and Pillow are optional (the ``io`` extra): the functions that need them import them
through :func:`counterpoise._optional.require`, so importing this module needs neither. Errors
follow the package's template (:func:`counterpoise._checks.fail`) and say where the offending
value is (an index, an item of a stream, a row of a file).

>>> pick({"x": 0, "labels": [1, 2]}, "labels", 0)
[1, 2]
>>> [(batch, where((0,))) for batch, where in stream_batches([0, 1, 1], None, 2, False)]
[([0, 1], 'item 0'), ([1], 'item 2')]
"""

from __future__ import annotations

import os
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import check_unique_names, fail
from ._optional import require

#: Column (or ``.npz`` array) names tried in this order when no label column is given.
LABEL_NAMES = ("label", "labels", "target", "y", "class")
#: Names of ``.npz`` arrays that hold features, never read as labels without ``column``.
FEATURE_NAMES = ("X", "x", "features", "inputs", "embeddings")
#: Pillow modes that hold one integer per pixel.
MASK_MODES = ("L", "P", "I", "I;16", "I;16L", "I;16B")

_COMPRESSIONS = (".gz", ".bz2", ".zst", ".lz4")

Where = Callable[[tuple[int, ...]], str]
"""Describes a position (an index into the current batch) for error messages."""


# --- positions ---------------------------------------------------------------------------------


def index_text(index: tuple[int, ...]) -> str:
    """An index as error messages show it: ``3`` for ``(3,)``, else the tuple."""
    return str(index[0]) if len(index) == 1 else str(index)


def _items_from(first: int) -> Where:
    """Where an index of a batch gathered from a stream's items ``first, first + 1, ...`` is."""

    def where(index: tuple[int, ...]) -> str:
        column = f", column {index[1]}" if len(index) > 1 else ""
        return f"item {first + index[0]}{column}"

    return where


def _in_batch(number: int) -> Where:
    return lambda index: f"index {index_text(index)} of batch {number}"


def as_numpy(chunk: torch.Tensor | np.ndarray) -> np.ndarray:
    """A NumPy view of a chunk of a tensor (copied to the CPU if needed)."""
    if isinstance(chunk, np.ndarray):
        return chunk
    chunk = chunk.detach().cpu()
    if chunk.dtype == torch.bfloat16:  # a type NumPy lacks
        chunk = chunk.float()
    return chunk.numpy()


# --- streams -----------------------------------------------------------------------------------


def _record(item: Any) -> str | None:
    """What makes ``item`` of a stream look like a sample or a record rather than labels.

    A tuple or a dictionary is a sample such as ``(inputs, labels)``, ``(path, label)`` or
    ``{"labels": ...}``, whatever it holds; so is a list (as a DataLoader collates tuples)
    that holds tuples, dictionaries or arrays, or that mixes strings with numbers.
    ``None`` for anything else: a batch of labels or a single label.
    """
    if isinstance(item, Mapping):
        return "a dictionary"
    if isinstance(item, tuple):
        return f"a tuple of length {len(item)}"
    if not isinstance(item, list):
        return None
    kinds = set(map(type, item))  # one pass in C, even for a long batch
    if any(issubclass(kind, (tuple, Mapping)) for kind in kinds):
        return "a list of tuples or dictionaries"
    if any(issubclass(kind, (torch.Tensor, np.ndarray)) for kind in kinds) and any(
        isinstance(e, (torch.Tensor, np.ndarray)) and e.ndim > 0 for e in item
    ):
        return "a list of arrays"
    texts = any(issubclass(kind, (str, bytes)) for kind in kinds)
    if texts and any(not issubclass(kind, (str, bytes)) for kind in kinds):
        return "a list mixing strings with other values"
    return None


def pick(
    item: Any, key: int | str | Callable[[Any], Any] | None, number: int, *, unit: str = "batch"
) -> Any:
    """What ``key`` picks out of ``item``, the ``number``-th ``unit`` of a stream.

    Args:
        item: an item of a stream.
        key: an index (tuples), a key (dictionaries), a function of the item, or ``None`` for
            the item itself.
        number: the position of ``item`` in the stream, for error messages.
        unit: what the stream's items are called in error messages (``"batch"``, ``"item"``).

    Returns:
        ``item[key]``, ``key(item)``, or ``item`` when ``key`` is None.

    Raises:
        ValueError: if ``item`` has no index or key ``key``.
    """
    if key is None:
        return item
    if callable(key):
        return key(item)
    try:
        return item[key]
    except (KeyError, IndexError, TypeError):
        fail(
            "key",
            f"an index or key of every {unit}",
            f"{key!r} for {unit} {number} of type {type(item).__name__}",
        )


def pick_labels(item: Any, key: int | str | Callable[[Any], Any] | None, number: int) -> Any:
    """The labels in ``item``, the ``number``-th item of a stream of labels.

    Like :func:`pick`, but without ``key`` an item that looks like a sample or a record (a
    tuple, a dictionary, or a list of such, of arrays or of strings mixed with other values)
    is an error rather than labels.

    Raises:
        ValueError: for such an item without ``key``, or an item without the index or key.
    """
    if key is None:
        record = _record(item)
        if record is not None:
            fail(
                "key",
                "given to pick the labels out of each item of a stream, e.g. key=1 for "
                '(inputs, labels) or key="labels" for dictionaries (key=lambda item: [item] '
                "counts whole tuples as labels)",
                f"None for item {number}: {record}",
            )
        return item
    return pick(item, key, number)


def _sample(item: Any, multilabel: bool) -> tuple[bool, Any]:
    """``(True, sample)`` if ``item`` of a stream is one sample (a label, or a row of a
    multilabel matrix), else ``(False, item)``: a batch."""
    if isinstance(item, (torch.Tensor, np.ndarray, np.generic)):
        if item.ndim == 0 and not multilabel:
            return True, item.item()
        if item.ndim == 1 and multilabel:
            return True, as_numpy(item) if isinstance(item, torch.Tensor) else item
        return False, item
    if isinstance(item, (list, tuple)):
        return multilabel and not isinstance(item[0] if item else None, (list, tuple)), item
    return (True, item) if not multilabel and not hasattr(item, "__array__") else (False, item)


def stream_batches(
    source: Any,
    key: int | str | Callable[[Any], Any] | None,
    batch_size: int,
    multilabel: bool,
) -> Iterator[tuple[Any, Where]]:
    """The batches of labels of an iterable, each with what says where a label of it is.

    ``key`` picks the labels out of each item (:func:`pick_labels`). Items that are batches
    come as they are; single samples (a label, or a row of a multilabel matrix) are gathered
    ``batch_size`` at a time into a list, in the order of the stream.

    Raises:
        TypeError: if ``source`` is not iterable.
        ValueError: for an item that :func:`pick_labels` rejects.
    """
    try:
        items = iter(source)
    except TypeError:
        fail(
            "source",
            "labels, a file path or an iterable of batches",
            type(source).__name__,
            error=TypeError,
        )
    pending: list[Any] = []
    first = 0
    for number, item in enumerate(items):
        is_sample, labels = _sample(pick_labels(item, key, number), multilabel)
        if is_sample:
            first = first if pending else number
            pending.append(labels)
            if len(pending) >= batch_size:
                yield list(pending), _items_from(first)
                pending.clear()
        else:
            if pending:
                yield list(pending), _items_from(first)
                pending.clear()
            yield labels, _in_batch(number)
    if pending:
        yield list(pending), _items_from(first)


# --- label files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Labels read from a file: an array, and what says where one of its labels is.

    Attributes:
        array: class indices or other labels of any shape, or rows of an indicator matrix.
        where: names the position of an index of ``array`` in the file.
    """

    array: np.ndarray
    where: Where


@dataclass(frozen=True)
class ValueCounts:
    """Labels read from a file and counted there (the strings of a column, by pyarrow).

    Attributes:
        found: ``{label: count}``.
        locate: says where a label of ``found`` first occurs in the file.
    """

    found: dict[Hashable, int]
    locate: Callable[[Hashable], str]


@dataclass(frozen=True)
class Columns:
    """The indicator columns of a multilabel table, read before any of its rows.

    Attributes:
        names: the column names, in the order of the rows' values.
    """

    names: tuple[str, ...]


def read_labels(
    path: Path, *, column: Any, multilabel: bool, batch_size: int
) -> Iterator[Labels | ValueCounts | Columns]:
    """The labels of a file, ``batch_size`` rows at a time for tables and text files.

    CSV / TSV (``.csv``, ``.tsv``, also compressed as ``.gz``, ``.bz2``, ``.zst`` or ``.lz4``)
    and Parquet (``.parquet``, ``.pq`` or a directory) are read by pyarrow; ``.npy`` is
    memory-mapped and ``.npz`` gives one of its arrays, each as one :class:`Labels`; any other
    file is text with one label per line (stripped, blank lines skipped; integers when all the
    first batch's labels are whole numbers, else strings). ``column`` names the label column
    (or ``.npz`` array): without it, the only one, else the first of :data:`LABEL_NAMES`. With
    ``multilabel``, ``column`` is a list of 0/1 columns or a prefix ending in ``*`` (default:
    all), and a :class:`Columns` comes first. An empty file gives nothing.

    A ``.csv`` file whose header row reads as one column holding ``;`` or a tab (a ``.tsv``
    file: holding ``,``) that splits into several columns at it is read with that delimiter
    (a spreadsheet's export, named ``.csv`` whatever its delimiter). An ``.npz`` file's only
    array is its labels unless it is named like features (:data:`FEATURE_NAMES`).

    Args:
        path: the file (or directory of Parquet files).
        column: the label column(s), or None.
        multilabel: whether the file holds the rows of an indicator matrix.
        batch_size: rows per batch of a table or text file, at least 1.

    Yields:
        :class:`Columns` (multilabel tables), then :class:`Labels` and :class:`ValueCounts`.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for an unreadable file, an unknown column, options that do not fit the
            file, or missing values (after reading all of them, naming how many per column);
            for two columns of the same name, text that is not UTF-8, a directory without
            data files, and a file named ``.npy`` / ``.npz`` that is not one (empty, text).
        TypeError: for a column that is neither numbers nor strings.
        ModuleNotFoundError: if pyarrow, needed for tables and text files, is not installed.

    Warns:
        UserWarning: when every column name of a CSV file is a number (no header row?).
    """
    if not path.exists():
        raise FileNotFoundError(
            f"`source` must be an existing file or directory, got {str(path)!r}"
        )
    name = path.name.lower()
    if path.is_dir():
        _check_data_directory("source", path)
    if path.is_dir() or name.endswith((".parquet", ".pq")):
        ds = require("pyarrow.dataset", extra="io")
        options = ds.ParquetFragmentScanOptions(pre_buffer=False)
        fmt = ds.ParquetFileFormat(default_fragment_scan_options=options)
        what = "Parquet file or directory"
        yield from _table_labels(path, fmt, what, column, multilabel, batch_size)
        return
    if name.endswith((".npy", ".npz")):
        yield _numpy_file_labels(path, column)
        return
    for suffix in _COMPRESSIONS:
        name = name.removesuffix(suffix)
    text = not name.endswith((".csv", ".tsv"))
    if text and column is not None:
        fail("column", "None for a text file (one label per line)", column)
    if text and multilabel:
        fail("multilabel", "False for a text file (one label per line)", True)
    if _is_empty(path):
        return  # no labels (pyarrow cannot read an empty file)
    ds = require("pyarrow.dataset", extra="io")
    if not text:
        pa = require("pyarrow", extra="io")
        try:
            delimiter = _csv_delimiter(path, tsv=name.endswith(".tsv"))
        except (pa.ArrowException, OSError) as error:  # OSError: a damaged compressed file
            _unreadable(path, "CSV file", error)
        parse, convert = _csv_options(delimiter)
        fmt = ds.CsvFileFormat(parse_options=parse, convert_options=convert)
        yield from _table_labels(path, fmt, "CSV file", column, multilabel, batch_size, header=True)
        return
    pa = require("pyarrow", extra="io")
    pcsv = require("pyarrow.csv", extra="io")
    fmt = ds.CsvFileFormat(
        # one field per line: a separator that does not occur in text, no quoting, no header
        parse_options=pcsv.ParseOptions(delimiter="\x1f", quote_char=False),
        read_options=pcsv.ReadOptions(column_names=["label"]),
        # bytes, decoded batch by batch: text that is not UTF-8 gets the message of CSV files
        convert_options=pcsv.ConvertOptions(null_values=[], column_types={"label": pa.binary()}),
    )
    yield from _table_labels(
        path, fmt, "text file", None, multilabel, batch_size, prepare=_text_labels()
    )


def _csv_options(delimiter: str) -> tuple[Any, Any]:
    """pyarrow's parse and convert options of a table with a header row and ``delimiter``.

    Empty fields and markers such as ``NA`` or ``null`` are missing values, in text columns
    too.
    """
    pcsv = require("pyarrow.csv", extra="io")
    return (
        pcsv.ParseOptions(delimiter=delimiter),
        pcsv.ConvertOptions(strings_can_be_null=True),
    )


#: Delimiters a table may use in place of the one its suffix says (a ``.csv`` exported with
#: semicolons or pipes, a tab-separated file named ``.csv``, a comma-separated one named ``.tsv``).
_DELIMITERS = (",", ";", "\t", "|")

#: The most bytes read to find the end of a table's header row.
_HEADER_BYTES = 1 << 20


def _csv_delimiter(path: Path, *, tsv: bool, name: str = "source") -> str:
    """The delimiter of a CSV (or TSV) file, checked to have distinct column names.

    The suffix's delimiter (``,``, or a tab for ``.tsv``), unless the header row then reads as
    a single column that holds one of the other delimiters of :data:`_DELIMITERS` and splits
    into several columns at it: the file is then read with that one (the one that occurs most
    often in the header row, when it holds several).

    Only the header row is read here: rows that split otherwise (a decimal comma in a file
    delimited by semicolons) are the reader's business.

    Raises:
        ValueError: for a column name that occurs twice, naming it, or a header row that is
            not UTF-8 text.
        pyarrow.ArrowException: for a file that pyarrow cannot read.
        OSError: for a compressed file that cannot be decompressed.
    """
    pa = require("pyarrow", extra="io")
    pcsv = require("pyarrow.csv", extra="io")
    delimiter = "\t" if tsv else ","
    first = _header_row(path)
    if not first:
        return delimiter  # no header row: the reader says what it finds

    def header(delimiter: str) -> list[str]:
        options = pcsv.ParseOptions(delimiter=delimiter)
        try:
            return list(pcsv.read_csv(pa.py_buffer(first), parse_options=options).schema.names)
        except UnicodeDecodeError:
            shown = first.rstrip(b"\r\n")[:60]
            encoding = " (UTF-16)" if first.startswith((b"\xff\xfe", b"\xfe\xff")) else ""
            fail(
                name,
                "text encoded as UTF-8 (save the file as UTF-8)",
                f"{shown!r} in the header row of {str(path)!r}{encoding}",
            )

    names = header(delimiter)
    if len(names) == 1:
        others = sorted(
            (d for d in _DELIMITERS if d != delimiter and d in names[0]),
            key=lambda d: -names[0].count(d),
        )
        if others and len(split := header(others[0])) > 1:
            delimiter, names = others[0], split
    check_unique_names(name, names, repr(str(path)))
    return delimiter


def _header_row(path: Path) -> bytes:
    """The first line that is not blank of a (possibly compressed) text file, with its line
    break (the CSV reader skips blank lines too); empty when there is none."""
    pa = require("pyarrow", extra="io")
    text = b""
    with pa.input_stream(str(path), compression="detect") as stream:
        while len(text) < _HEADER_BYTES:
            piece = stream.read(1 << 14)
            text += piece
            lines = text.splitlines(keepends=True)
            complete = lines if not piece else lines[:-1]  # the last may go on
            for line in complete:
                if line.strip():
                    return line
            if not piece:
                break
    return b""


def _check_data_directory(name: str, path: Path) -> None:
    """Raise when the directory ``path`` holds no data files (only hidden files, or files
    whose names start with ``_``, which Parquet readers skip, or none at all)."""
    for _, _, files in os.walk(path):
        if any(not f.startswith((".", "_")) for f in files):
            return
    fail(name, "a file, or a directory that holds Parquet files", f"{path!s}: no data files")


def _utf8_column(
    array: Any, column: str | None, path: Path, row: int = 0, name: str = "source"
) -> Any:
    """A column of bytes as text, when the file holds it as UTF-8 (``column`` None: the lines
    of a text file).

    Raises:
        ValueError: naming the first row whose bytes are not UTF-8 (a file saved as Latin-1
            or another legacy encoding).
    """
    pa = require("pyarrow", extra="io")
    pc = require("pyarrow.compute", extra="io")
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, value in enumerate(array.to_pylist()):
        try:
            if value is not None:
                value.decode("utf-8")
        except UnicodeDecodeError:
            fail(
                name,
                "text encoded as UTF-8 (save the file as UTF-8)",
                f"{value!r} in row {row + i}"
                + ("" if column is None else f", column {column!r}")
                + f" of {str(path)!r}",
            )
    return array  # not reached: the cast fails only for bytes that are not UTF-8


def _is_empty(path: Path) -> bool:
    """Whether a (possibly compressed) file holds no bytes once decompressed."""
    pa = require("pyarrow", extra="io")
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            return not stream.read(1)
    except (pa.ArrowException, OSError):
        return False  # unreadable: the reader says so


def _unreadable(path: Path, what: str, error: Exception) -> None:
    reason = str(error)
    # pyarrow's dataset wraps the reader's error in sentences that repeat the path: the
    # reason is what follows them, with the name of the file when it is one of a directory
    wrapped = re.match(
        r"Error creating dataset\. Could not read schema from '([^']*)'.*?"
        r"input source '[^']*': (?:Invalid: )?",
        reason,
        flags=re.S,
    )
    if wrapped is not None:
        inner = Path(wrapped.group(1))
        reason = reason[wrapped.end() :]
        if inner != path:
            reason = f"{inner.name}: {reason}"
    fail("source", f"a readable {what} ({reason})", str(path))


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _pick_name(available: Sequence[str], column: Any, path: Path) -> str:
    """The name of the label column (or ``.npz`` array) among ``available``."""
    listed = _listed(available)
    if column is None:
        if len(available) == 1:
            return available[0]
        for name in LABEL_NAMES:
            if name in available:
                return name
        fail("column", f"given to choose among the columns of {str(path)!r}: {listed}", None)
    if not isinstance(column, str):
        fail("column", "a name (several columns need multilabel=True)", column, error=TypeError)
    if column not in available:
        fail("column", f"one of the columns of {str(path)!r}: {listed}", column)
    return column


def _pick_columns(available: Sequence[str], column: Any, path: Path) -> list[str]:
    """The indicator columns of a multilabel table: all, a list, or ``"prefix*"``."""
    if column is None:
        return list(available)
    if isinstance(column, str) and column.endswith("*"):
        chosen = [name for name in available if name.startswith(column[:-1])]
        if not chosen:
            fail("column", f"a prefix of columns of {str(path)!r}: {_listed(available)}", column)
        return chosen
    chosen = [column] if isinstance(column, str) else list(column)
    for name in chosen:
        if name not in available:
            fail("column", f"columns of {str(path)!r}: {_listed(available)}", name)
    return chosen


def _warn(message: str) -> None:
    """Warn with ``message``, attributed to the first caller outside this package."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _warn_if_headerless(names: Sequence[str], path: Path) -> None:
    """Warn when every column name of a CSV file is a number: it probably has no header."""
    if names and all(_is_number(name) for name in names):
        _warn(
            f"the column names of {str(path)!r} ({_listed(names)}) are numbers: if the file has "
            "no header row, its first row was read as one and not counted; add a header row "
            "(e.g. `label`) or, for one label per line, use a .txt file"
        )


def _cast(array: Any, kind: Any) -> Any:
    """``array`` cast to the pyarrow type ``kind``, ``None`` if some value does not parse."""
    pa = require("pyarrow", extra="io")
    pc = require("pyarrow.compute", extra="io")
    try:
        return pc.cast(array, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _text_labels() -> Callable[[Any], Any]:
    """Turns the lines of a text file, read as strings, into labels, one batch at a time.

    Surrounding whitespace is stripped ('cat ' is 'cat') and lines left blank are skipped.
    The labels are integers (or whole floats) when all the first batch's labels parse as
    such, else strings; a later batch that does not parse stays strings (and mixing the two
    is then an error).
    """
    pa = require("pyarrow", extra="io")
    pc = require("pyarrow.compute", extra="io")
    decided: list[Any] = []

    def prepare(lines: Any) -> Any:
        labels = pc.utf8_trim_whitespace(lines)
        labels = labels.filter(pc.not_equal(labels, ""))
        if len(labels) == 0:
            return labels
        if not decided:
            kind = next(
                (k for k in (pa.int64(), pa.float64()) if _cast(labels, k) is not None),
                pa.string(),
            )
            decided.append(kind)
        if decided[0] == pa.string():
            return labels
        cast = _cast(labels, decided[0])
        return labels if cast is None else cast

    return prepare


def _table_labels(
    path: Path,
    fmt: Any,
    what: str,
    column: Any,
    multilabel: bool,
    batch_size: int,
    *,
    header: bool = False,
    prepare: Callable[[Any], Any] | None = None,
) -> Iterator[Labels | ValueCounts | Columns]:
    """The labels of a CSV, TSV, text or Parquet file (or directory), read in batches by pyarrow.

    ``header``: the file's first row names the columns (warn if it looks like data).
    ``prepare``: turns the column of each batch into labels (text files, one column).
    Once a batch has missing values, later batches are read (to count them) but give nothing.
    """
    pa = require("pyarrow", extra="io")
    ds = require("pyarrow.dataset", extra="io")
    missing: dict[str, int] = {}
    try:
        dataset = ds.dataset(path, format=fmt)
        available = dataset.schema.names
        check_unique_names("source", available, repr(str(path)))
        if header:
            _warn_if_headerless(available, path)
        if multilabel:
            names = _pick_columns(available, column, path)
            yield Columns(tuple(names))
        else:
            names = [_pick_name(available, column, path)]
        missing = dict.fromkeys(names, 0)
        row = 0
        # one batch read ahead (and no pre-buffered file): memory stays at a few batches
        batches = dataset.to_batches(
            columns=names, batch_size=batch_size, batch_readahead=1, fragment_readahead=1
        )
        for batch in batches:
            rows = batch.num_rows  # of the file, before ``prepare`` drops blank lines
            if prepare is not None:
                lines = batch.column(0)
                if pa.types.is_binary(lines.type):  # text files are read as bytes
                    lines = _utf8_column(lines, None, path, row)
                batch = pa.record_batch([prepare(lines)], names=names)
            for name, array in zip(names, batch.columns):
                missing[name] += array.null_count
            if batch.num_rows and not any(missing.values()):
                yield _batch_labels(batch, names, path, row, multilabel)
            row += rows
    except (pa.ArrowException, OSError) as error:  # OSError: a damaged compressed file
        _unreadable(path, what, error)
    if any(missing.values()):
        found = ", ".join(f"{n} in column {name!r}" for name, n in missing.items() if n)
        fail("source", f"free of missing values in {str(path)!r}", found)


def _batch_labels(
    batch: Any, names: list[str], path: Path, row: int, multilabel: bool
) -> Labels | ValueCounts:
    """The labels of a pyarrow record batch whose first data row is row ``row`` of the file."""
    pa = require("pyarrow", extra="io")
    pc = require("pyarrow.compute", extra="io")
    columns = [
        c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns
    ]
    if multilabel:
        matrix = np.column_stack([c.to_numpy(zero_copy_only=False) for c in columns])
        return Labels(
            matrix, lambda i: f"row {row + i[0]}, column {names[i[1]]!r} of {str(path)!r}"
        )
    (labels,) = columns
    where: Where = lambda i: f"row {row + i[0]} of {str(path)!r}"  # noqa: E731
    if pa.types.is_binary(labels.type) or pa.types.is_large_binary(labels.type):
        labels = _utf8_column(labels, names[0], path, row)
    kind = labels.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return Labels(labels.to_numpy(zero_copy_only=False), where)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        found = pc.value_counts(labels)
        return ValueCounts(
            dict(zip(found.field("values").to_pylist(), found.field("counts").to_pylist())),
            lambda v: where((pc.index(labels, v).as_py(),)),
        )
    fail(
        "column",
        "a column of integers or strings",
        f"{names[0]!r} of type {kind}",
        error=TypeError,
    )


def _numpy_file_labels(path: Path, column: Any) -> Labels:
    """The array of a ``.npy`` file (memory-mapped) or the chosen array of a ``.npz`` file.

    Without ``column``, an ``.npz`` file gives its array named like labels (the first of
    :data:`LABEL_NAMES`), or its only array unless that is named like features
    (:data:`FEATURE_NAMES`, or ``X_`` followed by a split): features alone are not labels.
    """
    npz = path.name.lower().endswith(".npz")
    if not npz and column is not None:
        fail("column", "None for a .npy file", column)
    _check_numpy_file("source", path, npz=npz)
    unreadable = (ValueError, OSError, EOFError, zipfile.BadZipFile)
    try:
        # copy-on-write mapping: pages are read on demand and the file is never written
        loaded = np.load(path, mmap_mode=None if npz else "c")
    except unreadable as error:
        _unreadable(path, f"{path.suffix} file", error)
    if isinstance(loaded, np.ndarray):
        array = loaded
    else:
        with loaded:
            files = list(loaded.files)
            named = [n for n in LABEL_NAMES if n in files]
            alone = len(files) == 1 and not _is_feature_name(files[0])
            if column is None and not named and not alone:
                fail(
                    "column",
                    f"given to choose the labels among the arrays of {str(path)!r}: "
                    f"{_listed(files) or 'none'} (none is named "
                    f"{', '.join(map(repr, LABEL_NAMES))}, and features are not labels)",
                    None,
                )
            name = _pick_name(files, column, path)
            try:
                array = loaded[name]
            except unreadable as error:
                _unreadable(path, f"{path.suffix} file", error)
    return Labels(array, lambda i: f"index {index_text(i)} of {str(path)!r}")


def _is_feature_name(name: str) -> bool:
    return name in FEATURE_NAMES or name.startswith(("X_", "x_"))


#: The first bytes of an ``.npy`` file.
_NPY_MAGIC = b"\x93NUMPY"


def _check_numpy_file(name: str, path: Path, *, npz: bool) -> None:
    """Raise unless ``path`` is an ``.npz`` archive (a zip file) or, without ``npz``, begins
    like an ``.npy`` file: an empty file, text or a pickle named so is not read by NumPy's
    loader, whose errors (end of file, advice about pickles) would not say what is wrong."""
    if path.is_dir():
        fail(name, f"a {path.suffix} file", f"{path!s}: a directory")
    size = path.stat().st_size
    if npz:
        if size and zipfile.is_zipfile(path):
            return
        expected = "an .npz archive (a zip file of .npy arrays, as numpy.savez writes)"
    else:
        with open(path, "rb") as file:
            if file.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                return
        expected = "an .npy file (as numpy.save writes)"
    found = "an empty file" if size == 0 else f"not a {path.suffix} file"
    fail(name, expected, f"{path!s}: {found}")


# --- tables ------------------------------------------------------------------------------------


def read_table(path: Path) -> dict[str, np.ndarray]:
    """A whole CSV, TSV or Parquet table (file or directory) as NumPy columns, by name.

    A directory, or a name with the suffix ``.parquet`` or ``.pq``, is Parquet; any other file
    is CSV, tab-separated if its name has the suffix ``.tsv``. The column types of a CSV file
    are inferred from all its rows; empty fields and markers such as ``NA`` are missing values.

    Args:
        path: the file or directory.

    Returns:
        ``{column name: values}`` in the order of the table's columns.

    A ``.csv`` file whose header row reads as one column holding ``;`` or a tab (a ``.tsv``
    file: holding ``,``) that splits into several columns at it is read with that delimiter.
    Text must be UTF-8.

    Raises:
        ValueError: if the file cannot be read as a table (the message names it), for a
            directory that holds no data files, for a column name that occurs twice (naming
            it), or for text that is not UTF-8 (naming the row and column).
        ModuleNotFoundError: if pyarrow is not installed.
    """
    pa = require("pyarrow", extra="io")
    pcsv = require("pyarrow.csv", extra="io")
    pq = require("pyarrow.parquet", extra="io")
    suffixes = [s.lower() for s in path.suffixes]
    if path.is_dir():
        _check_data_directory("path", path)
    try:
        if path.is_dir() or ".parquet" in suffixes or ".pq" in suffixes:
            table = pq.read_table(path)
        else:
            parse, convert = _csv_options(_csv_delimiter(path, tsv=".tsv" in suffixes, name="path"))
            table = pcsv.read_csv(path, parse_options=parse, convert_options=convert)
    except (pa.ArrowException, OSError) as exc:
        fail("path", f"a readable table ({exc})", str(path))
    check_unique_names("path", table.column_names, repr(str(path)))
    out: dict[str, np.ndarray] = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            col = _utf8_column(col.combine_chunks(), name, path, name="path")
        out[name] = col.to_numpy(zero_copy_only=False)
    return out


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, by name, read into memory (no pickled objects).

    Args:
        path: the ``.npz`` file.

    Returns:
        ``{name: array}`` in the order of the file.

    Raises:
        ValueError: for a file that is not an ``.npz`` archive (an empty file, text), or one
            that cannot be read (damaged, or holding pickled objects).
    """
    _check_numpy_file("path", path, npz=True)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        fail("path", f"a readable .npz archive of numeric arrays ({error})", str(path))


# --- image masks -------------------------------------------------------------------------------


def is_image(value: Any) -> bool:
    """Whether ``value`` is a :class:`PIL.Image.Image` (without importing Pillow: an image
    exists only once Pillow is imported)."""
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(value, module.Image)


def image_suffixes() -> set[str]:
    """The file name suffixes (lower case, with the dot) of the images Pillow can read."""
    image = require("PIL.Image", extra="io")
    return set(image.registered_extensions())


def read_image(path: Path) -> np.ndarray:
    """The mask in an image file: one class index per pixel (see :func:`image_array`).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for an image that is not one class index per pixel.
        ModuleNotFoundError: if Pillow is not installed.
    """
    image = require("PIL.Image", extra="io")
    if not path.exists():
        raise FileNotFoundError(f"no such mask file: {str(path)!r}")
    with image.open(path) as opened:
        return image_array(opened, str(path))


def image_array(image: Any, where: str) -> np.ndarray:
    """A Pillow image of one class index per pixel (mode in :data:`MASK_MODES`) as an array.

    Raises:
        ValueError: for another mode (such as ``RGB``), naming ``where`` the image is.
    """
    if image.mode not in MASK_MODES:
        expected = (
            "an image of one class index per pixel (mode " + ", ".join(map(repr, MASK_MODES)) + ")"
        )
        fail("mask", expected, f"mode {image.mode!r} in {where}")
    return np.asarray(image)


def _is_mask(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, np.ndarray, str, os.PathLike)) or is_image(value)


def iter_masks(
    source: Any, *, batched: bool, key: int | str | Callable[[Any], Any] | None
) -> Iterator[tuple[str, Any]]:
    """The masks of a segmentation source, one at a time, each with a description of where it is.

    ``source`` is a tensor or array (one mask, or with ``batched`` a batch along its first
    dimension), a path to an image file or to a directory of them (read in sorted order), a
    Pillow image, or an iterable of these (``key`` picks the mask out of each item).

    Raises:
        TypeError: for a dictionary, something that is not iterable, or an item that is not a
            mask.
        ValueError: for a directory without images, an item without ``key``, or a batch that
            is not at least 2-D.
        FileNotFoundError: for a path that does not exist.
    """
    if isinstance(source, Mapping):
        fail(
            "source",
            "masks, a path or an iterable of masks, not a dictionary",
            type(source).__name__,
            error=TypeError,
        )
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        items: Any = sorted(
            p for p in Path(source).iterdir() if p.suffix.lower() in image_suffixes()
        )
        if not items:
            fail("source", "a directory holding image files", str(source))
    elif key is None and _is_mask(source):
        yield from _split_masks(source, "the mask", batched)
        return
    else:
        try:
            items = iter(source)
        except TypeError:
            fail(
                "source",
                "masks, a path or an iterable of masks",
                type(source).__name__,
                error=TypeError,
            )
    for number, item in enumerate(items):
        mask = pick(item, key, number, unit="item")
        if not _is_mask(mask):
            fail(
                "mask",
                "a tensor, an array, an image or a path to an image",
                f"{type(mask).__name__} in item {number}",
                error=TypeError,
            )
        yield from _split_masks(mask, f"item {number}", batched)


def _split_masks(mask: Any, where: str, batched: bool) -> Iterator[tuple[str, Any]]:
    """One mask, or with ``batched`` the masks along the first dimension of a tensor or array."""
    if isinstance(mask, (str, os.PathLike)):
        yield f"{where} ({mask})", read_image(Path(mask))
    elif not isinstance(mask, (torch.Tensor, np.ndarray)):
        yield where, image_array(mask, where)
    elif batched:
        if mask.ndim < 2:
            fail(
                "mask",
                "a batch of masks (at least 2-D) with batched=True",
                f"{mask.ndim}-D in {where}",
            )
        for i in range(mask.shape[0]):
            yield f"mask {i} of {where}", mask[i]
    else:
        yield where, mask
