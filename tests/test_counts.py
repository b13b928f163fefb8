"""Tests for counterpoise.counts: every source against np.bincount / Counter / np.unique."""

from __future__ import annotations

import gzip
import time
import warnings
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.utils.data import DataLoader, TensorDataset

from counterpoise.counts import LabelCounts, class_counts, count_labels

FAST = settings(max_examples=50, deadline=None)


def bincount_reference(labels: np.ndarray, ignore_index: int | None = None, minlength: int = 0):
    """Counts written out with np.bincount over the labels that are not ignored."""
    flat = labels.reshape(-1)
    if ignore_index is not None:
        flat = flat[flat != ignore_index]
    return np.bincount(flat, minlength=minlength)


label_arrays = hnp.arrays(
    dtype=st.sampled_from([np.int64, np.int32, np.uint8, np.int16]),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6),
    elements=st.integers(0, 12),
)


# --- class indices ---------------------------------------------------------------------------


@FAST
@given(
    labels=label_arrays,
    ignore_index=st.sampled_from([None, 0, 3, 255, -100]),
    as_torch=st.booleans(),
    batch_size=st.integers(1, 50),
)
def test_indices_match_bincount(labels, ignore_index, as_torch, batch_size):
    labels = labels.astype(np.int64)
    if ignore_index is not None and ignore_index not in range(13):
        # sprinkle the ignored marker over the array
        labels.reshape(-1)[::3] = ignore_index
    kept = labels.reshape(-1) if ignore_index is None else labels[labels != ignore_index]
    source = torch.from_numpy(labels) if as_torch else labels
    if kept.size == 0:
        with pytest.raises(ValueError, match="`labels`"):
            count_labels(source, ignore_index=ignore_index, batch_size=batch_size)
        return
    result = count_labels(source, ignore_index=ignore_index, batch_size=batch_size)
    expected = np.bincount(kept)
    assert result.counts.dtype == torch.int64
    np.testing.assert_array_equal(result.counts.numpy(), expected)
    assert result.classes == tuple(range(len(expected)))
    assert result.num_samples == kept.size
    assert not result.multilabel


@FAST
@given(labels=label_arrays, extra=st.integers(0, 5))
def test_num_classes_pads_with_zero_counts(labels, extra):
    num_classes = int(labels.max()) + 1 + extra
    counts = class_counts(labels, num_classes=num_classes)
    np.testing.assert_array_equal(counts.numpy(), bincount_reference(labels, minlength=num_classes))


@FAST
@given(labels=label_arrays, data=st.data())
def test_classes_order_for_indices(labels, data):
    present = sorted(set(labels.reshape(-1).tolist()))
    universe = present + data.draw(st.lists(st.integers(13, 40), max_size=3, unique=True))
    order = data.draw(st.permutations(universe))
    counts = class_counts(labels, classes=order, batch_size=data.draw(st.integers(1, 30)))
    reference = Counter(labels.reshape(-1).tolist())
    assert counts.tolist() == [reference[c] for c in order]


@FAST
@given(values=st.lists(st.integers(0, 20), min_size=1, max_size=60))
def test_python_lists_and_tuples(values):
    expected = np.bincount(np.array(values)).tolist()
    assert class_counts(values).tolist() == expected
    assert class_counts(tuple(values)).tolist() == expected


def test_whole_number_floats_are_accepted():
    labels = np.array([[0.0, 2.0], [2.0, 1.0]])
    assert class_counts(labels).tolist() == [1, 1, 2]
    assert class_counts(torch.tensor([1.0, 1.0, 3.0], dtype=torch.float16)).tolist() == [0, 2, 0, 1]
    for dtype in (torch.bfloat16, torch.float32):
        labels = torch.tensor([2.0, 0.0, 2.0], dtype=dtype, requires_grad=True)
        assert class_counts(labels).tolist() == [1, 0, 2]


def test_negative_classes_count_through_the_value_path():
    labels = np.array([-1, 2, -1, 0])
    result = count_labels(labels, classes=[-1, 0, 1, 2])
    assert result.counts.tolist() == [2, 1, 0, 1]


def test_ignore_index_zero_keeps_its_slot():
    result = count_labels(torch.tensor([0, 0, 2, 1]), ignore_index=0)
    assert result.counts.tolist() == [0, 1, 1]
    assert result.num_samples == 2


def test_ignore_index_above_the_largest_class_does_not_grow_c():
    mask = torch.tensor([[[1, 255], [255, 0]], [[1, 1], [255, 255]]])
    result = count_labels(mask, ignore_index=255)
    assert result.counts.tolist() == [1, 3]
    assert result.num_classes == 2


def test_large_ignore_index_is_masked():
    labels = np.array([5, 100_000, 1, 100_000])
    assert class_counts(labels, ignore_index=100_000).tolist() == [0, 1, 0, 0, 0, 1]


def test_huge_labels_are_rejected_without_allocating_bins():
    with pytest.raises(ValueError, match=r"below num_classes=3.*1000000000000 at index 1"):
        count_labels(np.array([0, 10**12, 2]), num_classes=3)


def test_huge_labels_without_num_classes_are_rejected_quickly():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"below 16777216.*`classes`.*123456789012 at index 1"):
        count_labels(np.array([0, 123456789012]))
    with pytest.raises(ValueError, match=r"below num_classes=3.*2000000000 at index 1"):
        count_labels(np.array([0, 2 * 10**9, 1]), num_classes=3)
    with pytest.raises(ValueError, match=r"below 16777216.*123456789012 at item 1"):
        count_labels(iter([0, 123456789012]))
    assert time.perf_counter() - start < 2  # no bin is allocated for them
    # ``classes`` counts them as labels; num_classes up to the limit counts densely
    result = count_labels(np.array([0, 123456789012, 0]), classes=[0, 123456789012])
    assert result.counts.tolist() == [2, 1]
    assert count_labels(np.array([70_000, 1])).num_classes == 70_001


def test_values_beyond_int64_are_reported_as_given(recwarn):
    labels = np.array([1, 2**63 + 5], dtype=np.uint64)
    with pytest.raises(
        ValueError, match=r"below num_classes=3, got '9223372036854775813 at index 1"
    ):
        count_labels(labels, num_classes=3)
    with pytest.raises(ValueError, match=r"below 16777216.*got '9223372036854775813 at index 1"):
        count_labels(labels)
    with pytest.raises(ValueError, match=r"got '1e\+30 at index 0"):
        count_labels(np.array([1e30, 1.0]), num_classes=3)
    with pytest.raises(ValueError, match=r">= 0.*got '-1e\+30 at index 1"):
        count_labels(np.array([1.0, -1e30]))
    with pytest.raises(ValueError, match=r"one of `classes`.*got '1e\+30 at index 0"):
        count_labels(np.array([1e30]), classes=["a"])
    assert count_labels(np.array([2**63 + 5], dtype=np.uint64), classes=[2**63 + 5]).counts == 1
    assert class_counts(np.array([3, 1], dtype=np.uint64)).tolist() == [0, 1, 0, 1]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_large_integer_classes_count_through_the_value_path():
    labels = [10**9, 7, 10**9, 10**12]
    assert class_counts(labels, classes=[10**12, 10**9, 7, 3]).tolist() == [1, 2, 1, 0]


def test_all_ignored_with_known_num_classes_gives_zero_counts():
    result = count_labels(np.full((2, 3), 255), ignore_index=255, num_classes=3)
    assert result.counts.tolist() == [0, 0, 0]
    assert result.num_samples == 0


@pytest.mark.parametrize(
    "dtype", [np.dtype(">i4"), np.uint16, np.uint32, np.uint64, np.int8, np.dtype(">f8")]
)
def test_other_numpy_dtypes(dtype):
    labels = np.array([3, 1, 1, 0], dtype=dtype)
    assert class_counts(labels).tolist() == [1, 2, 0, 1]


def test_read_only_arrays_are_counted_without_warnings(recwarn):
    labels = np.arange(10) % 3
    labels.flags.writeable = False
    assert class_counts(labels, batch_size=4).tolist() == [4, 3, 3]
    assert not recwarn.list


def test_non_contiguous_arrays():
    labels = np.arange(24).reshape(4, 6) % 5
    view = labels[:, ::2].T
    assert class_counts(view, batch_size=5).tolist() == np.bincount(view.reshape(-1)).tolist()


# --- hashable labels -------------------------------------------------------------------------

words = st.lists(st.text(alphabet="abcxyz", min_size=0, max_size=3), min_size=1, max_size=60)


@FAST
@given(values=words, as_array=st.booleans(), batch_size=st.integers(1, 20))
def test_strings_match_counter_in_np_unique_order(values, as_array, batch_size):
    source = np.array(values) if as_array else values
    result = count_labels(source, batch_size=batch_size)
    unique, freqs = np.unique(np.array(values), return_counts=True)
    assert result.classes == tuple(unique.tolist())
    assert result.counts.tolist() == freqs.tolist()
    assert result.as_dict() == dict(Counter(values))
    assert result.num_samples == len(values)


@FAST
@given(values=words, data=st.data())
def test_strings_follow_given_classes(values, data):
    universe = [*sorted(set(values)), "unseen"]
    order = data.draw(st.permutations(universe))
    counts = class_counts(values, classes=order)
    reference = Counter(values)
    assert counts.tolist() == [reference[c] for c in order]


def test_tuple_labels():
    labels = [("cat", 1), ("dog", 0), ("cat", 1)]
    assert count_labels(labels).as_dict() == {("cat", 1): 2, ("dog", 0): 1}


def test_unsortable_labels_keep_first_seen_order():
    labels = ["b", 2, "b", (1,), 2, 2]
    result = count_labels(labels)
    assert result.classes == ("b", 2, (1,))
    assert result.counts.tolist() == [2, 3, 1]


def test_object_arrays():
    labels = np.array(["y", "x", "y"], dtype=object)
    assert count_labels(labels).as_dict() == {"x": 1, "y": 2}


def test_integer_labels_with_string_classes_use_the_value_path():
    assert class_counts([1, 1, "a"], classes=["a", 1]).tolist() == [1, 2]


# --- multilabel ------------------------------------------------------------------------------


@FAST
@given(
    matrix=hnp.arrays(np.bool_, hnp.array_shapes(min_dims=2, max_dims=2, max_side=8)),
    dtype=st.sampled_from([torch.bool, torch.int64, torch.float32, torch.uint8]),
    batch_size=st.integers(1, 10),
)
def test_multilabel_counts_positives(matrix, dtype, batch_size):
    source = torch.from_numpy(matrix).to(dtype)
    result = count_labels(source, multilabel=True, batch_size=batch_size)
    assert result.multilabel
    assert result.counts.tolist() == matrix.sum(axis=0).tolist()
    assert result.negatives.tolist() == (~matrix).sum(axis=0).tolist()
    assert result.num_samples == matrix.shape[0]
    assert result.classes == tuple(range(matrix.shape[1]))


def test_multilabel_lists_and_names():
    result = count_labels([[1, 0, 1], [1, 1, 0]], multilabel=True, classes=["a", "b", "c"])
    assert result.as_dict() == {"a": 2, "b": 1, "c": 1}


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


def test_tuple_labels_holding_tensors_are_samples():
    samples = [(torch.zeros(2), 0), (torch.zeros(2), 1)]
    with pytest.raises(TypeError, match=r"`labels` must be hashable labels.*key=1"):
        count_labels(samples)
    assert count_labels(samples, key=1).counts.tolist() == [1, 1]


def test_stream_grows_the_number_of_classes():
    result = count_labels(iter([torch.tensor([0, 1]), torch.tensor([5]), torch.tensor([2])]))
    assert result.counts.tolist() == [1, 1, 1, 0, 0, 1]


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


def test_segmentation_stream_with_ignore_index():
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 5, (6, 8, 8))
    masks[masks == 4] = 255
    loader = ((torch.zeros(2, 3, 8, 8), torch.from_numpy(m)) for m in np.split(masks, 3))
    counts = class_counts(loader, key=1, ignore_index=255, num_classes=4, batch_size=50)
    np.testing.assert_array_equal(counts.numpy(), bincount_reference(masks, 255, minlength=4))


def test_multilabel_stream_of_rows_and_matrices():
    rows = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]])
    stream = [torch.from_numpy(rows[0]), rows[1].tolist(), rows[2:]]
    result = count_labels(iter(stream), multilabel=True, batch_size=1)
    assert result == count_labels(rows, multilabel=True)
    samples = [(torch.zeros(2), torch.from_numpy(r)) for r in rows]
    assert count_labels(samples, key=1, multilabel=True) == result


# --- files -----------------------------------------------------------------------------------


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


# --- LabelCounts -----------------------------------------------------------------------------


def test_label_counts_helpers():
    lc = LabelCounts(torch.tensor([4, 0, 1]), ["a", "b", "c"], num_samples=5)
    assert lc.classes == ("a", "b", "c")
    assert len(lc) == lc.num_classes == 3
    assert lc.negatives.tolist() == [1, 5, 4]
    assert lc == LabelCounts(torch.tensor([4, 0, 1]), ("a", "b", "c"), 5)
    assert lc != LabelCounts(torch.tensor([4, 1, 0]), ("a", "b", "c"), 5)
    assert lc != "counts"


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([1, 2], (0, 1), 3), TypeError, "`counts` must be a tensor"),
        ((torch.tensor([1.0]), (0,), 1), ValueError, "`counts` must be a 1-D int64"),
        ((torch.tensor([-1, 2]), (0, 1), 1), ValueError, "`counts` must be non-negative"),
        ((torch.tensor([1, 2]), (0,), 3), ValueError, "`classes` must be one per count"),
        ((torch.tensor([1, 2]), (0, 1), 4), ValueError, r"`num_samples` must be the sum .*\(3\)"),
        ((torch.tensor([1, 2]), (0, 1), -1), ValueError, "`num_samples` must be an integer >= 0"),
    ],
)
def test_label_counts_validation(args, error, match):
    with pytest.raises(error, match=match):
        LabelCounts(*args)


def test_label_counts_multilabel_counts_may_exceed_nothing_but_num_samples():
    assert LabelCounts(torch.tensor([3, 3]), (0, 1), 3, multilabel=True).negatives.tolist() == [
        0,
        0,
    ]
    with pytest.raises(ValueError, match="`num_samples` must be at least the largest count"):
        LabelCounts(torch.tensor([4, 1]), (0, 1), 3, multilabel=True)


def test_all_reduce_without_process_group_is_a_no_op():
    labels = ["a", "b", "b"]
    assert count_labels(labels, all_reduce=True) == count_labels(labels)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "options", "error", "match"),
    [
        ([], {}, ValueError, "`source` must be non-empty"),
        (torch.zeros(0, 3, dtype=torch.long), {}, ValueError, "`source` must be non-empty"),
        (iter([]), {}, ValueError, "`source` must be non-empty"),
        (
            np.array([[0, 2], [-3, 1]]),
            {},
            ValueError,
            r"`labels` must be class indices >= 0.*-3 at index \(1, 0\)",
        ),
        (np.array([0, -100, -5]), {"ignore_index": -100}, ValueError, "`labels`.*-5 at index 2"),
        (
            np.array([0, 7, 2]),
            {"num_classes": 4},
            ValueError,
            "`labels` must be class indices below num_classes=4.*7 at index 1",
        ),
        (
            np.array([0, 4, 255]),
            {"num_classes": 4, "ignore_index": 255},
            ValueError,
            "below num_classes=4.*4 at index 1",
        ),
        (
            np.array([1, 3]),
            {"classes": [1, 2]},
            ValueError,
            "`labels` must be one of `classes`.*3 at index 1",
        ),
        (
            np.array([1, 0]),
            {"classes": [1, 2]},
            ValueError,
            "`labels` must be one of `classes`.*0 at index 1",
        ),
        (
            ["a", "z"],
            {"classes": ["a"]},
            ValueError,
            "`labels` must be one of `classes`.*'z' at index 1",
        ),
        (
            torch.tensor([True, False]),
            {},
            TypeError,
            "`labels` must be integer class indices.*multilabel=True",
        ),
        (
            np.array([1.0, 0.5]),
            {},
            TypeError,
            r"`labels` must be integer class indices.*0\.5 at index 1",
        ),
        (np.array([1.0, np.nan]), {}, ValueError, "`labels` must be free of missing values.*nan"),
        (["a", None], {}, ValueError, "`labels` must be free of missing values.*None at index 1"),
        ([[1, 2], [3]], {}, TypeError, "`labels` must be hashable"),
        (np.array([1 + 2j]), {}, TypeError, "`labels` must be hashable labels"),
        (
            np.full(3, 255),
            {"ignore_index": 255},
            ValueError,
            "`labels` must be other than `ignore_index` at least once",
        ),
        (
            ["a", "b"],
            {"num_classes": 3},
            ValueError,
            r"`num_classes` must be the number of distinct labels \(2\)",
        ),
        (
            iter([[1, 2], ["a"]]),
            {},
            TypeError,
            "`labels` must be all class indices or all other values",
        ),
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
        (
            np.array([[0, 1], [2, 1]]),
            {"multilabel": True},
            ValueError,
            r"`labels` must be 0 or 1.*2 at index \(1, 0\)",
        ),
        (np.array([0, 1]), {"multilabel": True}, ValueError, "`labels` must be a 2-D"),
        (np.array([["a"]]), {"multilabel": True}, TypeError, "`labels` must be 0 or 1"),
        (
            np.ones((2, 3)),
            {"multilabel": True, "num_classes": 2},
            ValueError,
            "`labels` must be rows of 2 columns",
        ),
        (
            iter([np.ones((1, 3)), np.ones((1, 2))]),
            {"multilabel": True},
            ValueError,
            "`labels` must be rows of 3 columns",
        ),
        (
            iter([[1, 0], [1]]),
            {"multilabel": True},
            ValueError,
            "`labels` must be rows of equal length",
        ),
        ({"labels": [0, 1]}, {}, TypeError, "`source` must be labels.*source\\['labels'\\]"),
        (3, {}, TypeError, "`source` must be labels, a file path or an iterable"),
        (
            iter([3.0]),
            {"classes": ["a"]},
            ValueError,
            "`labels` must be one of `classes`.*3 at item 0",
        ),
        ([0, 1], {"num_classes": 0}, ValueError, "`num_classes` must be an integer larger than 0"),
        ([0, 1], {"classes": "ab"}, TypeError, "`classes` must be a sequence"),
        ([0, 1], {"classes": []}, ValueError, "`classes` must be non-empty"),
        (
            [0, 1],
            {"classes": [0, 1, 0]},
            ValueError,
            "`classes` must be free of repeated labels, got 0",
        ),
        ([0, 1], {"classes": [[0], [1]]}, TypeError, "`classes` must be hashable"),
        (
            [0, 1],
            {"classes": [0, 1], "num_classes": 3},
            ValueError,
            r"`num_classes` must be len\(classes\) = 2",
        ),
        ([0, 1], {"ignore_index": 1.5}, TypeError, "`ignore_index` must be an integer"),
        (
            [0, 1],
            {"ignore_index": 1, "classes": [0, 1]},
            ValueError,
            "`ignore_index` must be a value that is not one of `classes`",
        ),
        (
            [[0, 1]],
            {"ignore_index": -1, "multilabel": True},
            ValueError,
            "`ignore_index` must be None with multilabel=True",
        ),
        ([0, 1], {"multilabel": 1}, TypeError, "`multilabel` must be True or False"),
        ([0, 1], {"all_reduce": "yes"}, TypeError, "`all_reduce` must be True or False"),
        (
            [0, 1],
            {"column": "label"},
            ValueError,
            "`column` must be None unless `source` is a file",
        ),
        ([0, 1], {"column": ["a", "b"]}, TypeError, "`column` must be a column name"),
        (
            [[0, 1]],
            {"column": [1], "multilabel": True},
            TypeError,
            "`column` must be a column name or a sequence",
        ),
        ([0, 1], {"key": 1.0}, TypeError, "`key` must be an index, a key, a function"),
        ([0, 1], {"batch_size": 0}, ValueError, "`batch_size` must be an integer larger than 0"),
    ],
)
def test_errors(source, options, error, match):
    with pytest.raises(error, match=match):
        count_labels(source, **options)


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
        ("bad.npy", {}, ValueError, r"`source` must be a readable \.npy file.*bad.npy"),
        ("bad.npz", {}, ValueError, r"`source` must be a readable \.npz file.*bad.npz"),
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
