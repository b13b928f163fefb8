import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoise.metrics import CalibrationBins, imbalance_report
from counterpoise.plots import plot_reliability_bins, plot_reliability_diagram


def _probabilities(seed: int, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = torch.from_numpy(rng.normal(size=(n, c)) * 2).softmax(1).numpy()
    return probs, rng.integers(0, c, n)


def test_ece_matches_torchmetrics():
    from torchmetrics.functional.classification import multiclass_calibration_error

    rng = np.random.default_rng(3)
    for n_bins in (1, 5, 15, 40):
        y = rng.integers(0, 4, 300)
        probs = torch.from_numpy(rng.normal(size=(300, 4)) * 2).softmax(1)
        want = float(multiclass_calibration_error(probs, torch.from_numpy(y), 4, n_bins))
        assert imbalance_report(y, probs.numpy(), n_bins=n_bins).ece == pytest.approx(
            want, abs=1e-6
        )


def test_probabilities_a_hair_outside_the_unit_interval_do_not_change_the_ece():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    p = torch.from_numpy(rng.normal(size=(200, 3))).softmax(1).numpy()
    q = p.copy()
    q[0] = [1.0, -1e-12, 1e-12]
    p[0] = [1.0, 0.0, 0.0]
    assert imbalance_report(y, q).ece == pytest.approx(imbalance_report(y, p).ece, abs=1e-9)


def test_a_bin_holds_the_confidences_above_its_lower_edge_up_to_its_upper_edge():
    # confidences 0.5 (the top of bin 0 of 2), 0.75 and 1.0 (bin 1); the first is wrong
    probs = np.array([[0.5, 0.5], [0.25, 0.75], [0.0, 1.0]])
    bins = CalibrationBins.of(probs, np.array([1, 1, 1]), 2)
    assert bins.count.tolist() == [1, 2]
    np.testing.assert_allclose(bins.confidence, [0.5, 1.75])
    np.testing.assert_allclose(bins.correct, [0.0, 2.0])
    assert bins.ece == pytest.approx((0.5 + 0.25) / 3)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 20), st.integers(1, 4))
def test_bins_of_batches_add_up_to_the_bins_of_the_whole(seed, n_bins, batches):
    probs, y = _probabilities(seed, 60, 3)
    whole = CalibrationBins.of(probs, y, n_bins)
    parts = [CalibrationBins.of(probs[i], y[i], n_bins) for i in np.array_split(range(60), batches)]
    summed = parts[0]
    for part in parts[1:]:
        summed = summed + part
    np.testing.assert_array_equal(summed.count, whole.count)
    np.testing.assert_allclose(summed.confidence, whole.confidence)
    np.testing.assert_allclose(summed.correct, whole.correct)
    assert summed.ece == pytest.approx(whole.ece)


@pytest.mark.parametrize("n_bins", [0, -1, 2.5])
def test_the_number_of_bins_is_a_positive_integer(n_bins):
    probs, y = _probabilities(0, 10, 2)
    with pytest.raises((ValueError, TypeError), match="n_bins"):
        CalibrationBins.of(probs, y, n_bins)
    with pytest.raises((ValueError, TypeError), match="n_bins"):
        plot_reliability_diagram({"m": (probs, y)}, n_bins=n_bins)


@pytest.mark.parametrize("n_bins", [1, 7, 15])
def test_the_reliability_diagram_draws_the_calibration_bins(n_bins):
    probs, y = _probabilities(4, 200, 5)
    drawn = plot_reliability_diagram({"m": (probs, y)}, n_bins=n_bins).axes[0]
    want = plot_reliability_bins({"m": CalibrationBins.of(probs, y, n_bins)}).axes[0]
    got_line, want_line = drawn.get_lines()[1], want.get_lines()[1]
    np.testing.assert_allclose(got_line.get_xdata(), want_line.get_xdata())
    np.testing.assert_allclose(got_line.get_ydata(), want_line.get_ydata())
    legend = [t.get_text() for t in drawn.get_legend().get_texts()]
    assert legend == [t.get_text() for t in want.get_legend().get_texts()]
    assert legend[1] == f"m (ECE {imbalance_report(y, probs, n_bins=n_bins).ece:.3f})"
