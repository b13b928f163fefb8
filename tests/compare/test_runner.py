import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.compare import (
    STRATEGIES,
    CompareConfig,
    Strategy,
    TrainConfig,
    get_strategies,
    load_builtin,
    register,
    run_compare,
)
from counterpoise.compare.strategies import DeferredWeights
from counterpoise.compare.training import make_model, validation_score
from counterpoise.metrics import imbalance_report


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 6),
    st.integers(0, 10_000),
    st.sampled_from(
        [
            "balanced_accuracy",
            "worst_class_recall",
            "accuracy",
            "gmean_recall",
            "macro_f1",
            "mcc",
            "ece",
        ]
    ),
)
def test_fast_validation_score_equals_the_report(c, seed, metric):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, c, (60,), generator=g)
    logits = torch.randn(60, c, generator=g) * 2
    report = imbalance_report(y.numpy(), logits.double().softmax(1).numpy(), num_classes=c)
    expected = getattr(report, metric)
    got = validation_score(y, logits, metric)
    assert got == pytest.approx(-expected if metric == "ece" else expected, abs=1e-9)


def test_get_strategies_adds_bases_and_rejects_unknown_names():
    names = [s.name for s in get_strategies(["posthoc_adjusted", "prior_corrected"], num_classes=5)]
    assert names == ["ce", "ce_balanced", "posthoc_adjusted", "prior_corrected"]
    assert "threshold_tuned" not in [s.name for s in get_strategies(num_classes=3)]
    assert "threshold_tuned" in [s.name for s in get_strategies(num_classes=2)]
    with pytest.raises(ValueError, match="bogus"):
        get_strategies(["ce", "bogus"])
    with pytest.raises(ValueError, match="binary"):
        get_strategies(["threshold_tuned"], num_classes=4)


def test_register_validates():
    with pytest.raises(ValueError, match="name"):
        register(STRATEGIES["ce"])
    with pytest.raises(ValueError, match="exactly one of"):
        register(Strategy("half", "neither loss nor correction"))
    with pytest.raises(ValueError, match="exactly one of"):
        register(Strategy("both", "loss and same_as", "cross_entropy", same_as="ce"))
    with pytest.raises(ValueError, match=r"`strategy\.loss` must be a registered loss"):
        register(Strategy("unknown_loss", "a loss that is not registered", "no_such_loss"))
    with pytest.raises(ValueError, match=r"`strategy\.deferred` must be None unless"):
        register(
            Strategy("drw_bce", "no class weights", "bce", deferred=DeferredWeights("balanced"))
        )
    with pytest.raises(ValueError, match="registered"):
        register(Strategy("orphan", "copies a strategy that does not exist", same_as="nope"))
    assert not {"half", "both", "orphan", "unknown_loss", "drw_bce"} & set(STRATEGIES)


def test_config_validation():
    with pytest.raises(ValueError, match="metric"):
        CompareConfig(metric="auc")
    with pytest.raises(ValueError, match="seeds"):
        CompareConfig(seeds=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)


def test_same_initial_weights_for_every_strategy_of_a_seed():
    cfg = TrainConfig()
    torch.manual_seed(3)
    a = make_model(64, 10, cfg)
    torch.manual_seed(3)
    b = make_model(64, 10, cfg)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_run_compare_statistics_and_posthoc_share_the_base_model():
    splits = load_builtin(20)
    cfg = CompareConfig(
        seeds=2, strategies=("ce", "posthoc_adjusted"), train=TrainConfig(epochs=5, patience=5)
    )
    res = run_compare(splits, cfg)
    assert set(res.reports) == {"ce", "posthoc_adjusted"} and set(res.runs) == {"ce"}
    values = res.values("ce", "balanced_accuracy")
    stats = res.stats("ce", "balanced_accuracy")
    assert stats["mean"] == pytest.approx(np.mean(values))
    assert stats["std"] == pytest.approx(np.std(values, ddof=1))
    # the post-hoc strategy corrects exactly the ce model: subtracting log priors from its logits
    counts = splits.class_counts("train")
    for run, pred in zip(res.runs["ce"], res.predictions["posthoc_adjusted"]):
        adjusted = torch.from_numpy(run.test_logits).double() - torch.from_numpy(
            np.log(counts / counts.sum())
        )
        np.testing.assert_allclose(pred.probs, adjusted.softmax(1).numpy(), rtol=1e-6, atol=1e-9)
    order = res.ranking()
    assert (
        res.stats(order[0], "balanced_accuracy")["mean"]
        >= res.stats(order[1], "balanced_accuracy")["mean"]
    )


def test_within_spread_uses_the_combined_standard_deviation():
    from types import SimpleNamespace

    from counterpoise.compare.runner import CompareResult

    def reports(*values):
        return [SimpleNamespace(balanced_accuracy=v) for v in values]

    res = CompareResult(
        splits=None,
        config=CompareConfig(seeds=3),
        strategies=[],
        runs={},
        predictions={},
        reports={
            "a": reports(0.80, 0.82, 0.84),
            "b": reports(0.79, 0.80, 0.81),
            "c": reports(0.5, 0.51, 0.52),
        },
    )
    # |0.82 - 0.80| = 0.02 < hypot(0.02, 0.01) = 0.0224
    assert res.within_spread("a", "b")
    assert not res.within_spread("a", "c")
    assert res.ranking() == ["a", "b", "c"]
    one = CompareResult(
        splits=None,
        config=CompareConfig(seeds=1),
        strategies=[],
        runs={},
        predictions={},
        reports={"a": reports(0.8), "b": reports(0.8)},
    )
    assert not one.within_spread("a", "b")  # no spread is known with one seed


@pytest.fixture(scope="module")
def small_result():
    splits = load_builtin(20)
    cfg = CompareConfig(
        seeds=1,
        strategies=("ce_inverse", "balanced_softmax", "ldam_drw", "prior_corrected"),
        train=TrainConfig(epochs=10, patience=10),
    )
    return run_compare(splits, cfg)


def test_same_as_strategies_reuse_the_model(small_result):
    res = small_result
    assert set(res.runs) == {"ce_balanced", "logit_adjusted", "ldam_drw"}
    assert res.predictions["ce_inverse"] is res.predictions["ce_balanced"]
    assert res.predictions["balanced_softmax"] is res.predictions["logit_adjusted"]


def test_ldam_probabilities_use_its_scale(small_result):
    probs = small_result.predictions["ldam_drw"][0].probs
    # softmax of raw cosines in [-1, 1] over 10 classes could not exceed e^2 / (e^2 + 9 e^-1) = 0.69
    assert probs.max(1).mean() > 0.7


def test_ldam_selects_a_checkpoint_after_reweighting_started(small_result):
    from counterpoise.compare.strategies import DRW_AT, first_epoch_of

    (run,) = small_result.runs["ldam_drw"]
    assert run.best_epoch - 1 >= first_epoch_of(DRW_AT, 10)


def test_prior_correction_on_a_balanced_test_split_changes_nothing(small_result):
    a = small_result.predictions["prior_corrected"][0].probs
    b = small_result.predictions["ce_balanced"][0].probs
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_prior_correction_moves_to_the_data_prior_on_a_stratified_test_split():
    from counterpoise.compare.strategies import STRATEGIES, Outputs, probabilities
    from counterpoise.weights import class_weights

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3))
    counts = np.array([80, 15, 5])
    prior = counts / counts.sum()
    out = Outputs(logits[:10], np.arange(10) % 3, logits, counts, prior)
    pred = STRATEGIES["prior_corrected"].correct(out)
    w = class_weights(torch.from_numpy(counts), "balanced").double().numpy()
    p = probabilities(logits)
    expected = p * prior / (counts * w)
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(pred.probs, expected, rtol=1e-9)


def test_threshold_tuning_thresholds_the_test_probabilities_at_the_validation_optimum():
    from counterpoise.compare.strategies import STRATEGIES, Outputs, probabilities
    from counterpoise.posthoc import tune_thresholds

    rng = np.random.default_rng(1)
    val, test = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
    y_val = (rng.random(40) < 0.3).astype(np.int64)
    out = Outputs(val, y_val, test, np.array([70, 30]), np.array([0.7, 0.3]))
    pred = STRATEGIES["threshold_tuned"].correct(out)
    t = float(
        tune_thresholds(
            torch.from_numpy(probabilities(val)[:, 1]), torch.from_numpy(y_val)
        ).thresholds
    )
    np.testing.assert_array_equal(pred.pred, (probabilities(test)[:, 1] >= t).astype(np.int64))
