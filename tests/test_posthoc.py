import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from sklearn import metrics as skm

from counterpoise.datasets import load_digits_lt
from counterpoise.metrics import imbalance_report
from counterpoise.posthoc import (
    TemperatureScaling,
    adjust_logits,
    prior_correction,
    prior_shift,
    tune_tau,
    tune_thresholds,
)

SETTINGS = settings(max_examples=40, deadline=None)


def rng_of(seed):
    return np.random.default_rng(seed)


@st.composite
def logits_and_priors(draw):
    c = draw(st.integers(2, 6))
    n = draw(st.integers(1, 20))
    rng = rng_of(draw(st.integers(0, 2**31 - 1)))
    logits = torch.from_numpy(rng.normal(size=(n, c)) * 3)
    priors = torch.from_numpy(rng.uniform(0.01, 10, size=c))
    return logits, priors


# ---------------------------------------------------------------- adjust_logits, prior_shift


@SETTINGS
@given(logits_and_priors(), st.floats(0, 3))
def test_adjust_logits_is_the_formula(problem, tau):
    logits, priors = problem
    expected = logits - tau * torch.log(priors / priors.sum())
    torch.testing.assert_close(adjust_logits(logits, priors, tau=tau), expected)


@SETTINGS
@given(logits_and_priors())
def test_adjusted_softmax_is_the_posterior_under_a_uniform_prior(problem):
    logits, priors = problem
    uniform = torch.ones_like(priors)
    shifted = prior_shift(logits.softmax(1), priors, uniform)
    torch.testing.assert_close(adjust_logits(logits, priors).softmax(1), shifted)


def test_adjust_logits_broadcasts_over_dimension_1_and_keeps_dtype():
    logits = torch.randn(2, 3, 4, 5, dtype=torch.float16)
    priors = torch.tensor([0.7, 0.2, 0.1])
    out = adjust_logits(logits, priors, tau=0.5)
    assert out.dtype == torch.float16
    flat = logits.float().permute(0, 2, 3, 1).reshape(-1, 3)
    expected = adjust_logits(flat, priors, tau=0.5).reshape(2, 4, 5, 3).permute(0, 3, 1, 2)
    torch.testing.assert_close(out.float(), expected, atol=2e-3, rtol=0)


def test_tau_zero_leaves_logits_unchanged_and_scale_of_priors_does_not_matter():
    logits = torch.randn(5, 3)
    torch.testing.assert_close(adjust_logits(logits, [5, 3, 1], tau=0.0), logits)
    torch.testing.assert_close(
        adjust_logits(logits, [5, 3, 1]), adjust_logits(logits, [50, 30, 10])
    )


@SETTINGS
@given(logits_and_priors(), st.integers(0, 2**31 - 1))
def test_prior_shift_round_trip_and_formula(problem, seed):
    logits, source = problem
    target = torch.from_numpy(rng_of(seed).uniform(0.01, 1, size=source.numel()))
    p = logits.softmax(1)
    q = prior_shift(p, source, target)
    unnormalised = p * (target / target.sum()) / (source / source.sum())
    torch.testing.assert_close(q, unnormalised / unnormalised.sum(1, keepdim=True))
    torch.testing.assert_close(prior_shift(q, target, source), p)


@SETTINGS
@given(logits_and_priors())
def test_prior_correction_divides_by_the_weights(problem):
    logits, weights = problem
    p = logits.softmax(1)
    expected = (p / weights) / (p / weights).sum(1, keepdim=True)
    torch.testing.assert_close(prior_correction(p, weights), expected)
    # a model trained with weights w saw the prior w * pi: correcting is shifting back to pi
    pi = torch.rand_like(weights) + 0.1
    torch.testing.assert_close(prior_correction(p, weights), prior_shift(p, weights * pi, pi))


def test_empty_batches_pass_through():
    assert prior_correction(torch.zeros(0, 3), [1, 2, 3]).shape == (0, 3)
    assert adjust_logits(torch.zeros(0, 3), [1, 2, 3]).shape == (0, 3)


def test_prior_correction_keeps_shape_and_half_precision():
    p = torch.randn(2, 3, 4).softmax(1).half()
    out = prior_correction(p, [1.0, 2.0, 4.0])
    assert out.shape == p.shape and out.dtype == torch.float16
    flat = prior_correction(p.float().transpose(1, 2).reshape(-1, 3), [1.0, 2.0, 4.0])
    torch.testing.assert_close(
        out.float(), flat.reshape(2, 4, 3).transpose(1, 2), atol=1e-3, rtol=0
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("ratio", [1e-50, 1e-300, 5e-324, 1e50, 1e300])
def test_extreme_weight_ratios_give_finite_normalised_rows(dtype, ratio):
    p = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [1e-3, 1 - 1e-3]], dtype=dtype)
    for q in (prior_correction(p, [1.0, ratio]), prior_shift(p, [1.0, ratio], [1.0, 1.0])):
        assert q.dtype == dtype and bool(torch.isfinite(q).all())
        torch.testing.assert_close(q.double().sum(1), torch.ones(4, dtype=torch.float64))
        # a class that certainly is (or is not) the answer stays so
        assert q[1].tolist() == [1.0, 0.0] and q[2].tolist() == [0.0, 1.0]
    # the class whose weight is far smaller wins every row where it has probability
    winner = 1 if ratio < 1 else 0
    q = prior_correction(p, [1.0, ratio])
    assert q[0, winner].item() == pytest.approx(1.0) and q[3, winner].item() == pytest.approx(1.0)


def test_extreme_ratios_agree_with_exact_arithmetic():
    p = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
    weights = [1.0, 1e-200, 1e-201]
    # p / w = (0.7, 2e199, 1e200): normalised, (0, 1/6, 5/6) to double precision
    expected = torch.tensor([[0.0, 1 / 6, 5 / 6]], dtype=torch.float64)
    torch.testing.assert_close(prior_correction(p, weights), expected)
    torch.testing.assert_close(prior_shift(p, weights, [1.0, 1.0, 1.0]), expected)


# ---------------------------------------------------------------- tune_tau


@settings(max_examples=15, deadline=None)
@given(logits_and_priors(), st.integers(0, 2**31 - 1))
def test_tune_tau_picks_the_best_candidate(problem, seed):
    logits, priors = problem
    n, c = logits.shape
    targets = torch.from_numpy(rng_of(seed).integers(0, c, n))
    taus = [0.0, 0.5, 1.0, 1.5, 3.0]
    result = tune_tau(logits, targets, priors, taus=taus, metric="macro_f1")
    values = []
    for tau in taus:
        pred = (logits - tau * torch.log(priors / priors.sum())).argmax(1)
        values.append(skm.f1_score(targets, pred, average="macro", zero_division=0))
    np.testing.assert_allclose(result.values, values)
    best = max(values)
    ties = [t for t, v in zip(taus, values) if abs(v - result.value) <= 1e-12]
    assert result.value == pytest.approx(best)
    assert result.tau == min(ties, key=lambda t: (abs(t - 1), t))


# ---------------------------------------------------------------- tune_thresholds


@st.composite
def threshold_problem(draw, every_label_positive=True):
    n = draw(st.integers(1, 40))
    labels = draw(st.integers(1, 3))
    rng = rng_of(draw(st.integers(0, 2**31 - 1)))
    levels = draw(st.sampled_from([3, 10, 1000]))  # few levels give many ties
    scores = rng.integers(0, levels, size=(n, labels)) / levels
    targets = rng.integers(0, 2, size=(n, labels))
    if every_label_positive:
        targets[rng.integers(0, n), :] = 1
    else:
        targets *= rng.random(labels) < 0.7  # some labels without positives
    return torch.from_numpy(scores), torch.from_numpy(targets)


def counts_at(s, y, t):
    """TP, FP, FN of predicting positive where s >= t, counted from scratch."""
    pred = s >= t
    return (
        int(np.sum(pred & (y == 1))),
        int(np.sum(pred & (y == 0))),
        int(np.sum(~pred & (y == 1))),
    )


def brute_force(scores, targets, objective):
    """Per label, (objective, threshold, predicted positives) at every threshold that matters.

    Independently of the code under test: every distinct score, +inf (nothing predicted), and
    a dense set of values between and around the scores (which can only repeat predictions).
    """
    out = []
    for s, y in zip(scores.T.tolist(), targets.T.tolist()):
        s, y = np.array(s), np.array(y)
        distinct = np.unique(s)
        between = (distinct[:-1] + distinct[1:]) / 2
        dense = np.linspace(s.min() - 1, s.max() + 1, 301)
        table = []
        for t in [*distinct, *between, *dense, math.inf]:
            tp, fp, fn = counts_at(s, y, t)
            table.append((objective(tp, fp, fn, len(s)), t, tp + fp))
        out.append(table)
    return out


def check_against(result, scores, targets, objective, maximise):
    table = brute_force(scores, targets, objective)
    for k, candidates in enumerate(table):
        values = np.array([v for v, _, _ in candidates])
        best = values.max() if maximise else values.min()
        assert result.values[k].item() == pytest.approx(best, rel=1e-12, abs=1e-12)
        # the returned threshold, applied from scratch, reaches the optimum ...
        s, y = scores[:, k].numpy(), targets[:, k].numpy()
        threshold = result.thresholds[k].item()
        tp, fp, fn = counts_at(s, y, threshold)
        assert objective(tp, fp, fn, len(s)) == pytest.approx(best, rel=1e-12, abs=1e-12)
        # ... is a score or +inf, and of the optimal predictions has the fewest positives
        assert threshold == math.inf or threshold in s
        ties = [p for v, _, p in candidates if abs(v - best) <= 1e-12 * max(1.0, abs(best))]
        assert tp + fp == min(ties)


def fbeta_of(beta):
    def fbeta(tp, fp, fn, n):
        return (1 + beta**2) * tp / ((1 + beta**2) * tp + beta**2 * fn + fp)

    return fbeta


@SETTINGS
@given(threshold_problem(), st.floats(0.25, 4))
def test_fbeta_thresholds_match_brute_force(problem, beta):
    scores, targets = problem
    result = tune_thresholds(scores, targets, metric="fbeta", beta=beta)
    check_against(result, scores, targets, fbeta_of(beta), maximise=True)
    assert bool(torch.isfinite(result.thresholds).all())  # a label with positives never gets inf


@SETTINGS
@given(threshold_problem())
def test_f1_thresholds_match_brute_force_and_scikit_learn(problem):
    scores, targets = problem
    result = tune_thresholds(scores, targets)
    check_against(result, scores, targets, fbeta_of(1.0), maximise=True)
    for k in range(scores.shape[1]):
        pred = scores[:, k] >= result.thresholds[k]
        assert result.values[k].item() == pytest.approx(skm.f1_score(targets[:, k], pred))


@SETTINGS
@given(threshold_problem(every_label_positive=False), st.floats(0.01, 100))
def test_cost_thresholds_match_brute_force(problem, ratio):
    scores, targets = problem
    result = tune_thresholds(scores, targets, metric="cost", cost_ratio=ratio)
    check_against(result, scores, targets, lambda tp, fp, fn, n: (fp + ratio * fn) / n, False)


@pytest.mark.parametrize(
    ("scores", "targets", "ratio", "cost"),
    [
        ([0.6, 0.5, 0.4, 0.3], [0, 1, 0, 0], 0.5, 0.125),  # one missed positive: 0.5 / 4
        ([0.9, 0.1], [0, 0], 1.0, 0.0),  # no positives: predicting none is free
    ],
)
def test_cost_can_choose_to_predict_no_positive(scores, targets, ratio, cost):
    result = tune_thresholds(
        torch.tensor(scores), torch.tensor(targets), metric="cost", cost_ratio=ratio
    )
    assert result.thresholds.item() == math.inf and result.thresholds.dtype == torch.float32
    assert result.values.item() == pytest.approx(cost)
    assert not bool((torch.tensor(scores) >= result.thresholds).any())


def test_thresholds_of_integer_scores_are_float64():
    scores = torch.tensor([3, 1, 2, 0])
    targets = torch.tensor([1, 0, 1, 0])
    result = tune_thresholds(scores, targets)
    assert result.thresholds.dtype == torch.float64 and result.thresholds.item() == 2.0
    none = tune_thresholds(scores, torch.zeros(4, dtype=torch.long), metric="cost", cost_ratio=1)
    assert none.thresholds.dtype == torch.float64 and none.thresholds.item() == math.inf
    half = tune_thresholds(scores.half(), targets.bool())
    assert half.thresholds.dtype == torch.float16


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_unsigned_targets_and_scores_are_accepted(dtype):
    scores, targets = np.array([3, 1, 2, 0], dtype=dtype), np.array([1, 0, 1, 0], dtype=dtype)
    expected = tune_thresholds(scores.astype(np.int64), targets.astype(np.int64))
    assert tune_thresholds(scores, targets) == expected
    assert tune_thresholds(torch.from_numpy(scores), torch.from_numpy(targets)) == expected
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]])
    labels = torch.from_numpy(np.array([0, 1, 1, 0], dtype=dtype))
    fitted = TemperatureScaling().fit(logits, labels).temperature
    assert fitted == TemperatureScaling().fit(logits, labels.long()).temperature
    with pytest.raises(ValueError, match=r"`targets` must be class indices in \[0, 2\), got '2"):
        tune_tau(logits, torch.from_numpy(np.array([0, 1, 2, 0], dtype=dtype)), [1, 1])


def test_binary_scores_give_scalar_thresholds_and_work_with_bool_targets():
    scores = torch.tensor([0.9, 0.2, 0.6, 0.6, 0.1], dtype=torch.float32)
    targets = torch.tensor([True, False, True, False, False])
    thr, value = tune_thresholds(scores, targets)
    assert thr.shape == () and thr.dtype == torch.float32
    # 0.9 alone: F1 = 2/3; 0.6 and up: TP 2, FP 1 -> F1 = 0.8
    assert thr.item() == pytest.approx(0.6) and value.item() == pytest.approx(0.8)
    multi = tune_thresholds(scores[:, None], targets[:, None].long())
    assert multi.thresholds.shape == (1,) and multi.thresholds[0] == thr


# ---------------------------------------------------------------- TemperatureScaling


def nll(logits, targets):
    return F.cross_entropy(logits, targets).item()


@pytest.fixture(scope="module")
def overconfident():
    gen = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 4, (300,), generator=gen)
    logits = torch.randn(300, 4, generator=gen, dtype=torch.float64)
    logits[torch.arange(300), targets] += 1.0
    return logits * 4, targets  # confident beyond what the 1.0 margin justifies


def test_temperature_matches_a_scalar_minimiser(overconfident):
    logits, targets = overconfident
    scaler = TemperatureScaling().fit(logits, targets)
    reference = optimize.minimize_scalar(
        lambda log_t: nll(logits / math.exp(log_t), targets), bounds=(-5, 5), method="bounded"
    )
    assert scaler.temperature.item() == pytest.approx(math.exp(reference.x), rel=1e-3)
    with torch.no_grad():
        calibrated = scaler(logits)
    assert nll(calibrated, targets) <= reference.fun + 1e-9
    assert torch.equal(calibrated.argmax(1), logits.argmax(1))
    assert scaler.temperature.item() > 1  # over-confident logits are softened


def test_vector_scaling_matches_a_generic_minimiser(overconfident):
    logits, targets = overconfident
    c = logits.shape[1]
    scaler = TemperatureScaling("vector", num_classes=c).fit(logits, targets)

    def objective(theta):
        t = torch.from_numpy(theta)
        return nll(logits * torch.exp(-t[:c]) + t[c:], targets)

    reference = optimize.minimize(objective, np.zeros(2 * c), method="L-BFGS-B", tol=1e-12)
    with torch.no_grad():
        fitted = nll(scaler(logits), targets)
    assert fitted <= reference.fun + 1e-7
    assert fitted == pytest.approx(reference.fun, abs=1e-5)
    assert fitted < nll(TemperatureScaling().fit(logits, targets)(logits).detach(), targets)


def test_temperature_scaling_state_dict_and_spatial_inputs(overconfident):
    logits, targets = overconfident
    scaler = TemperatureScaling("vector", num_classes=4).fit(logits, targets)
    copy = TemperatureScaling("vector", num_classes=4)
    copy.load_state_dict(scaler.state_dict())
    images = torch.randn(2, 4, 3, 3)
    with torch.no_grad():
        out = copy(images)
        flat = scaler(images.permute(0, 2, 3, 1).reshape(-1, 4))
    torch.testing.assert_close(out, flat.reshape(2, 3, 3, 4).permute(0, 3, 1, 2))


# ---------------------------------------------------------------- the long-tailed digits


@pytest.fixture(scope="module")
def digits():
    """Two logistic regressions on digits-lt (imbalance 100): plain and class-weighted."""
    ds = load_digits_lt(imbalance_factor=100, seed=0)
    x = torch.from_numpy(ds.X_train).double()
    y = torch.from_numpy(ds.y_train)
    counts = torch.bincount(y, minlength=10).double()
    balanced = counts.sum() / (10 * counts)  # N / (C n_c), written out

    def train(weight):
        w = torch.zeros(64, 10, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(10, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(x @ w + b, y, weight=weight) + 1e-3 * w.square().sum()
            loss.backward()
            return loss

        opt.step(closure)
        return lambda features: (torch.from_numpy(features).double() @ w + b).detach()

    return ds, counts, balanced, train(None), train(balanced)


def test_prior_correction_lowers_the_calibration_error_of_a_weighted_model(digits):
    ds, counts, balanced, _, weighted = digits
    # the test split is balanced; repeating each image n_c times gives the training prior
    repeat = counts.long().numpy()[ds.y_test]
    y = np.repeat(ds.y_test, repeat)
    probs = np.repeat(weighted(ds.X_test).softmax(1).numpy(), repeat, axis=0)
    corrected = prior_correction(torch.from_numpy(probs), balanced).numpy()
    before = imbalance_report(y, probs).ece
    after = imbalance_report(y, corrected).ece
    assert after < 0.8 * before


def test_logit_adjustment_raises_balanced_accuracy_of_a_plain_model(digits):
    ds, counts, _, plain, _ = digits
    logits = plain(ds.X_test)
    before = imbalance_report(ds.y_test, logits.argmax(1).numpy()).balanced_accuracy
    after = imbalance_report(ds.y_test, adjust_logits(logits, counts).argmax(1).numpy())
    assert after.balanced_accuracy > before + 0.05
    tuned = tune_tau(plain(ds.X_val), torch.from_numpy(ds.y_val), counts)
    assert tuned.tau > 0
    adjusted = adjust_logits(logits, counts, tau=tuned.tau).argmax(1).numpy()
    assert imbalance_report(ds.y_test, adjusted).balanced_accuracy > before + 0.05


def test_temperature_scaling_lowers_the_nll_on_held_out_data(digits):
    ds, _, _, _, weighted = digits
    val, test = weighted(ds.X_val), weighted(ds.X_test)
    y_val, y_test = torch.from_numpy(ds.y_val), torch.from_numpy(ds.y_test)
    scaler = TemperatureScaling().fit(val, y_val)
    with torch.no_grad():
        assert nll(scaler(test), y_test) < nll(test, y_test)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: adjust_logits(torch.zeros(3), [1, 1, 1]),
            ValueError,
            "`logits` must be a tensor of shape",
        ),
        (
            lambda: adjust_logits(torch.zeros(2, 3, dtype=torch.long), [1, 1, 1]),
            TypeError,
            "floating-point",
        ),
        (
            lambda: adjust_logits(torch.zeros(2, 3), [1, 1]),
            ValueError,
            "`priors` must be a 1-D tensor of length 3",
        ),
        (
            lambda: adjust_logits(torch.zeros(2, 3), [1, 0, 1]),
            ValueError,
            "`priors` must be positive",
        ),
        (
            lambda: adjust_logits(torch.zeros(2, 3), [1, -1, 1]),
            ValueError,
            "`priors` must be non-negative",
        ),
        (
            lambda: adjust_logits(torch.zeros(2, 3), [1, 1, 1], tau=-1),
            ValueError,
            r"`tau` must be in \[0.0, inf\]",
        ),
        (
            lambda: adjust_logits(torch.tensor([[0.0, math.nan]]), [1, 1]),
            ValueError,
            "`logits` must be finite",
        ),
        (lambda: adjust_logits(torch.zeros(2, 2), "ab"), TypeError, "`priors` must be"),
        (
            lambda: tune_tau(torch.zeros(2, 2), torch.tensor([0, 1]), [1, 1], metric="f1"),
            ValueError,
            "`metric` must be one of",
        ),
        (
            lambda: tune_tau(torch.zeros(2, 2), torch.tensor([0, 2]), [1, 1]),
            ValueError,
            r"`targets` must be class indices in \[0, 2\), got '2 at index \(1,\)'",
        ),
        (
            lambda: tune_tau(torch.zeros(2, 2), torch.tensor([0.0, 1.0]), [1, 1]),
            TypeError,
            "`targets` must be integer",
        ),
        (
            lambda: tune_tau(torch.zeros(2, 2), torch.tensor([0, 1]), [1, 1], taus=[]),
            ValueError,
            "`taus` must be a non-empty",
        ),
        (
            lambda: tune_tau(torch.zeros(2, 2), torch.tensor([0, 1]), [1, 1], taus=[-0.5]),
            ValueError,
            r"`taus\[0\]` must be in",
        ),
        (
            lambda: tune_tau(torch.zeros(2, 2, 2), torch.tensor([0, 1]), [1, 1]),
            ValueError,
            "shape \\(N, C\\)",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], metric="auc"),
            ValueError,
            "`metric` must be one of 'f1', 'fbeta', 'cost'",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], beta=2.0),
            ValueError,
            "`beta` must be None when metric='f1' \\(only 'fbeta' uses it\\), got 2.0",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], metric="cost", beta=1.0, cost_ratio=1),
            ValueError,
            "`beta` must be None when metric='cost'",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], metric="fbeta", beta=0),
            ValueError,
            "`beta` must be in",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], metric="cost"),
            ValueError,
            "`cost_ratio` must be given",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], cost_ratio=2.0),
            ValueError,
            "`cost_ratio` must be None",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1], metric="cost", cost_ratio=-1),
            ValueError,
            "`cost_ratio` must be in",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 2]),
            ValueError,
            "`targets` must be 0 or 1, got 2",
        ),
        (
            lambda: tune_thresholds([0.1, 0.2], [0, 1, 1]),
            ValueError,
            "`targets` must be of the shape",
        ),
        (lambda: tune_thresholds([0.1, math.inf], [0, 1]), ValueError, "`scores` must be finite"),
        (lambda: tune_thresholds([], []), ValueError, "`scores` must be a non-empty tensor"),
        (lambda: tune_thresholds([[0.1, 0.2]], [[1, 0]]), ValueError, "none for label 1"),
        (lambda: tune_thresholds(["a"], [1]), TypeError, "`scores` must be"),
        (
            lambda: prior_correction(torch.tensor([[0.5, 0.6]]), [1, 1]),
            ValueError,
            "`probs` must be rows that sum to 1",
        ),
        (
            lambda: prior_correction(torch.tensor([[2.0, -1.0]]), [1, 1]),
            ValueError,
            r"`probs` must be probabilities in \[0, 1\]",
        ),
        (
            lambda: prior_correction(torch.tensor([[0.5, 0.5]]), [1, 0]),
            ValueError,
            "`weights` must be positive",
        ),
        (
            lambda: prior_correction(torch.tensor([[0.5, 0.5]]), [1, math.inf]),
            ValueError,
            "`weights` must be finite",
        ),
        (
            lambda: prior_shift(torch.tensor([[0.5, 0.5]]), [1, 1], [1, 1, 1]),
            ValueError,
            "`target` must be a 1-D tensor of length 2",
        ),
        (
            lambda: TemperatureScaling("matrix"),
            ValueError,
            "`kind` must be one of 'temperature', 'vector'",
        ),
        (lambda: TemperatureScaling("vector"), ValueError, "`num_classes` must be given"),
        (lambda: TemperatureScaling(num_classes=3), ValueError, "`num_classes` must be None"),
        (
            lambda: TemperatureScaling("vector", num_classes=3)(torch.zeros(2, 4)),
            ValueError,
            "`logits` must be 3 classes",
        ),
        (
            lambda: TemperatureScaling().fit(torch.zeros(2, 3), torch.tensor([0, 3])),
            ValueError,
            "`targets` must be class indices",
        ),
        (
            lambda: TemperatureScaling().fit(torch.zeros(2, 3), torch.tensor([0, 1]), max_iter=0),
            ValueError,
            "`max_iter` must be an integer larger than 0",
        ),
    ],
)
def test_invalid_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
