"""Tests for counterpoise.counts: counting against np.bincount / Counter / np.unique.

Reading files and streams is tested in test_io.py.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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


def test_tuple_labels_holding_tensors_are_samples():
    samples = [(torch.zeros(2), 0), (torch.zeros(2), 1)]
    with pytest.raises(TypeError, match=r"`labels` must be hashable labels.*key=1"):
        count_labels(samples)
    assert count_labels(samples, key=1).counts.tolist() == [1, 1]


def test_stream_grows_the_number_of_classes():
    result = count_labels(iter([torch.tensor([0, 1]), torch.tensor([5]), torch.tensor([2])]))
    assert result.counts.tolist() == [1, 1, 1, 0, 0, 1]


def test_segmentation_stream_with_ignore_index():
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 5, (6, 8, 8))
    masks[masks == 4] = 255
    loader = ((torch.zeros(2, 3, 8, 8), torch.from_numpy(m)) for m in np.split(masks, 3))
    counts = class_counts(loader, key=1, ignore_index=255, num_classes=4, batch_size=50)
    np.testing.assert_array_equal(counts.numpy(), bincount_reference(masks, 255, minlength=4))


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
