"""Finished runs of a comparison saved as they finish, so that an interrupted comparison resumes.

Each finished (strategy, split, seed) run is one ``.npz`` file in a folder (a report folder's
``runs/``): its validation and test outputs, the selected epoch, the epochs trained, the
per-epoch history and the training time. A comparison that finds a run's file there loads it
instead of training again, so running an interrupted comparison again (or a larger one: more
strategies or seeds) trains only the runs that are missing.

Runs are only reused by a comparison of the same settings: the folder's ``settings.json`` holds
a fingerprint of what decides a run's outputs (the labels of every split, the model, the
optimiser, the budget, the metric that selects checkpoints...). When it differs, the saved runs
are removed, with a warning, and every run trains again.

A file is written under a temporary name and then renamed, so that an interruption never
leaves half a file; a file that cannot be read is trained again.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .execution import Job
from .training import RunResult

__all__ = ["RunStore", "fingerprint"]


def fingerprint(settings: Mapping[str, Any], *arrays: np.ndarray) -> str:
    """A hex digest of JSON-able ``settings`` and the contents, shapes and dtypes of ``arrays``.

    Example:
        >>> a = fingerprint({"epochs": 5}, np.array([0, 1, 1]))
        >>> a == fingerprint({"epochs": 5}, np.array([0, 1, 1])), a == fingerprint({"epochs": 6})
        (True, False)
    """
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


class RunStore:
    """A folder of finished runs (see the module's docstring).

    Args:
        folder: where the runs are saved (created when missing).
        settings: what decides a run's outputs, JSON-able; shown in ``settings.json``.
        key: the fingerprint of the settings and data (:func:`fingerprint`).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> store = RunStore(folder, {"epochs": 2}, key="k")
        >>> run = RunResult(np.zeros((2, 3), np.float32), np.ones((4, 3), np.float32), 2, 2)
        >>> store.save(Job("ce", 0, 1), run)
        >>> again = RunStore(folder, {"epochs": 2}, key="k").load([Job("ce", 0, 1), Job("ce", 0, 2)])
        >>> list(again), again[Job("ce", 0, 1)].test_logits.shape
        ([Job(strategy='ce', split=0, seed=1)], (4, 3))
    """

    def __init__(self, folder: str | Path, settings: Mapping[str, Any], *, key: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder / "settings.json"
        previous = _read_json(marker)
        if previous is not None and previous.get("fingerprint") != key:
            stale = list(self.folder.glob("*.npz"))
            if stale:
                warnings.warn(
                    f"{len(stale)} saved run(s) in {self.folder} were made with other settings "
                    "or data: they are removed and the runs train again",
                    stacklevel=3,
                )
            for path in stale:
                path.unlink()
        if previous is None or previous.get("fingerprint") != key:
            _write_text(marker, json.dumps({"fingerprint": key, "settings": settings}, indent=2))

    def path(self, job: Job) -> Path:
        """The file of a job's run."""
        return self.folder / f"{job.strategy}__split{job.split}__seed{job.seed}.npz"

    def save(self, job: Job, run: RunResult) -> None:
        """Save a finished run (replacing an earlier file of the job)."""
        meta = {
            "best_epoch": run.best_epoch,
            "epochs_run": run.epochs_run,
            "history": run.history,
            "seconds": run.seconds,
        }
        target = self.path(job)
        partial = target.with_name(target.name + ".partial")
        with partial.open("wb") as f:
            np.savez(
                f,
                val_logits=run.val_logits,
                test_logits=run.test_logits,
                meta=np.array(json.dumps(meta)),
            )
        os.replace(partial, target)

    def load(self, jobs: Iterable[Job]) -> dict[Job, RunResult]:
        """The saved runs among ``jobs`` (a file that cannot be read is left out)."""
        found: dict[Job, RunResult] = {}
        for job in jobs:
            path = self.path(job)
            if not path.is_file():
                continue
            try:
                with np.load(path) as data:
                    meta = json.loads(str(data["meta"]))
                    found[job] = RunResult(
                        val_logits=data["val_logits"],
                        test_logits=data["test_logits"],
                        best_epoch=int(meta["best_epoch"]),
                        epochs_run=int(meta["epochs_run"]),
                        history={k: list(v) for k, v in meta["history"].items()},
                        seconds=float(meta["seconds"]),
                    )
            except (OSError, KeyError, ValueError, zipfile.BadZipFile):
                continue  # a damaged file: the run trains again
        return found


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text + "\n")
    os.replace(partial, path)
