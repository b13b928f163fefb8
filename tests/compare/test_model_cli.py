"""``counterpoise compare --model module:factory --data module:factory``."""

import json
import sys
import textwrap

import pytest
from typer.testing import CliRunner

import counterpoise as cp
from counterpoise.cli import app

runner = CliRunner()

MODULE = """
import torch
from torch import nn
from torch.utils.data import TensorDataset

import counterpoise as cp

CALLS = []


def cnn():
    CALLS.append(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10))


def digits():
    return cp.load_digits_lt(layout="images").tensor_datasets()


def two():
    train, val, _ = digits()
    return train, val


def broken():
    raise OSError("the data is on a disk that is not mounted")


def one():
    return digits()[0]


NOT_CALLABLE = 3
"""


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    (folder / "cp_user_models.py").write_text(textwrap.dedent(MODULE))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        yield "cp_user_models"
    sys.modules.pop("cp_user_models", None)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_the_command_runs_the_api_on_the_users_model(user_module, tmp_path):
    out = tmp_path / "report"
    args = ["--strategies", "ce,ce_balanced,ldam_drw", "--seeds", "1", "--epochs", "2"]
    res = invoke(
        "compare",
        "--model",
        f"{user_module}:cnn",
        "--data",
        f"{user_module}:digits",
        *args,
        "--jobs",
        "1",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    assert "Inputs: tensors of shape (1, 8, 8) (float32)." in res.output
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["strategies"]) == {"ce", "ce_balanced", "ldam_drw"}
    assert payload["dataset"]["name"] == f"{user_module}:digits"
    assert payload["settings"]["train"]["epochs"] == 2
    # the same comparison through the API gives the same numbers
    module = sys.modules[user_module]
    api = cp.compare_model(
        module.cnn,
        *module.digits(),
        strategies=["ce", "ce_balanced", "ldam_drw"],
        seeds=1,
        epochs=2,
        jobs=1,
    )
    for name in api.reports:
        assert payload["strategies"][name]["balanced_accuracy"]["values"] == api.values(
            name, "balanced_accuracy"
        )
    # run again: every run is loaded from the report folder, none trains
    module.CALLS.clear()
    again = invoke(
        "compare",
        "--model",
        f"{user_module}:cnn",
        "--data",
        f"{user_module}:digits",
        *args,
        "--jobs",
        "1",
        "--out",
        out,
    )
    assert again.exit_code == 0, again.output
    assert len(module.CALLS) == 2  # the command's check of the factory, and the probe
    assert json.loads((out / "results.json").read_text())["strategies"] == payload["strategies"]


def test_two_data_sets_split_validation_in_two(user_module, tmp_path):
    res = invoke(
        "compare",
        "--model",
        f"{user_module}:cnn",
        "--data",
        f"{user_module}:two",
        "--strategies",
        "ce",
        "--quick",
        "--epochs",
        "1",
        "--jobs",
        "1",
        "--out",
        tmp_path,
    )
    assert res.exit_code == 0, res.output
    assert "No test set was given" in res.output
    sizes = json.loads((tmp_path / "results.json").read_text())["dataset"]["split_sizes"]
    assert sizes == {"train": 304, "val": 100, "test": 100}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no_colon"], "`--model` must be an import string 'module:attribute'"),
        (["--model", "no_such_module_xyz:f"], "whose module can be imported (No module named"),
        (["--model", "{m}:nope"], "naming an attribute of the module 'cp_user_models'"),
        (["--model", "{m}:NOT_CALLABLE"], "`--model` must name a function or class"),
        (["--data", "{m}:broken"], "raised OSError: the data is on a disk that is not mounted"),
        (["--data", "{m}:one"], "`--data` must return (train, val, test) or (train, val) data"),
        (["--data", "{m}:digits", "--model", None], "`--model` must be given with `--data`"),
        (["--model", "{m}:cnn", "--data", None], "`--data` must be given with `--model`"),
        (["--hidden", "32"], "`--hidden` applies to the comparison of tables"),
        (["--strategies", "nope"], "`--strategies` must be names from"),
        (["--device", "tpu"], "`--device` must be cpu, cuda or cuda:N"),
        (["--seeds", "0"], "`--seeds` must be an integer larger than 0, got 0"),
        (["--batch-size", "0"], "`--batch-size` must be an integer larger than 0, got 0"),
        (["--batch-size", "x"], "`--batch-size` must be an integer, got 'x'"),
    ],
)
def test_bad_options_exit_2_with_one_line(user_module, tmp_path, args, message):
    options = {"--model": f"{user_module}:cnn", "--data": f"{user_module}:digits"}
    extra = []
    for key, value in zip(args[::2], args[1::2]):
        if key in options:
            options[key] = value
        else:
            extra += [key, value]
    argv = ["compare", "--epochs", "1", "--out", tmp_path]
    for key, value in options.items():
        if value is not None:
            argv += [key, value.replace("{m}", user_module)]
    res = invoke(*argv, *extra)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    assert message.replace("{m}", user_module) in lines[0]


def test_a_path_does_not_go_with_model(user_module, tmp_path):
    res = invoke(
        "compare",
        tmp_path / "t.csv",
        "--model",
        f"{user_module}:cnn",
        "--data",
        f"{user_module}:digits",
    )
    assert res.exit_code == 2 and "`PATH` applies to the comparison of tables" in res.output


def test_ray_runs_the_same_comparison(user_module, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    # Ray's worker processes import the user's module and the package as this process does
    monkeypatch.setenv("PYTHONPATH", ":".join(p for p in sys.path if p))
    common = ["--strategies", "ce,sampler_balanced", "--seeds", "1", "--epochs", "2"]
    model = ["--model", f"{user_module}:cnn", "--data", f"{user_module}:digits"]
    on_ray = invoke("compare", *model, *common, "--ray", "local", "--out", tmp_path / "ray")
    assert on_ray.exit_code == 0, on_ray.output
    here = invoke("compare", *model, *common, "--jobs", "1", "--out", tmp_path / "here")
    assert here.exit_code == 0, here.output
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("ray", "here"))
    assert a["strategies"] == b["strategies"]
    bad = invoke("compare", *model, *common, "--ray", "ray://127.0.0.1:1", "--out", tmp_path)
    assert bad.exit_code == 2 and "`--ray` must be the address of a Ray cluster" in bad.output
