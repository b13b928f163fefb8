import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from counterpoise import class_weights, pos_weight
from counterpoise.cli import app
from counterpoise.datasets import load_digits_lt

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "labels.csv"
    rows = ["id,species"] + [
        f"{i},{s}" for i, s in enumerate(["cat"] * 60 + ["dog"] * 30 + ["eel"] * 3)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_inspect_builtin_json_matches_the_data_set():
    res = invoke("inspect", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    expected = np.bincount(load_digits_lt().y_train).tolist()
    assert payload["counts"] == expected
    assert payload["source"].startswith("digits-lt")
    got = payload["schemes"]["effective(beta=0.999)"]["weights"]
    want = class_weights(torch.tensor(expected), "effective", beta=0.999).tolist()
    assert got == pytest.approx(want)


def test_inspect_builtin_table_and_warnings():
    res = invoke("inspect", "--imbalance-factor", "10")
    assert res.exit_code == 0, res.output
    assert "10 classes" in res.stdout and "imbalance ratio" in res.stdout
    assert "balanced" in res.stdout and "Share of the loss weight" in res.stdout


def test_inspect_csv_with_plot(csv_file, tmp_path):
    png = tmp_path / "dist.png"
    res = invoke("inspect", csv_file, "--column", "species", "--plot", png, "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["classes"] == ["cat", "dog", "eel"] and payload["counts"] == [60, 30, 3]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["parquet", "npy", "npz", "txt"])
def test_inspect_reads_each_file_kind(tmp_path, kind):
    y = np.repeat(np.arange(4), [40, 20, 5, 1])
    path = tmp_path / f"labels.{kind}"
    if kind == "parquet":
        pq.write_table(pa.table({"label": y}), path)
    elif kind == "npy":
        np.save(path, y)
    elif kind == "npz":
        np.savez(path, y=y, X=np.zeros((y.size, 2)))
    else:
        path.write_text("\n".join(map(str, y)) + "\n")
    res = invoke("inspect", path, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == [40, 20, 5, 1]


def test_inspect_multilabel_parquet(tmp_path):
    rng = np.random.default_rng(0)
    tags = (rng.random((200, 3)) < [0.5, 0.1, 0.02]).astype(np.int8)
    tags[0] = 1
    path = tmp_path / "tags.parquet"
    pq.write_table(
        pa.table(
            {"tag_a": tags[:, 0], "tag_b": tags[:, 1], "tag_c": tags[:, 2], "x": rng.random(200)}
        ),
        path,
    )
    res = invoke("inspect", path, "--multilabel", "--column", "tag_*", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["counts"] == tags.sum(0).tolist()
    assert payload["classes"] == ["tag_a", "tag_b", "tag_c"]
    res = invoke(
        "weights", path, "--multilabel", "--column", "tag_a,tag_b,tag_c", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["weights"] == pytest.approx(
        pos_weight(torch.tensor(tags)).tolist()
    )


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        ([], {"scheme": "balanced"}),
        (["--scheme", "effective", "--beta", "0.99"], {"scheme": "effective", "beta": 0.99}),
        (["--scheme", "log", "--normalize", "none"], {"scheme": "log", "normalize": None}),
        (["--scheme", "inverse", "--max-ratio", "5"], {"scheme": "inverse", "max_ratio": 5.0}),
        (["--scheme", "sqrt", "--clip", "0.5,2"], {"scheme": "sqrt", "clip": (0.5, 2.0)}),
        (
            ["--scheme", "cost", "--cost", "1,2,10"],
            {"scheme": "cost", "cost": torch.tensor([1.0, 2, 10])},
        ),
    ],
)
def test_weights_json_equals_library(csv_file, options, kwargs):
    res = invoke("weights", csv_file, "-c", "species", "--format", "json", *options)
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    scheme = kwargs.pop("scheme")
    want = class_weights(torch.tensor([60, 30, 3]), scheme, **kwargs)
    assert payload["classes"] == ["cat", "dog", "eel"]
    assert payload["weights"] == pytest.approx(want.tolist(), rel=1e-6)


def test_weights_python_and_csv_formats_round_trip(csv_file):
    want = class_weights(torch.tensor([60, 30, 3]))
    res = invoke("weights", csv_file, "-c", "species")
    assert res.exit_code == 0, res.output
    line = res.stdout.strip()
    assert line.startswith("torch.tensor([") and line.endswith("])")
    got = eval(line, {"torch": torch})  # the printed text is valid Python
    torch.testing.assert_close(got, want)
    res = invoke("weights", csv_file, "-c", "species", "--format", "csv")
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "class,weight" and [r.split(",")[0] for r in lines[1:]] == [
        "cat",
        "dog",
        "eel",
    ]
    assert [float(r.split(",")[1]) for r in lines[1:]] == pytest.approx(want.tolist(), rel=1e-7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "missing.csv"], "missing.csv"),
        (["weights", "--scheme", "bogus"], "scheme"),
        (["weights", "--format", "yaml"], "--format"),
        (["weights", "--normalize", "l2"], "--normalize"),
        (["weights", "--scheme", "power"], "beta"),
        (["weights", "--clip", "1"], "--clip"),
        (["inspect", "--column", "y"], "PATH"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    res = invoke(*args)
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_wrong_column_lists_available_columns(csv_file):
    res = invoke("inspect", csv_file, "--column", "label")
    assert res.exit_code == 2
    assert "species" in res.output


def test_zero_count_class_is_an_error_unless_a_policy_is_chosen(tmp_path):
    path = tmp_path / "y.npy"
    np.save(path, np.array([0, 0, 0, 2, 2]))
    res = invoke("weights", path)
    assert res.exit_code == 2 and "zero" in res.output
    res = invoke("weights", path, "--zero-counts", "zero", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["weights"][1] == 0.0


def test_module_entry_point_runs():
    res = subprocess.run(
        [sys.executable, "-m", "counterpoise", "weights", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)["weights"]) == 10
    res = subprocess.run(
        [sys.executable, "-m", "counterpoise", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0 and "counterpoise" in res.stdout


def test_whole_number_weights_print_as_a_float_tensor(tmp_path):
    path = tmp_path / "y.txt"
    path.write_text("0\n1\n")
    res = invoke("weights", path)
    assert res.exit_code == 0, res.output
    got = eval(res.stdout.strip(), {"torch": torch})
    assert got.dtype == torch.float32 and got.tolist() == [1.0, 1.0]
    torch.nn.CrossEntropyLoss(weight=got)(torch.zeros(2, 2), torch.tensor([0, 1]))


def test_csv_output_quotes_class_names(tmp_path):
    path = tmp_path / "y.csv"
    path.write_text('label\n"a,b"\n"a,b"\nc\n')
    res = invoke("weights", path, "--format", "csv")
    assert res.exit_code == 0, res.output
    import csv
    import io

    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["class", "weight"] and [r[0] for r in rows[1:]] == ["a,b", "c"]


@pytest.mark.parametrize(
    "args",
    [
        ["weights", "{csv}", "-c", "species", "--imbalance-factor", "7"],
        ["inspect", "{csv}", "-c", "species", "--seed", "3"],
        ["weights", "{ml}", "--multilabel", "--clip", "0,1"],
        ["weights", "{ml}", "--multilabel", "--normalize", "sum"],
    ],
)
def test_options_that_would_be_ignored_are_rejected(csv_file, tmp_path, args):
    ml = tmp_path / "ml.csv"
    ml.write_text("a,b\n1,0\n0,1\n1,1\n0,0\n")
    res = invoke(*[a.format(csv=csv_file, ml=ml) for a in args])
    assert res.exit_code == 2, res.output
    assert "Error" in res.output


def test_tables_are_not_wrapped_at_80_columns_when_piped(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    result = runner.invoke(app, ["inspect"])
    assert result.exit_code == 0, result.output
    assert "(1 of 2)" not in result.output  # one table, as wide as it needs
    assert "(beta=0.999)" in result.output and "…" not in result.output


#: The counts of the first-hour example: 13.8:1, large enough that beta=0.999 saturates.
FORUM_COUNTS = [2741, 37919, 22858, 31235, 5499]


@pytest.fixture
def forum_labels(tmp_path):
    path = tmp_path / "labels.csv"
    y = np.repeat(np.arange(5), FORUM_COUNTS)
    path.write_text("y\n" + "\n".join(map(str, y)) + "\n")
    return path


def _cells(output):
    """Every cell of the rich tables in ``output``, stripped."""
    return [
        cell.strip()
        for line in output.splitlines()
        if line.startswith("│")
        for cell in line.strip("│").split("│")
    ]


@pytest.mark.parametrize("columns", [80, 60, 100])
def test_inspect_shows_every_number_whole(forum_labels, columns):
    from counterpoise import describe

    res = runner.invoke(app, ["inspect", str(forum_labels)], env={"COLUMNS": str(columns)})
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in res.stdout  # nothing cut, in the cells or in the headers
    cells = _cells(res.stdout)
    d = describe(FORUM_COUNTS)
    for n in FORUM_COUNTS:
        assert f"{n:,}" in cells
    for e in d.schemes:
        for w, share in zip(e.weights, e.loss_share):
            assert f"{w:.4g}" in cells and f"{share:.1%}" in cells
    # inverse, balanced, max and median weights are equal under "samples": one column
    assert sum("balanced =" in line for line in lines) == 2  # the weights' and shares' tables


def test_inspect_wide_tables_turn_or_split_instead_of_cutting():
    res = runner.invoke(app, ["inspect"], env={"COLUMNS": "50"})
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 50
    assert "(1 of" in res.stdout and "…" not in res.stdout


def _help(*args):
    return runner.invoke(app, [*args, "--help"], env={"COLUMNS": "80"}).output


@pytest.mark.parametrize("command", [(), ("inspect",), ("weights",), ("compare",)])
def test_help_shows_no_type_hints(command):
    text = _help(*command)
    assert "Usage:" in text and "--help" in text
    for hint in ("<bool>", "<int", "<float", "<str>", "<path>", "range>", "[x>="):
        assert hint not in text, hint


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["weights", "--scheme", "bogus"], "`--scheme` must be one of"),
        (["weights", "--scheme", "power"], "`--beta` must be given with `--scheme power`"),
        (["weights", "--scheme", "effective", "--beta", "2"], "`--beta` must be in"),
        (["weights", "--clip", "5,1"], "`--clip` must be in"),
        (["weights", "--max-ratio", "0.5"], "`--max-ratio` must be in"),
        (["inspect", "nothere.csv"], "`PATH` must be an existing file"),
        (["compare", "--metric", "bogus"], "`--metric` must be one of"),
        (["compare", "--strategies", "nope"], "`--strategies` must be"),
    ],
)
def test_errors_name_the_flag_that_was_typed(args, message):
    res = invoke(*args)
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert message in text
    assert "got None" not in text


def test_inspect_and_weights_warn_when_effective_weights_stay_uniform(forum_labels):
    res = invoke("inspect", forum_labels)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "'effective' weights with beta=0.999 are nearly uniform" in text
    assert "beta=0.9999 gives a weight ratio of 4.1:1" in text
    res = invoke("weights", forum_labels, "--scheme", "effective", "--format", "json")
    assert res.exit_code == 0, res.output
    assert "nearly uniform" in " ".join(res.stderr.split())
    assert "WeightingWarning" not in res.stderr
    assert json.loads(res.stdout)["weights"][1] == 0.9978972  # float32's digits, no noise
    res = invoke("weights", forum_labels, "--scheme", "effective", "--beta", "0.9999")
    assert res.exit_code == 0, res.output
    assert "Warning" not in res.stderr


def test_weights_warn_when_one_class_would_dominate(tmp_path):
    path = tmp_path / "y.npy"
    np.save(path, np.repeat([0, 1], [5000, 2]))
    res = invoke("weights", path, "--scheme", "inverse")
    assert res.exit_code == 0, res.output
    text = " ".join(res.stderr.split())
    assert "ratio of 2,500:1" in text and "`--max-ratio`" in text
