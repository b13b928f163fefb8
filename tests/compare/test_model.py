"""compare_model and compare_custom: the comparison on the user's own model and training loop,
checked against independent training loops and metrics computed here."""

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from torch import nn
from torch.utils.data import Subset, TensorDataset

import counterpoise as cp
from counterpoise.compare.model import cosine_head
from counterpoise.compare.strategies import DRW_AT, LDAM_SCALE, first_epoch_of

IMAGE_STRATEGIES = (
    "ce",
    "ce_balanced",
    "sampler_balanced",
    "logit_adjusted",
    "ldam_drw",
    "posthoc_adjusted",
)
SEEDS, EPOCHS = 2, 4
#: the first weights of every model the image comparison built, with the global seed it
#: was built under
BUILT: list[torch.Tensor] = []


class TinyCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3)
        self.fc = nn.Linear(6 * 6 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def recorded_cnn() -> nn.Module:
    model = TinyCNN()
    BUILT.append(model.conv.weight.detach().clone())
    return model


@pytest.fixture(scope="module")
def digits():
    return cp.load_digits_lt(layout="images")


@pytest.fixture(scope="module")
def images(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("images")
    BUILT.clear()
    result = cp.compare_model(
        recorded_cnn,
        *digits.tensor_datasets(),
        strategies=IMAGE_STRATEGIES,
        seeds=SEEDS,
        epochs=EPOCHS,
        jobs=1,
        out=out,
    )
    return result, json.loads((out / "results.json").read_text()), out


def test_the_report_holds_the_scores_of_the_runs_outputs(images, digits):
    result, payload, out = images
    y_test = digits.y_test
    counts = np.bincount(digits.y_train, minlength=10)
    assert set(payload["strategies"]) == set(IMAGE_STRATEGIES)
    for name in IMAGE_STRATEGIES:
        runs = result.runs["ce" if name == "posthoc_adjusted" else name]
        assert len(runs) == SEEDS
        preds = []
        for run in runs:
            logits = run.test_logits.astype(np.float64)
            if name == "posthoc_adjusted":  # the ce model's logits minus the log prior
                logits = logits - np.log(counts / counts.sum())
            preds.append(logits.argmax(1))
        stats = payload["strategies"][name]
        expected = [balanced_accuracy_score(y_test, p) for p in preds]
        assert stats["balanced_accuracy"]["values"] == pytest.approx(expected, abs=1e-12)
        assert stats["macro_f1"]["values"] == pytest.approx(
            [f1_score(y_test, p, average="macro", labels=range(10)) for p in preds], abs=1e-12
        )
        recall = np.mean([[np.mean(p[y_test == c] == c) for c in range(10)] for p in preds], 0)
        assert stats["per_class_recall"] == pytest.approx(recall.tolist(), abs=1e-12)
        low, high = stats["interval"]["balanced_accuracy"]
        assert low <= stats["balanced_accuracy"]["mean"] <= high
    assert payload["dataset"]["class_counts"]["train"] == counts.tolist()
    assert payload["settings"]["train"]["epochs"] == EPOCHS
    assert payload["settings"]["train"]["model"] == "TinyCNN"
    assert payload["settings"]["train"]["output_layer"] == "fc"
    md = (out / "report.md").read_text()
    assert "Inputs: tensors of shape (1, 8, 8) (float32)." in md
    assert "The model `TinyCNN` (2,230 parameters), Adam (lr 0.001" in md
    assert "ldam_drw replaces the output layer `fc` by a cosine classifier" in md
    assert sorted(p.name for p in (out / "runs").glob("*.npz")) == sorted(
        f"{n}__split0__seed{j}.npz" for n in IMAGE_STRATEGIES[:-1] for j in range(SEEDS)
    )


def test_ranking_and_selection_follow_the_validation_scores(images, digits):
    result, payload, _ = images
    counts = np.bincount(digits.y_train, minlength=10)
    val = {}
    for name in IMAGE_STRATEGIES:
        runs = result.runs["ce" if name == "posthoc_adjusted" else name]
        scores = []
        for run in runs:
            logits = run.val_logits.astype(np.float64)
            if name == "posthoc_adjusted":  # fits nothing: its cross-fitted score is plain
                logits = logits - np.log(counts / counts.sum())
            scores.append(balanced_accuracy_score(digits.y_val, logits.argmax(1)))
        val[name] = np.mean(scores)
        assert payload["strategies"][name]["validation"]["balanced_accuracy"]["mean"] == (
            pytest.approx(val[name], abs=1e-12)
        )
    order = sorted(IMAGE_STRATEGIES, key=lambda n: -val[n])  # stable: ties keep the run order
    assert payload["ranking"] == order and payload["selected"] == order[0]


def test_every_strategy_of_a_seed_starts_from_the_same_weights(images):
    # the probe (seed 0), then every trained strategy's run of seed 0 and of seed 1
    first = BUILT[0]
    trained = len(IMAGE_STRATEGIES) - 1
    runs = BUILT[1:]
    assert len(runs) == trained * SEEDS
    for k, weights in enumerate(runs):
        seed = k // trained
        torch.manual_seed(seed)
        assert torch.equal(weights, TinyCNN().conv.weight), k
    assert torch.equal(first, runs[0])
    assert not torch.equal(runs[0], runs[trained])


def test_ldam_trains_a_cosine_head_and_selects_after_reweighting(images):
    result, _, _ = images
    start = first_epoch_of(DRW_AT, EPOCHS)
    for run in result.runs["ldam_drw"]:
        assert run.best_epoch - 1 >= start
        # logits are cosines scaled by s: within [-s, s] and beyond [-1, 1]
        assert np.abs(run.test_logits).max() <= LDAM_SCALE + 1e-4
        assert np.abs(run.test_logits).max() > 1.0


def _plain_loop(seed, digits, *, weight=None, epochs=EPOCHS):
    """An independent training loop of the protocol: seed, model, Adam, the epoch's shuffled
    order, the checkpoint with the best validation balanced accuracy."""
    X = torch.from_numpy(digits.X_train)
    y = torch.from_numpy(digits.y_train)
    Xv, Xt = torch.from_numpy(digits.X_val), torch.from_numpy(digits.X_test)
    torch.manual_seed(seed)
    model = TinyCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    best, best_state = -1.0, None
    for _ in range(epochs):
        for batch in torch.randperm(len(y), generator=order).split(64):
            loss = F.cross_entropy(model(X[batch]), y[batch], weight=weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            score = balanced_accuracy_score(digits.y_val, model(Xv).argmax(1).numpy())
        if score > best:
            best, best_state = score, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    with torch.no_grad():
        return model(Xv).numpy(), model(Xt).numpy()


@pytest.mark.parametrize("name", ["ce", "ce_balanced"])
def test_a_run_is_the_plain_training_loop(images, digits, name):
    result, _, _ = images
    counts = torch.from_numpy(np.bincount(digits.y_train)).double()
    weight = None if name == "ce" else (counts.sum() / (10 * counts)).float()
    with cp.compare.execution.one_thread():
        val, test = _plain_loop(1, digits, weight=weight)
    run = result.runs[name][1]
    np.testing.assert_allclose(run.val_logits, val, rtol=0, atol=2e-4)
    np.testing.assert_allclose(run.test_logits, test, rtol=0, atol=2e-4)


def test_a_custom_loop_of_the_same_protocol_gives_the_same_comparison(images, digits):
    result, _, _ = images
    X, y = torch.from_numpy(digits.X_train), torch.from_numpy(digits.y_train)
    Xv, Xt = torch.from_numpy(digits.X_val), torch.from_numpy(digits.X_test)
    seen = {}

    def train_fn(run):
        torch.manual_seed(run.seed)
        model = TinyCNN()
        if run.normed_head:
            cosine_head(model, "fc")
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        keep = run.selection(model)
        order = torch.Generator().manual_seed(run.seed)
        weights = []
        for epoch in range(run.epochs):
            run.begin_epoch(epoch)
            weights.append(getattr(run.loss, "weight", None))
            if run.sampler is not None:
                idx = torch.tensor(list(run.sampler))
            else:
                idx = torch.randperm(len(y), generator=order)
            for batch in idx.split(64):
                loss = run.loss(model(X[batch]), y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                keep.update(epoch + 1, run.score(model(Xv)), model)
        keep.restore(model)
        seen[run.strategy.name, run.seed] = (run.sampler, weights)
        with torch.no_grad():
            return model(Xv), model(Xt)

    custom = cp.compare_custom(
        train_fn,
        digits.y_train,
        digits.y_val,
        digits.y_test,
        strategies=IMAGE_STRATEGIES,
        seeds=SEEDS,
        epochs=EPOCHS,
        jobs=1,
    )
    assert custom.ranking() == result.ranking()
    for name in IMAGE_STRATEGIES:
        for a, b in zip(custom.predictions[name], result.predictions[name]):
            np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=1e-6)
    for name in result.runs:
        for a, b in zip(custom.runs[name], result.runs[name]):
            assert a.best_epoch == b.best_epoch
            assert a.history["val_score"] == pytest.approx(b.history["val_score"])
    # what the training function received
    assert isinstance(seen["sampler_balanced", 0][0], cp.ClassBalancedSampler)
    assert seen["ce", 0][0] is None
    drw = seen["ldam_drw", 1][1]
    start = first_epoch_of(DRW_AT, EPOCHS)
    assert all(torch.equal(w, torch.ones(10)) for w in drw[:start])
    effective = cp.class_weights(
        torch.from_numpy(np.bincount(digits.y_train)), "effective", beta=0.9999
    )
    assert all(torch.allclose(w, effective.float()) for w in drw[start:])


def test_custom_comparisons_leave_out_ldam_unless_named():
    y = [0] * 20 + [1] * 5

    def train_fn(run):
        return torch.zeros(10, 2), torch.zeros(10, 2)

    res = cp.compare_custom(train_fn, y, [0, 1] * 5, [0, 1] * 5, seeds=1, jobs=1)
    assert "ldam_drw" not in res.reports and "ce_balanced" in res.reports
    assert any("ldam_drw left out" in note for note in res.splits.notes)
    named = cp.compare_custom(
        train_fn, y, [0, 1] * 5, [0, 1] * 5, strategies=["ldam_drw"], seeds=1, jobs=1
    )
    assert set(named.reports) == {"ldam_drw"}


def test_custom_outputs_of_the_wrong_shape_are_an_error(raises):
    def train_fn(run):
        return torch.zeros(10, 3), torch.zeros(10, 2)

    with raises(ValueError, "train_fn's val_logits", "of shape (10, 2)", (10, 3)):
        cp.compare_custom(train_fn, [0] * 8 + [1] * 4, [0, 1] * 5, [0, 1] * 5, seeds=1, jobs=1)
    with raises(TypeError, "train_fn", "a function that returns (val_logits, test_logits)"):
        cp.compare_custom(
            lambda run: None, [0] * 8 + [1] * 4, [0, 1] * 5, [0, 1] * 5, seeds=1, jobs=1
        )


# --- tables of numbers, small and fast --------------------------------------------------------


def _table(n, seed, *, rare=4):
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) % rare == 0).long()  # one sample in `rare` is of class 1
    return TensorDataset(torch.randn(n, 5, generator=g) + 1.5 * y[:, None], y)


class Calls:
    """A model factory that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))


def test_finished_runs_are_loaded_instead_of_trained_again(tmp_path):
    data = (_table(80, 0), _table(40, 1), _table(40, 2))
    factory = Calls()
    first = cp.compare_model(
        factory, *data, strategies=["ce"], seeds=2, epochs=3, jobs=1, out=tmp_path
    )
    assert factory.calls == 1 + 2  # the probe, then one run per seed
    factory.calls = 0
    both = cp.compare_model(
        factory, *data, strategies=["ce", "ce_balanced"], seeds=2, epochs=3, jobs=1, out=tmp_path
    )
    assert factory.calls == 1 + 2  # only ce_balanced trained
    for a, b in zip(first.runs["ce"], both.runs["ce"]):
        assert a.seconds == b.seconds  # loaded, not trained again
        np.testing.assert_array_equal(a.test_logits, b.test_logits)
        assert a.history == b.history and a.best_epoch == b.best_epoch
    assert both.values("ce", "balanced_accuracy") == first.values("ce", "balanced_accuracy")
    # other settings: the saved runs are not reused
    factory.calls = 0
    with pytest.warns(UserWarning, match="made with other settings"):
        cp.compare_model(factory, *data, strategies=["ce"], seeds=2, epochs=4, jobs=1, out=tmp_path)
    assert factory.calls == 1 + 2


def test_a_damaged_run_file_is_trained_again(tmp_path):
    data = (_table(80, 0), _table(40, 1), _table(40, 2))
    factory = Calls()
    cp.compare_model(factory, *data, strategies=["ce"], seeds=1, epochs=2, jobs=1, out=tmp_path)
    path = tmp_path / "runs" / "ce__split0__seed0.npz"
    path.write_bytes(path.read_bytes()[:100])
    factory.calls = 0
    cp.compare_model(factory, *data, strategies=["ce"], seeds=1, epochs=2, jobs=1, out=tmp_path)
    assert factory.calls == 2


def test_worker_processes_give_the_numbers_of_one_process(tmp_path):
    data = (_table(80, 0), _table(40, 1), _table(40, 2))
    kwargs = {"strategies": ["ce", "focal", "sampler_sqrt"], "seeds": 2, "epochs": 3}
    here = cp.compare_model(Calls(), *data, jobs=1, **kwargs)
    forked = cp.compare_model(Calls(), *data, jobs=2, **kwargs)
    for name in here.runs:
        for a, b in zip(here.runs[name], forked.runs[name]):
            np.testing.assert_array_equal(a.test_logits, b.test_logits)


def test_without_a_test_set_validation_is_halved_class_by_class():
    val = _table(40, 1)  # 10 of class 1, 30 of class 0
    res = cp.compare_model(
        Calls(), _table(80, 0), val, strategies=["ce"], seeds=1, epochs=1, jobs=1
    )
    assert res.splits.sizes() == {"train": 80, "val": 20, "test": 20}
    assert res.splits.class_counts("val").tolist() == [15, 5]
    assert res.splits.class_counts("test").tolist() == [15, 5]
    assert any("No test set was given" in note for note in res.splits.notes)


def test_a_model_without_a_linear_output_layer_has_no_ldam():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, x):
            return 2.0 * self.fc(x)  # the logits are not the layer's output

    data = (_table(80, 0), _table(40, 1), _table(40, 2))
    res = cp.compare_model(Scaled, *data, seeds=1, epochs=1, jobs=1)
    assert "ldam_drw" not in res.reports and "logit_adjusted" in res.reports
    assert any(n.startswith("ldam_drw left out: LDAM needs a cosine") for n in res.splits.notes)
    with pytest.raises(ValueError, match="`strategies` must be strategies without a cosine head"):
        cp.compare_model(Scaled, *data, strategies=["ldam_drw"], seeds=1, epochs=1, jobs=1)


def test_a_linear_model_is_its_own_output_layer():
    data = (_table(80, 0), _table(40, 1), _table(40, 2))
    res = cp.compare_model(
        lambda: nn.Linear(5, 2), *data, strategies=["ldam_drw"], seeds=1, epochs=2, jobs=1
    )
    assert res.training.settings["output_layer"] == ""
    assert np.abs(res.runs["ldam_drw"][0].test_logits).max() <= LDAM_SCALE + 1e-4
    with pytest.raises(ValueError, match=r"`path` must be the name of an nn\.Linear module"):
        cosine_head(nn.Sequential(nn.Linear(2, 2)), "nope")


def test_bad_models_and_options_fail_before_training(raises):
    data = (_table(40, 0), _table(20, 1), _table(20, 2))
    with raises(
        ValueError, "model", "a model whose output is a tensor of logits (2, 2)", "shape (2, 3)"
    ):
        cp.compare_model(lambda: nn.Linear(5, 3), *data)
    with raises(TypeError, "model", "a callable that returns a torch.nn.Module", "Tensor"):
        cp.compare_model(lambda: torch.zeros(2), *data)
    with raises(TypeError, "optimizer", "a callable that takes the model's parameters"):
        cp.compare_model(lambda: nn.Linear(5, 2), *data, optimizer=lambda p: None)
    with raises(ValueError, "loader_options", "DataLoader options other than batch_size"):
        cp.compare_model(lambda: nn.Linear(5, 2), *data, loader_options={"shuffle": True})
    with raises(ValueError, "executor", "'local', 'ray', None or an executor", "dask"):
        cp.compare_model(lambda: nn.Linear(5, 2), *data, executor="dask")
    with raises(ValueError, "strategies", "names from"):
        cp.compare_model(lambda: nn.Linear(5, 2), *data, strategies=["nope"])
    with raises(ValueError, "epochs", "an integer larger than 0", 0):
        cp.compare_model(lambda: nn.Linear(5, 2), *data, epochs=0)


def test_optimizer_and_dataset_classes_are_used_and_reported(tmp_path):
    data = [_table(80, 0), _table(40, 1), _table(40, 2)]
    data[0].classes = ["common", "rare"]
    res = cp.compare_model(
        lambda: nn.Linear(5, 2),
        *data,
        optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        strategies=["ce"],
        seeds=1,
        epochs=2,
        jobs=1,
        name="two blobs",
        out=tmp_path,
    )
    assert res.splits.classes == ("common", "rare")
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["dataset"]["name"] == "two blobs"
    assert (
        payload["settings"]["train"]["optimizer"] == "SGD (lr 0.05, momentum 0.9, weight decay 0)"
    )


def test_inputs_of_several_tensors_and_subsets():
    class Pairs(torch.utils.data.Dataset):
        def __init__(self, base):
            self.base = base
            self.targets = base.tensors[1]

        def __len__(self):
            return len(self.base)

        def __getitem__(self, i):
            x, y = self.base[i]
            return {"a": x[:2], "b": x[2:]}, y

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, inputs):
            return self.fc(torch.cat([inputs["a"], inputs["b"]], 1))

    train = Subset(Pairs(_table(100, 0)), range(80))
    res = cp.compare_model(
        TwoInputs,
        train,
        Pairs(_table(40, 1)),
        Pairs(_table(40, 2)),
        strategies=["ce", "ldam_drw"],
        seeds=1,
        epochs=2,
        jobs=1,
    )
    assert set(res.reports) == {"ce", "ldam_drw"}
    assert res.training.inputs == (
        "dictionaries of a: tensors of shape (2,) (float32), b: tensors of shape (3,) (float32)"
    )


# --- multilabel -------------------------------------------------------------------------------


def _tags(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    rates = torch.tensor([0.5, 0.2, 0.08])
    y = (torch.rand(n, 3, generator=g) < rates).float()
    y[:3] = torch.tensor([[1.0, 1, 1], [0, 0, 0], [1, 1, 1]])  # every label both ways
    return TensorDataset(x + y @ torch.ones(3, 6), y)


def test_multilabel_targets_compare_the_multilabel_strategies(tmp_path):
    res = cp.compare_model(
        lambda: nn.Linear(6, 3),
        _tags(200, 0),
        _tags(100, 1),
        _tags(100, 2),
        strategies=["bce", "bce_pos_weight", "asl"],
        seeds=2,
        epochs=3,
        jobs=1,
        out=tmp_path,
    )
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["dataset"]["task"] == "multilabel" and payload["settings"]["metric"] == "map"
    y_test = _tags(100, 2).tensors[1].numpy()
    for name in ("bce", "bce_pos_weight", "asl"):
        expected = [
            np.mean(
                [average_precision_score(y_test[:, j], run.test_logits[:, j]) for j in range(3)]
            )
            for run in res.runs[name]
        ]
        assert payload["strategies"][name]["map"]["values"] == pytest.approx(expected, abs=1e-9)


# --- errors of the data ------------------------------------------------------------------------


def test_a_class_missing_from_training_is_an_error(raises):
    train = TensorDataset(torch.randn(10, 5), torch.tensor([0, 1] * 5))
    val = TensorDataset(torch.randn(6, 5), torch.tensor([0, 1, 2] * 2))
    with raises(ValueError, "train", "a data set with a sample of every class"):
        cp.compare_model(lambda: nn.Linear(5, 3), train, val, val)
