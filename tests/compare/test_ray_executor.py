"""Comparisons run as Ray tasks on a local Ray instance: the numbers of the local executor,
retries, failed runs that leave the others, and resuming without training finished runs."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import counterpoise as cp
from counterpoise.compare import RayExecutor, RunsFailed

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # Ray's worker processes import this module and the package as this process does
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    if before is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = before


def table(n, seed, rare=4):
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) % rare == 0).long()
    return TensorDataset(torch.randn(n, 5, generator=g) + 1.5 * y[:, None], y)


DATA = (table(80, 0), table(40, 1), table(40, 2))


class Logged:
    """A model factory that writes a line to ``log`` at every call (in whichever process)."""

    def __init__(self, log):
        self.log = str(log)

    def __call__(self):
        with open(self.log, "a") as f:
            f.write("built\n")
        return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))


def lines(path):
    return Path(path).read_text().splitlines() if Path(path).exists() else []


def without_timings(payload):
    payload = dict(payload)
    payload.pop("timings")
    return payload


def test_ray_gives_the_numbers_of_the_local_executor(tmp_path):
    kwargs = {"strategies": ["ce", "ce_balanced", "sampler_balanced", "posthoc_adjusted"]}
    kwargs.update(seeds=2, epochs=3)
    on_ray = cp.compare_model(
        Logged(tmp_path / "a.log"), *DATA, executor="ray", out=tmp_path / "ray", **kwargs
    )
    here = cp.compare_model(
        Logged(tmp_path / "b.log"), *DATA, jobs=1, out=tmp_path / "local", **kwargs
    )
    for name in here.runs:
        for a, b in zip(on_ray.runs[name], here.runs[name]):
            np.testing.assert_array_equal(a.val_logits, b.val_logits)
            np.testing.assert_array_equal(a.test_logits, b.test_logits)
            assert a.best_epoch == b.best_epoch and a.history == b.history
    payloads = [json.loads((tmp_path / d / "results.json").read_text()) for d in ("ray", "local")]
    assert without_timings(payloads[0]) == without_timings(payloads[1])
    assert len(lines(tmp_path / "a.log")) == 1 + 3 * 2  # the probe here, six runs on Ray


def test_an_interrupted_comparison_resumes_without_training_finished_runs(tmp_path):
    log = tmp_path / "calls.log"
    # interrupted after the ce runs: the first call ran only them
    cp.compare_model(
        Logged(log), *DATA, strategies=["ce"], seeds=2, epochs=2, executor="ray", out=tmp_path
    )
    assert len(lines(log)) == 1 + 2
    saved = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*.npz")}
    full = cp.compare_model(
        Logged(log),
        *DATA,
        strategies=["ce", "focal"],
        seeds=2,
        epochs=2,
        executor="ray",
        out=tmp_path,
    )
    assert len(lines(log)) == (1 + 2) + (1 + 2)  # the probe and the focal runs
    for name, mtime in saved.items():  # the ce files were not written again
        assert (tmp_path / "runs" / name).stat().st_mtime_ns == mtime
    assert set(full.reports) == {"ce", "focal"}


def _logits(run):
    val = torch.zeros(10, 2)
    val[:, 1] = float(run.seed)
    return val, val.clone()


def test_a_failed_run_leaves_the_others_and_a_second_call_trains_only_it(tmp_path):
    log = tmp_path / "calls.log"

    def flaky(run):
        with open(log, "a") as f:
            f.write(f"{run.strategy.name} {run.seed}\n")
        if run.strategy.name == "ce_balanced" and not (tmp_path / "fixed").exists():
            raise RuntimeError("out of luck")
        run.begin_epoch(0)
        return _logits(run)

    labels = ([0] * 20 + [1] * 5, [0, 1] * 5, [0, 1] * 5)
    kwargs = {"strategies": ["ce", "ce_balanced", "focal"], "seeds": 2, "out": tmp_path}
    with pytest.raises(RunsFailed) as caught:
        cp.compare_custom(flaky, *labels, executor="ray", **kwargs)
    error = caught.value
    assert {(j.strategy, j.seed) for j in error.failures} == {
        ("ce_balanced", 0),
        ("ce_balanced", 1),
    }
    assert error.finished == 4 and "RuntimeError: out of luck" in str(error)
    assert str(tmp_path / "runs") in str(error)
    assert sorted(lines(log)) == sorted(f"{n} {s}" for n in kwargs["strategies"] for s in (0, 1))
    (tmp_path / "fixed").touch()
    log.unlink()
    result = cp.compare_custom(flaky, *labels, executor="ray", **kwargs)
    assert sorted(lines(log)) == ["ce_balanced 0", "ce_balanced 1"]
    assert set(result.reports) == {"ce", "ce_balanced", "focal"}


def test_a_run_whose_worker_dies_is_retried(tmp_path):
    def dies_once(run):
        marker = tmp_path / f"{run.strategy.name}-{run.seed}"
        if not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies: Ray runs the task again
        return _logits(run)

    labels = ([0] * 20 + [1] * 5, [0, 1] * 5, [0, 1] * 5)
    result = cp.compare_custom(
        dies_once, *labels, strategies=["ce"], seeds=1, executor=RayExecutor(max_retries=1)
    )
    assert result.runs["ce"][0].val_logits[0, 1] == 0.0
    # no retry: seed 1's first attempt fails for good (seed 0's marker is there from above)
    with pytest.raises(RunsFailed, match=r"1 run\(s\) failed, 1 finished: ce \(split 0, seed 1\)"):
        cp.compare_custom(
            dies_once, *labels, strategies=["ce"], seeds=2, executor=RayExecutor(max_retries=0)
        )


def test_executor_settings_are_checked(raises):
    with raises(ValueError, "cpus", "in [1.0, inf]", 0.5):
        RayExecutor(cpus=0.5)
    with raises(ValueError, "max_retries", "an integer >= 0", -1):
        RayExecutor(max_retries=-1)
