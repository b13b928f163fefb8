"""The Lightning integration: class-weight buffers and the imbalance report callback.

Trained with the real ``lightning.Trainer`` on the CPU for a few steps; the logged report is
compared with :func:`counterpoise.imbalance_report` on the same predictions, computed by hand.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import counterpoise as cp

SRC = str(Path(__file__).resolve().parents[2] / "src")
C = 3


@pytest.fixture(scope="module")
def pl_cb() -> Any:
    pytest.importorskip("lightning")
    from counterpoise.integrations import lightning as pl_cb

    return pl_cb


def _data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.multinomial(torch.tensor([0.8, 0.15, 0.05]), n, replacement=True, generator=g)
    x = torch.randn(n, 16, generator=g) + 1.5 * F.one_hot(y, 16).float()
    return TensorDataset(x, y)


def _classifier(pl_cb: Any) -> Any:
    import lightning as L

    class Classifier(L.LightningModule):
        # the module docstring's example, with a record of what the loss saw
        def __init__(self, counts: torch.Tensor) -> None:
            super().__init__()
            self.net = torch.nn.Linear(16, len(counts))
            pl_cb.register_class_weights(self, cp.class_weights(counts, "effective", beta=0.999))
            self.seen: list[tuple[torch.dtype, torch.dtype, torch.device]] = []

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            logits = self.net(x)
            self.seen.append((logits.dtype, self.class_weights.dtype, self.class_weights.device))
            return F.cross_entropy(logits, y, weight=self.class_weights)

        def validation_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
            x, y = batch
            logits = self.net(x)
            self.log("val_loss", F.cross_entropy(logits, y, weight=self.class_weights))
            return {"logits": logits, "target": y}

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return Classifier


def _trainer(tmp_path: Path, callback: Any, **options: Any) -> Any:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    settings: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": 2,
        "limit_train_batches": 4,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": CSVLogger(tmp_path, name="run", version=0),
        "callbacks": [callback],
        **options,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. about DataLoader workers on a small machine
        return L.Trainer(**settings)


def _fit(trainer: Any, model: Any, train: TensorDataset, val: TensorDataset) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, DataLoader(train, batch_size=16), DataLoader(val, batch_size=7))


def test_report_is_logged_and_matches_the_predictions(pl_cb: Any, tmp_path: Path) -> None:
    train, val = _data(64, 0), _data(40, 1)
    counts = cp.class_counts(train.tensors[1], num_classes=C)
    model = _classifier(pl_cb)(counts)
    callback = pl_cb.ImbalanceReportCallback(num_classes=C, classes=["a", "b", "c"])
    trainer = _trainer(tmp_path, callback)  # with the default sanity check of 2 batches
    _fit(trainer, model, train, val)

    # the last validation ran on the final model: the same report by hand (on batches of the
    # same size, so that the float32 logits are the same to the bit)
    with torch.no_grad():
        probs = torch.cat([model.net(x).softmax(dim=1) for x in val.tensors[0].split(7)])
    expected = cp.imbalance_report(val.tensors[1], probs, classes=["a", "b", "c"])
    report = callback.report
    assert report is not None and report.classes == ("a", "b", "c")
    np.testing.assert_array_equal(report.confusion, expected.confusion)
    expected_summary = {
        k: v for k, v in expected.summary().items() if k != "macro_average_precision"
    }
    assert report.summary() == pytest.approx(expected_summary, rel=1e-12, abs=1e-12)
    assert set(report.summary()) >= {"balanced_accuracy", "macro_f1", "worst_class_recall", "ece"}
    for name, value in report.summary().items():
        logged = trainer.callback_metrics[f"val_{name}"]
        assert logged.item() == pytest.approx(value, rel=1e-6, abs=1e-7)

    # one row per validation epoch, none for the sanity check
    with open(tmp_path / "run" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_balanced_accuracy")]
    assert len(rows) == 2
    assert float(rows[-1]["val_macro_f1"]) == pytest.approx(report.macro_f1, rel=1e-6)


def test_weights_stay_float32_under_mixed_precision(pl_cb: Any, tmp_path: Path) -> None:
    train, val = _data(32, 0), _data(16, 1)
    model = _classifier(pl_cb)(cp.class_counts(train.tensors[1], num_classes=C))
    callback = pl_cb.ImbalanceReportCallback(num_classes=C)
    trainer = _trainer(tmp_path, callback, precision="bf16-mixed", max_epochs=1)
    _fit(trainer, model, train, val)
    assert model.seen and all(
        s == (torch.bfloat16, torch.float32, torch.device("cpu")) for s in model.seen
    )
    assert callback.report is not None  # bfloat16 logits are reported in float32


def test_true_half_precision_casts_the_buffer(pl_cb: Any, tmp_path: Path) -> None:
    # documented: "-true" precision converts the whole module, buffers included
    train, val = _data(32, 0), _data(16, 1)
    model = _classifier(pl_cb)(cp.class_counts(train.tensors[1], num_classes=C))
    callback = pl_cb.ImbalanceReportCallback(num_classes=C)
    trainer = _trainer(tmp_path, callback, precision="bf16-true", max_epochs=1)
    _fit(trainer, model, train, val)
    assert {s[1] for s in model.seen} == {torch.bfloat16}


def test_buffer_moves_and_round_trips(pl_cb: Any) -> None:
    net = torch.nn.Linear(4, C)
    weights = pl_cb.register_class_weights(net, np.array([1.0, 2.0, 5.0]))
    assert weights.dtype == torch.float32 and net.class_weights is weights
    assert net.to("cpu", torch.float64).class_weights.dtype == torch.float64
    assert net.to("meta").class_weights.device.type == "meta"
    assert pl_cb.register_class_weights(net, [1, 1, 2]).device.type == "meta"  # the module's

    source, target = torch.nn.Linear(4, C), torch.nn.Linear(4, C)
    pl_cb.register_class_weights(source, [0.5, 1.0, 9.0])
    pl_cb.register_class_weights(target, [1.0, 1.0, 1.0])
    target.load_state_dict(source.state_dict())
    torch.testing.assert_close(target.class_weights, torch.tensor([0.5, 1.0, 9.0]))

    # replaced in place later (e.g. deferred re-weighting), under another name, not saved
    pl_cb.register_class_weights(target, [2.0, 2.0, 2.0])
    assert target.class_weights.tolist() == [2.0, 2.0, 2.0]
    pl_cb.register_class_weights(target, [1.0, 3.0, 3.0], name="late", persistent=False)
    assert "late" not in target.state_dict() and target.late.tolist() == [1.0, 3.0, 3.0]

    empty = torch.nn.Module()
    assert pl_cb.register_class_weights(empty, [1, 2]).device.type == "cpu"


def test_buffer_errors(pl_cb: Any) -> None:
    net = torch.nn.Linear(4, C)
    with pytest.raises(ValueError, match="`weights` must be non-negative"):
        pl_cb.register_class_weights(net, [1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match="`weights` must be a non-empty 1-D tensor"):
        pl_cb.register_class_weights(net, [[1.0, 2.0]])
    with pytest.raises(KeyError):
        pl_cb.register_class_weights(net, [1.0, 2.0, 3.0], name="weight")  # a parameter


def _feed(callback: Any, outputs: list[dict[str, torch.Tensor]]) -> Any:
    """One validation epoch of one dataloader, outside Lightning; returns what was logged."""
    callback.on_validation_epoch_start(None, None)
    for i, out in enumerate(outputs):
        callback.on_validation_batch_end(None, None, out, None, i)

    class Module:
        def __init__(self) -> None:
            self.logged: dict[str, float] = {}

        def log_dict(self, values: dict[str, float], **kwargs: Any) -> None:
            self.logged.update(values)

    class Trainer:
        sanity_checking = False

        def __init__(self) -> None:
            self.num_val_batches = [len(outputs)]

    module = Module()
    callback.on_validation_epoch_end(Trainer(), module)
    return module.logged


def _validate(model: Any, loaders: Any, callback: Any, **options: Any) -> list[dict[str, float]]:
    """``trainer.validate`` without a logger; the results of each dataloader."""
    import lightning as L

    settings: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "callbacks": [callback],
        **options,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*(num_workers|bottleneck).*")
        results: list[dict[str, float]] = L.Trainer(**settings).validate(
            model, loaders, verbose=False
        )
    return results


def _by_hand(model: Any, data: TensorDataset, batch_size: int) -> Any:
    """The report of the model's predictions on ``data``, in batches of ``batch_size`` (so
    that the float32 logits are those of the validation loop to the bit)."""
    with torch.no_grad():
        logits = torch.cat([model.net(x) for x in data.tensors[0].split(batch_size)])
    return cp.imbalance_report(data.tensors[1], logits.softmax(dim=1), num_classes=C)


def test_each_validation_dataloader_gets_its_own_report(pl_cb: Any) -> None:
    first, second = _data(40, 1), _data(30, 2)

    class TwoLoaders(_classifier(pl_cb)):  # type: ignore[misc]
        def validation_step(
            self, batch: Any, batch_idx: int, dataloader_idx: int = 0
        ) -> dict[str, torch.Tensor]:
            x, y = batch
            return {"logits": self.net(x), "target": y}

    model = TwoLoaders(cp.class_counts(_data(64, 0).tensors[1], num_classes=C))
    callback = pl_cb.ImbalanceReportCallback(num_classes=C)
    loaders = [DataLoader(first, batch_size=7), DataLoader(second, batch_size=8)]
    results = _validate(model, loaders, callback)

    assert sorted(callback.reports) == [0, 1] and callback.report is callback.reports[0]
    for idx, (data, batch_size) in enumerate(((first, 7), (second, 8))):
        expected = _by_hand(model, data, batch_size)
        report = callback.reports[idx]
        np.testing.assert_array_equal(report.confusion, expected.confusion)
        assert report.confusion.sum() == len(data)
        for name, value in report.summary().items():
            key = f"val_{name}/dataloader_idx_{idx}"
            # Lightning puts what is logged at the end of the epoch in every loader's results
            assert all(r[key] == pytest.approx(value, rel=1e-6, abs=1e-7) for r in results)
            assert f"val_{name}" not in results[0]
    assert callback.reports[0].summary() != callback.reports[1].summary()


def test_no_validation_batches_no_report(pl_cb: Any, tmp_path: Path) -> None:
    train, val = _data(32, 0), _data(16, 1)
    model = _classifier(pl_cb)(cp.class_counts(train.tensors[1], num_classes=C))
    callback = pl_cb.ImbalanceReportCallback(num_classes=C)
    trainer = _trainer(tmp_path, callback, max_epochs=1, limit_val_batches=0)
    _fit(trainer, model, train, val)
    assert callback.report is None and callback.reports == {}
    assert not any(k.startswith("val_") for k in trainer.callback_metrics)


def test_an_epoch_without_samples_logs_nothing_and_keeps_the_report(pl_cb: Any) -> None:
    val = _data(21, 1)
    model = _classifier(pl_cb)(cp.class_counts(_data(64, 0).tensors[1], num_classes=C))
    callback = pl_cb.ImbalanceReportCallback(num_classes=C)
    _validate(model, DataLoader(val, batch_size=7), callback)
    before = callback.report
    assert before is not None and before.confusion.sum() == 21

    everything_ignored = TensorDataset(val.tensors[0], torch.full_like(val.tensors[1], -100))
    with pytest.warns(UserWarning, match="no target other than ignore_index=-100"):
        results = _validate(model, DataLoader(everything_ignored, batch_size=7), callback)
    assert callback.report is before
    assert not {f"val_{name}" for name in before.summary()} & set(results[0])


def test_dense_predictions_skip_ignored_targets(pl_cb: Any) -> None:
    # (N, C, T) logits, as for token classification or segmentation, with ignored positions
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, C, 5, generator=g)
    target = torch.randint(0, C, (6, 5), generator=g)
    target[torch.rand(6, 5, generator=g) < 0.3] = -100
    callback = pl_cb.ImbalanceReportCallback(num_classes=C, prefix="dev/")
    halves = [
        {"logits": logits[:3], "target": target[:3]},
        {"logits": logits[3:], "target": target[3:]},
    ]
    logged = _feed(callback, halves)
    keep = target != -100
    probs = logits.softmax(dim=1).movedim(1, -1)[keep]
    expected = cp.imbalance_report(target[keep], probs, num_classes=C)
    np.testing.assert_array_equal(callback.report.confusion, expected.confusion)
    assert logged["dev/balanced_accuracy"] == pytest.approx(expected.balanced_accuracy)
    assert logged["dev/ece"] == pytest.approx(expected.ece, rel=1e-9)


def test_binary_logits(pl_cb: Any) -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0])
    target = torch.tensor([1, 0, 0, 0, 1])
    expected = cp.imbalance_report(target, torch.sigmoid(logits))
    expected_summary = {
        k: v for k, v in expected.summary().items() if k != "macro_average_precision"
    }
    # one logit per sample, as a vector or as a single class column; dense ones too
    for shaped, targets in (
        (logits, target),
        (logits[:, None], target),
        (logits.reshape(5, 1, 1), target.reshape(5, 1)),
    ):
        callback = pl_cb.ImbalanceReportCallback(num_classes=2)
        _feed(callback, [{"logits": shaped, "target": targets}])
        assert callback.report.summary() == pytest.approx(expected_summary)


def test_targets_of_the_logits_shape_are_binary_only_when_unambiguous(pl_cb: Any) -> None:
    g = torch.Generator().manual_seed(0)
    for num_classes in (2, 3):
        logits = torch.randn(6, num_classes, generator=g)
        one_hot = F.one_hot(torch.arange(6) % num_classes, num_classes)
        callback = pl_cb.ImbalanceReportCallback(num_classes=num_classes)
        with pytest.raises(
            ValueError, match=r"`target` must be class indices of shape \(6,\) for logits"
        ):
            callback.on_validation_batch_end(
                None, None, {"logits": logits, "target": one_hot}, None, 0
            )
    callback = pl_cb.ImbalanceReportCallback(num_classes=3)
    with pytest.raises(ValueError, match=r"`logits` must be logits of shape \(N, 3, \.\.\.\)"):
        callback.on_validation_batch_end(
            None, None, {"logits": torch.randn(4), "target": torch.tensor([0, 1, 2, 1])}, None, 0
        )


def test_sanity_check_is_not_reported(pl_cb: Any) -> None:
    callback = pl_cb.ImbalanceReportCallback(num_classes=2)
    callback.on_validation_batch_end(
        None, None, {"logits": torch.randn(2, 2), "target": torch.tensor([0, 1])}, None, 0
    )

    class Trainer:
        sanity_checking = True

    callback.on_validation_epoch_end(Trainer(), None)
    assert callback.report is None


def test_callback_errors(pl_cb: Any) -> None:
    callback = pl_cb.ImbalanceReportCallback(num_classes=C)
    with pytest.raises(ValueError, match="`validation_step's output` must be a dictionary"):
        callback.on_validation_batch_end(None, None, torch.randn(2, C), None, 0)
    with pytest.raises(ValueError, match=r"keys \['logits', 'y'\]"):
        callback.on_validation_batch_end(
            None, None, {"logits": torch.randn(2, C), "y": torch.zeros(2)}, None, 0
        )
    with pytest.raises(ValueError, match=r"`target` must be class indices of shape \(2,\)"):
        callback.on_validation_batch_end(
            None, None, {"logits": torch.randn(2, C), "target": torch.zeros(3)}, None, 0
        )
    with pytest.raises(ValueError, match="`logits` must be logits with 3 classes in dimension 1"):
        callback.on_validation_batch_end(
            None,
            None,
            {"logits": torch.randn(2, 4), "target": torch.zeros(2, dtype=torch.long)},
            None,
            0,
        )
    with pytest.raises(ValueError, match="num_classes"):
        pl_cb.ImbalanceReportCallback(num_classes=1)


def _rank_predictions(rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(rank)
    return torch.randn(6, C, generator=g), torch.randint(0, C, (6,), generator=g)


def test_every_process_reports_the_samples_of_all(pl_cb: Any, tmp_path: Path) -> None:
    # A gloo group of two processes: each report sums both ranks' predictions, on both ranks,
    # also for a dataloader of which one rank saw no sample (it must still take part in the
    # sums), and a dataloader without samples anywhere is skipped on both, not waited for.
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from _groups import run_group

    def worker(rank: int) -> None:
        logits, target = _rank_predictions(rank)
        callback = pl_cb.ImbalanceReportCallback(num_classes=C)
        callback.on_validation_epoch_start(None, None)
        batch = {"logits": logits, "target": target}
        callback.on_validation_batch_end(None, None, batch, None, 0)
        if rank == 0:
            callback.on_validation_batch_end(None, None, batch, None, 0, dataloader_idx=1)
        ignored = {"logits": logits, "target": torch.full_like(target, -100)}
        callback.on_validation_batch_end(None, None, ignored, None, 0, dataloader_idx=1 + rank)
        callback.on_validation_batch_end(None, None, ignored, None, 1, dataloader_idx=2)

        class Module:
            def __init__(self) -> None:
                self.logged: dict[str, float] = {}

            def log_dict(self, values: dict[str, float], **kwargs: Any) -> None:
                self.logged.update(values)

        class Trainer:
            sanity_checking = False
            num_val_batches = (1, 1, 1)

        module = Module()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning about dataloader 2
            callback.on_validation_epoch_end(Trainer(), module)
        reports = {k: r.confusion.tolist() for k, r in callback.reports.items()}
        torch.save((reports, sorted(module.logged)), tmp_path / f"rank{rank}.pt")

    run_group(worker, tmp_path)
    results = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    assert results[0] == results[1]
    reports, logged = results[0]
    (l0, t0), (l1, t1) = _rank_predictions(0), _rank_predictions(1)
    both = cp.imbalance_report(torch.cat([t0, t1]), torch.cat([l0, l1]).softmax(dim=1))
    first = cp.imbalance_report(t0, l0.softmax(dim=1), num_classes=C)
    assert reports == {0: both.confusion.tolist(), 1: first.confusion.tolist()}
    assert "val_ece/dataloader_idx_1" in logged
    assert not any(name.endswith("dataloader_idx_2") for name in logged)


def test_missing_extra_names_it() -> None:
    code = (
        "import sys; sys.modules['lightning'] = None\nimport counterpoise.integrations.lightning\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode != 0 and "ImportError" in result.stderr
    assert 'pip install "counterpoise[lightning]"' in result.stderr
