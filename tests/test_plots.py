import sys

import numpy as np
import pytest

from counterpoise.plots import plot_class_distribution, save_figure


def test_bars_are_the_counts_largest_first_on_a_log_axis():
    fig = plot_class_distribution([5, 500, 50, 1000], classes=["a", "b", "c", "d"])
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == [1000, 500, 50, 5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["d", "b", "c", "a"]
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert ax.get_ylim()[0] < 1  # bars start below one sample: the smallest is visible
    assert "imbalance ratio 200.0:1" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["1,000", "500", "50", "5"]


def test_moderate_imbalance_is_drawn_on_a_linear_axis_with_the_counts():
    counts = [2741, 37919, 22858, 31235, 5499]  # 13.8:1
    (ax,) = plot_class_distribution(counts).axes
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "samples"
    assert ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.texts] == ["37,919", "31,235", "22,858", "5,499", "2,741"]
    assert plot_class_distribution(counts, log=True).axes[0].get_yscale() == "log"


def test_unsorted_linear_and_many_classes():
    counts = np.arange(1, 101)
    fig = plot_class_distribution(counts, log=False, sort=False)
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == counts.tolist()
    assert ax.get_yscale() == "linear"
    assert ax.get_xticklabels() == []  # too many classes to name


def test_save_figure_writes_png(tmp_path):
    path = save_figure(plot_class_distribution([3, 1]), tmp_path / "d.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="path"):
        save_figure(plot_class_distribution([3, 1]), tmp_path / "nope" / "d.png")


@pytest.mark.parametrize(("counts", "classes"), [([[1, 2]], None), ([], None), ([1, 2], ["a"])])
def test_bad_input(counts, classes):
    with pytest.raises(ValueError):
        plot_class_distribution(counts, classes)


def test_per_class_recall_heatmap_holds_the_values():
    from counterpoise.plots import plot_per_class_recall

    fig = plot_per_class_recall({"a": [0.1, 0.9], "b": [0.5, 0.5]}, ["x", "y"])
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.1, 0.9], [0.5, 0.5]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="recalls"):
        plot_per_class_recall({"a": [0.1]}, ["x", "y"])


def test_confusion_matrix_is_row_normalised():
    from counterpoise.plots import plot_confusion_matrix

    fig = plot_confusion_matrix([[3, 1], [0, 0]], ["p", "q"])
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[0.75, 0.25], [0.0, 0.0]])
    with pytest.raises(ValueError, match="confusion"):
        plot_confusion_matrix([[1, 2, 3]], ["p", "q"])


def test_reliability_points_are_bin_accuracy_against_confidence():
    from counterpoise.plots import plot_reliability_diagram

    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    y = np.array([0, 1, 1, 1])
    fig = plot_reliability_diagram({"m": (probs, y)}, n_bins=5)
    line = fig.axes[0].get_lines()[1]  # the first is the diagonal
    # confidences 0.9, 0.8, 0.7, 0.6 in bins (0.4, 0.6] = {0.6: right}, (0.6, 0.8] = {0.8: wrong,
    # 0.7: right} and (0.8, 1] = {0.9: right}
    np.testing.assert_allclose(line.get_xdata(), [0.6, 0.75, 0.9])
    np.testing.assert_allclose(line.get_ydata(), [1.0, 0.5, 1.0])


def test_training_curves_average_runs_in_one_plot_for_a_few():
    from counterpoise.plots import plot_training_curves

    curves = {"a": [[0.1, 0.2], [0.3]], "b": [[0.5, 0.6]], "c": [[0.5, 0.6]]}
    fig = plot_training_curves(curves)
    (ax,) = fig.axes
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [0.2, 0.2])
    # identical curves share one line, named together
    assert len(lines) == 2 and [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b = c"]


def test_many_training_curves_are_small_multiples_against_the_baseline():
    from counterpoise.plots import plot_training_curves

    curves = {f"s{i}": [[0.1 * i, 0.1 * i + 0.05]] for i in range(12)}
    fig = plot_training_curves(curves, baseline="s0")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 11  # one per strategy, the baseline in each
    assert [ax.get_title() for ax in panels] == [f"s{i}" for i in range(1, 12)]
    for i, ax in enumerate(panels, start=1):
        base, own = ax.get_lines()
        np.testing.assert_allclose(base.get_ydata(), [0.0, 0.05])
        np.testing.assert_allclose(own.get_ydata(), [0.1 * i, 0.1 * i + 0.05])
    with pytest.raises(ValueError, match="baseline"):
        plot_training_curves(curves, baseline="nope")


def test_identical_reliability_lines_are_folded():
    from counterpoise.plots import plot_reliability_diagram

    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    y = np.array([0, 1, 1, 1])
    other = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    fig = plot_reliability_diagram({"a": (probs, y), "b": (other, y), "c": (probs, y)}, n_bins=5)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(fig.axes[0].get_lines()) == 3  # the diagonal, a = c, b
    assert labels[1].startswith("a = c (ECE") and labels[2].startswith("b (ECE")


def _uninstall(monkeypatch, package):
    """Make ``package`` look not installed: every import of it or its submodules fails."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    from counterpoise.plots import plot_confusion_matrix, plot_label_average_precision

    _uninstall(monkeypatch, "matplotlib")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'counterpoise\[plots\]'"):
        plot_class_distribution([3, 1])
    with pytest.raises(ModuleNotFoundError, match="matplotlib is needed here"):
        plot_confusion_matrix([[1, 0], [0, 1]], ["a", "b"])
    with pytest.raises(ModuleNotFoundError, match=r"counterpoise\[plots\]"):
        plot_label_average_precision([0.5, 1.0], [3, 40], ["tail", "head"])
