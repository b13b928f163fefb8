"""Running a comparison's jobs as Ray tasks, on this machine or across a cluster (``ray`` extra).

Each (strategy, split, seed) run is one Ray task that asks for the CPUs and GPUs one run needs;
Ray places the tasks on the cluster's nodes as resources free up. What trains a run (the model
factory, the data sets) is put into Ray's object store once and shared by the tasks. Results
come back to this process as each task finishes, so that the comparison saves them at once
(with a report folder: see :mod:`~counterpoise.compare.run_store`).

A task whose worker process or node dies is retried by Ray up to ``max_retries`` times; so is
one that raises, with ``retry_exceptions=True``. A run that still fails does not stop the
others: when every task has finished, :class:`~counterpoise.compare.execution.RunsFailed`
names the failed runs (the finished ones are saved, and a second call runs only the others).

A run gives the same numbers on Ray as in a local worker process: it depends only on its
strategy, split and seed, and trains with as many PyTorch threads as CPUs it asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from .._checks import check_number, check_positive_int
from .._optional import require
from .execution import Job, RunJob, RunsFailed
from .training import RunResult

__all__ = ["RayExecutor"]


def _run_task(run: RunJob, job: Job, threads: int) -> RunResult:
    """One run inside a Ray worker, with ``threads`` PyTorch threads."""
    torch.set_num_threads(threads)
    return run(job, None)


@dataclass(frozen=True)
class RayExecutor:
    """Runs a comparison's jobs as Ray tasks.

    Attributes:
        address: the cluster to connect to when Ray is not initialised in this process yet:
            ``"auto"`` (a cluster started on this node with ``ray start``), ``"ray://HOST:10001"``
            (a remote cluster's Ray client server), ``"local"`` (a new Ray instance here), or
            None (the ``RAY_ADDRESS`` environment variable, else a new instance here). A Ray
            instance started here is shut down after the jobs; one that was initialised
            before (``ray.init(...)``) is used as it is and left running.
        cpus: CPUs each run asks for (and its PyTorch threads), at least 1.
        gpus: GPUs each run asks for: 1 to train on a GPU of its own, a fraction such as 0.25
            to share one GPU among several runs, 0 on the CPU.
        max_retries: how many times Ray runs a task again whose worker or node failed.
        retry_exceptions: also retry a run that raised an exception (one that may pass on
            another try, such as running out of memory); False fails it at once.
    """

    address: str | None = None
    cpus: float = 1.0
    gpus: float = 0.0
    max_retries: int = 2
    retry_exceptions: bool = False

    def __post_init__(self) -> None:
        check_number("cpus", self.cpus, low=1.0)
        check_number("gpus", self.gpus, low=0.0)
        check_positive_int("max_retries", self.max_retries, allow_zero=True)

    def __call__(
        self,
        jobs: Sequence[Job],
        run: RunJob,
        *,
        on_epoch: Callable[[Job, int], Any] | None = None,
        on_done: Callable[[Job, RunResult], Any] | None = None,
    ) -> dict[Job, RunResult]:
        """Run every job as a Ray task; ``on_done`` is called here as each finishes
        (``on_epoch`` is not: the epochs run on other processes)."""
        if not jobs:
            return {}
        ray = require("ray", extra="ray")
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, log_to_driver=False)
        try:
            return self._run(ray, jobs, run, on_done)
        finally:
            if started:
                ray.shutdown()

    def _run(
        self,
        ray: Any,
        jobs: Sequence[Job],
        run: RunJob,
        on_done: Callable[[Job, RunResult], Any] | None,
    ) -> dict[Job, RunResult]:
        task = ray.remote(_run_task).options(
            num_cpus=self.cpus,
            num_gpus=self.gpus,
            max_retries=self.max_retries,
            retry_exceptions=self.retry_exceptions,
        )
        shared = ray.put(run)
        threads = max(1, int(self.cpus))
        pending = {task.remote(shared, job, threads): job for job in jobs}
        results: dict[Job, RunResult] = {}
        failures: dict[Job, str] = {}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        got = ray.get(ref)
                    except ray.exceptions.RayError as error:
                        failures[job] = _reason(error)
                        continue
                    # arrays read from the object store are read-only views: own copies
                    results[job] = replace(
                        got, val_logits=got.val_logits.copy(), test_logits=got.test_logits.copy()
                    )
                    if on_done is not None:
                        on_done(job, results[job])
        finally:
            for ref in pending:  # interrupted: stop what has not finished
                ray.cancel(ref)
        if failures:
            raise RunsFailed(failures, len(results))
        return results


def _reason(error: BaseException) -> str:
    """A failed task's error in one line: the exception the run raised, else Ray's."""
    cause = getattr(error, "cause", None)
    shown = cause if isinstance(cause, BaseException) else error
    first = str(shown).strip().splitlines()
    return f"{type(shown).__name__}: {first[0]}" if first else type(shown).__name__
