"""Tables as users have them: column choice, identifiers, text, booleans, dates and missing
numbers, each prepared on the training rows of its split (checked against plain NumPy)."""

import datetime
import json
from dataclasses import asdict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from counterpoise.compare.data import MAX_ONE_HOT, load_user_data

N = 120


def _write(path, columns):
    pq.write_table(pa.table(columns), path)
    return path


def _base(seed=0):
    """A table whose float column ``row`` numbers the rows (floats are never identifiers),
    with three classes."""
    rng = np.random.default_rng(seed)
    return {
        "row": np.arange(N, dtype=np.float64),
        "x": rng.normal(size=N),
        "y": np.array(["a", "b", "c"])[np.arange(N) % 3],
    }


def _rows(X, features):
    return X[:, features.index("row")].astype(int)


def _split_rows(s):
    return {p: _rows(getattr(s, f"X_{p}"), s.features) for p in ("train", "val", "test")}


def _column(s, part, name):
    return getattr(s, f"X_{part}")[:, s.features.index(name)]


# --- choosing columns ------------------------------------------------------------------------


def test_features_and_exclude_take_names_and_patterns_in_their_order(tmp_path):
    columns = {**_base(), "f_b": np.ones(N), "f_a": np.zeros(N), "g": np.full(N, 2.0)}
    path = _write(tmp_path / "t.parquet", columns)
    s = load_user_data(path, features="g, f_*, row")
    assert s.features == ("g", "f_b", "f_a", "row")
    np.testing.assert_array_equal(s.X_train[:, :3], np.tile([2.0, 1.0, 0.0], (len(s.y_train), 1)))
    assert "Left out, not chosen by `features`: 'x'." in s.notes
    assert [(step.column, step.action) for step in s.preprocessing] == [("x", "excluded")]
    s = load_user_data(path, exclude=["f_*", "g"])
    assert s.features == ("row", "x")
    assert "Left out by `exclude`: 'f_b', 'f_a', 'g'." in s.notes
    assert load_user_data(path, features="f_*", exclude="f_a").features == ("f_b",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"features": "row,nope"}, "`features` must be columns of t.parquet: one of"),
        ({"features": "z_*"}, "`features` must be patterns that match columns of t.parquet"),
        (
            {"features": "row,y"},
            "`features` must be feature columns, not the label column, got 'y'",
        ),
        ({"features": "row,row"}, "`features` must be names and patterns that choose each"),
        ({"exclude": "split"}, "`exclude` must be columns of t.parquet"),
        ({"exclude": "y"}, "`exclude` must be feature columns, not the label column, got 'y'"),
        ({"exclude": "*"}, "`features` must be at least one feature column besides the labels"),
        ({"features": ","}, "`features` must be at least one column name"),
    ],
)
def test_bad_column_choices_are_named(tmp_path, kwargs, message):
    path = _write(tmp_path / "t.parquet", _base())
    with pytest.raises(ValueError) as caught:
        load_user_data(path, **kwargs)
    assert str(caught.value).startswith(message)


def test_identifiers_are_left_out_unless_chosen_by_name(tmp_path):
    rng = np.random.default_rng(1)
    columns = {
        **_base(),
        "customer_id": rng.permutation(N) * 7 + 1000,  # unique, named like an ID
        "n": rng.permutation(N) + 5,  # unique integers that run 5..124: a row number
        "uuid_text": [f"k{i:04d}" for i in rng.permutation(N)],  # unique text
        "count": rng.permutation(N) * 3,  # unique, neither named nor consecutive: a number
        "level": rng.integers(0, 4, N),  # repeated integers
    }
    path = _write(tmp_path / "ids.parquet", columns)
    s = load_user_data(path)
    assert s.features == ("row", "x", "count", "level")
    assert s.notes[-1] == (
        "Left out as row identifiers (a different value in every row): 'customer_id', 'n', "
        "'uuid_text'; name a column in `features` to use it."
    )
    assert [step.action for step in s.preprocessing] == ["identifier"] * 3
    kept = load_user_data(path, features="row,customer_id,n")
    assert kept.features == ("row", "customer_id", "n")
    assert {step.action for step in kept.preprocessing} == {"excluded"}
    # a pattern chooses, but does not vouch for, a column
    assert load_user_data(path, features="row,c*").features == ("row", "count")


# --- text, booleans, dates -------------------------------------------------------------------


def test_one_hot_columns_are_the_values_of_the_training_rows(tmp_path):
    colours = np.array(["red", "green", "blue"])[np.arange(N) % 3].astype(object)
    split = np.array(["train", "train", "train", "val", "test"])[np.arange(N) % 5]
    colours[np.flatnonzero(split == "test")[:4]] = "violet"  # only in the test rows
    colours[np.flatnonzero(split == "train")[:3]] = None  # empty cells in training
    columns = {**_base(), "colour": pa.array(colours, pa.string()), "split": split}
    s = load_user_data(_write(tmp_path / "c.parquet", columns))
    names = ("colour missing", "colour=blue", "colour=green", "colour=red")
    assert s.features == ("row", "x", *names)
    for part in ("train", "val", "test"):
        rows = _rows(getattr(s, f"X_{part}"), s.features)
        expected = np.column_stack(
            [
                [colours[r] is None for r in rows],
                *([colours[r] == v for r in rows] for v in ("blue", "green", "red")),
            ]
        ).astype(np.float32)
        np.testing.assert_array_equal(getattr(s, f"X_{part}")[:, 2:], expected)
    assert _column(s, "test", "colour=red").sum() < (split == "test").sum() / 3
    (step,) = s.preprocessing
    assert (step.column, step.action, step.features) == ("colour", "one-hot", names)
    assert (
        "One-hot encoded, a 0/1 column for each value of the training rows (an empty cell is a "
        "value of its own; a value not seen there gives zeros): 'colour' (4 values)."
    ) in s.notes


def test_text_with_many_values_is_frequency_encoded_on_the_training_rows(tmp_path):
    rng = np.random.default_rng(2)
    cities = np.array([f"city {i}" for i in rng.integers(0, 40, N)])
    s = load_user_data(_write(tmp_path / "f.parquet", {**_base(), "city": cities}))
    assert s.features == ("row", "x", "city frequency")
    train = _rows(s.X_train, s.features)
    values, counts = np.unique(cities[train], return_counts=True)
    share = dict(zip(values, counts / len(train)))
    assert len(values) > MAX_ONE_HOT
    for part in ("train", "val", "test"):
        rows = _rows(getattr(s, f"X_{part}"), s.features)
        expected = np.array([share.get(c, 0.0) for c in cities[rows]], dtype=np.float32)
        np.testing.assert_array_equal(_column(s, part, "city frequency"), expected)
    assert s.preprocessing[0].action == "frequency"
    assert any(n.startswith("Frequency encoded (more than 16 values)") for n in s.notes)


def test_booleans_and_dates_become_numbers(tmp_path):
    rng = np.random.default_rng(3)
    days = rng.integers(-1000, 20000, N)
    flags = rng.random(N) < 0.3
    when = [datetime.date(1970, 1, 1) + datetime.timedelta(days=int(d)) for d in days]
    stamps = pa.array((days * 86_400 + 43_200) * 1_000_000, pa.timestamp("us"))
    columns = {**_base(), "flag": flags, "when": when, "stamp": stamps}
    s = load_user_data(_write(tmp_path / "b.parquet", columns))
    assert s.features == ("row", "x", "flag", "when", "stamp")
    rows = _rows(s.X_train, s.features)
    np.testing.assert_array_equal(_column(s, "train", "flag"), flags[rows].astype(np.float32))
    np.testing.assert_array_equal(_column(s, "train", "when"), days[rows].astype(np.float32))
    np.testing.assert_allclose(_column(s, "train", "stamp"), days[rows] + 0.5, rtol=1e-6)
    assert [(st.column, st.action) for st in s.preprocessing] == [
        ("flag", "boolean"),
        ("when", "date"),
        ("stamp", "date"),
    ]
    assert "True / false as 1 / 0: 'flag'." in s.notes
    assert "Dates as days since 1970-01-01: 'when', 'stamp'." in s.notes


# --- missing numbers -------------------------------------------------------------------------


def test_missing_numbers_get_the_training_median_and_a_mark(tmp_path):
    rng = np.random.default_rng(4)
    income = rng.lognormal(10, 1, N)
    income[rng.random(N) < 0.25] = np.nan
    late = rng.normal(size=N)
    flag = pa.array([None if i % 7 == 0 else bool(i % 2) for i in range(N)], pa.bool_())
    split = np.array(["train", "train", "train", "val", "test"])[np.arange(N) % 5]
    late[np.flatnonzero(split == "test")[:5]] = np.nan  # missing outside training only
    empty = np.where(split == "train", np.nan, 1.0)  # no value in the training rows
    columns = {
        **_base(),
        "income": income,
        "late": late,
        "flag": flag,
        "empty": empty,
        "split": split,
    }
    s = load_user_data(_write(tmp_path / "m.parquet", columns))
    assert s.features == ("row", "x", "income", "late", "flag", "income missing", "flag missing")
    train = _rows(s.X_train, s.features)
    flags = np.array([np.nan if v is None else float(v) for v in flag.to_pylist()])
    for name, raw in (("income", income), ("late", late), ("flag", flags)):
        median = np.nanmedian(raw[train].astype(np.float32))
        for part in ("train", "val", "test"):
            rows = _rows(getattr(s, f"X_{part}"), s.features)
            expected = np.where(np.isnan(raw[rows]), median, raw[rows]).astype(np.float32)
            np.testing.assert_allclose(_column(s, part, name), expected, rtol=1e-6)
            if name != "late":
                marks = _column(s, part, f"{name} missing")
                np.testing.assert_array_equal(marks, np.isnan(raw[rows]).astype(np.float32))
    actions = [(st.column, st.action) for st in s.preprocessing]
    assert actions == [
        ("income", "median"),
        ("late", "median"),
        ("flag", "boolean"),
        ("flag", "median"),
        ("empty", "empty"),
    ]
    assert "Left out, without any value in the training rows: 'empty'." in s.notes
    assert any(n.startswith("Missing numbers outside the training rows") for n in s.notes)
    json.dumps([asdict(step) for step in s.preprocessing])  # results.json can carry it


def test_each_repeated_split_is_prepared_on_its_own_training_rows(tmp_path):
    rng = np.random.default_rng(5)
    value = rng.normal(size=N) ** 3
    value[::4] = np.nan
    s = load_user_data(_write(tmp_path / "r.parquet", {**_base(), "v": value}))
    for k in range(3):
        split = s.resplit(k)
        train = _rows(split.X_train, split.features)
        rows = _rows(split.X_test, split.features)
        median = np.nanmedian(value[train].astype(np.float32))
        filled = _column(split, "test", "v")[np.isnan(value[rows])]
        np.testing.assert_allclose(filled, median, rtol=1e-6)
        assert f"{median:.6g}" in next(st.detail for st in split.preprocessing if st.column == "v")


# --- reading ---------------------------------------------------------------------------------


def test_a_csv_column_that_turns_to_text_late_is_text(tmp_path):
    path = tmp_path / "late.csv"
    rows = [f"{i * 0.5},{i % 2},{'x' if i == 99_999 else i % 50 * 0.25}" for i in range(100_000)]
    path.write_text("a,label,b\n" + "\n".join(rows) + "\n")
    assert path.stat().st_size > 1 << 20  # more than one block of pyarrow's reader
    s = load_user_data(path)
    assert s.features == ("a", "b frequency")
    assert s.X_train.dtype == np.float32
    a = np.sort(np.concatenate([s.X_train[:, 0], s.X_val[:, 0], s.X_test[:, 0]]))
    np.testing.assert_array_equal(a, np.arange(100_000, dtype=np.float32) * 0.5)


def test_steps_are_listed_in_the_order_of_the_table(tmp_path):
    weight = np.arange(N, dtype=np.float64) % 7
    weight[::5] = np.nan
    columns = {
        "code": [f"r{i}" for i in range(N)],
        "colour": np.array(["red", "blue"])[np.arange(N) % 2],
        "y": _base()["y"],
        "weight": weight,
        "flag": np.arange(N) % 3 == 0,
    }
    s = load_user_data(_write(tmp_path / "o.parquet", columns), exclude="flag")
    assert [(step.column, step.action) for step in s.preprocessing] == [
        ("code", "identifier"),
        ("colour", "one-hot"),
        ("weight", "median"),
        ("flag", "excluded"),
    ]
