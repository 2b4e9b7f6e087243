"""``koubei eval sentiment``: score the shipped model beside the TF-IDF baseline and the majority class."""

from __future__ import annotations

import json
from pathlib import Path

import click
from koubei.models.evaluate import BadDataFile, read_labeled_csv, scores
from koubei.models.paths import SENTIMENT_DIR
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
