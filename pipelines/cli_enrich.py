"""``koubei enrich``: raw partitions → the enriched dataset (own text, sentiment, mentions, 業配 flags)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click


@click.command()
@click.option(
    "--out", required=True, help="Storage root holding the raw store: a path or a pyarrow/fsspec URI."
)
@click.option("--day", help="Only this Asia/Taipei day's partitions (YYYY-MM-DD).")
@click.option("--platform", type=click.Choice(["ptt", "dcard", "mobile01"]), help="Only this platform.")
@click.option(
    "--watch",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Brand watch YAML (see `koubei match`); without it no mentions are looked for.",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Sentiment model directory (default: the shipped model).",
)
@click.option(
    "--backend",
    type=click.Choice(["onnx-int8", "onnx", "torch"]),
    default="onnx-int8",
    show_default=True,
    help="Inference backend; the ONNX files come from `python -m koubei.models.export DIR`.",
)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--threads", type=int, help="Inference threads (default: the runtime's choice).")
@click.option("--force", is_flag=True, help="Re-enrich partitions whose inputs did not change.")
def enrich(out, day, platform, watch, model_dir, backend, batch_size, threads, force) -> None:
    """Enrich the raw store's partitions; unchanged ones are skipped. Prints a closing stats line."""
    from koubei.nlp.brands import WatchFileError

    from .enrich import run_enrich

    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a YYYY-MM-DD date", param_hint="--day") from None
    try:
        stats = run_enrich(
            out,
            day=day,
            platform=platform,
            watch=watch,
            model_dir=model_dir,
            backend=backend,
            batch_size=batch_size,
            threads=threads,
            force=force,
        )
    except (WatchFileError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(stats.line())
