import json

import numpy as np
import pytest
from typer.testing import CliRunner

from counterpoise.cli import app
from counterpoise.compare import STRATEGIES
from counterpoise.compare.references import REFERENCES

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def make_csv(path, counts=(120, 40, 12), seed=0, extra=""):
    rng = np.random.default_rng(seed)
    rows = ["f1,f2,f3,species" + extra]
    for c, n in enumerate(counts):
        centre = np.eye(3)[c % 3] * 3
        for x in rng.normal(centre, 1.0, size=(n, 3)):
            rows.append(",".join(f"{v:.4f}" for v in x) + f",s{c}" + ("," + "t" if extra else ""))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_quick_run_on_builtin_writes_a_complete_report(tmp_path):
    out = tmp_path / "report"
    res = invoke("compare", "--quick", "--epochs", "8", "--out", out, "--html")
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "results.json").read_text())
    ran = set(payload["strategies"])
    expected = {n for n, s in STRATEGIES.items() if s.task == "multiclass" and not s.binary_only}
    assert ran == expected | {"logreg_balanced", "hgb_balanced"}  # and the two references
    assert {n for n, s in payload["strategies"].items() if s["reference"]} == ran - expected
    for name, stats in payload["strategies"].items():
        for metric in ("balanced_accuracy", "macro_f1", "worst_class_recall", "accuracy", "ece"):
            assert len(stats[metric]["values"]) == 1, (name, metric)
            assert 0.0 <= stats[metric]["mean"] <= 1.0
        assert len(stats["per_class_recall"]) == 10
    assert payload["dataset"]["class_counts"]["test"] == [30] * 10
    assert payload["dataset"]["class_counts"]["train"][0] == 124
    ranking = payload["ranking"]  # by validation, and the selected strategy leads it
    val = [payload["strategies"][n]["validation"]["balanced_accuracy"]["mean"] for n in ranking]
    assert val == sorted(val, reverse=True)
    assert payload["selected"] == next(n for n in ranking if n in expected)  # never a reference
    md = (out / "report.md").read_text()
    assert f"`{ranking[0]}`" in md and "Δ vs ce" in md
    assert "Does the published finding hold here?" in md
    finding = {r["strategy"]: r for r in payload["published_finding"]}
    assert set(finding) == {"logit_adjusted", "balanced_softmax", "ldam_drw"}
    la = payload["strategies"]["logit_adjusted"]["balanced_accuracy"]["mean"]
    ce = payload["strategies"]["ce"]["balanced_accuracy"]["mean"]
    assert finding["logit_adjusted"]["delta"] == pytest.approx(la - ce)
    for png in (
        "recall_per_class_and_strategy.png",
        "confusion_matrix_best.png",
        "reliability_diagram.png",
        "training_curves.png",
        "training_class_distribution.png",
    ):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
        assert png in md
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 6 and "<table>" in page
    # a phone shows the page at its width, and a wide table scrolls in its own box
    assert "name='viewport' content='width=device-width" in page
    assert '<div class="scroll"><table>' in page and ".scroll{overflow-x:auto" in page
    assert ranking[0] in res.stdout and "Report:" in res.stdout
    assert "{'train'" not in res.stdout and "array columns" not in res.stdout
    assert "train / validation / test: 304 / 200 / 300 samples" in res.stdout

    # the folder holds the latest run's files only: no report.html without --html, and no
    # plot the new report does not show; files that are not the report's stay
    (out / "notes.txt").write_text("mine")
    (out / "old_plot.png").write_bytes(b"x")  # not named by report.md: not ours
    res = invoke("compare", "--quick", "--epochs", "2", "--strategies", "ce,focal", "--out", out)
    assert res.exit_code == 0, res.output
    left = {p.name for p in out.iterdir()}
    assert "report.html" not in left and {"notes.txt", "old_plot.png"} <= left
    md = (out / "report.md").read_text()
    for png in left - {"old_plot.png"}:
        if png.endswith(".png"):
            assert png in md


def test_user_csv_with_seeds_and_strategy_subset(tmp_path):
    data = make_csv(tmp_path / "data.csv")
    out = tmp_path / "r"
    res = invoke(
        "compare",
        data,
        "--label",
        "species",
        "--hidden",
        "16",
        "--depth",
        "2",
        "--seeds",
        "2",
        "--epochs",
        "6",
        "--strategies",
        "ce,posthoc_adjusted",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["strategies"]) == {"ce", "posthoc_adjusted", *REFERENCES}
    assert payload["dataset"]["classes"] == ["s0", "s1", "s2"]
    assert (
        payload["settings"]["train"]["hidden"] == 16 and payload["settings"]["train"]["depth"] == 2
    )
    # a table of 172 rows: three random splits by default, each trained with both seeds
    assert payload["settings"]["splits"] == 3
    assert len(payload["strategies"]["ce"]["balanced_accuracy"]["values"]) == 6
    assert payload["runs"] == [{"split": k, "seed": j} for k in range(3) for j in range(2)]
    sizes = payload["dataset"]["split_sizes"]
    assert sum(sizes.values()) == 172
    assert payload["dataset"]["test_balanced"] is False  # 12 * 0.2 < 5 per class
    assert payload["dataset"]["features"] == ["f1", "f2", "f3"]
    md = (out / "report.md").read_text()
    assert "Stratified test split" in md and "Features: 3 columns: f1, f2, f3." in md
    assert "Features: 3 columns: f1, f2, f3." in res.stdout


def test_same_command_same_numbers(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        res = invoke(
            "compare",
            "--quick",
            "--epochs",
            "4",
            "--strategies",
            "ce,ce_sqrt,logit_adjusted",
            "--out",
            out,
        )
        assert res.exit_code == 0, res.output
    ja, jb = (json.loads((d / "results.json").read_text()) for d in (a, b))
    assert ja["strategies"] == jb["strategies"]


def test_list_names_every_strategy():
    res = invoke("compare", "--list")
    assert res.exit_code == 0
    for name in (
        "ce",
        "ce_inverse",
        "ce_balanced",
        "ce_sqrt",
        "ce_effective",
        "sampler_balanced",
        "sampler_sqrt",
        "focal",
        "cb_focal",
        "logit_adjusted",
        "balanced_softmax",
        "ldam_drw",
        "posthoc_adjusted",
        "prior_corrected",
        "threshold_tuned",
    ):
        assert name in STRATEGIES and name in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label", "nope"], "species"),
        (["--label", "species", "--strategies", "ce,magic"], "magic"),
        (["--label", "species", "--strategies", "threshold_tuned"], "binary"),
        (["--label", "species", "--metric", "auc"], "metric"),
    ],
)
def test_bad_input_fails_before_training(tmp_path, args, message):
    data = make_csv(tmp_path / "data.csv")
    out = tmp_path / "never"
    res = invoke("compare", data, "--out", out, *args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not out.exists()


def test_text_features_identifiers_and_rare_classes_are_kept(tmp_path):
    text = make_csv(tmp_path / "t.csv", counts=(120, 40, 12, 2, 1), extra=",note")
    lines = text.read_text().splitlines()
    lines = [f"id,{line}" if i == 0 else f"{i},{line}" for i, line in enumerate(lines)]
    text.write_text("\n".join(lines) + "\n")
    out = tmp_path / "x"
    args = ("--epochs", "2", "--seeds", "1", "--strategies", "ce", "--out", out)
    res = invoke("compare", text, "--label", "species", *args)
    assert res.exit_code == 0, res.output
    assert "Rare classes kept" in res.stdout and "Left out as row identifiers" in res.stdout
    payload = json.loads((out / "results.json").read_text())
    assert payload["dataset"]["classes"] == ["s0", "s1", "s2", "s3", "s4"]
    assert payload["dataset"]["class_counts"]["val"][3:] == [0, 0]
    assert payload["dataset"]["features"] == ["f1", "f2", "f3", "note=t"]
    # the class of one row is named, in results.json and in the report, and so is what was done
    # to the text and the identifier columns
    assert payload["dataset"]["rare_classes"] == ["s3", "s4"]
    actions = {step["column"]: step["action"] for step in payload["dataset"]["preprocessing"]}
    assert actions == {"id": "identifier", "note": "one-hot"}
    md = (out / "report.md").read_text()
    assert "'s4'" in md and "Rare classes kept" in md and "'id'" in md
    assert payload["selected"] == "ce" and len(payload["strategies"]["ce"]["accuracy"]["values"])
    # the columns chosen: repeatable, comma-separated, names and patterns
    res = invoke(
        "compare", text, "--label", "species", "--features", "f*,id", "--exclude", "f2",
        "--exclude", "f3", *args,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((out / "results.json").read_text())["dataset"]["features"] == ["f1", "id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "f1,nope"], "Error: `--features` must be columns of data.csv: one of"),
        (["--exclude", "species"], "Error: `--exclude` must be feature columns, not the label"),
        (["--exclude", "f*", "--exclude", "f*"], "Error: `--features` must be at least one"),
    ],
)
def test_bad_feature_choices_fail_in_one_line(tmp_path, args, message):
    data = make_csv(tmp_path / "data.csv")
    res = invoke("compare", data, "--label", "species", "--out", tmp_path / "never", *args)
    assert res.exit_code == 2 and res.output.startswith(message), res.output
    np.savez(tmp_path / "d.npz", X=np.zeros((30, 2)), y=np.arange(30) % 3)
    res = invoke("compare", tmp_path / "d.npz", "--exclude", "a", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "(its X has no columns)" in res.output
    res = invoke("compare", "--features", "a", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "`--features` needs a PATH" in res.output


def test_binary_data_runs_threshold_tuning(tmp_path):
    data = make_csv(tmp_path / "bin.csv", counts=(150, 25))
    out = tmp_path / "b"
    res = invoke(
        "compare",
        data,
        "--label",
        "species",
        "--epochs",
        "6",
        "--seeds",
        "1",
        "--strategies",
        "threshold_tuned",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["strategies"]) == {"ce", "threshold_tuned", *REFERENCES}  # and its base


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategies", ","], "at least one"),
        (["--device", "tpu"], "--device"),
        (["--device", "cuda:7"], "--device"),
        (["--imbalance-factor", "10"], "built-in"),
    ],
)
def test_more_bad_options_fail_before_training(tmp_path, args, message):
    data = make_csv(tmp_path / "data.csv")
    res = invoke("compare", data, "--label", "species", "--out", tmp_path / "never", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output


def test_out_must_be_a_folder(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    res = invoke("compare", "--quick", "--out", blocker)
    assert res.exit_code == 2 and "--out" in res.output


def test_label_option_is_rejected_for_npz(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((30, 2)), y=np.arange(30) % 3)
    res = invoke("compare", tmp_path / "d.npz", "--label", "y", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "--label" in res.output


def test_split_column_missing_a_class_in_train(tmp_path):
    path = tmp_path / "s.csv"
    rows = ["x,label,split"] + [f"{i},{i % 3},train" for i in range(12) if i % 3 != 2]
    rows += [f"{i},{i % 3},val" for i in range(6)] + [f"{i},{i % 3},test" for i in range(6)]
    path.write_text("\n".join(rows) + "\n")
    res = invoke("compare", path, "--out", tmp_path / "o")
    assert res.exit_code == 2 and "train" in res.output


def test_an_interrupted_table_comparison_resumes_from_its_saved_runs(tmp_path, monkeypatch):
    import counterpoise.compare.execution as execution

    out = tmp_path / "r"
    args = ("compare", "--quick", "--epochs", "3", "--jobs", "1", "--no-reference")
    # interrupted: only ce ran
    res = invoke(*args, "--strategies", "ce", "--out", out)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "runs").glob("*.npz")) == ["ce__split0__seed0.npz"]
    first = json.loads((out / "results.json").read_text())["strategies"]["ce"]
    trained = []
    original = execution.train_run

    def counting(strategy, *a, **k):
        trained.append(strategy.name)
        return original(strategy, *a, **k)

    monkeypatch.setattr(execution, "train_run", counting)
    res = invoke(*args, "--strategies", "ce,ce_sqrt", "--out", out)
    assert res.exit_code == 0, res.output
    assert trained == ["ce_sqrt"]  # ce was loaded, not trained again
    again = json.loads((out / "results.json").read_text())["strategies"]["ce"]
    assert again["balanced_accuracy"] == first["balanced_accuracy"]
    # other settings: the saved runs are not reused
    trained.clear()
    res = invoke(*args, "--strategies", "ce", "--hidden", "16", "--out", out)
    assert res.exit_code == 0, res.output
    assert trained == ["ce"]


def test_a_table_comparison_on_ray_gives_the_local_numbers(tmp_path):
    pytest.importorskip("ray")
    args = ("compare", "--quick", "--epochs", "3", "--strategies", "ce,ce_balanced")
    local = invoke(*args, "--jobs", "1", "--out", tmp_path / "local")
    assert local.exit_code == 0, local.output
    on_ray = invoke(*args, "--ray", "local", "--out", tmp_path / "ray")
    assert on_ray.exit_code == 0, on_ray.output
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("local", "ray"))
    for payload in (a, b):
        del payload["timings"]
    assert a == b
