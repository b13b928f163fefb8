import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score
from typer.testing import CliRunner

from counterpoise.cli import app
from counterpoise.compare import (
    STRATEGIES,
    CompareConfig,
    TrainConfig,
    get_strategies,
    load_builtin,
    load_user_data,
    run_compare,
)
from counterpoise.compare.data import UNKNOWN, split_multilabel
from counterpoise.compare.references import REFERENCES
from counterpoise.compare.runner import resolve_config
from counterpoise.compare.strategies import LabelStats, label_probabilities, label_thresholds
from counterpoise.compare.training import label_stats, multilabel_score
from counterpoise.posthoc import tune_thresholds

runner = CliRunner()

NUM_LABELS = 10
#: Share of rows positive for each label: an exponential profile from 45 % down to 3 %.
PREVALENCE = 0.45 * (0.03 / 0.45) ** (np.arange(NUM_LABELS) / (NUM_LABELS - 1))
MULTILABEL = [n for n, s in STRATEGIES.items() if s.task == "multilabel"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def long_tailed(n=600, features=12, seed=0):
    """A learnable long-tailed multilabel set: each label adds its own direction to the
    features (a mixture of the label directions plus noise)."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, NUM_LABELS)) < PREVALENCE).astype(np.int64)
    directions = rng.normal(size=(NUM_LABELS, features)) * 2.0
    X = y @ directions + rng.normal(size=(n, features))
    return X, y


def write_csv(path, X, y, *, missing=None, split=None, label_prefix="tag_"):
    cols = [f"f{j}" for j in range(X.shape[1])] + [f"{label_prefix}{i}" for i in range(y.shape[1])]
    cols += ["split"] if split is not None else []
    rows = [",".join(cols)]
    for i, (x, t) in enumerate(zip(X, y)):
        cells = [f"{v:.5f}" for v in x]
        cells += ["" if missing is not None and missing[i, j] else str(v) for j, v in enumerate(t)]
        cells += [split[i]] if split is not None else []
        rows.append(",".join(cells))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = long_tailed()
    return write_csv(tmp_path_factory.mktemp("ml") / "tags.csv", X, y)


@pytest.fixture(scope="module")
def splits(table):
    return load_user_data(table, labels="tag_*")


QUICK = ("--quick", "--epochs", "10", "--hidden", "32")


# --- splitting -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.integers(5, 80),
    st.integers(1, 6),
    st.floats(0.05, 0.45),
    st.floats(0.05, 0.45),
    st.integers(0, 10_000),
)
def test_iterative_split_is_a_seeded_partition(n, num_labels, val, test, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, num_labels)) < rng.uniform(0, 0.7, num_labels)).astype(np.float32)
    y[rng.random(y.shape) < 0.1] = UNKNOWN
    try:
        parts = split_multilabel(y, val_fraction=val, test_fraction=test, seed=seed)
    except ValueError as exc:  # only for too few rows for three splits
        assert "enough rows for non-empty train, validation and test splits" in str(exc)
        return
    joined = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(joined, np.arange(n))
    again = split_multilabel(y, val_fraction=val, test_fraction=test, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


@settings(max_examples=60, deadline=None)
@given(st.integers(10, 200), st.floats(0.01, 0.9), st.integers(0, 10_000))
def test_one_label_gets_its_share_of_positives_within_one(n, rate, seed):
    # With a single label, every positive goes to the split that wants the most of them, so
    # each split ends within one positive of its share r_s * P.
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 1)) < rate).astype(np.float32)
    parts = split_multilabel(y, val_fraction=0.2, test_fraction=0.2, seed=seed)
    total = (y == 1).sum()
    for part, share in zip(parts, (0.6, 0.2, 0.2)):
        assert abs((y[part] == 1).sum() - share * total) < 1


def test_iterative_split_spreads_rare_labels_better_than_a_random_split():
    _, y = long_tailed(n=600)
    shares = np.array([0.6, 0.2, 0.2])
    wanted = shares[:, None] * y.sum(0)

    def error(parts):
        got = np.array([y[p].sum(0) for p in parts])
        return np.abs(got - wanted).max()

    stratified = error(split_multilabel(y, seed=0))
    assert stratified < 1.5
    randoms = []
    for seed in range(20):
        order = np.random.default_rng(seed).permutation(len(y))
        randoms.append(error((order[:360], order[360:480], order[480:])))
    assert stratified < min(randoms)


# --- reading ---------------------------------------------------------------------------------


def test_labels_by_pattern_or_list_and_features_are_the_rest(table, splits):
    assert splits.multilabel and splits.classes == tuple(f"tag_{i}" for i in range(NUM_LABELS))
    assert splits.num_features == 12 and splits.y_train.dtype == np.float32
    assert sum(splits.sizes().values()) == 600
    for part in ("train", "val", "test"):
        counts = splits.class_counts(part)
        assert counts.tolist() == (splits.targets(part) == 1).sum(0).tolist()
        assert (counts + splits.negative_counts(part)).tolist() == [len(splits.targets(part))] * 10
    listed = load_user_data(table, labels="tag_3, tag_0")
    assert listed.classes == ("tag_3", "tag_0") and listed.num_features == 12 + 8
    np.testing.assert_array_equal(
        load_user_data(table, labels=["tag_*"]).y_train, splits.y_train
    )  # a sequence of names works like the string


def test_missing_label_values_are_unknown_and_true_false_is_accepted(tmp_path):
    X, y = long_tailed(n=300)
    missing = np.random.default_rng(3).random(y.shape) < 0.05
    path = write_csv(tmp_path / "m.csv", X, y, missing=missing)
    s = load_user_data(path, labels="tag_*")
    stacked = np.concatenate([s.y_train, s.y_val, s.y_test])
    assert (stacked == UNKNOWN).sum() == missing.sum()
    assert any("not annotated" in note for note in s.notes)
    # true / false with missing values (a nullable boolean column) reads as 1 / 0 / unknown
    a = [True, False, None, False, True, False] * 5
    pq.write_table(
        pa.table({"x": np.arange(30.0), "a": pa.array(a, pa.bool_()), "b": [1, 0, 0] * 10}),
        tmp_path / "b.parquet",
    )
    b = load_user_data(tmp_path / "b.parquet", labels="a,b")
    stacked = np.concatenate([b.y_train, b.y_val, b.y_test])
    assert (stacked[:, 0] == 1).sum() == 10 and (stacked[:, 0] == UNKNOWN).sum() == 5
    assert (stacked[:, 0] == 0).sum() == 15 and (stacked[:, 1] == 1).sum() == 10


def test_npz_with_a_two_dimensional_y_is_multilabel(tmp_path):
    X, y = long_tailed(n=300)
    y = y.astype(np.float64)
    y[5, 9] = np.nan  # not annotated
    np.savez(tmp_path / "d.npz", X=X, y=y)
    s = load_user_data(tmp_path / "d.npz")
    assert s.multilabel and s.classes == tuple(range(NUM_LABELS))
    assert sum(s.sizes().values()) == 300
    np.savez(
        tmp_path / "g.npz",
        X_train=X[:200],
        y_train=y[:200],
        X_val=X[200:250],
        y_val=y[200:250],
        X_test=X[250:],
        y_test=y[250:],
    )
    g = load_user_data(tmp_path / "g.npz")
    assert g.sizes() == {"train": 200, "val": 50, "test": 50} and g.multilabel
    np.savez(tmp_path / "bad.npz", X=X, y=np.where(y == 1, 2, 0))
    # the user passed no --labels: the error names the array
    with pytest.raises(ValueError, match=r"^`y` must be 0/1 .* in column 0, got \[2\]"):
        load_user_data(tmp_path / "bad.npz")


def _given_npz(path, X, y, **replaced):
    arrays = {
        "X_train": X[:200],
        "y_train": y[:200],
        "X_val": X[200:250],
        "y_val": y[200:250],
        "X_test": X[250:],
        "y_test": y[250:],
    }
    np.savez(path, **{**arrays, **replaced})
    return path


@pytest.mark.parametrize("multilabel", [False, True])
def test_npz_arrays_that_do_not_fit_together_are_named(tmp_path, multilabel):
    X, y = long_tailed(n=300)
    if not multilabel:
        y = y[:, 0]
    path = tmp_path / "g.npz"
    # more feature rows than labels: read as is, the rows would be misaligned
    with pytest.raises(
        ValueError, match=r"^`X_train` must be 200 rows, one for each row of y_train"
    ):
        load_user_data(_given_npz(path, X, y, X_train=X[:210]))
    with pytest.raises(ValueError, match=r"^`X_test` must be 50 rows.*got '40 rows'"):
        load_user_data(_given_npz(path, X, y, X_test=X[250:290]))
    # another number of labels, or multilabel targets among class labels
    other = y[200:250, :3] if multilabel else np.stack([y[200:250]] * 2, axis=-1)
    layout = r"\(N, 10\), got \(50, 3\)" if multilabel else r"\(N,\), got \(50, 2\)"
    with pytest.raises(ValueError, match=rf"^`y_val` must be shaped like y_train, {layout}"):
        load_user_data(_given_npz(path, X, y, y_val=other))
    with pytest.raises(ValueError, match=r"^`X_val` must be shaped like X_train, \(N, 12\)"):
        load_user_data(_given_npz(path, X, y, X_val=X[200:250, :5]))
    with pytest.raises(ValueError, match=r"^`y_test` must be labels of shape \(N,\) or"):
        load_user_data(_given_npz(path, X, y, y_test=np.zeros((50, 2, 2))))
    with pytest.raises(ValueError, match=r"^`y_val` must be present"):
        np.savez(path, X_train=X, y_train=y, X_test=X, y_test=y, X_val=X)
        load_user_data(path)
    # one X and y
    np.savez(path, X=X[:290], y=y)
    with pytest.raises(ValueError, match=r"^`X` must be 300 rows, one for each row of y"):
        load_user_data(path)


def test_npz_with_three_dimensional_y_names_y(tmp_path):
    np.savez(tmp_path / "y3.npz", X=np.zeros((30, 2)), y=np.zeros((30, 2, 2)))
    with pytest.raises(ValueError, match=r"^`y` must be labels of shape \(N,\) or multilabel"):
        load_user_data(tmp_path / "y3.npz")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": "tag_0,nope"}, r"one of \['f0', 'f1'.*got 'nope'"),
        ({"labels": "zz_*"}, r"patterns that match.*got 'zz_\*'"),
        ({"labels": "f0,tag_1"}, r"0/1 or true/false values in column 'f0'"),
        ({"labels": ","}, "at least one column"),
        ({"labels": "tag_3,tag_3"}, r"once, got \"'tag_3' chosen by 'tag_3' and by 'tag_3'\""),
        ({"labels": "tag_*,tag_1"}, r"'tag_1' chosen by 'tag_\*' and by 'tag_1'"),
        ({"labels": "tag_0", "label": "tag_1"}, "None when `label` is given"),
    ],
)
def test_bad_label_columns(table, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_user_data(table, **kwargs)


def test_non_binary_values_name_the_column_and_the_values(tmp_path):
    X, y = long_tailed(n=60)
    y[3, 2], y[7, 2] = 2, 5
    path = write_csv(tmp_path / "v.csv", X, y)
    with pytest.raises(ValueError, match=r"column 'tag_2', got \[2, 5\]"):
        load_user_data(path, labels="tag_*")
    text = tmp_path / "t.csv"
    text.write_text("x,a,b\n" + "".join(f"{i},{'yes' if i % 2 else 'no'},1\n" for i in range(9)))
    with pytest.raises(ValueError, match=r"column 'a', got \['no', 'yes'\]"):
        load_user_data(text, labels="a,b")


def test_a_label_without_positive_in_training_is_named(tmp_path):
    X, y = long_tailed(n=300)
    split = np.array(["train"] * 200 + ["val"] * 50 + ["test"] * 50)
    y[:200, 7] = 0
    y[200:, 7] = 1  # positives outside training only
    path = write_csv(tmp_path / "s.csv", X, y, split=split)
    with pytest.raises(ValueError, match=r"no positive for 'tag_7'"):
        load_user_data(path, labels="tag_*")
    y[:, 7] = 0  # no positive at all
    path = write_csv(tmp_path / "z.csv", X, y)
    with pytest.raises(
        ValueError, match=r"no positive for 'tag_7' \(positives in all rows: \[0\]\)"
    ):
        load_user_data(path, labels="tag_*")


@pytest.mark.parametrize(("split", "rows"), [("validation", "val"), ("test", "test")])
def test_a_split_without_any_positive_is_named(tmp_path, split, rows):
    X, y = long_tailed(n=300)
    column = np.array(["train"] * 200 + ["val"] * 50 + ["test"] * 50)
    y[column == rows] = 0
    path = write_csv(tmp_path / "s.csv", X, y, split=column)
    message = (
        f"`positives in the {split} split` must be at least 1 (average precision, which ranks "
        f'the strategies, needs a positive of some label), got "0 in its 50 rows whose '
        f"`split` is '{rows}'\""
    )
    with pytest.raises(ValueError) as caught:
        load_user_data(path, labels="tag_*")
    assert str(caught.value) == message
    res = invoke("compare", path, "--labels", "tag_*", "--out", tmp_path / "never")
    assert res.exit_code == 2 and f"positives in the {split} split" in res.output
    assert not (tmp_path / "never").exists()
    # the same with the arrays of an .npz file, and with entries that are not annotated
    y = y.astype(np.float64)
    y[column == rows] = np.nan
    with pytest.raises(ValueError, match=f"got '0 in its 50 rows of y_{rows}'"):
        load_user_data(_given_npz(tmp_path / "g.npz", X, y))


def test_given_splits_note_labels_without_test_positives(tmp_path):
    X, y = long_tailed(n=300)
    split = np.array(["train"] * 200 + ["val"] * 50 + ["test"] * 50)
    y[250:, 9] = 0
    y[:20, 9] = 1
    s = load_user_data(write_csv(tmp_path / "s.csv", X, y, split=split), labels="tag_*")
    assert s.sizes() == {"train": 200, "val": 50, "test": 50}
    assert any("No positive in the test split for 'tag_9'" in note for note in s.notes)


# --- strategies ------------------------------------------------------------------------------


def test_registry_separates_the_tasks():
    assert MULTILABEL == [
        "bce",
        "bce_pos_weight",
        "sigmoid_focal",
        "sigmoid_focal_alpha",
        "cb_sigmoid_focal",
        "asl",
        "db",
    ]
    assert [s.name for s in get_strategies(task="multilabel")] == MULTILABEL
    assert not set(MULTILABEL) & {s.name for s in get_strategies(num_classes=5)}
    with pytest.raises(ValueError, match=r"bce \(multilabel data only\)"):
        get_strategies(["ce", "bce"], num_classes=3)
    with pytest.raises(ValueError, match=r"ce \(multiclass data only\)"):
        get_strategies(["ce"], task="multilabel")
    with pytest.raises(ValueError, match="task"):
        get_strategies(task="regression")  # type: ignore[arg-type]


def _targets(seed, n=40, labels=5, unknown=0.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, labels, generator=g, dtype=torch.float64) * 3
    y = (torch.rand(n, labels, generator=g) < 0.3).double()
    y[0] = 1.0
    y[1] = 0.0
    known = torch.rand(n, labels, generator=g) >= unknown
    known[:2] = True
    return x, torch.where(known, y, UNKNOWN), known


def _stats(y, known):
    return LabelStats(
        positives=((y == 1) & known).sum(0), negatives=((y == 0) & known).sum(0), rows=len(y)
    )


def _reference(name, x, y, known, stats):
    """Each multilabel strategy's loss written plainly from its paper, averaged over the
    annotated entries."""
    t = y.clamp_min(0)
    rows = stats.rows
    share = stats.positives.double() / (stats.positives + stats.negatives)  # per label
    n = share * rows  # positives per label over all training rows
    p = torch.sigmoid(x)
    p_t = p * t + (1 - p) * (1 - t)
    focal = -((1 - p_t) ** 2) * torch.log(p_t)
    if name == "bce":
        elements = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    elif name == "bce_pos_weight":
        pos_weight = (1 - share) / share  # negatives / positives
        elements = F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight, reduction="none")
    elif name == "sigmoid_focal":
        elements = focal
    elif name == "sigmoid_focal_alpha":
        alpha = 1 - share  # the share of negatives
        elements = (alpha * t + (1 - alpha) * (1 - t)) * focal
    elif name == "cb_sigmoid_focal":
        beta = 0.999
        w = (1 - beta) / (1 - beta**n)  # one over the effective number of positives
        elements = w / w.sum() * len(w) * focal
    elif name == "asl":
        p_m = (p - 0.05).clamp_min(0)
        elements = -t * torch.log(p) - (1 - t) * p_m**4 * torch.log(1 - p_m)
    elif name == "db":
        rate = (t * known / n).sum(1, keepdim=True)  # sum over the known positive labels
        r = (1 / n) / rate
        r_hat = 0.1 + torch.sigmoid(10 * (r - 0.2))
        nu = 0.05 / 2 * torch.log(n / (rows - n))
        z = x + nu
        elements = r_hat * (t * F.softplus(-z) + (1 - t) / 2 * F.softplus(2 * z))
    else:
        raise AssertionError(name)
    return elements[known].mean()


@pytest.mark.parametrize("name", MULTILABEL)
@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.3]))
def test_every_multilabel_loss_is_its_formula_on_the_annotated_entries(name, seed, unknown):
    x, y, known = _targets(seed, unknown=unknown)
    stats = _stats(y, known)
    loss = STRATEGIES[name].build_loss(stats, ignore_value=UNKNOWN)(x, y)
    torch.testing.assert_close(loss, _reference(name, x, y, known, stats), rtol=1e-6, atol=1e-9)


def test_label_stats_counts_use_each_labels_annotated_rows():
    stats = LabelStats(torch.tensor([3, 10]), torch.tensor([7, 30]), rows=50)
    assert stats.counts.tolist() == [15.0, 12.5]  # 30 % and 25 % of the 50 rows
    exact = LabelStats(torch.tensor([7, 11]), torch.tensor([353, 349]), rows=360)
    assert exact.counts.tolist() == [7.0, 11.0]


@pytest.mark.parametrize("name", MULTILABEL)
def test_unknown_entries_get_no_gradient_and_a_batch_of_them_no_nan(name):
    x, y, known = _targets(7, unknown=0.4)
    x.requires_grad_(True)
    loss_fn = STRATEGIES[name].build_loss(_stats(y, known), ignore_value=UNKNOWN)
    loss_fn(x, y).backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad[~known] == 0).all() and (x.grad[known] != 0).any()
    unknown_only = torch.full_like(y, UNKNOWN)
    z = torch.zeros_like(x, requires_grad=True)
    value = loss_fn(z, unknown_only)
    value.backward()
    assert value.item() == 0.0 and (z.grad == 0).all()


def test_label_thresholds_are_tuned_per_label_on_annotated_rows():
    rng = np.random.default_rng(0)
    probs = rng.random((50, 4))
    y = (rng.random((50, 4)) < 0.3).astype(np.float32)
    y[rng.random((50, 4)) < 0.2] = UNKNOWN
    y[:, 3] = np.where(y[:, 3] == 1, 0, y[:, 3])  # no positive: keeps 0.5
    got = label_thresholds(probs, y)
    for label in range(3):
        known = y[:, label] != UNKNOWN
        expected = tune_thresholds(torch.from_numpy(probs[known, label]), y[known, label])
        assert got[label] == float(expected.thresholds)
    assert got[3] == 0.5


def test_validation_score_is_sklearns_mean_average_precision(splits):
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(size=splits.y_val.shape)).float()
    got = multilabel_score(splits.y_val, logits, "map", splits.class_counts("train"))
    probs = torch.sigmoid(logits.double()).numpy()
    expected = np.mean(
        [average_precision_score(splits.y_val[:, i], probs[:, i]) for i in range(NUM_LABELS)]
    )
    assert got == pytest.approx(expected, abs=1e-12)
    stats = label_stats(splits)
    assert stats.rows == len(splits.y_train)
    assert stats.positives.tolist() == splits.class_counts("train").tolist()


# --- comparisons -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(splits):
    config = CompareConfig(
        seeds=2, strategies=("bce", "bce_pos_weight"), train=TrainConfig(epochs=8, hidden=32)
    )
    return run_compare(splits, config)


def test_python_api_ranks_by_validation_map_and_scores_like_sklearn(splits, result):
    assert result.task == "multilabel" and result.metric == "map"
    assert result.config.metric == "map"  # resolved from None
    assert set(result.reports) == {"bce", "bce_pos_weight"}
    means = [result.stats(n, "map", "val")["mean"] for n in result.ranking()]
    assert means == sorted(means, reverse=True)
    for name in result.reports:
        for run, pred, report in zip(
            result.runs[name], result.predictions[name], result.reports[name]
        ):
            probs = label_probabilities(run.test_logits)
            np.testing.assert_array_equal(pred.probs, probs)
            np.testing.assert_array_equal(
                pred.thresholds, label_thresholds(label_probabilities(run.val_logits), splits.y_val)
            )
            expected = [
                average_precision_score(splits.y_test[:, i], probs[:, i]) for i in range(NUM_LABELS)
            ]
            np.testing.assert_allclose(report.average_precision, expected, atol=1e-12)
            assert report.map == pytest.approx(np.mean(expected), abs=1e-12)
            assert report.group_by == "counts" and report.boundaries == (20.0, 100.0)
    payload = result.to_json()
    assert payload["dataset"]["task"] == "multilabel"
    assert payload["ranking"] == result.ranking()
    json.dumps(payload)  # serialisable


def test_metric_and_strategies_must_fit_the_task(splits, tmp_path):
    with pytest.raises(ValueError, match="metric"):
        resolve_config(CompareConfig(metric="balanced_accuracy"), splits)
    with pytest.raises(ValueError, match="multiclass data only"):
        resolve_config(CompareConfig(strategies=("ce",)), splits)
    assert resolve_config(CompareConfig(metric="tail_map"), splits).metric == "tail_map"
    rng = np.random.default_rng(5)
    y = (rng.random((600, 3)) < 0.5).astype(np.int64)  # every label a head label
    X = y @ rng.normal(size=(3, 4)) + rng.normal(size=(600, 4))
    head_only = load_user_data(write_csv(tmp_path / "head.csv", X, y), labels="tag_*")
    with pytest.raises(ValueError, match=r"defined on the val split.*got 'tail_map'"):
        resolve_config(CompareConfig(metric="tail_map"), head_only)


def test_cli_end_to_end_reports_head_and_tail_average_precision(table, tmp_path):
    out = tmp_path / "report"
    res = invoke("compare", table, "--labels", "tag_*", *QUICK, "--out", out, "--html")
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["strategies"]) == {*MULTILABEL, *REFERENCES}
    assert payload["settings"]["metric"] == "map"
    ranking = payload["ranking"]  # by validation, and the selected strategy leads it
    means = [payload["strategies"][n]["validation"]["map"]["mean"] for n in ranking]
    assert means == sorted(means, reverse=True)
    assert payload["selected"] == next(n for n in ranking if n not in REFERENCES)
    dataset = payload["dataset"]
    groups = dataset["label_groups"]["group"]
    counts = dataset["positives"]["train"]
    head = [i for i, g in enumerate(groups) if g == "head"]
    tail = [i for i, g in enumerate(groups) if g == "tail"]
    assert head and tail
    assert all(counts[i] > 100 for i in head) and all(counts[i] < 20 for i in tail)
    for name, stats in payload["strategies"].items():
        ap = stats["per_label_average_precision"]
        assert len(ap) == NUM_LABELS
        assert all(0.0 <= ap[i] <= 1.0 for i in head + tail), name
        for metric in ("map", "head_map", "medium_map", "tail_map", "macro_f1", "macro_f1_tuned"):
            assert 0.0 <= stats[metric]["mean"] <= 1.0
        assert stats["tail_map"]["mean"] == pytest.approx(np.mean([ap[i] for i in tail]))
    assert dataset["features"] == [f"f{j}" for j in range(12)]
    assert dataset["label_groups"]["boundaries"] == [20.0, 100.0]
    md = (out / "report.md").read_text()
    assert "(multilabel)" in md and "| tail mAP |" in md and "Δ vs bce" in md
    assert "Features: 12 columns: f0, f1," in md and "Features: 12 columns" in res.stdout
    assert "boundaries (20, 100) (of Liu et al., 2019)" in md and "group is empty" not in md
    assert "## Average precision per label" in md
    rarest, commonest = f"tag_{NUM_LABELS - 1}", "tag_0"
    assert f"| {rarest} | tail | {counts[-1]} |" in md
    assert f"| {commonest} | head | {counts[0]} |" in md
    for png in (
        "training_positives_per_label.png",
        "map_by_label_group_and_strategy.png",
        "average_precision_per_label_best.png",
        "average_precision_per_label_baseline.png",
        "training_curves.png",
    ):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
        assert png in md
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 5
    assert ranking[0] in res.stdout and "tail mAP" in res.stdout


def test_cli_with_listed_labels_missing_values_and_a_group_metric(tmp_path):
    X, y = long_tailed(n=400, seed=2)
    missing = np.random.default_rng(4).random(y.shape) < 0.05
    path = write_csv(tmp_path / "m.csv", X, y, missing=missing, label_prefix="t")
    out = tmp_path / "o"
    names = ",".join(f"t{i}" for i in range(NUM_LABELS))
    res = invoke(
        "compare", path, "--labels", names, *QUICK, "--metric", "tail_map",
        "--strategies", "bce_pos_weight", "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["strategies"]) == {"bce_pos_weight", *REFERENCES}
    assert payload["settings"]["metric"] == "tail_map"
    assert any("not annotated" in n for n in payload["dataset"]["notes"])


def test_list_shows_the_task_of_every_strategy():
    res = invoke("compare", "--list")
    assert res.exit_code == 0
    lines = {line.split()[1]: line for line in res.stdout.splitlines() if line.startswith("│")}
    for name in MULTILABEL:
        assert "multilabel" in lines[name]
    assert "multiclass" in lines["ce"] and "binary" in lines["threshold_tuned"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--labels", "tag_0,missing"], "got 'missing'"),
        (["--labels", "f0,tag_1"], "column 'f0'"),
        (["--labels", "tag_*", "--metric", "balanced_accuracy"], "metric"),
        (["--labels", "tag_*", "--strategies", "bce,ce"], "multiclass data only"),
        (["--labels", "tag_*", "--label", "tag_0"], "`--label`"),
    ],
)
def test_bad_multilabel_input_exits_2_before_training(table, tmp_path, args, message):
    out = tmp_path / "never"
    res = invoke("compare", table, "--out", out, *args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not out.exists()


def test_labels_option_needs_a_table(tmp_path):
    res = invoke("compare", "--labels", "a,b", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "--labels" in res.output
    np.savez(tmp_path / "d.npz", X=np.zeros((30, 2)), y=np.zeros((30, 2)))
    res = invoke("compare", tmp_path / "d.npz", "--labels", "a", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "--labels" in res.output


def test_cli_names_a_label_without_training_positive(tmp_path):
    X, y = long_tailed(n=300)
    split = np.array(["train"] * 200 + ["val"] * 50 + ["test"] * 50)
    y[:200, 4] = 0
    path = write_csv(tmp_path / "s.csv", X, y, split=split)
    res = invoke("compare", path, "--labels", "tag_*", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "'tag_4'" in res.output and "training split" in res.output


def test_report_shows_the_commonest_and_rarest_labels_of_many(tmp_path):
    from counterpoise.compare import write_report

    rng = np.random.default_rng(6)
    rates = 0.5 * (0.04 / 0.5) ** (np.arange(14) / 13)
    y = (rng.random((500, 14)) < rates).astype(np.int64)
    X = y @ rng.normal(size=(14, 6)) + rng.normal(size=(500, 6))
    s = load_user_data(write_csv(tmp_path / "w.csv", X, y), labels="tag_*")
    config = CompareConfig(seeds=1, strategies=("bce",), train=TrainConfig(epochs=3, hidden=16))
    files = write_report(run_compare(s, config), tmp_path / "r")
    md = files["markdown"].read_text()
    assert "the 5 commonest and the 5 rarest labels" in md
    rows = [
        line for line in md.splitlines() if line.startswith("| tag_") or line.startswith("| … |")
    ]
    assert len(rows) == 11 and rows[5].startswith("| … |")
    assert rows[0].startswith("| tag_0 |") and rows[-1].startswith("| tag_13 |")


def test_same_seed_same_numbers(table, tmp_path):
    def run(out):
        res = invoke(
            "compare", table, "--labels", "tag_*", "--quick", "--epochs", "4", "--hidden", "16",
            "--seeds", "2", "--strategies", "bce,asl,db", "--out", out,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        payload = json.loads((out / "results.json").read_text())
        timings = payload.pop("timings")
        assert timings["total_seconds"] > 0
        report = (out / "report.md").read_text().split("Total time")[0]
        return payload, report

    first, again = run(tmp_path / "a"), run(tmp_path / "b")
    assert first == again  # every number but the timings, to the bit
    assert len(first[0]["strategies"]["db"]["map"]["values"]) == 2


def test_every_rankable_metric_has_a_title():
    from counterpoise.compare.report import METRIC_TITLES
    from counterpoise.metrics import MULTILABEL_SUMMARY_METRICS

    assert set(METRIC_TITLES) == set(MULTILABEL_SUMMARY_METRICS)
    assert METRIC_TITLES["tail_macro_f1_tuned"] == "tail macro F1@tuned"
    assert not any("_" in title for title in METRIC_TITLES.values())


def test_label_groups_option_sets_the_boundaries_everywhere(table, splits, tmp_path):
    out = tmp_path / "r"
    res = invoke(
        "compare", table, "--labels", "tag_*", *QUICK, "--strategies", "bce",
        "--label-groups", "1,1000", "--metric", "medium_map", "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "results.json").read_text())
    groups = payload["dataset"]["label_groups"]
    assert groups["boundaries"] == [1.0, 1000.0] and set(groups["group"]) == {"medium"}
    stats = payload["strategies"]["bce"]
    assert stats["medium_map"] == stats["map"]  # every label is a medium one
    assert "head_map" not in stats and "tail_map" not in stats
    md = (out / "report.md").read_text()
    low, high = splits.class_counts("train").min(), splits.class_counts("train").max()
    assert "boundaries (1, 1000) (given)" in md
    assert (
        f"The head and tail groups are empty at the boundaries (1, 1000): the labels have {low} "
        f"to {high} training positives. Other boundaries: `--label-groups LOW,HIGH`"
    ) in md
    # the checkpoints are chosen on the same groups
    logits = torch.from_numpy(np.random.default_rng(0).normal(size=splits.y_val.shape))
    counts = splits.class_counts("train")
    by_default = multilabel_score(splits.y_val, logits, "medium_map", counts)
    wide = multilabel_score(splits.y_val, logits, "medium_map", counts, (1, 1000))
    assert wide == multilabel_score(splits.y_val, logits, "map", counts) != by_default
    # a group the boundaries leave empty cannot rank
    res = invoke(
        "compare", table, "--labels", "tag_*", "--label-groups", "1,1000", "--metric",
        "tail_map", "--out", tmp_path / "never",
    )  # fmt: skip
    assert res.exit_code == 2 and "got 'tail_map'" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label-groups", "20"], "`--label-groups` must be two numbers 'LOW,HIGH', got '20'"),
        (["--label-groups", "100,20"], "`--label-groups` must be (low, high) with low <= high"),
        (["--label-groups", "-1,20"], "`--label-groups` must be in [0.0, inf]"),
    ],
)
def test_bad_label_groups_exit_2(table, tmp_path, args, message):
    res = invoke("compare", table, "--labels", "tag_*", *args, "--out", tmp_path / "never")
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "never").exists()


def test_label_groups_are_for_multilabel_data(tmp_path):
    res = invoke("compare", "--label-groups", "20,100", "--out", tmp_path / "never")
    assert res.exit_code == 2 and "`--label-groups` applies to multilabel data" in res.output
    builtin = load_builtin()
    with pytest.raises(ValueError, match="`boundaries` must be None for multiclass data"):
        resolve_config(CompareConfig(boundaries=(20, 100)), builtin)


def test_group_legend_covers_no_bar(result):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from counterpoise.compare.report import _multilabel_figures, ranking_rows

    fig = _multilabel_figures(result, ranking_rows(result))["mAP by label group and strategy"]
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    assert ax.get_legend() is None and len(fig.legends) == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == result.ranking()
    legend = fig.legends[0].get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())
