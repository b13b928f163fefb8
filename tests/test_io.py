"""Tests for counterpoise._io: label files, tables, image masks, streams and picking items.

Reading labels is checked through :func:`counterpoise.count_labels` against np.bincount /
Counter, and directly on the readers.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

import counterpoise
from counterpoise._io import (
    Columns,
    Labels,
    ValueCounts,
    iter_masks,
    pick,
    pick_labels,
    read_labels,
    read_table,
    stream_batches,
)
from counterpoise.compare.data import load_user_data
from counterpoise.counts import class_counts, count_labels
from counterpoise.segmentation import mask_statistics

FAST = settings(max_examples=50, deadline=None)
IGNORE = 255

words = st.lists(st.text(alphabet="abcxyz", min_size=0, max_size=3), min_size=1, max_size=60)


def bincount_reference(labels: np.ndarray, ignore_index: int | None = None, minlength: int = 0):
    """Counts written out with np.bincount over the labels that are not ignored."""
    flat = labels.reshape(-1)
    if ignore_index is not None:
        flat = flat[flat != ignore_index]
    return np.bincount(flat, minlength=minlength)


def hide(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make ``package`` (and its submodules) look uninstalled: importing it raises."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


# --- streams ---------------------------------------------------------------------------------


def split(labels: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(labels, sorted(c % (len(labels) + 1) for c in cuts))


@FAST
@given(
    labels=hnp.arrays(np.int64, st.integers(1, 80), elements=st.integers(0, 9)),
    cuts=st.lists(st.integers(0, 100), max_size=6),
    kinds=st.lists(st.sampled_from(["tensor", "numpy", "list", "scalars"]), min_size=7, max_size=7),
    batch_size=st.integers(1, 10),
)
def test_streams_equal_one_shot(labels, cuts, kinds, batch_size):
    def stream():
        for part, kind in zip(split(labels, cuts), kinds):
            if kind == "tensor":
                yield torch.from_numpy(part)
            elif kind == "numpy":
                yield part
            elif kind == "list":
                yield part.tolist()
            else:
                yield from (int(v) for v in part)

    assert count_labels(stream(), batch_size=batch_size) == count_labels(labels)


@FAST
@given(values=words, cuts=st.lists(st.integers(0, 100), max_size=5))
def test_string_streams_equal_one_shot(values, cuts):
    parts = split(np.array(values, dtype=object), cuts)
    assert count_labels(p.tolist() for p in parts) == count_labels(values)
    assert count_labels(iter(values), batch_size=7) == count_labels(values)


@pytest.mark.parametrize(
    "source",
    [
        iter([(5, 1), (7, 0), (9, 1)]),
        iter([("a.png", 0), ("b.png", 1)]),
        iter([("cat",), ("dog",)]),
        TensorDataset(torch.arange(3), torch.tensor([0, 1, 1])),
        iter([["a.png", 0], ["b.png", 1]]),
        iter([[("a.png", 0), ("b.png", 1)]]),
        iter([[torch.zeros(2, 3), torch.tensor([0, 1])]]),
    ],
)
def test_stream_of_samples_without_key_is_an_error(source):
    with pytest.raises(ValueError, match=r"`key` must be given.*key=1.*got 'None for item 0: "):
        count_labels(source)


def test_tuples_are_labels_in_a_list_and_samples_in_a_stream():
    pairs = [("cat", 1), ("dog", 0), ("cat", 1)]
    expected = {("cat", 1): 2, ("dog", 0): 1}
    assert count_labels(pairs).as_dict() == expected  # a list: one label per item
    assert count_labels(tuple(pairs)).as_dict() == expected
    assert count_labels(iter([pairs[:2], pairs[2:]]), key=lambda b: b).as_dict() == expected
    assert count_labels(iter(pairs), key=lambda item: [item]).as_dict() == expected
    assert count_labels(iter([(5, 1), (7, 0), (9, 1)]), key=1).as_dict() == {0: 1, 1: 2}
    data = TensorDataset(torch.arange(3), torch.tensor([0, 1, 1]))
    assert count_labels(data, key=1).as_dict() == {0: 1, 1: 2}
    # lists of plain labels are batches of a stream, mixed or not
    assert count_labels(iter([["cat", "dog"], ["cat"]])).as_dict() == {"cat": 2, "dog": 1}
    assert count_labels(iter([[torch.tensor(1), torch.tensor(0)]])).counts.tolist() == [1, 1]


def test_dataloader_with_key():
    torch.manual_seed(0)
    y = torch.randint(0, 4, (103,))
    loader = DataLoader(TensorDataset(torch.randn(103, 3), y), batch_size=10)
    assert count_labels(loader, key=1) == count_labels(y)
    # a map-style dataset yields one (x, y) sample at a time
    assert count_labels(
        TensorDataset(torch.randn(103, 3), y), key=1, batch_size=16
    ) == count_labels(y)


def test_dict_batches_and_callable_key():
    batches = [{"labels": torch.tensor([1, 2]), "x": torch.zeros(2)}, {"labels": torch.tensor([2])}]
    assert class_counts(batches, key="labels").tolist() == [0, 1, 2]
    assert class_counts(iter(batches), key=lambda b: b["labels"] + 1).tolist() == [0, 0, 1, 2]


def test_multilabel_stream_of_rows_and_matrices():
    rows = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]])
    stream = [torch.from_numpy(rows[0]), rows[1].tolist(), rows[2:]]
    result = count_labels(iter(stream), multilabel=True, batch_size=1)
    assert result == count_labels(rows, multilabel=True)
    samples = [(torch.zeros(2), torch.from_numpy(r)) for r in rows]
    assert count_labels(samples, key=1, multilabel=True) == result


def test_pick_by_index_key_or_function():
    assert pick((1, 2), 1, 0) == 2
    assert pick({"mask": 3}, "mask", 0) == 3
    assert pick([4, 5], lambda item: item[0] + 1, 0) == 5
    item = ("x", 0)
    assert pick(item, None, 0) is item
    with pytest.raises(ValueError, match=r"^`key` must be an index or key of every item, got "):
        pick({"y": 0}, "mask", 7, unit="item")
    with pytest.raises(ValueError, match="'mask' for item 7 of type dict"):
        pick({"y": 0}, "mask", 7, unit="item")


def test_pick_labels_rejects_samples_without_key():
    assert pick_labels([0, 1], None, 0) == [0, 1]
    assert pick_labels((0, 1), 1, 0) == 1
    for item, record in [
        ((0, 1), "a tuple of length 2"),
        ({"labels": 0}, "a dictionary"),
        ([(0, 1)], "a list of tuples or dictionaries"),
        ([np.zeros(2)], "a list of arrays"),
        (["a", 1], "a list mixing strings with other values"),
    ]:
        with pytest.raises(ValueError, match=f"got 'None for item 3: {record}'"):
            pick_labels(item, None, 3)


def test_stream_batches_gather_samples_and_pass_batches_through():
    batch = np.array([7, 8])
    parts = list(stream_batches(iter([0, 1, 2, batch, 3]), None, 2, False))
    assert [p for p, _ in parts[:2]] == [[0, 1], [2]]
    assert parts[2][0] is batch and parts[3][0] == [3]
    assert [where((0,)) for _, where in parts] == [
        "item 0",
        "item 2",
        "index 0 of batch 3",
        "item 4",
    ]
    rows = list(stream_batches([np.array([1, 0]), [0, 1]], None, 5, True))
    assert len(rows) == 1 and rows[0][1]((1, 0)) == "item 1, column 0"


@pytest.mark.parametrize(
    ("source", "options", "error", "match"),
    [
        (
            iter([(torch.zeros(2, 3), torch.tensor([0, 1]))]),
            {},
            ValueError,
            r"`key` must be given.*key=1.*key=\"labels\"",
        ),
        (
            iter([{"labels": torch.tensor([0])}]),
            {},
            ValueError,
            r"`key` must be given.*key=\"labels\"",
        ),
        (
            iter([(torch.zeros(1), 0)]),
            {"key": 2},
            ValueError,
            "`key` must be an index or key of every batch.*2 for batch 0",
        ),
        (
            iter([{"y": 0}]),
            {"key": "labels"},
            ValueError,
            "`key` must be an index or key.*'labels'",
        ),
        (
            iter([torch.tensor([0, 1]), torch.tensor([-2])]),
            {},
            ValueError,
            "-2 at index 0 of batch 1",
        ),
        (iter([0, 1, 2, -1]), {"batch_size": 3}, ValueError, "-1 at item 3"),
        (3, {}, TypeError, "`source` must be labels, a file path or an iterable"),
    ],
)
def test_stream_errors(source, options, error, match):
    with pytest.raises(error, match=match):
        count_labels(source, **options)


# --- label files -----------------------------------------------------------------------------


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_csv_integer_column(tmp_path, rng):
    y = rng.integers(0, 7, 500)
    path = tmp_path / "data.csv"
    path.write_text("x,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(y)))
    result = count_labels(path, batch_size=33)
    assert result.counts.tolist() == np.bincount(y).tolist()
    assert count_labels(str(path), column="x").num_classes == 500


def test_csv_string_column_and_tsv_and_gzip(tmp_path, rng):
    words = rng.choice(["cat", "dog", "emu", "yak"], 300, p=[0.6, 0.3, 0.07, 0.03]).tolist()
    unique, freqs = np.unique(words, return_counts=True)
    expected = dict(zip(unique.tolist(), freqs.tolist()))
    (tmp_path / "a.csv").write_text("target,other\n" + "".join(f"{w},1\n" for w in words))
    (tmp_path / "a.tsv").write_text("id\tclass\n" + "".join(f"1\t{w}\n" for w in words))
    with gzip.open(tmp_path / "a.csv.gz", "wt") as f:
        f.write("label\n" + "".join(f"{w}\n" for w in words))
    for name in ("a.csv", "a.tsv", "a.csv.gz"):
        result = count_labels(tmp_path / name, batch_size=17)
        assert result.as_dict() == expected, name
        assert result.classes == tuple(unique.tolist())


def test_csv_larger_than_one_read_block(tmp_path, rng):
    y = rng.integers(0, 50, 400_000)
    path = tmp_path / "big.csv"
    path.write_text("label\n" + "\n".join(map(str, y.tolist())) + "\n")
    assert path.stat().st_size > 1 << 20
    assert class_counts(path, batch_size=100_000).tolist() == np.bincount(y).tolist()


def test_parquet_file_and_directory(tmp_path, rng):
    parts = [rng.integers(0, 9, n) for n in (40, 1, 75)]
    (tmp_path / "shards").mkdir()
    for i, part in enumerate(parts):
        pq.write_table(pa.table({"y": part, "f": part * 2.0}), tmp_path / "shards" / f"{i}.parquet")
    everything = np.concatenate(parts)
    pq.write_table(pa.table({"y": everything}), tmp_path / "all.pq", row_group_size=10)
    expected = np.bincount(everything).tolist()
    assert class_counts(tmp_path / "all.pq", batch_size=7).tolist() == expected
    assert class_counts(tmp_path / "shards", batch_size=7).tolist() == expected


def test_parquet_strings_and_dictionary(tmp_path, rng):
    words = rng.choice(["a", "bb", "ccc"], 200).tolist()
    table = pa.table({"label": pa.array(words).dictionary_encode(), "raw": words})
    pq.write_table(table, tmp_path / "w.parquet")
    expected = dict(Counter(words))
    assert count_labels(tmp_path / "w.parquet", batch_size=9).as_dict() == expected
    assert count_labels(tmp_path / "w.parquet", column="raw", batch_size=9).as_dict() == expected


def test_npy_is_counted_in_chunks(tmp_path, rng):
    masks = rng.integers(0, 6, (5, 7, 9))
    np.save(tmp_path / "masks.npy", masks)
    result = count_labels(tmp_path / "masks.npy", batch_size=16, ignore_index=5)
    assert result.counts.tolist() == bincount_reference(masks, 5).tolist()
    np.save(tmp_path / "s.npy", np.array(["b", "a", "b"]))
    assert count_labels(tmp_path / "s.npy").as_dict() == {"a": 1, "b": 2}


def test_npz_array_choice(tmp_path, rng):
    y = rng.integers(0, 4, 50)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(50, 2)), y=y)
    np.savez(tmp_path / "only.npz", anything=y)
    np.savez(tmp_path / "named.npz", a=y, b=y + 1)
    expected = np.bincount(y).tolist()
    assert class_counts(tmp_path / "d.npz").tolist() == expected
    assert class_counts(tmp_path / "only.npz").tolist() == expected
    assert class_counts(tmp_path / "named.npz", column="a").tolist() == expected


def test_text_files(tmp_path, rng):
    y = rng.integers(0, 5, 120)
    (tmp_path / "y.txt").write_text("\n".join(map(str, y.tolist())) + "\n")
    (tmp_path / "names.list").write_text('NA\nnull\n,\n"q"\nNA\n')
    assert class_counts(tmp_path / "y.txt", batch_size=11).tolist() == np.bincount(y).tolist()
    result = count_labels(tmp_path / "names.list")
    assert result.as_dict() == {'"q"': 1, ",": 1, "NA": 2, "null": 1}


def test_text_files_strip_surrounding_whitespace(tmp_path):
    (tmp_path / "w.txt").write_text("cat \ncat\n\t dog\n\n   \nsea lion \n")
    result = count_labels(tmp_path / "w.txt")
    assert result.as_dict() == {"cat": 2, "dog": 1, "sea lion": 1}
    assert result.num_samples == 4
    (tmp_path / "n.txt").write_text(" 1\n   \n2 \n\n1\n")
    assert class_counts(tmp_path / "n.txt", batch_size=2).tolist() == [0, 2, 1]
    (tmp_path / "f.txt").write_text("1.0\n 0.0 \n")
    assert class_counts(tmp_path / "f.txt").tolist() == [1, 1]
    (tmp_path / "later.txt").write_text("1\n2\ncat\n")
    assert count_labels(tmp_path / "later.txt").as_dict() == {"1": 1, "2": 1, "cat": 1}


def test_headerless_csv_warns(tmp_path):
    (tmp_path / "h.csv").write_text("0\n1\n1\n")
    with pytest.warns(UserWarning, match=r"h.csv.*'0'.*header row.*\.txt") as record:
        result = count_labels(tmp_path / "h.csv")
    assert record[0].filename == __file__  # points at the caller
    assert result.as_dict() == {0: 0, 1: 2}  # the first label "0" became the column name
    (tmp_path / "m.csv").write_text("1,0\n0,1\n")
    with pytest.warns(UserWarning, match="header row"):
        count_labels(tmp_path / "m.csv", multilabel=True)
    (tmp_path / "ok.csv").write_text("label\n0\n1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert class_counts(tmp_path / "ok.csv").tolist() == [1, 1]


def test_multilabel_csv_columns(tmp_path, rng):
    matrix = rng.integers(0, 2, (60, 3))
    lines = [f"{i},{a},{b},{c},7" for i, (a, b, c) in enumerate(matrix.tolist())]
    path = tmp_path / "tags.csv"
    path.write_text("id,tag_a,tag_b,tag_c,score\n" + "\n".join(lines) + "\n")
    result = count_labels(path, multilabel=True, column="tag_*", batch_size=8)
    assert result.classes == ("tag_a", "tag_b", "tag_c")
    assert result.counts.tolist() == matrix.sum(0).tolist()
    assert result.num_samples == 60
    picked = count_labels(path, multilabel=True, column=["tag_c", "tag_a"])
    assert picked.as_dict() == {"tag_c": matrix[:, 2].sum(), "tag_a": matrix[:, 0].sum()}


def test_multilabel_parquet_bool_columns(tmp_path, rng):
    matrix = rng.random((30, 2)) < 0.3
    pq.write_table(pa.table({"p": matrix[:, 0], "q": matrix[:, 1]}), tmp_path / "m.parquet")
    result = count_labels(tmp_path / "m.parquet", multilabel=True, batch_size=4)
    assert result.as_dict() == {"p": matrix[:, 0].sum(), "q": matrix[:, 1].sum()}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "two.csv").write_text("a,b\n1,2\n")
    (tmp_path / "nulls.csv").write_text("id,label\n1,\n2,x\n3,NA\n")
    (tmp_path / "ragged.csv").write_text("label\n1\n2,3\n")
    (tmp_path / "floats.csv").write_text("label\n1\n2.5\n")
    (tmp_path / "header_only.csv").write_text("label\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text("\n  \n\n")
    with gzip.open(tmp_path / "empty.csv.gz", "wt") as f:
        f.write("")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    (tmp_path / "bad.npy").write_bytes(b"not npy")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken zip")
    (tmp_path / "y.txt").write_text("1\n2\n")
    (tmp_path / "m.csv").write_text("tag_a,tag_b\n0,1\n1,2\n")
    pq.write_table(pa.table({"label": [1, None, None, 0]}), tmp_path / "nulls.parquet")
    pq.write_table(pa.table({"label": pa.array([[1], [2]])}), tmp_path / "lists.parquet")
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.zeros(2))
    np.save(tmp_path / "y.npy", np.zeros(3, dtype=np.int64))
    return tmp_path


@pytest.mark.parametrize(
    ("name", "options", "error", "match"),
    [
        ("missing.csv", {}, FileNotFoundError, "`source` must be an existing file.*missing.csv"),
        (
            "two.csv",
            {},
            ValueError,
            r"`column` must be given to choose among the columns of .*two.csv.*'a', 'b'",
        ),
        (
            "two.csv",
            {"column": "c"},
            ValueError,
            r"`column` must be one of the columns of .*'a', 'b', got 'c'",
        ),
        ("two.csv", {"key": 1}, ValueError, "`key` must be None when `source` is a file"),
        (
            "nulls.csv",
            {},
            ValueError,
            r"`source` must be free of missing values .*nulls.csv.*2 in column 'label'",
        ),
        ("nulls.parquet", {}, ValueError, "2 in column 'label'"),
        ("ragged.csv", {}, ValueError, r"`source` must be a readable CSV file .*ragged.csv"),
        ("floats.csv", {}, TypeError, "2.5 at row 1 of .*floats.csv"),
        ("header_only.csv", {}, ValueError, r"`source` must be a non-empty file.*header_only.csv"),
        ("empty.csv", {}, ValueError, r"`source` must be a non-empty file.*got '.*empty.csv'$"),
        ("empty.csv.gz", {}, ValueError, r"`source` must be a non-empty file.*empty.csv.gz'$"),
        ("empty.txt", {}, ValueError, r"`source` must be a non-empty file.*got '.*empty.txt'$"),
        ("blank.txt", {}, ValueError, r"`source` must be a non-empty file.*got '.*blank.txt'$"),
        ("bad.parquet", {}, ValueError, "`source` must be a readable Parquet file.*bad.parquet"),
        (
            "bad.npy",
            {},
            ValueError,
            r"`source` must be an \.npy file \(as numpy.save writes\), got '.*bad.npy: not a \.npy file'",
        ),
        (
            "bad.npz",
            {},
            ValueError,
            r"`source` must be an \.npz archive \(a zip file .*bad.npz: not a \.npz file'",
        ),
        ("lists.parquet", {}, TypeError, "`column` must be a column of integers or strings"),
        ("two.npz", {}, ValueError, "`column` must be given to choose .*'a', 'b'"),
        ("two.npz", {"column": "z"}, ValueError, "`column` must be one of the columns"),
        ("y.npy", {"column": "y"}, ValueError, "`column` must be None for a .npy file"),
        ("y.txt", {"column": "y"}, ValueError, "`column` must be None for a text file"),
        ("y.txt", {"multilabel": True}, ValueError, "`multilabel` must be False for a text file"),
        ("y.txt", {"num_classes": 2}, ValueError, "below num_classes=2.*2 at row 1 of .*y.txt"),
        (
            "m.csv",
            {"multilabel": True},
            ValueError,
            r"`labels` must be 0 or 1.*2 at row 1, column 'tag_b'",
        ),
        (
            "m.csv",
            {"multilabel": True, "column": "x_*"},
            ValueError,
            "`column` must be a prefix of columns",
        ),
        (
            "m.csv",
            {"multilabel": True, "column": ["tag_a", "z"]},
            ValueError,
            "`column` must be columns of .*got 'z'",
        ),
    ],
)
def test_file_errors(files, name, options, error, match):
    with pytest.raises(error, match=match):
        count_labels(files / name, **options)


def test_read_labels_gives_columns_first_then_arrays_or_value_counts(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,w\n0,1,cat\n1,1,dog\n1,0,cat\n")
    parts = list(read_labels(path, column=["b", "a"], multilabel=True, batch_size=2))
    assert parts[0] == Columns(("b", "a"))
    assert all(isinstance(p, Labels) for p in parts[1:])
    np.testing.assert_array_equal(np.vstack([p.array for p in parts[1:]]), [[1, 0], [1, 1], [0, 1]])
    assert parts[2].where((0, 1)) == f"row 2, column 'a' of {str(path)!r}"
    (counted,) = read_labels(path, column="w", multilabel=False, batch_size=10)
    assert isinstance(counted, ValueCounts)
    assert counted.found == {"cat": 2, "dog": 1}
    assert counted.locate("dog") == f"row 1 of {str(path)!r}"
    (tmp_path / "empty.txt").write_text("")
    assert (
        list(read_labels(tmp_path / "empty.txt", column=None, multilabel=False, batch_size=1)) == []
    )


# --- tables ----------------------------------------------------------------------------------


def test_read_table_csv_tsv_and_parquet(tmp_path):
    (tmp_path / "t.csv").write_text("x,label\n1.5,a\n2,NA\n")
    (tmp_path / "t.tsv.gz").write_bytes(gzip.compress(b"x\tlabel\n1\tb\n"))
    table = read_table(tmp_path / "t.csv")
    assert list(table) == ["x", "label"]
    assert table["x"].tolist() == [1.5, 2.0]
    assert table["label"].tolist() == ["a", None]  # NA is a missing value, in text too
    assert read_table(tmp_path / "t.tsv.gz")["label"].tolist() == ["b"]
    (tmp_path / "parts").mkdir()
    for i in range(2):
        pq.write_table(pa.table({"y": [i, i]}), tmp_path / "parts" / f"{i}.parquet")
    assert sorted(read_table(tmp_path / "parts")["y"].tolist()) == [0, 0, 1, 1]


def test_read_table_infers_types_from_every_row(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "1,2\n" * 300_000 + "x,2.5\n")
    assert path.stat().st_size > 1 << 20  # more than one block of pyarrow's reader
    table = read_table(path)
    assert table["a"][-1] == "x" and table["b"][-1] == 2.5


def test_unreadable_table(tmp_path, raises):
    (tmp_path / "junk.csv").write_bytes(b"a,b\n1\n\x00\x01,2,3\n")
    with raises(ValueError, "path", "a readable table (CSV parse error"):
        read_table(tmp_path / "junk.csv")
    with pytest.raises(ValueError, match=r"junk\.csv"):
        load_user_data(tmp_path / "junk.csv")


# --- image masks -----------------------------------------------------------------------------


def test_statistics_from_image_files(tmp_path):
    rng = np.random.default_rng(0)
    masks = [rng.integers(0, 4, (6, 7)).astype(np.uint8) for _ in range(3)]
    masks[1][0, :] = IGNORE
    for i, m in enumerate(masks):
        mode = "P" if i == 2 else "L"  # a palette image, as Pascal VOC masks are stored
        image = Image.frombytes(mode, (7, 6), m.tobytes())
        if mode == "P":
            image.putpalette(list(range(256)) * 3)  # Pillow may reorder a default palette
        image.save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    expected = mask_statistics(masks, ignore_index=IGNORE)
    for source in (tmp_path, str(tmp_path), sorted(tmp_path.glob("*.png"))):
        stats = mask_statistics(source, ignore_index=IGNORE)
        assert torch.equal(stats.counts, expected.counts)
        assert torch.equal(stats.image_pixels, expected.image_pixels)
    with Image.open(tmp_path / "2.png") as opened:
        assert torch.equal(mask_statistics(opened).counts, mask_statistics(masks[2]).counts)


def test_iter_masks_names_where_each_mask_is(tmp_path):
    Image.fromarray(np.zeros((2, 3), np.uint8)).save(tmp_path / "a.png")
    batch = np.zeros((2, 4, 4), np.int64)
    found = list(iter_masks([batch, tmp_path / "a.png"], batched=True, key=None))
    assert [where for where, _ in found] == [
        "mask 0 of item 0",
        "mask 1 of item 0",
        f"item 1 ({tmp_path / 'a.png'})",
    ]
    assert found[2][1].shape == (2, 3)
    ((where, mask),) = iter_masks(batch, batched=False, key=None)
    assert where == "the mask" and mask is batch


def test_mask_source_errors(tmp_path):
    good = np.zeros((2, 2), np.int64)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(
        ValueError, match=r"`mask` must be an image of one class index per pixel.*'RGB'"
    ):
        mask_statistics(tmp_path / "rgb.png")
    with pytest.raises(FileNotFoundError):
        mask_statistics(tmp_path / "missing.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="must be a directory holding image files"):
        mask_statistics(tmp_path / "empty")
    with pytest.raises(TypeError, match="`mask` must be a tensor, an array"):
        mask_statistics([[0, 1]])
    with pytest.raises(TypeError, match="not a dictionary"):
        mask_statistics({"mask": good})
    with pytest.raises(TypeError, match="`source` must be"):
        mask_statistics(3)
    with pytest.raises(ValueError, match="`key` must be an index or key of every item"):
        mask_statistics([good], key="mask")
    with pytest.raises(ValueError, match="batch of masks"):
        mask_statistics(np.zeros(3, np.int64), batched=True)


# --- optional dependencies -------------------------------------------------------------------


def test_importing_does_not_import_the_optional_dependencies():
    src = str(Path(counterpoise.__file__).parents[1])
    code = (
        "import sys, counterpoise._io, counterpoise.counts, counterpoise.segmentation; "
        "print(sorted(m for m in ('pyarrow', 'PIL', 'scipy') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"


def test_tables_without_pyarrow_name_the_extra(tmp_path, monkeypatch):
    pq.write_table(pa.table({"label": [0, 1, 1]}), tmp_path / "y.parquet")
    (tmp_path / "y.csv").write_text("label\n0\n1\n")
    np.save(tmp_path / "y.npy", np.array([0, 1, 1]))
    hide(monkeypatch, "pyarrow")
    extra = r"^pyarrow is needed here and is not installed: pip install 'counterpoise\[io\]'$"
    for name in ("y.parquet", "y.csv"):
        with pytest.raises(ModuleNotFoundError, match=extra):
            count_labels(tmp_path / name)
    with pytest.raises(ModuleNotFoundError, match=extra):
        load_user_data(tmp_path / "y.csv")
    assert class_counts(tmp_path / "y.npy").tolist() == [1, 2]  # NumPy files need no pyarrow


def test_mask_files_without_pillow_name_the_extra(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "m.png")
    hide(monkeypatch, "PIL")
    extra = r"^PIL is needed here and is not installed: pip install 'counterpoise\[io\]'$"
    with pytest.raises(ModuleNotFoundError, match=extra):
        mask_statistics(tmp_path / "m.png")
    with pytest.raises(ModuleNotFoundError, match=extra):
        mask_statistics(tmp_path)
    assert mask_statistics(np.array([[0, 1]])).counts.tolist() == [1, 1]  # arrays need no Pillow
