"""The loss registry: what each mean divides by agrees with the losses themselves, and a loss
added to the registry works in compare, the command line, the Hugging Face integration and
ddp_denominator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

import counterpoise as cp
from counterpoise import functional as cf
from counterpoise.compare import STRATEGIES, Strategy, register
from counterpoise.distributed import ddp_denominator
from counterpoise.losses.registry import LOSSES, LossEntry, entry_of
from counterpoise.losses.registry import register as register_loss

COUNTS = torch.tensor([60, 25, 10, 5])
SEEDS = range(4)


def _batch(entry: LossEntry, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, targets (with ignored or unannotated elements) and sample weights."""
    g = torch.Generator().manual_seed(seed)
    if entry.task == "multiclass":
        target = torch.randint(0, 4, (33,), generator=g)
        target[torch.rand(33, generator=g) < 0.2] = -100
        return torch.randn(33, 4, generator=g, dtype=torch.float64), target, torch.rand(33)
    if entry.task == "multilabel":
        target = (torch.rand(33, 4, generator=g) < 0.3).double()
        target[torch.rand(33, 4, generator=g) < 0.2] = -1.0
        return torch.randn(33, 4, generator=g, dtype=torch.float64), target, torch.rand(33, 4)
    target = torch.randint(0, 6, (3, 9), generator=g)  # 4 classes, background 4, ignored 5
    target[target == 5] = -100
    return torch.randn(3, 9, 4, generator=g, dtype=torch.float64), target, torch.rand(3, 9)


def _build(entry: LossEntry, reduction: str) -> nn.Module:
    if entry.task == "multilabel":
        rows = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]] * 5)
        counts = cp.count_labels(rows, multilabel=True)
        return entry.build(counts, ignore_value=-1.0, reduction=reduction)
    if entry.task == "detection":
        return entry.build(COUNTS, reduction="positives" if reduction == "mean" else reduction)
    return entry.build(COUNTS, reduction=reduction, scheme="effective", beta=0.99)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_the_mean_divides_the_sum_by_the_registered_denominator(name, seed, weighted):
    entry = LOSSES[name]
    if entry.task == "detection" and weighted:
        pytest.skip("sample weights do not enter the count of positive anchors")
    x, target, sample_weight = _batch(entry, seed)
    sw = sample_weight.double() if weighted else None
    total = _build(entry, "sum")(x, target, sample_weight=sw)
    mean = _build(entry, "mean")
    d = entry.denominator(mean, target, sample_weight=sw, num_classes=4)
    torch.testing.assert_close(mean(x, target, sample_weight=sw), total / d)
    # and the mean of a batch split in two adds up with the summed denominator
    halves = [slice(0, 16), slice(16, None)]
    parts = [
        mean(x[h], target[h], sample_weight=None if sw is None else sw[h], denominator=d)
        for h in halves
    ]
    torch.testing.assert_close(sum(parts), mean(x, target, sample_weight=sw))


def test_entries_are_found_by_module_and_checked(raises):
    assert entry_of(cp.FocalLoss()).name == "focal"
    assert entry_of(cp.WeightedBCEWithLogitsLoss).normaliser == "element"
    with raises(TypeError, "loss", "a registered loss module"):
        entry_of(nn.CrossEntropyLoss())
    with raises(ValueError, "entry.name", "a name not registered yet", "focal"):
        register_loss(LOSSES["focal"])
    with raises(ValueError, "normaliser", "one of"):
        LossEntry("bad", nn.Identity, cf.cross_entropy, "multiclass", "rows")  # type: ignore[arg-type]
    with raises(ValueError, "weight", "None unless"):
        LossEntry("bad", nn.Identity, cf.cross_entropy, "multilabel", "element", "weight")


# --- a loss added to the registry -------------------------------------------------------------


def twice_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None, **options: Any
) -> torch.Tensor:
    """Twice the class-weighted cross-entropy: a loss that nothing knows but the registry."""
    return 2 * cf.cross_entropy(input, target, weight, **options)


class TwiceCrossEntropy(nn.Module):
    def __init__(self, weight: torch.Tensor | None = None, *, reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.reduction = reduction
        self.ignore_index = -100

    @classmethod
    def from_counts(cls, counts: Any, *, scheme: str = "balanced", **options: Any) -> Any:
        return cls(cp.class_weights(counts, scheme), **options)  # type: ignore[arg-type]

    def forward(self, input: torch.Tensor, target: torch.Tensor, **options: Any) -> torch.Tensor:
        return twice_cross_entropy(input, target, self.weight, reduction=self.reduction, **options)


@pytest.fixture
def toy() -> Iterator[LossEntry]:
    entry = register_loss(
        LossEntry(
            "twice_cross_entropy",
            TwiceCrossEntropy,
            twice_cross_entropy,
            "multiclass",
            "class_weight",
            "weight",
        )
    )
    strategy = register(
        Strategy("twice_ce", "twice the cross-entropy", "twice_cross_entropy", {"scheme": "sqrt"})
    )
    yield entry
    del LOSSES[entry.name], STRATEGIES[strategy.name]


def test_a_registered_loss_gets_its_denominator_from_ddp_denominator(toy):
    weight = torch.tensor([1.0, 2.0, 4.0])
    target = torch.tensor([0, 2, 2, -100, 1])
    loss = TwiceCrossEntropy(weight)
    d = ddp_denominator(target, loss=loss)
    assert d.item() == 1 + 4 + 4 + 2
    x = torch.randn(5, 3)
    torch.testing.assert_close(loss(x, target, denominator=d), loss(x, target))


def test_a_registered_loss_trains_in_compare_from_the_command_line(toy, tmp_path):
    from typer.testing import CliRunner

    from counterpoise.cli import app

    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            "--strategies",
            "ce,twice_ce",
            "--quick",
            "--epochs",
            "3",
            "--no-reference",
            "--out",
            str(out),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "twice_ce" in result.output
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["strategies"]) == {"ce", "twice_ce"}
    built = STRATEGIES["twice_ce"].build_loss(COUNTS)
    assert isinstance(built, TwiceCrossEntropy)
    torch.testing.assert_close(built.weight, cp.class_weights(COUNTS, "sqrt"))


def test_a_registered_loss_works_in_the_hugging_face_integration(toy):
    hf = pytest.importorskip("counterpoise.integrations.transformers")
    train = [{"labels": 0}, {"labels": 0}, {"labels": 0}, {"labels": 1}]
    trainer_loss = hf.TrainerLoss.from_dataset(train, TwiceCrossEntropy, scheme="balanced")
    assert isinstance(trainer_loss.loss, TwiceCrossEntropy)
    labels = torch.tensor([0, 1, 1, -100])
    weight = trainer_loss.loss.weight
    assert trainer_loss.denominator(labels).item() == pytest.approx(
        float(weight[0] + 2 * weight[1])
    )
    logits = torch.randn(4, 2)
    d = trainer_loss.denominator(labels)
    torch.testing.assert_close(
        trainer_loss({"logits": logits}, labels, num_items_in_batch=d),
        twice_cross_entropy(logits, labels, weight),
    )
