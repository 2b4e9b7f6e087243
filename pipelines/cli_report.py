"""``koubei trends | alerts | report | summary``: click commands over the listening stages.

Registered by :mod:`koubei.pipelines.cli`; each parses its options and calls one library function
(:func:`~.trends.run_trends`, :func:`~.alerts.run_alerts`, :func:`~.reports.build_report`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

ROOT = click.option(
    "--root", default="data", show_default=True, help="Storage root (a path or a pyarrow/fsspec URI)."
)


def _watch(required: bool):
    return click.option(
        "--watch",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        required=required,
        help="Watch file (brands:, groups, alerts:).",
    )


def WEEK(command):  # noqa: N802 - a decorator named like ROOT
    """``--from``/``--to``: a period of Taipei days, the last week by default (see :func:`_range`)."""
    command = click.option("--to", "end", help="Last Taipei day (default: today).")(command)
    return click.option("--from", "start", help="First Taipei day (default: 6 days before --to).")(command)


def _day(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a YYYY-MM-DD date", param_hint=name) from None


def _range(start: str | None, end: str | None, days: int) -> tuple[str, str]:
    from .trends import shift_day, taipei_today

    end = _day(end, "--to") or taipei_today()
    start = _day(start, "--from") or shift_day(end, -(days - 1))
    if end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}")
    return start, end


def _user_errors():
    """Errors a user causes (a bad watch file, a bad alerts: section) as one-line messages."""
    from koubei.nlp.brands import WatchFileError

    from .alerts import AlertConfigError

    return (WatchFileError, AlertConfigError, ValueError, FileNotFoundError)


@click.command("trends")
@ROOT
@_watch(required=False)
@click.option("--day", help="One Taipei day (YYYY-MM-DD); default today.")
@click.option("--from", "start", help="First day of a range (with --to).")
@click.option("--to", "end", help="Last day of a range.")
@click.option(
    "--lookback-days",
    type=int,
    default=31,
    show_default=True,
    help="Late comments on posts this old still count.",
)
def trends(
    root: str, watch: Path | None, day: str | None, start: str | None, end: str | None, lookback_days: int
) -> None:
    """Compute per brand x platform x board daily (and hourly) trends from the enriched dataset."""
    from .trends import days_between, run_trends, taipei_today

    if day and (start or end):
        raise click.BadParameter("give --day or --from/--to, not both")
    days = days_between(*_range(start, end, 1)) if (start or end) else [_day(day, "--day") or taipei_today()]
    try:
        for d in days:
            click.echo(run_trends(root, d, watch, lookback_days=lookback_days).line())
    except _user_errors() as exc:
        raise click.ClickException(str(exc)) from None


@click.command("alerts")
@ROOT
@_watch(required=True)
@click.option("--day", help="Taipei day of the daily rule (default: today).")
@click.option(
    "--now",
    help="The clock, ISO 8601 (default: the end of --day, else now); places the hourly and viral windows.",
)
@click.option("--dry-run", is_flag=True, help="Record alerts in the outbox without sending them.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the alerts, not every check.")
def alerts(root: str, watch: Path, day: str | None, now: str | None, dry_run: bool, quiet: bool) -> None:
    """Check every brand for negative spikes and viral negative threads; send new alerts."""
    from .alerts import run_alerts

    clock = None
    if now:
        try:
            clock = datetime.fromisoformat(now)
        except ValueError:
            raise click.BadParameter(f"{now!r} is not an ISO 8601 time", param_hint="--now") from None
        clock = clock if clock.tzinfo else clock.replace(tzinfo=UTC)
    try:
        run = run_alerts(root, watch, day=_day(day, "--day"), now=clock, send=not dry_run)
    except _user_errors() as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        for c in run.checks:
            expected = f"{c.test.expected:.1f}" if c.test.expected is not None else "-"
            click.echo(
                f"  {c.brand} {c.rule}: {c.test.observed:g} negative vs {expected} expected: {c.verdict}"
            )
    for a in run.alerts:
        click.echo(f"ALERT {a.alert_id} {a.title}" + ("" if a.delivered else " (not delivered)"))
    click.echo(run.line())


@click.command("report")
@ROOT
@_watch(required=True)
@WEEK
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default: report.<format>)."
)
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "md"]), default="html", show_default=True)
@click.option("--top", type=int, default=5, show_default=True, help="Threads per brand and sentiment.")
def report(
    root: str, watch: Path, start: str | None, end: str | None, out: Path | None, fmt: str, top: int
) -> None:
    """Write a brand report: self-contained offline HTML (charts inline), CSV or Markdown."""
    from .reports import build_report, write_report

    start, end = _range(start, end, 7)
    try:
        data = build_report(root, watch, start, end, top=top)
    except _user_errors() as exc:
        raise click.ClickException(str(exc)) from None
    path = write_report(data, out or Path(f"report.{fmt}"), fmt)
    click.echo(f"report {start} – {end}: {len(data.summaries)} brands -> {path}")


@click.command("summary")
@ROOT
@_watch(required=False)
@WEEK
def summary(root: str, watch: Path | None, start: str | None, end: str | None) -> None:
    """Print 聲量, 好感度, share of voice and alerts per brand for a period."""
    from rich.console import Console

    from .reports import _taipei, build_summary

    start, end = _range(start, end, 7)
    try:
        brands, alerts_seen = build_summary(root, watch, start, end)
    except _user_errors() as exc:
        raise click.ClickException(str(exc)) from None
    table = brand_table(brands, f"koubei {start} – {end}")
    console = Console(width=120, markup=False, highlight=False)
    console.print(table)
    for a in alerts_seen:
        console.print(f"alert {_taipei(a['period_start'])} {a['brand']} {a['rule']}: {a['observed']:g}")


# Column → (BrandSummary attribute, _fmt kind); the order is the table's.
BRAND_COLUMNS = {
    "brand": ("brand", None),
    "group": ("group", None),
    "mentions": ("mentions", "int"),
    "positive": ("positive", "int"),
    "neutral": ("neutral", "int"),
    "negative": ("negative", "int"),
    "net": ("net_sentiment", "float"),
    "P/N": ("pn_ratio", "ratio"),
    "SOV": ("sov", "pct"),
    "sponsored": ("sponsored_share", "pct"),
}


def brand_table(brands, title: str, columns=tuple(BRAND_COLUMNS)):
    """A rich table of :class:`~.reports.BrandSummary` rows (``koubei summary``, the demo's close)."""
    from rich.table import Table

    from .reports import _fmt

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in ("brand", "group") else "right")
    for s in brands:
        cells = []
        for col in columns:
            attr, kind = BRAND_COLUMNS[col]
            value = getattr(s, attr)
            cells.append((value or "-") if kind is None else _fmt(value, kind))
        table.add_row(*cells)
    return table


COMMANDS = (trends, alerts, report, summary)
