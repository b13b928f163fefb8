"""Speed of the pixel weight maps against the distance transforms they need.

Cases:

* a 512 x 512 instance map with ``--instances`` (50) discs of radius 12 to 24 px, placed at
  random so that many touch or overlap (a later disc overwrites an earlier one);
* a 128^3 volume with ``--volume-instances`` (20) balls of radius 10 to 20 voxels, with
  anisotropic voxels (spacing 2 x 1 x 1).

For each, ``border_weight_map`` (w0 = 10, sigma = 5, default cut-off of 6 sigma) is timed against
the bare exact Euclidean distance transforms it needs: one ``scipy.ndimage.distance_transform_edt``
per object, over the object's bounding box widened by the cut-off, with the same spacing. The
exact map without a cut-off (``truncate=None``, one transform of the whole map per object) is
shown too. ``distance_weight_map`` (to the boundary, to the foreground) is timed against the one
whole-map transform it needs. When the ``edt`` package is importable, its multi-threaded-capable
(here single-threaded) transform of the same whole maps is timed as the alternative to scipy.

Times are the best of ``--repeats`` runs, the methods interleaved so that drift of a shared
machine hits them alike.

Usage::

    python benchmarks/bench_segmentation.py [--repeats 5] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _timing import best_times

from counterpoise.segmentation import border_weight_map, distance_weight_map

SIGMA, TRUNCATE = 5.0, 6.0


def balls(shape: tuple[int, ...], count: int, radii: tuple[int, int], seed: int) -> np.ndarray:
    """An instance map of ``count`` random discs (balls), ids 1..count, later ones on top."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    labels = np.zeros(shape, np.int32)
    for k in range(1, count + 1):
        centre = [rng.integers(0, s) for s in shape]
        radius = rng.integers(*radii)
        inside = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2
        labels[inside] = k
    return labels


def bare_transforms(labels: np.ndarray, spacing: tuple[float, ...], radius: float) -> None:
    """The windowed distance transforms that border_weight_map needs, and nothing else."""
    for k, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        window = tuple(
            slice(max(0, s.start - math.ceil(radius / h)), min(n, s.stop + math.ceil(radius / h)))
            for s, h, n in zip(box, spacing, labels.shape)
        )
        ndimage.distance_transform_edt(labels[window] != k, sampling=spacing)


def whole_transforms(labels: np.ndarray, spacing: tuple[float, ...]) -> None:
    for k in np.unique(labels[labels > 0]):
        ndimage.distance_transform_edt(labels != k, sampling=spacing)


def case(
    name: str, labels: np.ndarray, spacing: tuple[float, ...], repeats: int
) -> list[tuple[str, str, float, float]]:
    """Rows (case, method, seconds, ratio to its baseline)."""
    objects = labels > 0
    methods: dict[str, Callable[[], object]] = {
        "border_weight_map": lambda: border_weight_map(labels, sigma=SIGMA, spacing=spacing),
        "bare windowed EDTs (scipy)": lambda: bare_transforms(labels, spacing, TRUNCATE * SIGMA),
        "distance_weight_map, boundary": lambda: distance_weight_map(
            labels, sigma=SIGMA, spacing=spacing
        ),
        "distance_weight_map, foreground": lambda: distance_weight_map(
            labels, distance_to="foreground", sigma=SIGMA, spacing=spacing
        ),
        "one whole-map EDT (scipy)": lambda: ndimage.distance_transform_edt(
            ~objects, sampling=spacing
        ),
    }
    try:
        import edt  # type: ignore[import-not-found]

        methods["one whole-map EDT (edt package)"] = lambda: edt.edt(
            ~objects, anisotropy=spacing, black_border=False, parallel=1
        )
    except ImportError:
        pass
    times = best_times(methods, repeats)
    exact = best_times(
        {
            "border_weight_map, truncate=None": lambda: border_weight_map(
                labels, sigma=SIGMA, spacing=spacing, truncate=None
            ),
            "bare whole-map EDTs (scipy)": lambda: whole_transforms(labels, spacing),
        },
        max(1, repeats // 2),
    )
    windowed, whole = times["bare windowed EDTs (scipy)"], times["one whole-map EDT (scipy)"]
    baseline = {
        "border_weight_map": windowed,
        "bare windowed EDTs (scipy)": windowed,
        "border_weight_map, truncate=None": exact["bare whole-map EDTs (scipy)"],
        "bare whole-map EDTs (scipy)": exact["bare whole-map EDTs (scipy)"],
    }
    rows = []
    for method, seconds in {**times, **exact}.items():
        rows.append((name, method, seconds, seconds / baseline.get(method, whole)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--volume-instances", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    image = balls((512, 512), args.instances, (12, 25), seed=0)
    volume = balls((128, 128, 128), args.volume_instances, (10, 21), seed=1)
    rows = case(f"512 x 512, {len(np.unique(image)) - 1} objects", image, (1.0, 1.0), args.repeats)
    rows += case(
        f"128^3, spacing 2 x 1 x 1, {len(np.unique(volume)) - 1} objects",
        volume,
        (2.0, 1.0, 1.0),
        max(1, args.repeats // 2),
    )

    lines = [
        f"Machine: {platform.machine()}, Python {platform.python_version()}, NumPy "
        f"{np.__version__}, SciPy {scipy.__version__}, torch {torch.__version__}, "
        f"run on {datetime.date.today()}; best of {args.repeats} (volume: "
        f"{max(1, args.repeats // 2)}) interleaved runs. Ratios: weight maps against the bare "
        "transforms they need (border map: the windowed per-object transforms; "
        "truncate=None: whole-map per-object transforms; distance map and the edt package: "
        "one whole-map transform).",
        "",
        "| case | method | time | ratio |",
        "|---|---|---:|---:|",
    ]
    for name, method, seconds, ratio in rows:
        lines.append(f"| {name} | {method} | {seconds * 1e3:.1f} ms | {ratio:.2f}x |")
    text = "\n".join(lines)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
