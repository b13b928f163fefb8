import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.counts import LabelCounts
from counterpoise.schedules import (
    DeferredReweighting,
    EffectiveNumberSchedule,
    InterpolatedWeights,
)

SETTINGS = settings(max_examples=60, deadline=None)

vectors = st.integers(1, 6).flatmap(
    lambda c: st.tuples(
        st.lists(st.floats(0, 50, width=32, allow_subnormal=False), min_size=c, max_size=c),
        st.lists(st.floats(0, 50, width=32, allow_subnormal=False), min_size=c, max_size=c),
    )
)


def effective_weights(counts, beta):
    """Cui et al.: w_c = (1 - beta) / (1 - beta^n_c), rescaled to sum to C."""
    counts = np.asarray(counts, dtype=np.float64)
    w = (1 - beta) / (1 - beta**counts) if beta > 0 else np.ones_like(counts)
    return w * len(counts) / w.sum()


@SETTINGS
@given(vectors, st.integers(0, 20), st.integers(0, 30))
def test_deferred_reweighting_is_uniform_then_the_weights(pair, start, epoch):
    weights, _ = pair
    drw = DeferredReweighting(torch.tensor(weights), start_epoch=start)
    expected = torch.tensor(weights) if epoch >= start else torch.ones(len(weights))
    assert torch.equal(drw.weights_at(epoch), expected)


@SETTINGS
@given(vectors, st.integers(1, 10), st.integers(0, 5), st.integers(0, 30), st.booleans())
def test_interpolation_follows_the_formula(pair, epochs, start_epoch, epoch, cosine):
    start, end = pair
    ramp = InterpolatedWeights(
        start, end, epochs=epochs, start_epoch=start_epoch, curve="cosine" if cosine else "linear"
    )
    t = min(1.0, max(0.0, (epoch - start_epoch) / epochs))
    f = (1 - math.cos(math.pi * t)) / 2 if cosine else t
    expected = [a + f * (b - a) for a, b in zip(start, end)]
    np.testing.assert_allclose(ramp.weights_at(epoch).numpy(), expected, rtol=1e-5, atol=1e-4)
    if epoch <= start_epoch:
        np.testing.assert_allclose(ramp.weights_at(epoch).numpy(), start, rtol=1e-6)
    if epoch >= start_epoch + epochs:
        np.testing.assert_allclose(ramp.weights_at(epoch).numpy(), end, rtol=1e-6)


@SETTINGS
@given(
    st.lists(st.integers(1, 5000), min_size=2, max_size=6),
    st.sampled_from([0.0, 0.5, 0.9]),
    st.sampled_from([0.99, 0.999, 0.9999]),
    st.integers(1, 10),
    st.integers(0, 12),
)
def test_effective_number_schedule_interpolates_log_one_minus_beta(
    counts, beta_start, beta_end, epochs, epoch
):
    schedule = EffectiveNumberSchedule(
        counts, epochs=epochs, beta_start=beta_start, beta_end=beta_end
    )
    t = min(1.0, epoch / epochs)
    beta = 1 - (1 - beta_start) ** (1 - t) * (1 - beta_end) ** t
    assert schedule.beta_at(epoch) == pytest.approx(beta, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(
        schedule.weights_at(epoch).numpy(), effective_weights(counts, beta), rtol=1e-4
    )


def test_effective_number_schedule_starts_uniform_and_ends_at_beta_end():
    schedule = EffectiveNumberSchedule([500, 50, 5], epochs=3, start_epoch=2, curve="cosine")
    assert torch.allclose(schedule.weights_at(2), torch.ones(3))
    assert schedule.beta_at(5) == pytest.approx(0.9999, rel=1e-12)
    np.testing.assert_allclose(
        schedule.weights_at(7).numpy(), effective_weights([500, 50, 5], 0.9999), rtol=1e-5
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.tensor([300.0, 30.0, 3.0]),
        lambda: np.array([300, 30, 3]),
        lambda: [300, 30, 3],
        lambda: LabelCounts(torch.tensor([300, 30, 3]), (0, 1, 2), num_samples=333),
    ],
    ids=["tensor", "array", "list", "label-counts"],
)
def test_effective_number_schedule_copies_the_counts(make):
    counts = make()
    schedule = EffectiveNumberSchedule(counts, epochs=2, normalize="samples")
    before = [schedule.weights_at(e) for e in range(3)]
    # changing the caller's counts in place after construction changes nothing inside
    if isinstance(counts, LabelCounts):
        counts.counts[0] = 1  # the frozen dataclass still holds a mutable tensor
    else:
        counts[0] = 1
    assert all(torch.equal(a, schedule.weights_at(e)) for e, a in enumerate(before))


def make_schedules():
    return [
        DeferredReweighting(torch.tensor([0.2, 1.0, 5.0]), start_epoch=3),
        InterpolatedWeights([1.0, 1.0, 1.0], [0.2, 1.0, 5.0], epochs=4, curve="cosine"),
        EffectiveNumberSchedule([300, 30, 3], epochs=5, start_epoch=1),
    ]


@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize("stop", [0, 2, 4, 7])
def test_a_resumed_schedule_continues_exactly(index, stop):
    uninterrupted = make_schedules()[index]
    reference = [uninterrupted.weights] + [uninterrupted.step() for _ in range(9)]

    first = make_schedules()[index]
    for _ in range(stop):
        first.step()
    checkpoint = first.state_dict()
    resumed = make_schedules()[index]
    resumed.load_state_dict(checkpoint)
    assert resumed.epoch == stop
    continued = [resumed.weights] + [resumed.step() for _ in range(9 - stop)]
    for a, b in zip(reference[stop:], continued):
        assert torch.equal(a, b)


def test_weights_drive_a_loss_and_are_copies():
    logits, target = torch.randn(8, 3), torch.tensor([0, 0, 0, 0, 0, 1, 1, 2])
    weights = torch.tensor([0.2, 1.0, 5.0])
    drw = DeferredReweighting(weights, start_epoch=1)
    torch.testing.assert_close(
        F.cross_entropy(logits, target, weight=drw.weights), F.cross_entropy(logits, target)
    )
    late = drw.step()
    torch.testing.assert_close(
        F.cross_entropy(logits, target, weight=late),
        F.cross_entropy(logits, target, weight=weights),
    )
    late.mul_(0)  # changing what was returned changes nothing inside
    weights.mul_(0)  # nor does changing the input after construction
    assert torch.equal(drw.weights, torch.tensor([0.2, 1.0, 5.0]))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: DeferredReweighting([1.0, -1.0], start_epoch=1),
            ValueError,
            "`weights` must be non-negative",
        ),
        (
            lambda: DeferredReweighting([[1.0]], start_epoch=1),
            ValueError,
            "`weights` must be a 1-D tensor",
        ),
        (lambda: DeferredReweighting([], start_epoch=1), ValueError, "`weights` must be non-empty"),
        (
            lambda: DeferredReweighting([1.0, math.nan], start_epoch=1),
            ValueError,
            "`weights` must be finite",
        ),
        (
            lambda: DeferredReweighting(["a"], start_epoch=1),
            TypeError,
            "`weights` must be a vector of real numbers",
        ),
        (
            lambda: DeferredReweighting([1.0], start_epoch=-1),
            ValueError,
            "`start_epoch` must be an integer >= 0",
        ),
        (
            lambda: DeferredReweighting([1.0], start_epoch=1.5),
            TypeError,
            "`start_epoch` must be an integer",
        ),
        (
            lambda: DeferredReweighting([1.0], start_epoch=1).weights_at(-2),
            ValueError,
            "`epoch` must be an integer >= 0",
        ),
        (
            lambda: InterpolatedWeights([1.0], [1.0, 2.0], epochs=2),
            ValueError,
            r"`end` must be of the shape of `start` \(1,\)",
        ),
        (
            lambda: InterpolatedWeights([1.0], [2.0], epochs=0),
            ValueError,
            "`epochs` must be an integer larger than 0",
        ),
        (
            lambda: InterpolatedWeights([1.0], [2.0], epochs=2, curve="step"),
            ValueError,
            "`curve` must be one of 'linear', 'cosine'",
        ),
        (
            lambda: EffectiveNumberSchedule([10, 1], epochs=2, beta_end=1.0),
            ValueError,
            r"`beta_end` must be in \[0.0, 1.0\)",
        ),
        (
            lambda: EffectiveNumberSchedule([10, 1], epochs=2, beta_start=-0.1),
            ValueError,
            "`beta_start` must be in",
        ),
        (
            lambda: EffectiveNumberSchedule([10, 0], epochs=2),
            ValueError,
            "`counts` must be positive for every class",
        ),
        (
            lambda: EffectiveNumberSchedule([10, 1], epochs=2, normalize="mean"),
            ValueError,
            "`normalize` must be one of",
        ),
        (
            lambda: DeferredReweighting([1.0], start_epoch=1).load_state_dict({"step": 1}),
            ValueError,
            "`state_dict` must be a mapping with the key 'epoch'",
        ),
        (
            lambda: DeferredReweighting([1.0], start_epoch=1).load_state_dict({"epoch": -1}),
            ValueError,
            r"`state_dict\['epoch'\]` must be an integer >= 0",
        ),
    ],
)
def test_invalid_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
