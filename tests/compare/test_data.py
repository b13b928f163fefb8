import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.compare.data import (
    MIN_BALANCED_TEST,
    MIN_PER_CLASS,
    REPEAT_BELOW_ROWS,
    default_num_splits,
    load_builtin,
    load_user_data,
    split_multilabel,
    split_per_class,
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(3, 200), min_size=1, max_size=6),
    st.lists(st.integers(1, 2), max_size=3),
    st.integers(0, 1000),
)
def test_split_is_a_partition_with_rare_classes_in_training_first(counts, rare, seed):
    counts = counts + rare
    y = np.repeat(np.arange(len(counts)), counts)
    train, val, test, balanced, note = split_per_class(y, seed=seed)
    joined = np.sort(np.concatenate([train, val, test]))
    np.testing.assert_array_equal(joined, np.arange(len(y)))
    per_split = [np.bincount(y[part], minlength=len(counts)) for part in (train, val, test)]
    for c, n in enumerate(counts):
        got = [int(p[c]) for p in per_split]
        if n == 1:
            assert got == [1, 0, 0]
        elif n == 2:
            assert got == [1, 0, 1]
        else:
            assert min(got) >= 1
    # the balanced test split is decided by the classes of at least 3 samples alone
    regular = [n for n in counts if n >= MIN_PER_CLASS]
    k = int(np.floor(min(regular) * 0.2))
    assert balanced == (k >= MIN_BALANCED_TEST)
    if balanced:
        assert [int(per_split[2][c]) for c, n in enumerate(counts) if n >= 3] == [k] * len(regular)
        assert "Balanced" in note
    else:
        assert "Stratified" in note


def test_a_split_needs_one_class_of_three_samples():
    with pytest.raises(ValueError, match=r"a class with at least 3 samples.*'b' \(2 samples\)"):
        split_per_class(np.array([0, 0, 1, 1]), classes=["a", "b"])


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


# --- rare classes ------------------------------------------------------------------------------


def _table(path, counts, *, seed=0, split=None):
    """A Parquet table of ``counts`` rows per class ``c0``, ``c1``, ...: a feature ``row``
    holding each row's number (as a float: never taken for an identifier) and a noisy one."""
    rng = np.random.default_rng(seed)
    y = np.repeat([f"c{c}" for c in range(len(counts))], counts)
    columns = {"row": np.arange(len(y), dtype=np.float64), "x": rng.normal(size=len(y)), "y": y}
    if split is not None:
        columns["split"] = split
    pq.write_table(pa.table(columns), path)
    return path


def _rows(s, part):
    return s.__getattribute__(f"X_{part}")[:, 0].astype(int)


def test_rare_classes_are_kept_named_and_leave_the_test_balanced(tmp_path):
    s = load_user_data(_table(tmp_path / "r.parquet", [200, 150, 2, 1]))
    assert s.classes == ("c0", "c1", "c2", "c3")
    assert [s.class_counts(p).tolist() for p in ("train", "val", "test")] == [
        [130, 90, 1, 1],
        [40, 30, 0, 0],
        [30, 30, 1, 0],
    ]
    assert s.test_balanced  # 30 (a fifth of 150) of every class of at least 3 samples
    assert s.rare_classes == (2, 3)
    assert s.notes[0] == "Balanced test split: 30 samples of every class of at least 3."
    assert s.notes[1] == (
        "Rare classes kept (fewer than 3 samples: training first, then test; samples in train "
        "/ validation / test): 'c2' 1 / 0 / 1, 'c3' 1 / 0 / 0. Validation and test metrics "
        "cover the classes present in each split."
    )
    # every row is in exactly one split, with its own label
    rows = np.concatenate([_rows(s, p) for p in ("train", "val", "test")])
    assert sorted(rows.tolist()) == list(range(353))
    labels = np.concatenate([s.y_train, s.y_val, s.y_test])
    expected = np.repeat(np.arange(4), [200, 150, 2, 1])
    np.testing.assert_array_equal(labels, expected[rows])


def test_given_splits_may_miss_a_class_in_validation_or_test_but_not_in_training(tmp_path):
    split = np.array(["train"] * 6 + ["val"] * 2 + ["test"] * 2 + ["train"] * 3 + ["test"])
    y = ["c0"] * 10 + ["c1"] * 4
    columns = {"x": np.arange(14.0), "y": y, "split": split}
    pq.write_table(pa.table(columns), tmp_path / "g.parquet")
    s = load_user_data(tmp_path / "g.parquet")
    assert s.class_counts("val").tolist() == [2, 0] and s.rare_classes == (1,)
    assert not s.test_balanced
    assert s.notes[1].startswith(
        "Classes missing from the validation or test split (samples in train / validation / "
        "test): 'c1' 3 / 0 / 1."
    )
    split[10:13] = "val"
    pq.write_table(pa.table({**columns, "split": split}), tmp_path / "h.parquet")
    with pytest.raises(ValueError, match=r"^`split` must be every class in the 'train' rows"):
        load_user_data(tmp_path / "h.parquet")


# --- repeated splits ---------------------------------------------------------------------------


def test_resplit_draws_other_stratified_splits_of_the_same_rows(tmp_path):
    s = load_user_data(_table(tmp_path / "t.parquet", [60, 25, 8, 2]), seed=3)
    assert s.can_resplit and s.repeat == 0 and s.resplit(0) is s
    again = load_user_data(tmp_path / "t.parquet", seed=3)
    other = s.resplit(1)
    assert other.repeat == 1 and other.resplit(1) is other
    for part in ("train", "val", "test"):
        # the same seed and k give the same split; another k, the same sizes of other rows
        np.testing.assert_array_equal(_rows(other, part), _rows(again.resplit(1), part))
        np.testing.assert_array_equal(_rows(s, part), _rows(other.resplit(0), part))
        assert other.class_counts(part).tolist() == s.class_counts(part).tolist()
    assert set(_rows(other, "test")) != set(_rows(s, "test"))
    rows = np.concatenate([_rows(other, p) for p in ("train", "val", "test")])
    assert sorted(rows.tolist()) == list(range(95))
    assert len({tuple(sorted(_rows(s.resplit(k), "test"))) for k in range(5)}) == 5
    assert other.rare_classes == s.rare_classes == (3,)
    assert load_user_data(tmp_path / "t.parquet", seed=4).resplit(1).y_train.tolist() != (
        other.y_train.tolist()
    )


def test_given_splits_are_not_drawn_again(tmp_path):
    split = np.array(["train", "train", "val", "test"] * 6)
    path = _table(tmp_path / "g.parquet", [12, 12], split=split)
    s = load_user_data(path)
    assert not s.can_resplit and s.resplit(0) is s and default_num_splits(s) == 1
    message = (
        "`k` must be 0 for splits that the data gives (a `split` column, or the X_train / "
        "X_val / X_test arrays of an .npz file): they cannot be drawn again, got 1"
    )
    with pytest.raises(ValueError) as caught:
        s.resplit(1)
    assert str(caught.value) == message
    with pytest.raises(ValueError, match="an integer >= 0"):
        s.resplit(-1)
    with pytest.raises(TypeError, match="an integer"):
        s.resplit(1.0)


def test_npz_splits_are_drawn_again_unless_given(tmp_path):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.arange(80.0), rng.normal(size=80)])
    np.savez(tmp_path / "a.npz", X=X, y=np.arange(80) % 4)
    s = load_user_data(tmp_path / "a.npz")
    assert s.can_resplit and not np.array_equal(_rows(s, "val"), _rows(s.resplit(2), "val"))
    given = {
        f"{a}_{k}": v for k in ("train", "val", "test") for a, v in (("X", X), ("y", X[:, 0] % 2))
    }
    np.savez(tmp_path / "g.npz", **given)
    assert not load_user_data(tmp_path / "g.npz").can_resplit


def test_builtin_resplit_draws_the_data_set_again():
    s = load_builtin(50)
    other = s.resplit(1)
    assert other.class_counts("train").tolist() == s.class_counts("train").tolist()
    assert other.class_counts("test").tolist() == [30] * 10 and other.test_balanced
    assert not np.array_equal(other.X_test, s.X_test)
    np.testing.assert_array_equal(other.X_train, load_builtin(50).resplit(1).X_train)
    assert other.resplit(0).X_train.tobytes() == s.X_train.tobytes()


def test_default_num_splits_follows_the_size_of_the_data(tmp_path):
    assert default_num_splits(load_builtin()) == 3
    small = _table(tmp_path / "s.parquet", [REPEAT_BELOW_ROWS // 2 - 1, REPEAT_BELOW_ROWS // 2])
    assert default_num_splits(load_user_data(small)) == 3
    large = _table(tmp_path / "l.parquet", [REPEAT_BELOW_ROWS // 2, REPEAT_BELOW_ROWS // 2])
    assert default_num_splits(load_user_data(large)) == 1


# --- multilabel rare labels --------------------------------------------------------------------


def _multilabel(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 4)) < [0.5, 0.3, 0.0, 0.0]).astype(np.float32)
    y[17, 2] = 1  # one positive
    y[[5, 60], 3] = 1  # two positives
    return y


@pytest.mark.parametrize("seed", range(20))
def test_rare_labels_go_to_training_first_then_test(seed):
    y = _multilabel(seed=seed)
    y[:, 1] = 1
    y[33, 1] = 0  # a single negative
    train, val, test = split_multilabel(y, seed=seed)
    assert train.tolist().count(17) == 1
    assert [int((y[p, 3] == 1).sum()) for p in (train, val, test)] == [1, 0, 1]
    assert 33 in train


def test_rare_labels_are_kept_and_named(tmp_path):
    y = _multilabel()
    X = np.random.default_rng(1).normal(size=(len(y), 3))
    columns = {f"f{j}": X[:, j] for j in range(3)} | {f"tag_{j}": y[:, j] for j in range(4)}
    pq.write_table(pa.table(columns), tmp_path / "m.parquet")
    s = load_user_data(tmp_path / "m.parquet", labels="tag_*")
    assert s.rare_classes == (2, 3)
    assert [s.class_counts(p)[2:].tolist() for p in ("train", "val", "test")] == [
        [1, 1],
        [0, 0],
        [0, 1],
    ]
    assert (
        "Rare labels kept (fewer than 3 positives: training first, then test; positives in "
        "train / validation / test): 'tag_2' 1 / 0 / 0, 'tag_3' 1 / 0 / 1."
    ) in s.notes
    assert any(
        n.startswith("No positive in the validation split for 'tag_2', 'tag_3'") for n in s.notes
    )
    assert s.resplit(1).rare_classes == (2, 3)
