"""Bad input across the public surface: each case gets the package's clear error (the argument,
what was expected, what was received), never a crash from inside NumPy or PyTorch, a NaN or a
silently wrong number."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import counterpoise as cp
from counterpoise import functional as cf
from counterpoise.cli import app
from counterpoise.compare.data import load_user_data
from counterpoise.distributed import ddp_denominator
from counterpoise.weights import compute_class_weight, compute_sample_weight

X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 0])

#: (what is wrong, the call, the error, the argument named, the start of the expectation)
CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    (
        "a list as class-index target",
        lambda: cf.cross_entropy(X, [0, 1, 2, 0]),
        TypeError,
        "target",
        "a tensor of class indices or of probabilities",
    ),
    (
        "ignore_index None",
        lambda: cf.cross_entropy(X, Y, ignore_index=None),
        TypeError,
        "ignore_index",
        "an integer",
    ),
    (
        "a boolean ignore_index",
        lambda: cf.focal_loss(X, Y, ignore_index=True),
        TypeError,
        "ignore_index",
        "an integer",
    ),
    (
        "negative probability targets",
        lambda: cf.cross_entropy(X, torch.tensor([[1.5, -0.5, 0.0]] + [[1.0, 0.0, 0.0]] * 3)),
        ValueError,
        "target",
        "probabilities in [0, 1] along dimension 1 that sum to 1",
    ),
    (
        "probability targets that do not sum to 1",
        lambda: cf.cross_entropy(X, torch.tensor([[0.5, 0.2, 0.0]] + [[1.0, 0.0, 0.0]] * 3)),
        ValueError,
        "target",
        "probabilities in [0, 1] along dimension 1 that sum to 1",
    ),
    (
        "targets on another device than the logits",
        lambda: cf.cross_entropy(torch.randn(4, 3, device="meta"), Y),
        ValueError,
        "target",
        "a tensor on the device of `input` (meta)",
    ),
    (
        "a (N, 1) sample weight for (N,) targets in ddp_denominator",
        lambda: ddp_denominator(Y, sample_weight=torch.ones(4, 1)),
        ValueError,
        "sample_weight",
        "a tensor of the target's shape (4,)",
    ),
    (
        "a NaN class weight in ddp_denominator",
        lambda: ddp_denominator(Y, torch.tensor([1.0, float("nan"), 1.0])),
        ValueError,
        "weight",
        "finite",
    ),
    (
        "an ignore_value inside [0, 1] in ddp_denominator",
        lambda: ddp_denominator(torch.rand(4, 2), ignore_value=0.5),
        ValueError,
        "ignore_value",
        "a number outside [0, 1]",
    ),
    (
        "ignore_value beside a loss in ddp_denominator",
        lambda: ddp_denominator(torch.rand(4, 2), loss=cp.AsymmetricLoss(), ignore_value=-1),
        ValueError,
        "ignore_value",
        "None when `loss` is given",
    ),
    (
        "a label id of 2**40 in ClassBalancedSampler",
        lambda: cp.ClassBalancedSampler(np.array([0, 2**40, 1])),
        ValueError,
        "labels",
        "class indices in [0, 16777216) (a label indexes the class weights",
    ),
    (
        "a label id of 2**40 in ProgressivelyBalancedSampler",
        lambda: cp.ProgressivelyBalancedSampler(torch.tensor([0, 2**40]), 3),
        ValueError,
        "labels",
        "class indices in [0, 16777216)",
    ),
    (
        "a category id of 2**40 in RepeatFactorSampler",
        lambda: cp.RepeatFactorSampler([[0], [2**40, 1]]),
        ValueError,
        "multilabel_targets",
        "category indices in [0, 16777216)",
    ),
    (
        "an infinite class weight beside a finite 1e39 in ClassBalancedSampler",
        lambda: cp.ClassBalancedSampler([0, 1], [1e39, float("inf")]),
        ValueError,
        "weights",
        "finite (no NaN or infinity), got 'inf at index (1,)'",
    ),
    (
        "a NaN in a class_weight dict of compute_class_weight",
        lambda: compute_class_weight({0: float("nan"), 1: 1.0}, classes=np.array([0, 1]), y=[0, 1]),
        ValueError,
        "class_weight[0]",
        "a finite number, got nan",
    ),
    (
        "a negative weight in a class_weight dict of compute_class_weight",
        lambda: compute_class_weight({0: 1.0, 1: -2}, classes=np.array([0, 1]), y=[0, 1]),
        ValueError,
        "class_weight[1]",
        "in [0.0, inf], got -2.0",
    ),
    (
        "a NaN in a class_weight dict of compute_sample_weight",
        lambda: compute_sample_weight({0: 1.0, 1: float("nan")}, [0, 1]),
        ValueError,
        "class_weight[1]",
        "a finite number",
    ),
    (
        "a NaN label in compute_sample_weight",
        lambda: compute_sample_weight("balanced", [0.0, 1.0, float("nan")]),
        ValueError,
        "y",
        "labels without NaN (a missing label is not a class), got 'nan at index 2'",
    ),
    (
        "a NaN label in compute_class_weight",
        lambda: compute_class_weight(
            "balanced", classes=np.array([0.0, 1.0]), y=np.array([0.0, np.nan, 1.0])
        ),
        ValueError,
        "y",
        "labels without NaN",
    ),
    (
        "NaN counts in OnlinePriors.load_state_dict",
        lambda: cp.OnlinePriors(2).load_state_dict(
            {"counts": torch.tensor([float("nan"), 1.0], dtype=torch.float64)}
        ),
        ValueError,
        "state_dict['counts']",
        "finite (no NaN or infinity)",
    ),
    (
        "negative counts in OnlinePriors.load_state_dict",
        lambda: cp.OnlinePriors(2).load_state_dict(
            {"counts": torch.tensor([3.0, -1.0], dtype=torch.float64)}
        ),
        ValueError,
        "state_dict['counts']",
        "non-negative, got '-1.0 at index (1,)'",
    ),
    (
        "negative counts in BatchFrequencyWeights.load_state_dict",
        lambda: cp.BatchFrequencyWeights(2).load_state_dict(
            {"counts": torch.tensor([3.0, -1.0], dtype=torch.float64)}
        ),
        ValueError,
        "state_dict['counts']",
        "non-negative",
    ),
    (
        "a NaN score in AdaptiveClassWeights.load_state_dict",
        lambda: cp.AdaptiveClassWeights(2).load_state_dict(
            {
                "score": torch.tensor([float("nan"), 0.5], dtype=torch.float64),
                "seen": torch.ones(2, dtype=torch.bool),
            }
        ),
        ValueError,
        "state_dict['score']",
        "finite (no NaN or infinity)",
    ),
    (
        "a negative score in AdaptiveClassWeights.load_state_dict",
        lambda: cp.AdaptiveClassWeights(2).load_state_dict(
            {
                "score": torch.tensor([0.5, -0.5], dtype=torch.float64),
                "seen": torch.ones(2, dtype=torch.bool),
            }
        ),
        ValueError,
        "state_dict['score']",
        "non-negative",
    ),
    (
        "a score above 1 in AdaptiveClassWeights.load_state_dict",
        lambda: cp.AdaptiveClassWeights(2).load_state_dict(
            {
                "score": torch.tensor([0.5, 1.5], dtype=torch.float64),
                "seen": torch.ones(2, dtype=torch.bool),
            }
        ),
        ValueError,
        "state_dict['score']",
        "values in [0, 1], got '1.5 at index 1'",
    ),
]


@pytest.mark.parametrize(
    ("what", "call", "error", "name", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_gets_a_clear_error(what, call, error, name, expected, raises):
    with raises(error, name, expected):
        call()


def test_ddp_denominator_leaves_out_unannotated_labels():
    target = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    assert ddp_denominator(target, ignore_value=-1).item() == 4
    assert ddp_denominator(target, loss=cp.WeightedBCEWithLogitsLoss(ignore_value=-1)).item() == 4
    nan = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    assert ddp_denominator(nan, ignore_value=float("nan")).item() == 3


# --- files -------------------------------------------------------------------------------------


def _write(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return write


def _npz(name: str, **arrays: Any) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        np.savez(path, **arrays)
        return path

    return write


def _empty_dir(folder: Path) -> Path:
    path = folder / "data"
    path.mkdir()
    (path / ".hidden").write_text("x")
    return path


_TABLE = "".join(f"{i % 3},{i * 0.1:.1f}\n" for i in range(30)).encode()
DUPLICATE = _write("dup.csv", b"label,label,f\n" + _TABLE.replace(b",", b",0,"))
LATIN1 = _write("latin.csv", "label,f\nété,1\nhiver,2\nété,3\n".encode("latin-1"))
LATIN1_TEXT = _write("latin.txt", "hiver\nété\nhiver\n".encode("latin-1"))
ONLY_X = _npz("x.npz", X=np.arange(12.0).reshape(6, 2))
EMPTY_NPZ = _write("empty.npz", b"")
TEXT_NPZ = _write("text.npz", b"0\n1\n1\n")
TEXT_NPY = _write("labels.npy", b"0\n1\n1\n")

#: (what is wrong, writes the file into a folder, which call reads it: "count" or "compare",
#: the error, the argument named, the start of the expectation)
FILE_CASES: list[tuple[str, Callable[[Path], Path], str, type[Exception], str, str]] = [
    ("two columns named label, counted", DUPLICATE, "count", ValueError, "source",
     "a table whose column names differ in"),
    ("two columns named label, compared", DUPLICATE, "compare", ValueError, "path",
     "a table whose column names differ in"),
    ("an .npz holding only X, counted", ONLY_X, "count", ValueError, "column",
     "given to choose the labels among the arrays of"),
    ("an .npz holding only X, compared", ONLY_X, "compare", ValueError, "path",
     "an .npz file with arrays named X and y"),
    ("a 0-byte .npz, compared", EMPTY_NPZ, "compare", ValueError, "path",
     "an .npz archive (a zip file of .npy arrays, as numpy.savez writes)"),
    ("a 0-byte .npz, counted", EMPTY_NPZ, "count", ValueError, "source", "an .npz archive"),
    ("a text file named .npz, compared", TEXT_NPZ, "compare", ValueError, "path",
     "an .npz archive"),
    ("a text file named .npz, counted", TEXT_NPZ, "count", ValueError, "source",
     "an .npz archive"),
    ("a text file named .npy, counted", TEXT_NPY, "count", ValueError, "source",
     "an .npy file (as numpy.save writes)"),
    ("a Latin-1 CSV, counted", LATIN1, "count", ValueError, "source",
     "text encoded as UTF-8 (save the file as UTF-8)"),
    ("a Latin-1 CSV, compared", LATIN1, "compare", ValueError, "path",
     "text encoded as UTF-8"),
    ("a Latin-1 text file, counted", LATIN1_TEXT, "count", ValueError, "source",
     "text encoded as UTF-8 (save the file as UTF-8)"),
    ("an empty directory, counted", _empty_dir, "count", ValueError, "source",
     "a file, or a directory that holds Parquet files"),
    ("an empty directory, compared", _empty_dir, "compare", ValueError, "path",
     "a file, or a directory that holds Parquet files"),
]  # fmt: skip

_READERS: dict[str, Callable[[Path], Any]] = {"count": cp.count_labels, "compare": load_user_data}


@pytest.mark.parametrize(
    ("what", "write", "reader", "error", "name", "expected"),
    FILE_CASES,
    ids=[c[0] for c in FILE_CASES],
)
def test_bad_file_gets_a_clear_error(what, write, reader, error, name, expected, raises, tmp_path):
    path = write(tmp_path)
    with raises(error, name, expected):
        _READERS[reader](path)


#: (what is wrong, writes the file, the command and its options before the path, the start of
#: the one line of the error)
CLI_CASES: list[tuple[str, Callable[[Path], Path], list[str], str]] = [
    ("duplicate columns in inspect", DUPLICATE, ["inspect"],
     "Error: `PATH` must be a table whose column names differ in"),
    ("duplicate columns in compare", DUPLICATE, ["compare", "--quick"],
     "Error: `PATH` must be a table whose column names differ in"),
    ("an .npz holding only X in inspect", ONLY_X, ["inspect"],
     "Error: `--column` must be given to choose the labels among the arrays of"),
    ("a 0-byte .npz in compare", EMPTY_NPZ, ["compare", "--quick"],
     "Error: `PATH` must be an .npz archive"),
    ("a text file named .npz in compare", TEXT_NPZ, ["compare", "--quick"],
     "Error: `PATH` must be an .npz archive"),
    ("a Latin-1 CSV in weights --format json", LATIN1, ["weights", "--format", "json"],
     "Error: `PATH` must be text encoded as UTF-8"),
    ("a Latin-1 text file in inspect", LATIN1_TEXT, ["inspect"],
     "Error: `PATH` must be text encoded as UTF-8 (save the file as UTF-8), got"),
    ("an empty directory in inspect", _empty_dir, ["inspect"],
     "Error: `PATH` must be a file, or a directory that holds Parquet files"),
    ("an empty directory in compare", _empty_dir, ["compare", "--quick"],
     "Error: `PATH` must be a file, or a directory that holds Parquet files"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "write", "command", "line"), CLI_CASES, ids=[c[0] for c in CLI_CASES]
)
def test_bad_file_on_the_command_line_is_one_line(what, write, command, line, tmp_path):
    path = write(tmp_path)
    args = [*command, str(path)]
    if command[0] == "compare":
        args += ["--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semicolons.csv", "f;label\n0.5;a\n0.1;b\n0.2;b\n"),
        ("tabs.csv", "f\tlabel\n0.5\ta\n0.1\tb\n0.2\tb\n"),
        ("commas.tsv", "f,label\n0.5,a\n0.1,b\n0.2,b\n"),
    ],
)
def test_a_table_is_read_with_the_delimiter_its_header_row_holds(name, text, tmp_path):
    path = tmp_path / name
    path.write_text(text)
    counts = cp.count_labels(path)
    assert counts.classes == ("a", "b") and counts.counts.tolist() == [1, 2]


def test_compare_reads_a_semicolon_separated_csv(tmp_path):
    path = tmp_path / "data.csv"
    rows = "".join(f"{i * 0.1:.1f};{i % 2}\n" for i in range(40))
    path.write_text("f;label\n" + rows)
    splits = load_user_data(path)
    assert splits.features == ("f",) and splits.num_classes == 2


def test_an_npz_of_one_unnamed_array_is_still_counted(tmp_path):
    path = tmp_path / "labels.npz"
    np.savez(path, np.array([0, 1, 1]))
    assert cp.count_labels(path).counts.tolist() == [1, 2]


def test_a_finite_1e39_class_weight_is_used_as_given():
    sampler = cp.ClassBalancedSampler([0, 1], [1e39, 1.0])
    assert sampler.class_probabilities.tolist() == pytest.approx([1.0, 1e-39], rel=1e-12)


def test_a_finite_1e39_in_a_list_is_read_as_given_and_refused_where_it_must_fit_float32(raises):
    # a list is read in float64: the value is the one given, not infinity
    margins = cf.ldam_margins([1e39, 1.0])
    assert torch.isfinite(margins).all() and margins[1] == 0.5
    with raises(ValueError, "weight", "at most 3.403e+38 (kept in float32)", 1e39):
        cp.WeightedCrossEntropyLoss([1e39, 1.0])
