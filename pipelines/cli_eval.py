"""``koubei eval sentiment|mentions|sponsored``: score the shipped models beside their baselines on the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import click
from koubei.models.evaluate import BadDataFile, read_labeled_csv, scores
from koubei.models.paths import SENTIMENT_DIR, SPONSORED_DIR
from rich.console import Console
from rich.table import Table


@click.group("eval")
def eval_group() -> None:
    """Evaluate koubei's models on a labeled CSV."""


@eval_group.command("sentiment")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with a text column and a label column (negative|neutral|positive).",
)
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Model directory (default: the shipped sentiment model).",
)
@click.option(
    "--backend", type=click.Choice(["torch", "onnx", "onnx-int8"]), default="torch", show_default=True
)
@click.option(
    "--no-baseline", is_flag=True, help="Skip the TF-IDF + LR baseline (it trains on the model's recipe)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def eval_sentiment(data_file, text_col, label_col, model_dir, backend, no_baseline, as_json) -> None:
    """Accuracy, macro-F1, per-class P/R/F1 and the confusion matrix, all systems on the same rows."""
    from koubei.models.classifier import TextClassifier
    from koubei.models.compare import baseline_predictions, majority_predictions

    try:
        rows = read_labeled_csv(data_file, text_col, label_col)
    except BadDataFile as exc:
        raise click.ClickException(str(exc)) from None
    model_dir = model_dir or SENTIMENT_DIR
    if not (Path(model_dir) / "config.json").exists():
        raise click.ClickException(f"no model in {model_dir} (config.json missing)")
    texts = [t for t, _ in rows]
    gold = [label for _, label in rows]
    labels = (
        sorted(set(gold)) if set(gold) <= {"negative", "positive"} else ["negative", "neutral", "positive"]
    )
    binary = labels == ["negative", "positive"]
    clf = TextClassifier(model_dir, backend=backend)
    results = {"koubei": scores(gold, clf.predict(texts, restrict_to=labels if binary else None), labels)}
    card = _card_metrics(Path(model_dir))
    recipe = card.get("recipe")
    if not no_baseline and recipe:
        results["tfidf_lr"] = scores(
            gold, baseline_predictions(recipe, texts, labels if binary else None), labels
        )
    if recipe:
        results["majority"] = scores(gold, majority_predictions(recipe, len(texts), labels), labels)
    if as_json:
        click.echo(
            json.dumps(
                {"data": str(data_file), "rows": len(rows), "results": results}, indent=2, ensure_ascii=False
            )
        )
        return
    _print(results, labels, data_file, recipe)


def _card_metrics(model_dir: Path) -> dict:
    path = model_dir / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _print(results: dict, labels: list[str], data_file: Path, recipe: str | None) -> None:
    console = Console()
    summary = Table(
        title=f"{data_file} — {next(iter(results.values()))['rows']} rows (baseline trained on: {recipe})"
    )
    summary.add_column("system")
    summary.add_column("accuracy", justify="right")
    summary.add_column("macro-F1", justify="right")
    for lab in labels:
        summary.add_column(f"{lab} P/R/F1", justify="right")
    for name, s in results.items():
        per = [
            f"{s['per_class'][lab]['precision']:.3f}/{s['per_class'][lab]['recall']:.3f}/{s['per_class'][lab]['f1']:.3f}"
            for lab in labels
        ]
        summary.add_row(name, f"{s['accuracy']:.4f}", f"{s['macro_f1']:.4f}", *per)
    console.print(summary)
    for name, s in results.items():
        cm = Table(title=f"confusion ({name}): rows = gold, columns = predicted")
        cm.add_column("")
        for lab in labels:
            cm.add_column(lab, justify="right")
        for lab, row in zip(labels, s["confusion"], strict=True):
            cm.add_row(lab, *map(str, row))
        console.print(cm)


@eval_group.command("sponsored")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Hand-checked set: source,record,field,label rows joined to ../shared text "
    "(tests/fixtures/sponsored/eval_set.csv).",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sponsored model directory (default: the shipped one).",
)
@click.option("--threshold", type=float, default=0.9, show_default=True, help="Model flag threshold.")
@click.option(
    "--backend", type=click.Choice(["torch", "onnx", "onnx-int8"]), default="torch", show_default=True
)
@click.option("--shared", type=click.Path(file_okay=False, path_type=Path), help="Shared material root.")
def eval_sponsored(data_file, model_dir, threshold, backend, shared) -> None:
    """Precision/recall of the rules, the model, and the shipped flag (rules OR model), per split."""
    from koubei.nlp.sponsored import SponsoredRules, evaluate_flags, load_eval_set
    from koubei.pipelines.enrich import ModelDetector
    from koubei.pipelines.paths import shared_root

    model_dir = model_dir or SPONSORED_DIR
    if not (Path(model_dir) / "config.json").exists():
        raise click.ClickException(f"no model in {model_dir} (config.json missing)")
    try:
        rows = load_eval_set(data_file, shared or shared_root())
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{data_file}: {exc}") from None
    items = [r.item for r in rows]
    by_rules = SponsoredRules().predict(items)
    detector = ModelDetector(model_dir, threshold=threshold, backend=backend)
    by_model = [bool(reasons) for reasons in detector.reasons(items)]
    systems = {
        "rules": by_rules,
        "model": by_model,
        "rules OR model": [a or b for a, b in zip(by_rules, by_model, strict=True)],
    }
    table = Table(title=f"{data_file} — {len(rows)} units, model threshold {threshold}")
    for col in ("system", "split", "n", "pos", "tp", "fp", "fn", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col in ("system", "split") else "right")
    for name, flags in systems.items():
        for split, rep in evaluate_flags(rows, flags).items():
            n = rep.tp + rep.fp + rep.fn + rep.tn
            table.add_row(
                name, split, str(n), str(rep.support), str(rep.tp), str(rep.fp), str(rep.fn),
                f"{rep.precision:.3f}", f"{rep.recall:.3f}", f"{rep.f1:.3f}",
            )  # fmt: skip
    Console().print(table)


@eval_group.command("mentions")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with text (alias[SEP]window), sentence, window and label columns "
    "(`koubei eval export mentions-test`).",
)
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option(
    "--backend", type=click.Choice(["torch", "onnx", "onnx-int8"]), default="torch", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def eval_mentions(data_file, model_dir, backend, as_json) -> None:
    """Per-entity sentiment: the target input beside the whole-sentence and the window shortcuts."""
    from koubei.models.classifier import TextClassifier

    try:
        targets = read_labeled_csv(data_file, "text", "label")
        sentences = read_labeled_csv(data_file, "sentence", "label")
        windows = read_labeled_csv(data_file, "window", "label")
    except BadDataFile as exc:
        raise click.ClickException(str(exc)) from None
    model_dir = model_dir or SENTIMENT_DIR
    if not (Path(model_dir) / "config.json").exists():
        raise click.ClickException(f"no model in {model_dir} (config.json missing)")
    labels = ["negative", "neutral", "positive"]
    gold = [label for _, label in targets]
    clf = TextClassifier(model_dir, backend=backend)
    results = {
        "target (alias[SEP]window)": scores(gold, clf.predict([t for t, _ in targets]), labels),
        "whole sentence": scores(gold, clf.predict([t for t, _ in sentences]), labels),
        "window only": scores(gold, clf.predict([t for t, _ in windows]), labels),
    }
    if as_json:
        click.echo(json.dumps({"data": str(data_file), "rows": len(gold), "results": results}, indent=2))
        return
    _print(results, labels, data_file, recipe="(not trained here)")


def _evaluation_sets() -> dict:
    from koubei.models import corpora, forum_labels, labeled

    def forum3(split: str) -> list[tuple[str, str]]:
        return [
            (i["text"], i["label"])
            for i in forum_labels.load_forum3(split)
            if i["field"] in labeled.COMMENT_FIELDS
        ]

    return {
        "forum3-test": lambda: forum3("test"),
        "forum3-dev": lambda: forum3("dev"),
        "chnsenticorp-test": lambda: corpora.chnsenticorp("test"),
        "chnsenticorp-dev": lambda: corpora.chnsenticorp("dev"),
        "ptt-hhs-test": lambda: corpora.ptt_happy_hate_sad("test"),
        "sentiment3": lambda: [(i["text"], i["label"]) for i in labeled.load_sentiment3()],
    }


@eval_group.command("export")
@click.argument(
    "name",
    type=click.Choice(
        [
            "chnsenticorp-test",
            "chnsenticorp-dev",
            "ptt-hhs-test",
            "sentiment3",
            "forum3-test",
            "forum3-dev",
            "mentions-test",
            "mentions-dev",
        ]
    ),
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def eval_export(name, out) -> None:
    """Write an evaluation set from ../shared as the text,label CSV `eval sentiment` reads.

    forum3-*: the team-annotated forum comments of that split's threads; mentions-*: the
    mention-level rows for `eval mentions`."""
    import csv

    if name.startswith("mentions-"):
        from koubei.models.forum_labels import export_mentions

        click.echo(f"{name}: {export_mentions(name.split('-', 1)[1], out):,} rows → {out}")
        return
    try:
        rows = _evaluation_sets()[name]()
    except FileNotFoundError as exc:
        raise click.ClickException(f"{name}: {exc} (is the shared material at $KOUBEI_SHARED?)") from None
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    click.echo(f"{name}: {len(rows):,} rows → {out}")
