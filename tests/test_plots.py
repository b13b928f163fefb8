import numpy as np
import pytest

from counterpoise.plots import plot_class_distribution, save_figure


def test_bars_are_the_counts_largest_first_on_a_log_axis():
    fig = plot_class_distribution([5, 500, 50], classes=["a", "b", "c"])
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == [500, 50, 5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "c", "a"]
    assert ax.get_yscale() == "log"
    assert "imbalance ratio 100:1" in ax.get_title()


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
