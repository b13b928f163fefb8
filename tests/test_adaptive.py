import numpy as np
import pytest
import torch
import torch.distributed as dist
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support

from counterpoise.adaptive import AdaptiveClassWeights, BatchFrequencyWeights, OnlinePriors
from counterpoise.posthoc import adjust_logits

SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def batches(draw, max_classes=6):
    """A number of classes and a list of label batches drawn from a skewed distribution."""
    c = draw(st.integers(1, max_classes))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    p = rng.dirichlet(np.full(c, 0.5))
    sizes = draw(st.lists(st.integers(0, 30), min_size=1, max_size=6))
    return c, [rng.choice(c, size=n, p=p) for n in sizes]


def reference_priors(c, label_batches, decay, smoothing):
    n = np.zeros(c)
    for labels in label_batches:
        n = decay * n + np.bincount(labels, minlength=c)
    return (n + smoothing) / (n.sum() + c * smoothing)


@SETTINGS
@given(batches(), st.floats(0.05, 1.0), st.floats(0.01, 5))
def test_online_priors_follow_the_formula(problem, decay, smoothing):
    c, label_batches = problem
    priors = OnlinePriors(c, decay=decay, smoothing=smoothing)
    for labels in label_batches:
        out = priors.update(torch.from_numpy(labels))
    expected = reference_priors(c, label_batches, decay, smoothing)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    assert out.dtype == torch.float32 and bool((out > 0).all())


def test_online_priors_without_decay_are_the_smoothed_stream_frequencies():
    priors = OnlinePriors(3, smoothing=0.5)
    torch.testing.assert_close(priors.priors, torch.full((3,), 1 / 3))
    priors.update(torch.tensor([[0, 0], [1, 0]]))  # any shape of labels
    priors.update(torch.tensor([2, 0, 0, 0, 1]))
    counts = torch.tensor([6.0, 2.0, 1.0], dtype=torch.float64)
    assert torch.equal(priors.counts, counts)
    torch.testing.assert_close(priors.priors, ((counts + 0.5) / 10.5).float())


def test_online_priors_feed_logit_adjustment():
    labels = torch.tensor([0] * 90 + [1] * 9 + [2])
    priors = OnlinePriors(3, smoothing=1e-6)
    for batch in labels[torch.randperm(100)].split(16):
        priors.update(batch)
    logits = torch.randn(5, 3)
    torch.testing.assert_close(
        adjust_logits(logits, priors.priors), adjust_logits(logits, [90.0, 9.0, 1.0])
    )


@SETTINGS
@given(batches(), st.floats(0.05, 1.0), st.floats(1.0, 200.0))
def test_batch_frequency_weights_are_capped_inverse_frequencies(problem, decay, max_ratio):
    c, label_batches = problem
    weights = BatchFrequencyWeights(c, decay=decay, max_ratio=max_ratio)
    for labels in label_batches:
        out = weights.update(torch.from_numpy(labels))
    inverse = 1 / reference_priors(c, label_batches, decay, 1.0)
    capped = np.minimum(inverse, max_ratio * inverse.min())
    np.testing.assert_allclose(out.numpy(), c * capped / capped.sum(), rtol=1e-5)
    assert out.max() / out.min() <= max_ratio * (1 + 1e-5)


def reference_adaptive(c, history, *, beta, decay, power, max_ratio, fbeta):
    """The documented update rule, with scikit-learn measuring each batch."""
    m = np.zeros(c)
    seen = np.zeros(c, dtype=bool)
    for pred, y in history:
        if len(y) == 0:  # nothing measured
            continue
        _, recall, f, support = precision_recall_fscore_support(
            y, pred, labels=range(c), beta=beta, zero_division=0
        )
        predicted = np.bincount(pred, minlength=c)
        measured = (support > 0) | (predicted > 0) if fbeta else support > 0
        s = f if fbeta else recall
        m = np.where(measured & seen, decay * m + (1 - decay) * s, np.where(measured, s, m))
        seen |= measured
    if not seen.any():
        return np.ones(c)
    d = np.clip(1 - m, 0, None) ** power
    hardest = d[seen].max()
    if hardest == 0:
        return np.ones(c)
    u = np.maximum(np.where(seen, d, hardest), hardest / max_ratio)
    return c * u / u.sum()


@SETTINGS
@given(
    batches(),
    st.integers(0, 2**31 - 1),
    st.booleans(),
    st.floats(0.3, 3),
    st.floats(0, 0.99),
    st.floats(0, 3),
    st.floats(1, 50),
)
def test_adaptive_weights_follow_the_documented_rule(
    problem, seed, fbeta, beta, decay, power, max_ratio
):
    c, label_batches = problem
    rng = np.random.default_rng(seed)
    adaptive = AdaptiveClassWeights(
        c,
        metric="fbeta" if fbeta else "recall",
        beta=beta if fbeta else None,
        decay=decay,
        power=power,
        max_ratio=max_ratio,
    )
    history = []
    out = adaptive.weights
    for y in label_batches:
        # a classifier that is right with a class-dependent probability
        right = rng.random(len(y)) < np.linspace(0.9, 0.2, c)[y]
        pred = np.where(right, y, rng.integers(0, c, len(y)))
        history.append((pred, y))
        out = adaptive.update(torch.from_numpy(pred), torch.from_numpy(y))
    expected = reference_adaptive(
        c, history, beta=beta, decay=decay, power=power, max_ratio=max_ratio, fbeta=fbeta
    )
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-6)
    assert out.sum().item() == pytest.approx(c, rel=1e-5)
    assert out.max() / out.min() <= max_ratio * (1 + 1e-5)


def test_adaptive_weights_favour_the_class_with_low_recall_and_accept_scores():
    adaptive = AdaptiveClassWeights(3, decay=0.5)
    targets = torch.tensor([[0, 1], [2, 2]])  # (N, H) "pixels"
    scores = torch.zeros(2, 3, 2)  # (N, C, H): predicts 0, 0 / 2, 0
    scores[0, 0, :] = 1
    scores[1, 2, 0] = 1
    scores[1, 0, 1] = 1
    w = adaptive.update(scores, targets)
    # recall: class 0 = 1, class 1 = 0, class 2 = 1/2 -> difficulties 0, 1, 1/2, floor 1/10
    expected = torch.tensor([0.1, 1.0, 0.5])
    torch.testing.assert_close(w, 3 * expected / expected.sum())
    torch.testing.assert_close(adaptive.score, torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64))
    # a second batch where class 1 is right: its recall moves halfway (decay 0.5) to 1
    adaptive.update(torch.tensor([1]), torch.tensor([1]))
    assert adaptive.score[1].item() == pytest.approx(0.5)


def test_unmeasured_classes_get_the_largest_difficulty():
    adaptive = AdaptiveClassWeights(3)
    assert torch.equal(adaptive.weights, torch.ones(3))
    assert bool(adaptive.score.isnan().all())
    w = adaptive.update(torch.tensor([0, 1, 0]), torch.tensor([0, 0, 0]))  # class 0: recall 2/3
    torch.testing.assert_close(w, torch.ones(3))  # classes 1 and 2 take class 0's difficulty
    perfect = AdaptiveClassWeights(2)
    assert torch.equal(perfect.update(torch.tensor([0, 1]), torch.tensor([0, 1])), torch.ones(2))


def test_beta_defaults_to_1_for_fbeta_and_is_none_for_recall():
    assert AdaptiveClassWeights(2, metric="fbeta").beta == 1.0
    assert AdaptiveClassWeights(2).beta is None
    pred, y = torch.tensor([0, 0, 1, 1, 0]), torch.tensor([0, 1, 1, 1, 0])
    default = AdaptiveClassWeights(2, metric="fbeta")
    default.update(pred, y)
    explicit = AdaptiveClassWeights(2, metric="fbeta", beta=1.0)
    explicit.update(pred, y)
    f1 = precision_recall_fscore_support(y, pred, beta=1.0, zero_division=0)[2]
    np.testing.assert_allclose(default.score.numpy(), f1)
    assert torch.equal(default.score, explicit.score)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_unsigned_class_indices_are_accepted(dtype):
    y = np.array([0, 2, 1, 2, 2], dtype=dtype)
    pred = np.array([0, 2, 2, 1, 2], dtype=dtype)
    signed = torch.from_numpy(y.astype(np.int64))
    priors = OnlinePriors(3)
    torch.testing.assert_close(priors.update(torch.from_numpy(y)), OnlinePriors(3).update(signed))
    weights = BatchFrequencyWeights(3)
    torch.testing.assert_close(
        weights.update(torch.from_numpy(y)), BatchFrequencyWeights(3).update(signed)
    )
    adaptive = AdaptiveClassWeights(3, metric="fbeta")
    reference = AdaptiveClassWeights(3, metric="fbeta")
    torch.testing.assert_close(
        adaptive.update(torch.from_numpy(pred), torch.from_numpy(y)),
        reference.update(torch.from_numpy(pred.astype(np.int64)), signed),
    )
    bad = torch.from_numpy(np.array([0, 3], dtype=dtype))
    with pytest.raises(ValueError, match=r"`targets` must be class indices in \[0, 3\), got '3"):
        OnlinePriors(3).update(bad)
    with pytest.raises(ValueError, match=r"`predictions` must be class indices in \[0, 3\)"):
        AdaptiveClassWeights(3).update(bad, torch.tensor([0, 1]))


def test_huge_uint64_indices_are_reported_as_given():
    huge = torch.from_numpy(np.array([0, 2**64 - 1], dtype=np.uint64))
    with pytest.raises(ValueError, match=f"got '{2**64 - 1} at index \\(1,\\)'"):
        OnlinePriors(3).update(huge)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("state", ["cpu", "cuda"])
def test_predictions_and_targets_on_different_devices(state):
    scores = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    targets = torch.tensor([0, 1, 1])
    expected = AdaptiveClassWeights(2).update(scores, targets)
    for pred_device, target_device in (("cuda", "cpu"), ("cpu", "cuda"), ("cuda", "cuda")):
        adaptive = AdaptiveClassWeights(2, device=state)
        w = adaptive.update(scores.to(pred_device), targets.to(target_device))
        assert w.device.type == state
        torch.testing.assert_close(w.cpu(), expected)
        priors = OnlinePriors(2, device=state).update(targets.to(target_device))
        assert priors.device.type == state


def make_objects():
    return [
        OnlinePriors(4, decay=0.7, smoothing=0.3),
        BatchFrequencyWeights(4, decay=0.8, max_ratio=20),
        AdaptiveClassWeights(4, metric="fbeta", beta=2.0, decay=0.6, power=2.0),
    ]


def feed(obj, batch):
    pred, y = batch
    if isinstance(obj, AdaptiveClassWeights):
        return obj.update(pred, y)
    return obj.update(y)


@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize("stop", [0, 1, 4])
def test_a_resumed_estimator_continues_exactly(index, stop, tmp_path):
    gen = torch.Generator().manual_seed(index)
    stream = [
        (torch.randint(0, 4, (16,), generator=gen), torch.randint(0, 4, (16,), generator=gen))
        for _ in range(7)
    ]
    uninterrupted = make_objects()[index]
    reference = [feed(uninterrupted, b) for b in stream]

    first = make_objects()[index]
    for b in stream[:stop]:
        feed(first, b)
    torch.save(first.state_dict(), tmp_path / "state.pt")
    resumed = make_objects()[index]
    resumed.load_state_dict(torch.load(tmp_path / "state.pt"))
    for expected, b in zip(reference[stop:], stream[stop:]):
        assert torch.equal(feed(resumed, b), expected)


def test_state_dicts_are_copies():
    priors = OnlinePriors(2)
    state = priors.state_dict()
    priors.update(torch.tensor([0, 0, 1]))
    assert torch.equal(state["counts"], torch.zeros(2, dtype=torch.float64))


def test_counts_are_summed_over_ranks(tmp_path):
    """With a process group, every update all-reduces its counts (one rank here: unchanged)."""
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        priors = OnlinePriors(3)
        priors.update(torch.tensor([0, 0, 2]))
        assert torch.equal(priors.counts, torch.tensor([2.0, 0.0, 1.0], dtype=torch.float64))
        adaptive = AdaptiveClassWeights(2)
        adaptive.update(torch.tensor([0, 0]), torch.tensor([0, 1]))
        torch.testing.assert_close(adaptive.score, torch.tensor([1.0, 0.0], dtype=torch.float64))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: OnlinePriors(0), ValueError, "`num_classes` must be an integer larger than 0"),
        (lambda: OnlinePriors(2, decay=0), ValueError, r"`decay` must be in \(0.0, 1.0\]"),
        (lambda: OnlinePriors(2, smoothing=0), ValueError, "`smoothing` must be in"),
        (
            lambda: OnlinePriors(2).update(torch.tensor([0, 2])),
            ValueError,
            r"`targets` must be class indices in \[0, 2\), got '2 at index \(1,\)'",
        ),
        (
            lambda: OnlinePriors(2).update(torch.tensor([0.0])),
            TypeError,
            "`targets` must be a tensor of integer class indices",
        ),
        (lambda: OnlinePriors(2).update([0, 1]), TypeError, "`targets` must be a tensor"),
        (
            lambda: OnlinePriors(2).load_state_dict(
                {"counts": torch.zeros(3, dtype=torch.float64)}
            ),
            ValueError,
            r"`state_dict\['counts'\]` must be a torch.float64 tensor of shape \(2,\)",
        ),
        (
            lambda: OnlinePriors(2).load_state_dict({}),
            ValueError,
            "`state_dict` must be a mapping with the keys 'counts'",
        ),
        (
            lambda: BatchFrequencyWeights(2, max_ratio=0.5),
            ValueError,
            r"`max_ratio` must be in \[1.0, inf\]",
        ),
        (
            lambda: AdaptiveClassWeights(2, metric="precision"),
            ValueError,
            "`metric` must be one of 'recall', 'fbeta'",
        ),
        (
            lambda: AdaptiveClassWeights(2, beta=2.0),
            ValueError,
            r"`beta` must be None when metric='recall' \(only 'fbeta' uses it\), got 2.0",
        ),
        (
            lambda: AdaptiveClassWeights(2, metric="recall", beta=1.0),
            ValueError,
            "`beta` must be None when metric='recall'",
        ),
        (
            lambda: AdaptiveClassWeights(2, decay=1.0),
            ValueError,
            r"`decay` must be in \[0.0, 1.0\)",
        ),
        (lambda: AdaptiveClassWeights(2, power=-1), ValueError, "`power` must be in"),
        (
            lambda: AdaptiveClassWeights(2).update(torch.zeros(3, 4), torch.tensor([0, 1, 1])),
            ValueError,
            r"`predictions` must be scores of shape \(N, 2, ...\)",
        ),
        (
            lambda: AdaptiveClassWeights(2).update(torch.tensor([0, 1]), torch.tensor([0, 1, 1])),
            ValueError,
            r"`targets` must be a tensor of shape \(2,\)",
        ),
        (
            lambda: AdaptiveClassWeights(2).update(torch.tensor([0, 5]), torch.tensor([0, 1])),
            ValueError,
            "`predictions` must be class indices",
        ),
        (
            lambda: AdaptiveClassWeights(2).update(torch.tensor([True]), torch.tensor([0])),
            TypeError,
            "`predictions` must be a tensor of class indices or scores",
        ),
        (
            lambda: AdaptiveClassWeights(2).load_state_dict(
                {"score": torch.zeros(2, dtype=torch.float64)}
            ),
            ValueError,
            "`state_dict` must be a mapping with the keys 'score', 'seen'",
        ),
    ],
)
def test_invalid_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
