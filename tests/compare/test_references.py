"""The reference models: probabilities of the right shape and class order, the same as
scikit-learn fitted by hand, deterministic by seed, and robust to rare and missing classes."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from threadpoolctl import threadpool_limits

from counterpoise.compare import references
from counterpoise.compare.data import UNKNOWN, Splits, load_user_data
from counterpoise.compare.references import REFERENCES, reference_probabilities


@pytest.fixture(autouse=True)
def one_thread():
    # gradient boosting's OpenMP threads spin for long on a machine whose cores are busy
    with threadpool_limits(1):
        yield


def _clusters(counts, seed=0, d=4):
    """Rows of class c around a centre of their own, far from the others."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    centres = rng.normal(scale=4.0, size=(len(counts), d))
    return (centres[y] + rng.normal(size=(len(y), d))).astype(np.float32), y


def _make(counts_train, counts_val, counts_test, seed=0):
    total = np.add(np.add(counts_train, counts_val), counts_test)
    X, y = _clusters(total, seed)
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in range(len(total)):
        members = rng.permutation(np.flatnonzero(y == c))
        a, b = counts_train[c], counts_train[c] + counts_val[c]
        for part, rows in zip(parts, (members[:a], members[a:b], members[b:])):
            part.append(rows)
    tr, va, te = (np.concatenate(p) for p in parts)
    return Splits(
        "clusters", tuple(range(len(total))), X[tr], y[tr], X[va], y[va], X[te], y[te], False
    )


@pytest.mark.parametrize("name", list(REFERENCES))
def test_probabilities_have_a_column_per_class_in_class_order(name):
    s = _make([120, 40, 12], [30, 10, 4], [30, 10, 4])
    val, test = reference_probabilities(name, s, seed=0)
    assert val.shape == (44, 3) and test.shape == (44, 3)
    assert val.dtype == test.dtype == np.float64
    np.testing.assert_allclose(val.sum(1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(test.sum(1), 1.0, rtol=1e-9)
    assert (test >= 0).all()
    # separated clusters: column c is class c
    assert (test.argmax(1) == s.y_test).mean() > 0.95
    assert (val.argmax(1) == s.y_val).mean() > 0.95
    again = reference_probabilities(name, s, seed=0)
    np.testing.assert_array_equal(again[1], test)


def test_logistic_regression_is_the_scikit_learn_pipeline():
    s = _make([150, 50, 15, 5], [20, 10, 5, 2], [20, 10, 5, 2], seed=1)
    scaler = StandardScaler().fit(s.X_train)
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    model.fit(scaler.transform(s.X_train), s.y_train)
    val, test = reference_probabilities("logreg_balanced", s)
    np.testing.assert_allclose(val, model.predict_proba(scaler.transform(s.X_val)), rtol=1e-6)
    np.testing.assert_allclose(test, model.predict_proba(scaler.transform(s.X_test)), rtol=1e-6)


def test_boosting_stops_where_the_balanced_validation_loss_is_least():
    s = _make([150, 50, 15], [40, 20, 10], [20, 10, 5], seed=2)
    _, test = reference_probabilities("hgb_balanced", s, seed=0)
    model = HistGradientBoostingClassifier(
        class_weight="balanced", max_iter=references.HGB_MAX_ITER, early_stopping=False
    ).fit(s.X_train, s.y_train)
    losses = [
        references._balanced_log_loss(s.y_val, p, np.arange(3))
        for p in model.staged_predict_proba(s.X_val)
    ]
    # looked at every HGB_STEP iterations, stopped _HGB_PATIENCE after the best one seen
    looked = []
    for i in range(references.HGB_STEP, references.HGB_MAX_ITER + 1, references.HGB_STEP):
        looked.append(i)
        best = min(looked, key=lambda k: losses[k - 1])
        if i - best >= references._HGB_PATIENCE:
            break
    stages = list(model.staged_predict_proba(s.X_test))
    np.testing.assert_allclose(test, stages[best - 1], rtol=1e-9)


def test_the_balanced_log_loss_is_log_loss_with_balanced_weights():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1, 2], [50, 8, 2])
    probs = rng.dirichlet(np.ones(3), size=len(y))
    expected = log_loss(y, probs, sample_weight=compute_sample_weight("balanced", y))
    assert references._balanced_log_loss(y, probs, np.arange(3)) == pytest.approx(expected)


def test_boosting_subsamples_per_class_and_follows_the_seed(monkeypatch):
    s = _make([300, 60, 6], [30, 10, 3], [30, 10, 3], seed=4)
    rows = references._subsample(s.y_train, 100, seed=0)
    kept = np.bincount(s.y_train[rows], minlength=3)
    assert kept.tolist() == [100, 60, 6]  # at least HGB_KEEP_PER_CLASS, all of a smaller class
    assert np.array_equal(rows, references._subsample(s.y_train, 100, seed=0))
    assert not np.array_equal(rows, references._subsample(s.y_train, 100, seed=1))
    monkeypatch.setattr(references, "HGB_MAX_CELLS", 100 * s.num_features)
    a = reference_probabilities("hgb_balanced", s, seed=0)[1]
    assert np.array_equal(a, reference_probabilities("hgb_balanced", s, seed=0)[1])
    assert not np.array_equal(a, reference_probabilities("hgb_balanced", s, seed=1)[1])


@pytest.mark.parametrize("name", list(REFERENCES))
def test_a_class_missing_from_training_gets_probability_zero(name):
    s = _make([100, 0, 30, 20], [20, 5, 10, 5], [20, 5, 10, 5], seed=5)
    val, test = reference_probabilities(name, s)
    assert test.shape == (40, 4) and (test[:, 1] == 0).all() and (val[:, 1] == 0).all()
    np.testing.assert_allclose(test.sum(1), 1.0, rtol=1e-9)
    one = _make([30, 0, 0], [5, 5, 0], [5, 5, 5], seed=6)
    val, test = reference_probabilities(name, one)
    assert (test == [1.0, 0.0, 0.0]).all() and val.shape == (10, 3)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_rare_classes_of_a_table(tmp_path, name):
    X, y = _clusters([150, 40, 2, 1], seed=7)
    columns = {f"f{j}": X[:, j] for j in range(X.shape[1])} | {"y": y}
    pq.write_table(pa.table(columns), tmp_path / "r.parquet")
    s = load_user_data(tmp_path / "r.parquet")
    assert s.rare_classes == (2, 3)
    val, test = reference_probabilities(name, s)
    assert val.shape == (len(s.y_val), 4) and test.shape == (len(s.y_test), 4)
    np.testing.assert_allclose(test.sum(1), 1.0, rtol=1e-9)


def _multilabel(seed=8):
    rng = np.random.default_rng(seed)
    n = 240
    X = rng.normal(size=(n, 5)).astype(np.float32)
    logits = X @ rng.normal(size=(5, 4)) * 2
    y = (logits > 0).astype(np.float32)
    y[rng.random(y.shape) < 0.2] = UNKNOWN
    y[:, 3] = np.where(y[:, 3] == UNKNOWN, UNKNOWN, 0.0)  # no positive annotated
    tr, va, te = np.arange(160), np.arange(160, 200), np.arange(200, n)
    return Splits("tags", ("a", "b", "c", "d"), X[tr], y[tr], X[va], y[va], X[te], y[te], False)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_multilabel_probabilities_per_label(name):
    s = _multilabel()
    val, test = reference_probabilities(name, s, seed=0)
    assert val.shape == (40, 4) and test.shape == (40, 4)
    assert ((test >= 0) & (test <= 1)).all()
    assert (test[:, 3] == 0).all()  # every annotated entry is 0
    truth = s.y_test[:, :3]
    known = truth != UNKNOWN
    assert ((test[:, :3] > 0.5) == (truth == 1))[known].mean() > 0.8


def test_multilabel_logistic_regression_leaves_out_entries_not_annotated():
    s = _multilabel()
    _, test = reference_probabilities("logreg_balanced", s)
    scaler = StandardScaler().fit(s.X_train)
    for j in range(3):
        rows = s.y_train[:, j] != UNKNOWN
        model = LogisticRegression(class_weight="balanced", max_iter=1000)
        model.fit(scaler.transform(s.X_train[rows]), s.y_train[rows, j])
        expected = model.predict_proba(scaler.transform(s.X_test))[:, 1]
        np.testing.assert_allclose(test[:, j], expected, rtol=1e-6)


def test_an_unknown_reference_is_named():
    with pytest.raises(ValueError, match="`name` must be one of 'logreg_balanced', 'hgb_bal"):
        reference_probabilities("svm", _multilabel())


def test_binning_beforehand_is_the_binning_of_the_boosting():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    X[:, 2] = rng.integers(0, 5, 600)  # few values: left as they are
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(np.int64)
    X_test = rng.normal(size=(50, 3)).astype(np.float32)
    binned, binned_test = references._binned(X[:400], X_test)
    assert binned[:, 0].min() == 0 and binned[:, 0].max() == 254
    np.testing.assert_array_equal(binned[:, 2], X[:400, 2])
    assert (np.diff(binned[np.argsort(X[:400, 0]), 0]) >= 0).all()  # order kept
    # without weights, scikit-learn cuts at the same quantiles: the same trees
    raw = HistGradientBoostingClassifier(max_iter=20).fit(X[:400], y[:400])
    cut = HistGradientBoostingClassifier(max_iter=20).fit(binned, y[:400])
    np.testing.assert_allclose(cut.predict_proba(binned_test), raw.predict_proba(X_test))
