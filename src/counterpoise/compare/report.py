"""Writing a comparison's report: results.json, report.md, plots and an optional HTML page."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..metrics import LABEL_GROUPS, ImbalanceReport, MultilabelReport
from ..plots import (
    plot_class_distribution,
    plot_confusion_matrix,
    plot_group_scores,
    plot_label_average_precision,
    plot_per_class_recall,
    plot_reliability_diagram,
    plot_training_curves,
    save_figure,
)
from .recommendation import recommend
from .references import REFERENCES
from .runner import BASELINES, LOWER_IS_BETTER, CompareResult

__all__ = ["BASELINE", "BASELINES", "baseline_of", "ranking_rows", "write_report"]

#: The strategy every other one is measured against (multiclass data).
BASELINE = "ce"
#: Metrics shown in the tables, in order.
TABLE_METRICS = ("balanced_accuracy", "worst_class_recall", "macro_f1", "accuracy", "ece")
#: Metrics shown in the multilabel tables, in order (those defined on the data).
MULTILABEL_TABLE_METRICS = (
    "map",
    "head_map",
    "medium_map",
    "tail_map",
    "macro_f1",
    "macro_f1_tuned",
)
_TITLES = {"map": "mAP", "macro_f1": "macro F1@0.5", "macro_f1_tuned": "macro F1@tuned"}
#: Column titles of the multilabel metrics, every one a comparison can rank by (the multiclass
#: ones are shown by name).
METRIC_TITLES = {
    **_TITLES,
    **{f"{g}_{m}": f"{g} {title}" for m, title in _TITLES.items() for g in LABEL_GROUPS},
}


def baseline_of(result: CompareResult) -> str:
    """The name of the baseline strategy of the comparison's task."""
    return BASELINES[result.task]


def table_metrics(result: CompareResult) -> list[str]:
    """The ranking metric, then the metrics of the tables that the results hold."""
    if result.task == "multilabel":
        present = result.metrics()
        shown = [m for m in MULTILABEL_TABLE_METRICS if m in present]
    else:
        shown = list(TABLE_METRICS)
    return list(dict.fromkeys((result.metric, *shown)))


def metric_title(result: CompareResult, metric: str) -> str:
    """A metric's title in the comparison's tables (its name for multiclass data)."""
    return METRIC_TITLES.get(metric, metric) if result.task == "multilabel" else metric


def format_stats(stats: dict[str, Any], seeds: int) -> str:
    """``mean ± std`` with several runs, the mean alone with one."""
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}" if seeds > 1 else f"{stats['mean']:.3f}"


def format_interval(mean: float, band: list[float] | None) -> str:
    """``mean [low, high]``, or the mean alone without an interval."""
    return f"{mean:.3f}" if band is None else f"{mean:.3f} [{band[0]:.3f}, {band[1]:.3f}]"


def format_difference(vs: dict[str, Any] | None, runs: int) -> str:
    """``+d [low, high]``, marked ``≈`` when within noise (with more than one run)."""
    if vs is None:
        return ""
    band = vs["interval"]
    text = f"{vs['difference']:+.3f}"
    if band is not None:
        text += f" [{band[0]:+.3f}, {band[1]:+.3f}]"
    return text + (" ≈" if runs > 1 and vs["within_noise"] else "")


def shown_metrics(result: CompareResult) -> tuple[list[str], dict[str, str]]:
    """The table metrics without those identical to another on this data (the ranking metric
    always stays), and the dropped ones (metric -> the metric it equals)."""
    same = result.identical_metrics()
    metrics = table_metrics(result)
    ranking = result.metric
    dropped: dict[str, str] = {}
    for m in metrics:
        if m == ranking:
            continue
        if same.get(ranking) == m:
            dropped[m] = ranking
        elif same.get(m) in metrics and same.get(m) not in dropped:
            dropped[m] = same[m]
    return [m for m in metrics if m not in dropped], dropped


def ranking_rows(result: CompareResult) -> list[dict[str, Any]]:
    """One row per strategy that is not folded into another, in the order of the ranking
    (best mean validation score first): rank, name, the strategies folded into it, its mean
    validation score of the ranking metric, each shown metric's test stats, the ranking
    metric's test interval and its paired difference to the baseline, and whether it is the
    selected strategy or the baseline."""
    metric = result.metric
    folded = result.folded()
    metrics, _ = shown_metrics(result)
    rows: list[dict[str, Any]] = []
    for name in result.ranking():
        if name in folded:
            continue
        rows.append(
            {
                "rank": len(rows) + 1,
                "strategy": name,
                "folded": [n for n, into in folded.items() if into == name],
                "validation": result.stats(name, metric, "val") if result.val_reports else None,
                "stats": {m: result.stats(name, m) for m in metrics},
                "interval": result.interval(name, metric),
                "vs_baseline": result.difference(name, metric),
                "selected": name == result.selected,
                "reference": name in result.references,
            }
        )
    return rows


def feature_words(splits: Any) -> str:
    """The features in words: the named columns of a table, or the width of an array."""
    if splits.features:
        return str(splits.feature_summary())
    d = splits.num_features
    return f"{d} numeric value{'s' if d != 1 else ''} per sample"


def _inputs_line(result: CompareResult) -> str:
    """The report's line on what the model reads: the features of a table or array, or the
    inputs of the user's own model."""
    if result.training is not None:
        return f"Inputs: {result.training.inputs}."
    return f"Features: {feature_words(result.splits)}."


def split_words(splits: Any) -> str:
    """The sizes of the splits in words, e.g. ``train / validation / test: 304 / 500 / 500``."""
    sizes = splits.sizes()
    return f"train / validation / test: {sizes['train']:,} / {sizes['val']:,} / {sizes['test']:,}"


def _markdown(result: CompareResult, rows: list[dict[str, Any]], plots: dict[str, str]) -> str:
    if result.task == "multilabel":
        return _multilabel_markdown(result, rows, plots)
    cfg, s = result.config, result.splits
    lines = [
        f"# Imbalance strategies compared on {s.name}",
        "",
        f"{s.num_classes} classes; train / validation / test: {len(s.y_train)} / {len(s.y_val)} / "
        f"{len(s.y_test)} samples; training class counts {s.class_counts('train').tolist()}.",
        *[f"{note}" for note in s.notes],
        _inputs_line(result),
        "",
        *recommend(result).markdown(),
        "",
        "## Ranking",
        "",
        _ranking_words(result),
        "",
    ]
    lines += _ranking(result, rows)
    lines += _published_finding(result)
    lines += _strategies_and_plots(result, plots)
    trained = (
        f"MLP with {cfg.train.depth} hidden layer(s) of {cfg.train.hidden} units, Adam (lr "
        f"{cfg.train.lr:g}, weight decay {cfg.train.weight_decay:g}), batch size "
        f"{cfg.train.batch_size_for(len(s.y_train))}, at most {cfg.train.epochs} epochs, early stopping on validation "
        f"{result.metric} with patience {cfg.train.patience}. Every strategy starts from the same "
        "weights for a seed and sees the same data order unless it samples."
        if result.training is None
        else result.training.text
    )
    lines += [
        "",
        "## Settings",
        "",
        f"{trained} {_runs_words(result)} Total time {result.seconds:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def _runs_words(result: CompareResult) -> str:
    splits = len({k for k, _ in result.keys}) or 1
    return (
        f"{result.num_runs} run(s) per strategy: {splits} split(s) × {result.config.seeds} "
        "seed(s), each run with one PyTorch thread."
    )


def _ranking_words(result: CompareResult) -> str:
    metric = metric_title(result, result.metric)
    lower = result.metric in LOWER_IS_BETTER
    return (
        f"Ranked by mean validation {metric} ({'lower' if lower else 'higher'} is better); "
        f"test scores are means over {result.num_runs} run(s) (± standard deviation), the "
        f"ranking metric with its 95% bootstrap interval over splits, seeds and test rows "
        f"({result.config.resamples} resamples). Δ is the paired difference of the test "
        f"{metric} to `{baseline_of(result)}`, with its interval; ≈ marks a difference within "
        "noise (its interval holds 0)."
    )


def _ranking(result: CompareResult, rows: list[dict[str, Any]]) -> list[str]:
    """The ranking table, then what its marks mean and the metrics left out."""
    runs = result.num_runs
    metric = result.metric
    metrics, dropped = shown_metrics(result)
    others = [m for m in metrics if m != metric]
    title = metric_title(result, metric)
    lines = [
        f"| rank | strategy | validation {title} | test {title} [95%] | "
        f"Δ vs {baseline_of(result)} [95%] | "
        + " | ".join(metric_title(result, m) for m in others)
        + " |",
        "|---:|---|---:|---:|---:|" + "---:|" * len(others),
    ]
    for row in rows:
        mark = " ✓" if row["selected"] else ""
        mark += " (reference)" if row["reference"] else ""
        mark += "".join(f" ≡ `{n}`" for n in row["folded"])
        val = "" if row["validation"] is None else f"{row['validation']['mean']:.3f}"
        test = format_interval(row["stats"][metric]["mean"], row["interval"])
        delta = format_difference(row["vs_baseline"], runs)
        cells = [format_stats(row["stats"][m], runs) for m in others]
        lines.append(
            f"| {row['rank']} | `{row['strategy']}`{mark} | {val} | {test} | {delta} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "✓: the strategy the validation score selects."]
    if result.references:
        lines.append(
            "(reference): a scikit-learn model a user of tables would try first, trained on "
            "the same splits and seeds with 'balanced' class weights, for context; never "
            "selected: "
            + "; ".join(f"`{n}`: {REFERENCES[n]}" for n in result.references if n in REFERENCES)
            + "."
        )
    if any(r["folded"] for r in rows):
        lines.append(
            "≡: strategies with the same predictions on every run, shown once (the same model "
            "by construction, or a correction that changes nothing on this data)."
        )
    for m, same in dropped.items():
        why = (
            " (the test split is balanced)"
            if {m, same} == {"accuracy", "balanced_accuracy"}
            else ""
        )
        lines.append(
            f"{metric_title(result, m)} is left out: it equals {metric_title(result, same)} "
            f"on every run{why}."
        )
    return lines


def _strategies_and_plots(result: CompareResult, plots: dict[str, str]) -> list[str]:
    lines = ["", "## Strategies", ""]
    lines += [f"- `{st.name}`: {st.summary}" for st in result.strategies]
    lines += ["", "## Plots", ""]
    lines += [f"![{title}]({file})" for title, file in plots.items()]
    return lines


#: Strategies published to beat plain cross-entropy on balanced error (Menon et al., 2021;
#: Ren et al., 2020; Cao et al., 2019), on CIFAR-LT and ImageNet-LT.
PUBLISHED_WINNERS = ("logit_adjusted", "balanced_softmax", "ldam_drw")


def published_finding(result: CompareResult) -> list[dict[str, Any]]:
    """For each strategy of :data:`PUBLISHED_WINNERS` that ran, its paired difference of
    balanced accuracy and worst-class recall to ``ce``, and whether the gain holds here:
    better beyond noise (the interval of the difference above 0) with more than one run;
    ``None`` (no verdict) with one run."""
    if BASELINE not in result.reports:
        return []
    rows = []
    for name in PUBLISHED_WINNERS:
        if name not in result.reports:
            continue
        vs = cast(dict[str, Any], result.difference(name, "balanced_accuracy", BASELINE))
        worst = cast(dict[str, Any], result.difference(name, "worst_class_recall", BASELINE))
        holds = None if result.num_runs < 2 else bool(vs["better"] and not vs["within_noise"])
        rows.append(
            {
                "strategy": name,
                "delta": vs["difference"],
                "interval": vs["interval"],
                "worst_delta": worst["difference"],
                "holds": holds,
            }
        )
    return rows


def _published_finding(result: CompareResult) -> list[str]:
    rows = published_finding(result)
    if not rows:
        return []
    lines = [
        "",
        "## Does the published finding hold here?",
        "",
        "Logit adjustment, balanced softmax and LDAM-DRW are published to beat plain "
        "cross-entropy on balanced error on long-tailed benchmarks. On this data, against `ce`:",
        "",
    ]
    for r in rows:
        if r["holds"] is None:
            verdict = "one run, no verdict"
        elif r["holds"]:
            verdict = "holds (better beyond noise)"
        else:
            verdict = "does not hold (no gain beyond noise)"
        band = r["interval"]
        interval = "" if band is None else f" [{band[0]:+.3f}, {band[1]:+.3f}]"
        lines.append(
            f"- `{r['strategy']}`: balanced accuracy {r['delta']:+.3f}{interval}, worst-class "
            f"recall {r['worst_delta']:+.3f}: {verdict}."
        )
    return lines


def _figures(result: CompareResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    if result.task == "multilabel":
        return _multilabel_figures(result, rows)
    s = result.splits
    best = rows[0]["strategy"]
    names = [r["strategy"] for r in rows]
    figs: dict[str, Any] = {
        "Training class distribution": plot_class_distribution(s.class_counts("train"), s.classes),
        "Recall per class and strategy": plot_per_class_recall(
            {n: result.mean_recall(n) for n in names},
            s.classes,
            title="Test recall per class (mean over seeds), best strategy first",
        ),
    }
    for name, label in ((best, "best"), (BASELINE, "baseline")):
        if name in result.reports:
            cm = np.sum([cast(ImbalanceReport, r).confusion for r in result.reports[name]], axis=0)
            figs[f"Confusion matrix, {label} ({name})"] = plot_confusion_matrix(
                cm, s.classes, title=f"{name}: confusion matrix (all seeds)"
            )
    shown = [
        n
        for n in dict.fromkeys((best, BASELINE, "prior_corrected", "ce_balanced"))
        if n in result.reports
    ]
    figs["Reliability diagram"] = plot_reliability_diagram(
        {n: (result.predictions[n][0].probs, s.y_test) for n in shown},
        title="Reliability on the test split (seed 0)",
    )
    curves = _curves(result)
    if curves:
        figs["Training curves"] = plot_training_curves(
            curves,
            ylabel=f"validation {result.metric}"
            + (" (negated)" if result.metric in LOWER_IS_BETTER else ""),
            baseline=BASELINE if BASELINE in curves else None,
        )
    return figs


def _curves(result: CompareResult) -> dict[str, list[list[float]]]:
    """Per training strategy, the validation score of each epoch of each run: the strategies
    whose runs recorded one (a training loop of the user's own may record none)."""
    curves = {n: [r.history.get("val_score", []) for r in runs] for n, runs in result.runs.items()}
    return {n: c for n, c in curves.items() if all(c)}


#: The per-label table of a multilabel report shows this many of the commonest and of the rarest
#: labels (all of them when there are at most twice as many).
SHOWN_EACH_END = 5


def _multilabel_markdown(
    result: CompareResult, rows: list[dict[str, Any]], plots: dict[str, str]
) -> str:
    cfg, s = result.config, result.splits
    metric, baseline = result.metric, baseline_of(result)
    counts = s.class_counts("train")
    lines = [
        f"# Imbalance strategies compared on {s.name} (multilabel)",
        "",
        f"{s.num_classes} labels; train / validation / test: {len(s.y_train)} / {len(s.y_val)} / "
        f"{len(s.y_test)} rows; training positives per label from {counts.max()} to "
        f"{counts.min()} (imbalance ratio {counts.max() / counts.min():.1f}:1).",
        *s.notes,
        _inputs_line(result),
        "",
        *_group_lines(result),
        "",
        *recommend(result).markdown(),
        "",
        "## Ranking",
        "",
        _ranking_words(result),
        "mAP is the mean over labels of the average precision (the labels without a test "
        "positive left out). Macro F1 is at the threshold 0.5 and at per-label thresholds tuned "
        "for F1 on the validation split (on validation itself for the validation score, which "
        "makes that one optimistic); thresholds do not change average precision. The baseline "
        f"is plain binary cross-entropy (`{baseline}`).",
        "",
    ]
    lines += _ranking(result, rows)
    lines += ["", *_label_table(result, rows)]
    lines += _strategies_and_plots(result, plots)
    trained = (
        f"MLP with {cfg.train.depth} hidden layer(s) of {cfg.train.hidden} units and one sigmoid "
        f"output per label, Adam (lr {cfg.train.lr:g}, weight decay {cfg.train.weight_decay:g}), "
        f"batch size {cfg.train.batch_size_for(len(s.y_train))}, at most {cfg.train.epochs} epochs, early stopping on "
        f"validation {metric_title(result, metric)} with patience {cfg.train.patience}. "
        "Every strategy "
        "starts from the same weights for a seed and sees the same data order."
        if result.training is None
        else result.training.text
    )
    lines += [
        "",
        "## Settings",
        "",
        f"{trained} {_runs_words(result)} Total time {result.seconds:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def _group_lines(result: CompareResult) -> list[str]:
    """How the labels are grouped, and which groups are empty at these boundaries."""
    report = _first_report(result)
    low, high = report.boundaries
    given = "given" if result.config.boundaries is not None else "of Liu et al., 2019"
    lines = [
        f"Labels grouped by training positives at the boundaries ({low:g}, {high:g}) ({given}): "
        + "; ".join(f"{g.name}: {g.rule} ({len(g.indices)} labels)" for g in report.groups)
        + "."
    ]
    empty = [g.name for g in report.groups if not g.indices]
    if empty:
        counts = result.splits.class_counts("train")
        lines.append(
            f"The {' and '.join(empty)} group{'s are' if len(empty) > 1 else ' is'} empty at "
            f"the boundaries ({low:g}, {high:g}): the labels have {counts.min()} to "
            f"{counts.max()} training positives. Other boundaries: `--label-groups LOW,HIGH` "
            "(`CompareConfig.boundaries`)."
        )
    return lines


def _first_report(result: CompareResult) -> MultilabelReport:
    """A multilabel report of the comparison: its labels, groups and test positives are the
    same for every strategy and seed."""
    return cast(MultilabelReport, next(iter(result.reports.values()))[0])


def _label_table(result: CompareResult, rows: list[dict[str, Any]]) -> list[str]:
    """Per-label test AP of the commonest and the rarest labels, one column per strategy."""
    s = result.splits
    report = _first_report(result)
    counts = s.class_counts("train")
    order = np.argsort(-counts, kind="stable")
    k = SHOWN_EACH_END
    shown: list[int | None] = list(order)
    if order.size > 2 * k:
        shown = [*order[:k], None, *order[-k:]]
    names = [r["strategy"] for r in rows]
    ap = {n: result.mean_average_precision(n) for n in names}
    which = "every label" if order.size <= 2 * k else f"the {k} commonest and the {k} rarest labels"
    lines = [
        "## Average precision per label",
        "",
        f"Test average precision of {which}, most training positives first, mean over seeds; "
        "strategies best first. n/a: no positive in the test split.",
        "",
        "| label | group | train pos. | test pos. | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|---|---:|---:|" + "---:|" * len(names),
    ]
    groups = report.label_groups
    for i in shown:
        if i is None:
            lines.append("| … |" + " |" * (3 + len(names)))
            continue
        cells = ["n/a" if not np.isfinite(ap[n][i]) else f"{ap[n][i]:.3f}" for n in names]
        lines.append(
            f"| {s.classes[i]} | {groups[i]} | {counts[i]} | {report.positives[i]} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def _multilabel_figures(result: CompareResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    s = result.splits
    report = _first_report(result)
    counts = s.class_counts("train")
    names = [r["strategy"] for r in rows]
    best, baseline = names[0], baseline_of(result)

    def group_map(name: str, group: str) -> float | None:
        key = f"{group}_map"
        return result.stats(name, key)["mean"] if key in result.metrics() else None

    figs: dict[str, Any] = {
        "Training positives per label": plot_class_distribution(
            counts, s.classes, title="Training positives per label"
        ),
        "mAP by label group and strategy": _legend_outside(
            plot_group_scores(
                {
                    n: {f"{g.name} ({len(g.indices)})": group_map(n, g.name) for g in report.groups}
                    for n in names
                },
                ylabel="test mAP (mean over seeds)",
                title="Test mAP of the head, medium and tail labels, best strategy first",
            )
        ),
    }
    for name, label in ((best, "best"), (baseline, "baseline")):
        if name in result.reports:
            figs[f"Average precision per label, {label} ({name})"] = plot_label_average_precision(
                result.mean_average_precision(name),
                counts,
                report.label_groups,
                boundaries=report.boundaries,
                title=f"{name}: test AP per label (mean over seeds)",
            )
    curves = _curves(result)
    if curves:
        figs["Training curves"] = plot_training_curves(
            curves,
            ylabel=f"validation {metric_title(result, result.metric)}",
            baseline=baseline if baseline in curves else None,
        )
    return figs


def _legend_outside(fig: Any) -> Any:
    """``fig`` with the legend of its axes moved to the right of them, where it covers no bar
    (one bar per strategy fills the axes up to the top)."""
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    return fig


def _slug(title: str) -> str:
    keep = "".join(ch.lower() if ch.isalnum() else "_" for ch in title.split(" (")[0])
    return "_".join(p for p in keep.split("_") if p) + ".png"


def write_report(
    result: CompareResult, out_dir: str | Path, *, html_page: bool = False
) -> dict[str, Path]:
    """Write results.json, report.md and the plots (and report.html) into ``out_dir``.

    The files of an earlier report in ``out_dir`` (its report.md, report.html, results.json
    and the plots its report.md shows) are removed first, so that the folder holds the latest
    run's files only; other files are left alone.

    Returns:
        The written files by kind (``"json"``, ``"markdown"``, ``"html"``, and one per plot).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous_report(out)
    rows = ranking_rows(result)
    files: dict[str, Path] = {}
    plots: dict[str, str] = {}
    for title, fig in _figures(result, rows).items():
        path = save_figure(fig, out / _slug(title))
        plots[title] = path.name
        files[title] = path
    payload = result.to_json()
    payload["published_finding"] = published_finding(result)
    payload["recommendation"] = recommend(result).to_json()
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    files["json"] = out / "results.json"
    markdown = _markdown(result, rows, plots)
    (out / "report.md").write_text(markdown)
    files["markdown"] = out / "report.md"
    if html_page:
        (out / "report.html").write_text(_html(markdown, out))
        files["html"] = out / "report.html"
    return files


def _remove_previous_report(out: Path) -> None:
    """Remove the files that an earlier :func:`write_report` wrote into ``out``."""
    old = out / "report.md"
    plots = (
        re.findall(r"^!\[[^\]]*\]\(([^)/\\]+\.png)\)$", old.read_text(), re.M)
        if old.is_file()
        else []
    )
    for name in ("report.md", "report.html", "results.json", *plots):
        path = out / name
        if path.is_file():
            path.unlink()


def _html(markdown: str, folder: Path) -> str:
    """A single self-contained page (images inlined) from the report's markdown."""
    body: list[str] = []
    table: list[list[str]] = []

    def flush_table() -> None:
        if not table:
            return
        head, *rest = table
        body.append(
            '<div class="scroll"><table><thead><tr>'
            + "".join(f"<th>{c}</th>" for c in head)
            + "</tr></thead><tbody>"
        )
        body.extend("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rest)
        body.append("</tbody></table></div>")
        table.clear()

    def inline(text: str) -> str:
        text = html.escape(text)
        parts = text.split("`")
        text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
        parts = text.split("**")
        return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))

    code: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("```"):
            if code is None:
                flush_table()
                code = []
            else:
                body.append("<pre><code>" + html.escape("\n".join(code)) + "</code></pre>")
                code = None
            continue
        if code is not None:
            code.append(line)
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                table.append([inline(c) for c in cells])
            continue
        flush_table()
        if line.startswith("!["):
            title, file = line[2:].split("](")
            data = base64.b64encode((folder / file.rstrip(")")).read_bytes()).decode()
            body.append(
                f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(title)}</figcaption></figure>"
            )
        elif line.startswith("## "):
            body.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.startswith("- "):
            body.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
    flush_table()
    # A phone shows the page at its own width (viewport); a table wider than the screen
    # scrolls inside its box instead of pushing the page sideways; long words and code wrap.
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "line-height:1.45;overflow-wrap:anywhere}"
        ".scroll{overflow-x:auto;margin:1em 0}"
        "table{border-collapse:collapse;overflow-wrap:normal}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}"
        "td:nth-child(2),th:nth-child(2){text-align:left}"
        "img{max-width:100%;height:auto}figure{margin:1em 0}"
        "pre{overflow-x:auto;background:#f6f6f6;padding:.6em;overflow-wrap:normal}"
        "@media (max-width:600px){body{margin:1em auto;padding:0 .6em}td,th{padding:3px 5px}}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"  # self-contained: no request for /favicon.ico
        "<title>counterpoise compare</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
