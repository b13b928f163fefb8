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

    module = Module()
    callback.on_validation_epoch_end(Trainer(), module)
    return module.logged


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
    callback = pl_cb.ImbalanceReportCallback(num_classes=2)
    _feed(callback, [{"logits": logits, "target": target}])
    expected = cp.imbalance_report(target, torch.sigmoid(logits))
    assert callback.report.summary() == pytest.approx(
        {k: v for k, v in expected.summary().items() if k != "macro_average_precision"}
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
    with pytest.raises(ValueError, match="probabilities of shape"):
        callback.on_validation_batch_end(
            None,
            None,
            {"logits": torch.randn(2, 4), "target": torch.zeros(2, dtype=torch.long)},
            None,
            0,
        )
    with pytest.raises(ValueError, match="num_classes"):
        pl_cb.ImbalanceReportCallback(num_classes=1)


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
