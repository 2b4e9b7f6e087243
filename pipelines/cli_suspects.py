"""``koubei suspects``: authors whose talk about a brand shows suspicious signals, with the reasons.

Registered by :mod:`koubei.pipelines.cli`; calls :func:`~.suspects.run_suspects`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from .cli_report import ROOT, WEEK, _range, _user_errors, _watch

CSV_COLUMNS = [
    "platform",
    "author_id",
    "brand",
    "group",
    "units",
    "first_seen",
    "listed",
    "reasons",
    "details",
]


def _csv_rows(suspects) -> list[dict]:
    return [
        s.to_dict()
        | {
            "first_seen": s.first_seen.isoformat() if s.first_seen else "",
            "reasons": ";".join(r.code for r in s.reasons),
            "details": " | ".join(r.text for r in s.reasons),
        }
        for s in suspects
    ]


def _table(suspects, start: str, end: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .store import TAIPEI

    table = Table(title=f"suspicious-author signals {start} – {end} (to look at, not an accusation)")
    for name in ("author", "brand", "units", "first seen", "reasons"):
        table.add_column(name, justify="right" if name == "units" else "left")
    for s in suspects:
        reasons = "\n".join(
            f"[{'bold red' if r.strength == 'strong' else 'yellow'}]{r.code}[/] {escape(r.text)}"
            for r in s.reasons
        )
        table.add_row(
            escape(f"{s.platform}/{s.author_id or '(anonymous)'}")
            + ("" if s.listed else " [dim](not listed)[/]"),
            escape(s.brand),
            str(s.units),
            s.first_seen.astimezone(TAIPEI).strftime("%Y-%m-%d") if s.first_seen else "-",
            reasons,
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@click.command("suspects")
@ROOT
@_watch(required=True)
@WEEK
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@click.option("--all", "show_all", is_flag=True, help="Also authors with too few reasons to be listed.")
def suspects(root: str, watch: Path, start: str | None, end: str | None, fmt: str, show_all: bool) -> None:
    """List authors with suspicious signals per brand (near-duplicate texts, shared-IP bursts,
    Dcard's flag, brand focus, bursts, new accounts), each with its reasons and evidence."""
    from .suspects import run_suspects

    start, end = _range(start, end, 7)
    try:
        found = run_suspects(root, start, end, watch, listed_only=not show_all)
    except _user_errors() as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        from .cli import _json_default

        rows = [s.to_dict() for s in found]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=_json_default))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(_csv_rows(found))
    elif found:
        _table(found, start, end)
    else:
        click.echo(f"no suspicious authors {start} – {end}")
