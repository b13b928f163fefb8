"""Executing a comparison's independent training runs: in this process or in worker processes.

Every (strategy, split, seed) run is independent of the others. Each runs with one PyTorch
thread, in this process one after another (``jobs=1``) or in ``jobs`` worker processes at once,
and gives the same numbers either way: a run's result depends only on its strategy, split and
seed. One thread per run keeps a comparison fast on a busy machine, where PyTorch's default
thread pool (a thread per core, each waiting for the slowest) slows down several-fold.

Worker processes are forked where the platform allows it (Linux), so they share the data and
see every strategy registered in this process; elsewhere they are spawned, and see the
strategies registered when ``counterpoise`` is imported.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from .._checks import fail
from .data import Splits
from .references import REFERENCES, reference_run
from .strategies import STRATEGIES
from .training import RunResult, TrainConfig, train_run

__all__ = [
    "Executor",
    "Job",
    "LocalExecutor",
    "RunJob",
    "RunSettings",
    "RunsFailed",
    "TableRun",
    "available_cores",
    "execute",
    "one_thread",
]


@dataclass(frozen=True, order=True)
class Job:
    """One training run: a strategy on a split with a seed."""

    strategy: str
    split: int
    seed: int


@dataclass(frozen=True)
class RunSettings:
    """What every run of a comparison shares: the data, the training settings, the metric that
    selects checkpoints and the label groups of multilabel data."""

    splits: Splits
    train: TrainConfig
    metric: str
    boundaries: tuple[float, float] | None = None


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """PyTorch's intra-op threads set to 1 inside the block (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _SplitCache:
    """The k-th split of the data, made when first asked for; the last one is kept."""

    def __init__(self, splits: Splits) -> None:
        self.base = splits
        self.kept: tuple[int, Splits] = (0, splits)

    def get(self, k: int) -> Splits:
        if self.kept[0] != k:
            self.kept = (k, self.base.resplit(k))
        return self.kept[1]


class RunJob(Protocol):
    """What trains one job: called with the job and a per-epoch callback (or None), it returns
    the run's outputs."""

    def __call__(self, job: Job, on_epoch: Callable[[int], Any] | None) -> RunResult: ...


class TableRun:
    """Trains a job of a table comparison: the MLP of :func:`~counterpoise.compare.training.
    train_run` on the job's split (made when first needed, the last one kept), or for a job
    named after a reference model (:data:`~counterpoise.compare.references.REFERENCES`) that
    model."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self._cache: _SplitCache | None = None

    def __getstate__(self) -> dict[str, Any]:  # sent to spawned workers without the cache
        return {"settings": self.settings, "_cache": None}

    def __call__(self, job: Job, on_epoch: Callable[[int], Any] | None) -> RunResult:
        if self._cache is None:
            self._cache = _SplitCache(self.settings.splits)
        if job.strategy in REFERENCES:
            return reference_run(job.strategy, self._cache.get(job.split), seed=job.seed)
        strategy = STRATEGIES.get(job.strategy)
        if strategy is None:
            fail(
                "strategies",
                "strategies registered when counterpoise is imported (worker processes are "
                "spawned on this platform), or jobs=1",
                job.strategy,
            )
        settings = self.settings
        return train_run(
            strategy,
            self._cache.get(job.split),
            settings.train,
            seed=job.seed,
            metric=settings.metric,
            boundaries=settings.boundaries,
            on_epoch=on_epoch,
        )


# the job runner of a worker process, set once when it starts (inherited when forked)
_WORKER: dict[str, RunJob] = {}


def _start_worker(run: RunJob | None) -> None:
    torch.set_num_threads(1)
    if run is not None:
        _WORKER["run"] = run


def _worker_run(job: Job) -> RunResult:
    return _WORKER["run"](job, None)


def execute(
    jobs: Sequence[Job],
    run: RunJob,
    *,
    workers: int = 1,
    device: str = "cpu",
    on_epoch: Callable[[Job, int], Any] | None = None,
    on_done: Callable[[Job, RunResult], Any] | None = None,
) -> dict[Job, RunResult]:
    """Run every job, each with one PyTorch thread.

    Args:
        jobs: the runs, in the order they start.
        run: what trains a job (e.g. a :class:`TableRun`).
        workers: processes that run jobs at once; 1 runs them here, one after another (as do
            runs on a GPU, which worker processes would contend for).
        device: where the runs train.
        on_epoch: called with a job and each epoch it finishes (runs in this process only).
        on_done: called with each job and its result as it finishes.

    Returns:
        Each job's result.
    """
    results: dict[Job, RunResult] = {}
    if workers <= 1 or len(jobs) <= 1 or torch.device(device).type != "cpu":
        with one_thread():
            for job in jobs:
                tick = None if on_epoch is None else _bind(on_epoch, job)
                results[job] = run(job, tick)
                if on_done is not None:
                    on_done(job, results[job])
        return results
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    _WORKER["run"] = run  # forked workers inherit it; spawned ones receive it pickled
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(None if method == "fork" else run,),
    ) as pool:
        pending: dict[Future[RunResult], Job] = {pool.submit(_worker_run, j): j for j in jobs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    results[job] = future.result()
                    if on_done is not None:
                        on_done(job, results[job])
        except BrokenProcessPool:
            raise RuntimeError(
                "a worker process of the comparison stopped (out of memory?); run with fewer "
                "jobs (--jobs) or jobs=1"
            ) from None
        finally:
            for future in pending:
                future.cancel()
    return results


class Executor(Protocol):
    """What runs a comparison's jobs: called with the jobs, what trains one, and the callbacks
    of :func:`execute`, it returns each job's result (calling ``on_done`` as each finishes)."""

    def __call__(
        self,
        jobs: Sequence[Job],
        run: RunJob,
        *,
        on_epoch: Callable[[Job, int], Any] | None = None,
        on_done: Callable[[Job, RunResult], Any] | None = None,
    ) -> dict[Job, RunResult]: ...


@dataclass(frozen=True)
class LocalExecutor:
    """Runs jobs on this machine by :func:`execute`: in ``workers`` worker processes at once,
    or in this process (``workers=1``, or a device other than the CPU).

    Example:
        >>> ran = LocalExecutor()([Job("ce", 0, 1)], lambda job, tick: f"trained {job.strategy}")
        >>> ran[Job("ce", 0, 1)]
        'trained ce'
    """

    workers: int = 1
    device: str = "cpu"

    def __call__(
        self,
        jobs: Sequence[Job],
        run: RunJob,
        *,
        on_epoch: Callable[[Job, int], Any] | None = None,
        on_done: Callable[[Job, RunResult], Any] | None = None,
    ) -> dict[Job, RunResult]:
        return execute(
            jobs, run, workers=self.workers, device=self.device, on_epoch=on_epoch, on_done=on_done
        )


class RunsFailed(RuntimeError):
    """Some runs of a comparison failed for good (after any retries); the others finished.

    Attributes:
        failures: each failed job with its error, in words.
        finished: how many runs finished.
        saved: the folder the finished runs are saved in, or None.
    """

    def __init__(self, failures: dict[Job, str], finished: int, saved: str | None = None) -> None:
        self.failures = failures
        self.finished = finished
        self.saved = saved
        listed = "; ".join(
            f"{j.strategy} (split {j.split}, seed {j.seed}): {e}" for j, e in failures.items()
        )
        kept = (
            ""
            if saved is None
            else f". The finished runs are saved in {saved}: running the comparison again with "
            "the same report folder runs only the others"
        )
        super().__init__(f"{len(failures)} run(s) failed, {finished} finished: {listed}{kept}")


def _bind(on_epoch: Callable[[Job, int], Any], job: Job) -> Callable[[int], Any]:
    return lambda epoch: on_epoch(job, epoch)
