"""compare_lightning: a LightningModule trained by the real Trainer in every run of a comparison,
checked against the same protocol written as a plain loop for compare_custom."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import counterpoise as cp
from counterpoise.compare.model import cosine_head

L = pytest.importorskip("lightning")
from counterpoise.integrations.lightning import compare_lightning  # noqa: E402

STRATEGIES = ["ce", "ce_balanced", "sampler_balanced", "ldam_drw", "posthoc_adjusted"]


def _data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.multinomial(torch.tensor([0.75, 0.17, 0.08]), n, replacement=True, generator=g)
    x = torch.randn(n, 16, generator=g) + 1.5 * F.one_hot(y, 16).float()
    return TensorDataset(x, y)


class Classifier(L.LightningModule):
    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
        self.loss = loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return self.loss(self(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_lightning_comparison_is_the_plain_loop_of_the_same_protocol(tmp_path):
    train, val, test = _data(240, 0), _data(90, 1), _data(90, 2)
    kwargs: dict[str, Any] = {"strategies": STRATEGIES, "seeds": 2, "epochs": 4, "jobs": 1}
    result = compare_lightning(
        Classifier, train, val, test, head="net.2", batch_size=32, out=tmp_path, **kwargs
    )

    def plain(run):
        torch.manual_seed(run.seed)
        module = Classifier(run.loss)
        if run.normed_head:
            cosine_head(module, "net.2")
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        loader = DataLoader(
            train,
            batch_size=32,
            sampler=run.sampler,
            shuffle=run.sampler is None,
            generator=torch.Generator().manual_seed(run.seed),
        )
        keep = run.selection(module)
        for epoch in range(run.epochs):
            run.begin_epoch(epoch)
            for x, y in loader:
                loss = run.loss(module(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                keep.update(epoch + 1, run.score(module(val.tensors[0])), module)
        keep.restore(module)
        with torch.no_grad():
            return module(val.tensors[0]), module(test.tensors[0])

    reference = cp.compare_custom(plain, train, val, test, **kwargs)
    assert set(result.reports) == set(STRATEGIES)
    for name in STRATEGIES:
        for a, b in zip(result.predictions[name], reference.predictions[name]):
            np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=1e-5)
    for name in result.runs:
        assert [r.best_epoch for r in result.runs[name]] == [
            r.best_epoch for r in reference.runs[name]
        ]
    assert (tmp_path / "report.md").exists() and len(list((tmp_path / "runs").glob("*.npz"))) == 8
    assert (
        "A LightningModule trained by Lightning's Trainer." in (tmp_path / "report.md").read_text()
    )


def test_ldam_needs_the_output_layer(raises):
    data = _data(60, 0)
    with raises(ValueError, "head", "the name of the module's output nn.Linear layer"):
        compare_lightning(Classifier, data, data, data, strategies=["ldam_drw"], seeds=1, jobs=1)
    assert (
        "ldam_drw"
        not in compare_lightning(Classifier, data, data, data, seeds=1, epochs=1, jobs=1).reports
    )
