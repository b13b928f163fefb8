import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.compare.data import (
    MIN_BALANCED_TEST,
    load_builtin,
    load_user_data,
    split_per_class,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(3, 200), min_size=2, max_size=8), st.integers(0, 1000))
def test_split_is_a_partition_with_every_class_everywhere(counts, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    train, val, test, balanced, note = split_per_class(y, seed=seed)
    joined = np.sort(np.concatenate([train, val, test]))
    np.testing.assert_array_equal(joined, np.arange(len(y)))
    for part in (train, val, test):
        assert np.all(np.bincount(y[part], minlength=len(counts)) >= 1)
    test_counts = np.bincount(y[test], minlength=len(counts))
    k = int(np.floor(min(counts) * 0.2))
    assert balanced == (k >= MIN_BALANCED_TEST)
    if balanced:
        assert test_counts.tolist() == [k] * len(counts)
        assert "Balanced" in note
    else:
        assert "Stratified" in note


def test_split_depends_on_seed_only():
    y = np.repeat(np.arange(3), [50, 30, 10])
    a, b, c = split_per_class(y, seed=1), split_per_class(y, seed=1), split_per_class(y, seed=2)
    assert all(np.array_equal(x, z) for x, z in zip(a[:3], b[:3]))
    assert not np.array_equal(a[0], c[0])


def test_builtin_splits():
    s = load_builtin(50)
    assert s.test_balanced and s.num_classes == 10 and s.num_features == 64
    assert s.class_counts("test").tolist() == [30] * 10
    assert s.class_counts("train")[0] / s.class_counts("train")[-1] == pytest.approx(50, rel=0.5)


def test_parquet_with_split_column_and_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    labels = np.array(["b", "a", "c"] * 20)
    split = np.array(["train"] * 30 + ["valid"] * 15 + ["test"] * 15)
    pq.write_table(
        pa.table(
            {"x1": rng.random(n), "x2": rng.integers(0, 5, n), "target": labels, "split": split}
        ),
        tmp_path / "d.parquet",
    )
    s = load_user_data(tmp_path / "d.parquet")
    assert s.classes == ("a", "b", "c")
    assert s.sizes() == {"train": 30, "val": 15, "test": 15}
    assert s.num_features == 2 and s.X_train.dtype == np.float32
    assert s.test_balanced
    assert s.notes == ("Splits given by the `split` column.",)
    assert s.features == ("x1", "x2") and s.feature_summary() == "2 columns: x1, x2"


def test_npz_x_y_and_given_splits(tmp_path):
    rng = np.random.default_rng(1)
    y = np.repeat([3, 7], [40, 10])
    np.savez(tmp_path / "e.npz", X=rng.normal(size=(50, 4, 2)), y=y)  # embeddings are flattened
    s = load_user_data(tmp_path / "e.npz")
    assert s.classes == (3, 7) and s.num_features == 8
    assert sum(s.sizes().values()) == 50
    np.savez(
        tmp_path / "f.npz",
        X_train=rng.normal(size=(20, 2)),
        y_train=np.arange(20) % 2,
        X_val=rng.normal(size=(6, 2)),
        y_val=np.arange(6) % 2,
        X_test=rng.normal(size=(8, 2)),
        y_test=np.arange(8) % 2,
    )
    s = load_user_data(tmp_path / "f.npz")
    assert s.sizes() == {"train": 20, "val": 6, "test": 8}
    assert s.notes == (
        "Splits given by the arrays X_train / y_train, X_val / y_val, X_test / y_test.",
    )
    assert s.features == () and s.feature_summary() == "2 array columns"
    # the rows of each split are checked against its labels before anything is joined
    np.savez(
        tmp_path / "m.npz",
        X_train=rng.normal(size=(24, 2)),
        y_train=np.arange(20) % 2,
        X_val=rng.normal(size=(6, 2)),
        y_val=np.arange(6) % 2,
        X_test=rng.normal(size=(8, 2)),
        y_test=np.arange(8) % 2,
    )
    with pytest.raises(ValueError, match=r"^`X_train` must be 20 rows, one for each row of y_tr"):
        load_user_data(tmp_path / "m.npz")


def test_features_are_listed_and_label_like_ones_noted(tmp_path):
    rng = np.random.default_rng(2)
    columns = {
        "f": rng.random(60),
        "label": np.repeat([0, 1, 2], 20),
        "Target": rng.integers(0, 2, 60),  # a second label-like column: read as a feature
    }
    pq.write_table(pa.table(columns), tmp_path / "t.parquet")
    s = load_user_data(tmp_path / "t.parquet")
    assert s.features == ("f", "Target") and s.num_features == 2
    assert [n for n in s.notes if "'Target' is used as a feature" in n]
    assert not [n for n in s.notes if "'f'" in n]
    names = {f"x{i}": rng.random(60) for i in range(25)}
    pq.write_table(pa.table({**names, "y": np.repeat([0, 1, 2], 20)}), tmp_path / "w.parquet")
    summary = load_user_data(tmp_path / "w.parquet").feature_summary()
    assert summary.startswith("25 columns: x0, x1,") and summary.endswith("x19 and 5 more")


def test_empty_and_unknown_split_cells_are_told_apart(tmp_path):
    split = ["train", "val", "test", None, "tarin", None] * 10
    table = {"x": np.arange(60.0), "y": [0, 1] * 30, "split": pa.array(split, pa.string())}
    pq.write_table(pa.table(table), tmp_path / "s.parquet")
    message = (
        "`split` must be train, val or test in every row, got "
        "\"20 empty cell(s) and the value(s) ['tarin']\""
    )
    with pytest.raises(ValueError) as caught:
        load_user_data(tmp_path / "s.parquet")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("columns", "kwargs", "match"),
    [
        ({"x": [1.0, 2.0, 3.0] * 4, "y": [0, 1, 2] * 4}, {"label": "z"}, "label"),
        ({"x": [1.0, 2.0, 3.0] * 4, "k": [0, 1, 2] * 4}, {}, "label"),
        ({"x": [[1], [2], [3]] * 4, "y": [0, 1, 2] * 4}, {}, "'x' of type list<element: int64>"),
        ({"x": [1.0, float("inf"), 3.0] * 4, "y": [0, 1, 2] * 4}, {}, "4 infinite values"),
        ({"x": [1.0] * 12, "y": [0] * 12}, {}, "two classes"),
        ({"x": [1.0] * 12, "y": [0, 1] * 6, "split": ["train", "test"] * 6}, {}, "val"),
        ({"x": [1.0] * 12, "y": [0, 1] * 6, "split": ["train", "dev"] * 6}, {}, "dev"),
        ({"y": [0, 1, 2] * 4}, {}, "feature"),
    ],
)
def test_bad_tables(tmp_path, columns, kwargs, match):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(columns), path)
    with pytest.raises(ValueError, match=match):
        load_user_data(path, **kwargs)


def test_missing_labels_and_files(tmp_path):
    path = tmp_path / "m.parquet"
    pq.write_table(
        pa.table({"x": [1.0, 2.0, 3.0, 4.0], "y": pa.array([0, None, 1, 1], pa.int64())}), path
    )
    with pytest.raises(ValueError, match="missing"):
        load_user_data(path)
    with pytest.raises(FileNotFoundError):
        load_user_data(tmp_path / "none.csv")
    np.savez(tmp_path / "n.npz", A=np.zeros(3))
    with pytest.raises(ValueError, match="X and y"):
        load_user_data(tmp_path / "n.npz")
