"""``koubei health``: the crawl health rows as a table, worst first, so a blind source is seen first;
``koubei health --alarm`` sends the day's crawl health alarms (:func:`~.health.run_health_alarms`).

Registered by :mod:`koubei.pipelines.cli`; reads what :func:`~.health.write_health` stored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_report import _day

STYLE = {"failed": "bold red", "blocked": "red", "partial": "yellow", "ok": "green"}


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))


@click.command("health")
@click.option("--out", "root", default="data", show_default=True, help="Storage root the crawls wrote to.")
@click.option("--from", "start", help="First Taipei day (YYYY-MM-DD) of the runs shown.")
@click.option("--to", "end", help="Last Taipei day of the runs shown.")
@click.option("--alarm", is_flag=True, help="Send the crawl health alarms of --day instead of the table.")
@click.option("--day", help="With --alarm: the Taipei day (default today).")
@click.option(
    "--watch",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --alarm: watch file whose alerts: channels and health: thresholds are used.",
)
@click.option("--dry-run", is_flag=True, help="With --alarm: record alarms in the outbox, send nothing.")
def health(
    root: str,
    start: str | None,
    end: str | None,
    alarm: bool,
    day: str | None,
    watch: Path | None,
    dry_run: bool,
) -> None:
    """Print one row per crawl run x source: pages, blocks, items; failed, blocked, partial, ok."""
    from rich.console import Console
    from rich.table import Table

    from .health import read_health, worst_first
    from .store import TAIPEI

    if alarm:
        _alarm(root, _day(day, "--day"), watch, dry_run)
        return
    start, end = _day(start, "--from"), _day(end, "--to")
    if start and end and end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}")
    rows = worst_first(read_health(root, start, end))
    if not rows:
        raise click.ClickException(f"no crawl health rows in {root} for that range")
    table = Table(title=f"crawl health ({len(rows)} run x source rows, worst first)")
    for name in ("status", "started (Taipei)", "source", "finish", "requested", "ok", "retried"):
        table.add_column(name, justify="right" if name in ("requested", "ok", "retried") else "left")
    for name in ("blocked", "failed", "parse err", "listed", "items", "new/upd/same", "missing", "secs"):
        table.add_column(name, justify="left" if name == "blocked" else "right")
    for r in rows:
        blocked = f"{r['blocked']} ({_reasons(r['blocked_reasons'])})" if r["blocked"] else "0"
        table.add_row(
            f"[{STYLE.get(r['status'], '')}]{r['status']}[/]",
            r["started_at"].astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M"),
            f"{r['platform']}/{r['board']}",
            r["finish_reason"] or f"died (rc {r['returncode']})",
            str(r["requested"]),
            str(r["succeeded"]),
            str(r["retried"]),
            blocked,
            str(r["failed"]),
            str(r["parse_errors"]),
            "-" if r["listed"] is None else str(r["listed"]),
            str(r["items"]),
            f"{r['new']}/{r['updated']}/{r['unchanged']}",
            str(r["fields_missing"]),
            f"{r['duration_s']:.0f}",
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _alarm(root: str, day: str | None, watch: Path | None, dry_run: bool) -> None:
    from .alerts import AlertConfigError, load_alert_config
    from .health import load_health_config, run_health_alarms

    try:
        config, alert_config = load_health_config(watch), load_alert_config(watch)
    except (AlertConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    run = run_health_alarms(root, day, config=config, alert_config=alert_config, send=not dry_run)
    for a in run.alarms:
        click.echo(f"ALARM {a.alert_id} {a.title}" + ("" if a.delivered else " (not delivered)"))
    for a in run.repeats:
        click.echo(f"  already sent: {a.title}")
    click.echo(run.line())
