"""The shape of the package: imports point one way, at the top of the files, and the core needs
torch and NumPy alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from _imports import MODULES, SRC, find_cycle, import_graph, imported, reaches

#: The third-party packages that only the extras install.
OPTIONAL = ("sklearn", "scipy", "pyarrow", "rich", "typer", "matplotlib", "PIL")
#: The core: what `pip install counterpoise` alone must run.
CORE = (
    "counterpoise._checks",
    "counterpoise._collectives",
    "counterpoise._io",
    "counterpoise._optional",
    "counterpoise.adaptive",
    "counterpoise.counts",
    "counterpoise.distributed",
    "counterpoise.functional",
    "counterpoise.losses",
    "counterpoise.reduction",
    "counterpoise.samplers",
    "counterpoise.schedules",
    "counterpoise.weights",
)
#: Modules whose own dependencies are an extra, that the core never imports.
ABOVE_CORE = (
    "counterpoise.cli",
    "counterpoise.compare",
    "counterpoise.integrations",
    "counterpoise.metrics",
    "counterpoise.plots",
    "counterpoise.posthoc",
    "counterpoise.segmentation",
)
#: The one import of a package module inside a function: the command line, an extra, from the
#: entry point that explains which extra to install when it is missing.
INNER_ALLOWED = {("counterpoise.__main__", "counterpoise.cli")}


def test_there_is_no_import_cycle():
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_package_modules_are_imported_at_the_top_of_the_file(module):
    # inside functions only optional third-party packages are imported (via _optional.require)
    nested = [
        f"line {line}: {name}"
        for name, line, where in imported(MODULES[module])
        if where == "inner"
        and name.split(".")[0] == "counterpoise"
        and not any(name.startswith(target) for m, target in INNER_ALLOWED if m == module)
    ]
    assert not nested, f"{module} imports package modules inside functions: {nested}"


def test_the_layers_point_one_way():
    graph = import_graph()
    for module in CORE:
        above = {m for m in reaches(graph, module) if m.startswith(ABOVE_CORE)}
        assert not above, f"{module} imports {sorted(above)}"
    # posthoc -> metrics -> plots; calibration a leaf; plots imports nothing it draws
    metrics = [m for m in MODULES if m.startswith("counterpoise.metrics")]
    for module in metrics:
        assert "counterpoise.posthoc" not in reaches(graph, module), module
    assert graph["counterpoise.metrics.calibration"] <= {"counterpoise._checks"}
    assert reaches(graph, "counterpoise.plots") <= {
        "counterpoise._checks",
        "counterpoise._optional",
    }
    # the loss families import neither each other nor the registry that gathers them
    families = ("softmax", "sigmoid", "detection")
    for family in families:
        imports = graph[f"counterpoise.losses.{family}"]
        others = {f"counterpoise.losses.{f}" for f in families if f != family}
        assert not imports & (others | {"counterpoise.losses.registry"}), family


_BLOCK = f"""
import importlib.abc, sys

OPTIONAL = {OPTIONAL!r}

class Missing(importlib.abc.MetaPathFinder):
    # what an environment without the extras looks like
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in OPTIONAL:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC.parent)},
        timeout=300,
    )


def test_the_core_runs_without_the_extras():
    result = _run(
        """
        import torch
        import counterpoise as cp
        from counterpoise import distributed, functional, reduction
        from counterpoise.losses.registry import LOSSES

        labels = torch.tensor([0, 0, 0, 0, 1, 1, 2] * 3)
        counts = cp.class_counts(labels)
        assert cp.count_labels(labels.tolist()).counts.tolist() == [12, 6, 3]
        for scheme in cp.SCHEMES:
            options = {"cost": {"cost": [1.0, 2.0, 3.0]}, "power": {"beta": 0.5}}.get(scheme, {})
            assert torch.isfinite(cp.class_weights(counts, scheme, **options)).all()
        cp.compute_class_weight("balanced", classes=labels.unique().numpy(), y=labels.numpy())
        cp.compute_sample_weight("balanced", labels.numpy())
        targets = (torch.rand(21, 3) < 0.5).float()
        targets[0], targets[1] = 1.0, 0.0
        multilabel = cp.count_labels(targets, multilabel=True)
        for entry in LOSSES.values():
            if entry.task == "multiclass":
                loss = entry.build(counts)
                x = torch.randn(21, 3, requires_grad=True)
                value = loss(x, labels)
                assert value.shape == () or entry.name == "sigmoid_focal"
                value.sum().backward()
            elif entry.task == "multilabel":
                loss = entry.build(multilabel)
                x = torch.randn(21, 3, requires_grad=True)
                loss(x, targets).sum().backward()
            else:
                loss = entry.build(counts)
                x = torch.randn(2, 5, 3, requires_grad=True)
                loss(x, torch.tensor([[0, 3, 1, 3, 2], [3, 3, 2, -100, 0]])).backward()
            assert torch.isfinite(x.grad).all(), entry.name
        assert reduction.reduce(torch.ones(3), "mean").item() == 1.0
        assert distributed.ddp_denominator(labels, loss=cp.FocalLoss(torch.ones(3))).item() == 21
        sampler = cp.ClassBalancedSampler(labels, "balanced", seed=0)
        assert len(list(sampler)) == 21 and set(sampler) <= set(range(21))
        for schedule in (cp.DeferredReweighting(torch.ones(3), start_epoch=1),
                         cp.EffectiveNumberSchedule(counts, epochs=3)):
            schedule.step()
        cp.AdaptiveClassWeights(3).update(torch.randn(21, 3), labels)
        cp.BatchFrequencyWeights(3).update(labels)
        cp.adjust_logits(torch.randn(4, 3), counts / counts.sum())
        cp.describe(counts)
        loaded = sorted({m.split(".")[0] for m in sys.modules} & set(OPTIONAL))
        assert not loaded, loaded
        print("core ok")
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "core ok" in result.stdout


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("cp.load_digits_lt()", "metrics"),
        ("cp.count_labels(path)", "io"),
        ("cp.imbalance_report([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])", "metrics"),
        ("cp.plots.plot_class_distribution([5, 3])", "plots"),
        ("cp.border_weight_map(torch.ones(4, 4, dtype=torch.long))", "segmentation"),
    ],
)
def test_a_feature_of_an_extra_names_the_extra(code, extra, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("label\n0\n1\n")
    result = _run(
        f"""
        import torch
        import counterpoise as cp
        import counterpoise.plots
        path = {str(path)!r}
        try:
            {code}
        except ModuleNotFoundError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"pip install 'counterpoise[{extra}]'" in result.stdout


def test_the_command_line_without_its_extra_says_which_to_install():
    result = _run(
        """
        import runpy
        sys.argv = ["counterpoise", "--help"]
        runpy.run_module("counterpoise", run_name="__main__")
        """
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().splitlines() == [
        "counterpoise: typer is needed here and is not installed: pip install 'counterpoise[cli]'"
    ]
