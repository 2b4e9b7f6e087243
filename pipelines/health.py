"""Crawl health: one row per crawl run x source, so a blind crawl shows up as blind, not as a quiet day.

The spiders and item pipelines count per-source events under ``koubei/source/<board>/<event>``
(requested, retried, responses, succeeded, blocked/<reason>, failed/<reason>, skipped/<reason>,
not_found, listed, items, fields_missing, store/<outcome>); :func:`health_rows` turns one crawl's
stats into rows and :func:`write_health` appends them to ``health/date=<Taipei day>/health.parquet``.

Status rules, first match wins:

* ``failed``: the crawl process exited non-zero or never reported a finish reason (killed, crashed);
* ``blocked``: the source listed no rows where its previous health row had some (``empty_list``),
  or requests were blocked (challenge, over-18 gate, HTTP 403) and no item came back;
* ``partial``: the crawl stopped early (finish reason other than ``finished``), more than
  :data:`PARTIAL_SHARE` of the requests were blocked, given up or unparseable, more than
  :data:`EXCERPT_SHARE` of the posts came as a Dcard excerpt only, or more than :data:`DRIFT_SHARE`
  of the posts lacked an expected field or were dropped (schema drift);
* ``ok``: otherwise.

Coverage (what trends and reports show, :func:`source_coverage`): a source-day is the platform/board
on the Asia/Taipei day its crawls started. A run is also ``partial`` when it yielded no item while the
source's trailing runs had some (``zero_items_vs_baseline``). Several runs of a day: the latest one
wins when it is ``ok`` (its look-back re-crawled what an earlier run missed); a blocked or failed run
after some data came in leaves the day ``partial``; otherwise the latest run's status. No health row:
``unknown`` (data from before crawl health, or crawled elsewhere), which is never excluded.

Health alarms (:func:`health_alarms`, :func:`run_health_alarms`) name one reason per source-day (the
first of :func:`row_reasons`), go through the brand alerts' apprise channels and outbox as alerts of
kind ``health``, once per source, reason and day. :func:`raise_for_health` turns the rows of a crawl
into an exception naming each bad source and its reasons, for the DAG's crawl task.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from .item_pipelines import SOURCE_PREFIX
from .schemas import CRAWL_HEALTH
from .store import RawStore, taipei_day

if TYPE_CHECKING:
    from .alerts import Alert, AlertConfig
    from .crawl import CrawlSummary

logger = logging.getLogger(__name__)
PARTIAL_SHARE = 0.10
EXCERPT_SHARE = 0.10  # posts that came as a Dcard excerpt only, of the posts yielded
DRIFT_SHARE = 0.20  # posts dropped or lacking an expected field, of the posts seen
DRIFT_MIN_POSTS = 5  # fewer posts seen: too few to call it drift
BLOCKING_HTTP = ("http_401", "http_403")  # a refusal is a block, not a broken page
STATUS_ORDER = {"failed": 0, "blocked": 1, "partial": 2, "ok": 3}
NOT_OK = ("partial", "blocked", "failed")  # coverage that keeps a source-day out of spike baselines
# Block causes, most telling first (ties in count are named in this order).
BLOCK_ORDER = ("cloudflare", "over18", "http_403", "http_401", "empty_list")


def source_stats(summary: CrawlSummary, board: str) -> dict[str, int]:
    return summary.by_prefix(f"{SOURCE_PREFIX}{board}/")


def _sum(counts: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in counts.items() if k.startswith(prefix) and v}


def excerpt_share(row: Mapping) -> float:
    return (row.get("excerpt_only") or 0) / max(row["items"], 1)


def drift_share(row: Mapping) -> float:
    """Posts dropped or stored lacking an expected field, of the posts seen; 0 below
    :data:`DRIFT_MIN_POSTS` posts."""
    dropped = row.get("dropped") or 0
    seen = row["items"] + dropped
    return ((row.get("incomplete") or 0) + dropped) / seen if seen >= DRIFT_MIN_POSTS else 0.0


def status_of(row: dict) -> str:
    """The module docstring's rules over one health row."""
    if row["returncode"] != 0 or row["finish_reason"] is None:
        return "failed"
    if row["empty_list"] or (row["blocked"] > 0 and row["items"] == 0):
        return "blocked"
    if (
        row["finish_reason"] != "finished"
        or row["blocked_share"] > PARTIAL_SHARE
        or excerpt_share(row) > EXCERPT_SHARE
        or drift_share(row) > DRIFT_SHARE
    ):
        return "partial"
    return "ok"


def health_rows(
    summary: CrawlSummary,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    *,
    previous: dict[str, dict] | None = None,
) -> list[dict]:
    """One :data:`~koubei.pipelines.schemas.CRAWL_HEALTH` row per source of the crawl.

    ``previous`` maps a source to its last health row (for ``empty_list``). Sources come from the
    crawl's ``koubei/sources`` stat, or the ``sources`` entry the caller adds when the crawl died
    before reporting any.
    """
    sources = summary.stats.get("koubei/sources") or []
    platform = summary.site
    rows = []
    for board in sources:
        counts = source_stats(summary, board)
        failed_all = _sum(counts, "failed/")
        blocked = _sum(counts, "blocked/")
        blocked.update({k: v for k, v in failed_all.items() if k in BLOCKING_HTTP})
        failed = sum(v for k, v in failed_all.items() if k not in BLOCKING_HTTP)
        parse_errors = sum(_sum(counts, "skipped/").values())
        listed = summary.stats.get(f"{SOURCE_PREFIX}{board}/listed")
        last = (previous or {}).get(board)
        empty_list = listed == 0 and last is not None and (last.get("listed") or 0) > 0
        requested = counts.get("requested", 0)
        per_request = sum(blocked.values()) + failed + parse_errors
        if empty_list:
            blocked["empty_list"] = 1
        row = {
            "run_id": run_id,
            "platform": platform,
            "board": board,
            "finish_reason": summary.finish_reason,
            "returncode": summary.returncode,
            "started_at": started_at,
            "finished_at": finished_at,
            "duration_s": round((finished_at - started_at).total_seconds(), 3),
            "requested": requested,
            "succeeded": counts.get("succeeded", 0),
            "retried": counts.get("retried", 0),
            "blocked": sum(blocked.values()),
            "blocked_reasons": dict(sorted(blocked.items())),
            "failed": failed,
            "parse_errors": parse_errors,
            "listed": None if listed is None else int(listed),
            "empty_list": empty_list,
            "items": counts.get("items", 0),
            **{k: counts.get(f"store/{k}", 0) for k in ("new", "updated", "unchanged", "marked_deleted")},
            "fields_missing": counts.get("fields_missing", 0),
            "blocked_share": min(1.0, per_request / requested) if requested else 0.0,
            "error": summary.stats.get("koubei/error") if summary.returncode != 0 else None,
            "dropped": counts.get("dropped", 0),
            "incomplete": counts.get("incomplete", 0),
            "excerpt_only": counts.get("excerpt_only", 0),
            "unknown_fields": sorted(_sum(counts, "unknown_fields/")),
        }
        row["status"] = status_of(row)
        rows.append(row)
    return rows


def worst_first(rows: Iterable[dict]) -> list[dict]:
    """failed, blocked, partial, ok; then the larger blocked share; then the latest run."""
    rows = sorted(rows, key=lambda r: r["started_at"], reverse=True)
    return sorted(rows, key=lambda r: (STATUS_ORDER.get(r["status"], -1), -r["blocked_share"]))


def write_health(root: str, rows: list[dict]) -> list[str]:
    """Append rows to their run's Asia/Taipei day file (atomic rewrite); a replayed row (same
    run and source) replaces itself. Returns the files written."""
    store = RawStore(root)
    by_day: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_day[taipei_day(row["started_at"])].append(row)
    written = []
    for day, fresh in sorted(by_day.items()):
        path = CRAWL_HEALTH.day_file(store.base, day)
        old = store.read_file(path, CRAWL_HEALTH)
        merged = {(r["run_id"], r["platform"], r["board"]): r for r in (old.to_pylist() if old else [])}
        merged.update({(r["run_id"], r["platform"], r["board"]): r for r in fresh})
        ordered = sorted(merged.values(), key=lambda r: (r["started_at"], r["platform"], r["board"]))
        store.write_file(path, pa.Table.from_pylist(ordered, schema=CRAWL_HEALTH.file_schema))
        written.append(path)
    return written


def read_health(root: str, start: str | None = None, end: str | None = None) -> list[dict]:
    """Stored health rows of the Asia/Taipei days ``start``..``end`` (inclusive; None: open)."""
    from .trends import read_partitions  # lazy: the crawl stage need not import the trends stack

    table = read_partitions(root, CRAWL_HEALTH, start or "0000-00-00", end or "9999-99-99")
    rows = table.to_pylist()
    for row in rows:
        row["blocked_reasons"] = dict(row["blocked_reasons"] or [])
    return rows


def last_rows(root: str, platform: str) -> dict[str, dict]:
    """The latest health row of each source of ``platform`` (for ``empty_list``)."""
    latest: dict[str, dict] = {}
    for row in sorted(read_health(root), key=lambda r: r["started_at"]):
        if row["platform"] == platform:
            latest[row["board"]] = row
    return latest


# ---------------------------------------------------------------------------------------------- config


class HealthConfig(BaseModel):
    """The watch file's ``health:`` section (every key optional)::

        health:
          baseline_days: 7
          blocked_share: 0.1
          fail_on: [blocked, failed, excerpt_only]

    Alarms go to the ``alerts:`` section's ``notify`` channels. ``fail_on`` lists the statuses, or
    reason codes, that make :func:`raise_for_health` fail the DAG's crawl task.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline_days: int = Field(7, ge=1, le=60)  # trailing days of runs for zero_items_vs_baseline
    blocked_share: float = Field(PARTIAL_SHARE, ge=0, le=1)  # alarm above this share of bad requests
    excerpt_share: float = Field(EXCERPT_SHARE, ge=0, le=1)
    drift_share: float = Field(DRIFT_SHARE, ge=0, le=1)
    fail_on: tuple[str, ...] = ("blocked", "failed")
    keep_days: int = Field(90, ge=1)  # deduplication state kept this long


def parse_health_config(data: Mapping | None, source: str = "<watch>") -> HealthConfig:
    from .alerts import parse_section

    return parse_section(data, "health", HealthConfig, source)


def load_health_config(path: str | Path | None) -> HealthConfig:
    """The ``health:`` section of a watch file (defaults when absent)."""
    from .alerts import load_section

    return load_section(path, "health", HealthConfig)


# ---------------------------------------------------------------------------------------------- reasons


def _trailing(row: Mapping, history: Iterable[Mapping], days: int) -> list[Mapping]:
    """Earlier runs of the row's source that started within ``days`` before it."""
    since = row["started_at"] - timedelta(days=days)
    return [
        h
        for h in history
        if (h["platform"], h["board"]) == (row["platform"], row["board"])
        and since <= h["started_at"] < row["started_at"]
    ]


def coverage_reasons(row: Mapping, config: HealthConfig | None = None) -> list[str]:
    """Why a run's data is incomplete, most telling first (empty for a clean run)."""
    config = config or HealthConfig()
    out = ["crawl_failed"] if row["status"] == "failed" else []
    blocked = row.get("blocked_reasons") or {}
    causes = sorted(
        (k for k, v in blocked.items() if v),
        key=lambda k: (-blocked[k], BLOCK_ORDER.index(k) if k in BLOCK_ORDER else len(BLOCK_ORDER), k),
    )
    share_high = row["blocked_share"] > config.blocked_share
    if row["status"] == "blocked" or share_high:
        out += causes
    if share_high:
        out.append("blocked_share")
    if row["status"] != "failed" and row["finish_reason"] not in (None, "finished"):
        out.append("stopped_early")
    if excerpt_share(row) > config.excerpt_share:
        out.append("excerpt_only")
    if drift_share(row) > config.drift_share:
        out.append("schema_drift")
    return out


def row_reasons(
    row: Mapping, history: Iterable[Mapping] = (), config: HealthConfig | None = None
) -> list[str]:
    """Every alarm reason of one run, most telling first: :func:`coverage_reasons`, then
    ``zero_items_vs_baseline`` (no item while the median of the source's trailing runs is above 0)
    and ``unknown_fields`` (Dcard JSON keys no trailing run reported)."""
    config = config or HealthConfig()
    out = coverage_reasons(row, config)
    trailing = _trailing(row, history, config.baseline_days)
    usable = [h["items"] for h in trailing if h["status"] in ("ok", "partial")]
    if row["items"] == 0 and row["status"] != "failed" and usable and median(usable) > 0:
        out.append("zero_items_vs_baseline")
    seen = {k for h in trailing for k in (h.get("unknown_fields") or [])}
    if set(row.get("unknown_fields") or []) - seen:
        out.append("unknown_fields")
    return out


def effective_status(
    row: Mapping, history: Iterable[Mapping] = (), config: HealthConfig | None = None
) -> str:
    """The stored status, or ``partial`` for an ``ok`` run that yielded nothing against its baseline."""
    if row["status"] == "ok" and "zero_items_vs_baseline" in row_reasons(row, history, config):
        return "partial"
    return row["status"]


# ---------------------------------------------------------------------------------------------- coverage


def day_coverage(
    runs: Sequence[Mapping], history: Iterable[Mapping] = (), config: HealthConfig | None = None
) -> tuple[str, str | None]:
    """``(status, reason)`` of one source-day from its runs (module docstring)."""
    history = list(history)
    runs = sorted(runs, key=lambda r: r["started_at"])
    statuses = [effective_status(r, history, config) for r in runs]
    if statuses[-1] == "ok":
        return "ok", None
    reasons: dict[str, None] = {}
    for run, status in zip(runs, statuses, strict=True):
        if status != "ok":
            reasons.update(dict.fromkeys(_coverage_reasons_of(run, history, config) or [status]))
    some_data = any(s in ("ok", "partial") for s in statuses)
    status = "partial" if some_data and statuses[-1] in ("blocked", "failed") else statuses[-1]
    return status, ", ".join(reasons)


def _coverage_reasons_of(row: Mapping, history: Iterable[Mapping], config: HealthConfig | None) -> list[str]:
    return [r for r in row_reasons(row, history, config) if r != "unknown_fields"]


def coverage_by_source_day(
    rows: Iterable[Mapping], history: Iterable[Mapping] = (), config: HealthConfig | None = None
) -> dict[tuple[str, str, str], tuple[str, str | None]]:
    """``(platform, board, Taipei day) -> (status, reason)`` for every source-day of ``rows``."""
    by_day: dict[tuple[str, str, str], list[Mapping]] = defaultdict(list)
    for r in rows:
        by_day[(r["platform"], r["board"], taipei_day(r["started_at"]))].append(r)
    history = list(history)
    return {key: day_coverage(runs, history, config) for key, runs in sorted(by_day.items())}


def source_coverage(
    root: str, day: str, config: HealthConfig | None = None
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """``(platform, board) -> (status, reason)`` of the sources crawled on Taipei day ``day``."""
    from .trends import shift_day

    config = config or HealthConfig()
    history = read_health(root, shift_day(day, -config.baseline_days), day)
    today = [r for r in history if r["date"] == day]
    return {(p, b): cov for (p, b, _), cov in coverage_by_source_day(today, history, config).items()}


# ---------------------------------------------------------------------------------------------- alarms


class CrawlHealthError(RuntimeError):
    """A crawl whose health rows match ``fail_on``; the message names each source and reason."""


def raise_for_health(
    rows: Iterable[Mapping],
    fail_on: Sequence[str] | None = None,
    *,
    history: Iterable[Mapping] = (),
    config: HealthConfig | None = None,
) -> None:
    """Raise :class:`CrawlHealthError` when a row's status or one of its reasons is in ``fail_on``
    (default: the config's, ``blocked`` and ``failed``), so the DAG's crawl task fails with the reason
    and Airflow's own failure notifications fire."""
    config = config or HealthConfig()
    wanted = set(config.fail_on if fail_on is None else fail_on)
    history = list(history)
    problems = []
    for row in rows:
        reasons = row_reasons(row, history, config)
        if row["status"] in wanted or wanted & set(reasons):
            why = ", ".join(reasons) or row["status"]
            detail = f" ({row['error']})" if row.get("error") else ""
            problems.append(f"{row['platform']}/{row['board']} {row['status']}: {why}{detail}")
    if problems:
        raise CrawlHealthError("crawl health: " + "; ".join(problems))


def _observed(row: Mapping, reason: str, trailing_items: list[int]) -> tuple[float, float | None]:
    """The number an alarm of ``reason`` reports, and what was expected when there is a baseline."""
    if reason == "crawl_failed":
        return float(row["returncode"]), None
    if reason in (row.get("blocked_reasons") or {}):
        return float(row["blocked_reasons"][reason]), None
    if reason == "blocked_share":
        return row["blocked_share"], None
    if reason == "zero_items_vs_baseline":
        return 0.0, float(median(trailing_items)) if trailing_items else None
    if reason == "excerpt_only":
        return float(row.get("excerpt_only") or 0), None
    if reason == "schema_drift":
        return drift_share(row), None
    if reason == "unknown_fields":
        return float(len(row.get("unknown_fields") or [])), None
    return float(row["items"]), None


def _taipei(ts: datetime) -> str:
    from .trends import TAIPEI

    return ts.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def alarm_message(row: Mapping, reasons: Sequence[str], status: str) -> str:
    """Plain text: what the run saw and what it means for the numbers."""
    blocked = ", ".join(f"{k} {v}" for k, v in sorted((row.get("blocked_reasons") or {}).items()))
    lines = [
        f"{row['platform']}/{row['board']}: {status} crawl ({', '.join(reasons)}), run {row['run_id']} "
        f"started {_taipei(row['started_at'])} Taipei, finish {row['finish_reason'] or 'none (died)'}.",
        f"{row['requested']} requests, {row['succeeded']} ok, {row['blocked']} blocked"
        + (f" ({blocked})" if blocked else "")
        + f", {row['failed']} failed, {row['parse_errors']} unparsed; "
        f"{row['listed'] if row['listed'] is not None else '-'} listed, {row['items']} posts"
        + (f", {row['excerpt_only']} excerpt only" if row.get("excerpt_only") else "")
        + (f", {row['incomplete']} lacking fields" if row.get("incomplete") else "")
        + ".",
    ]
    if row.get("unknown_fields"):
        lines.append("Unknown Dcard fields: " + ", ".join(row["unknown_fields"]))
    if row.get("error"):
        lines.append(f"Error: {row['error']}")
    if status in NOT_OK:
        lines.append(
            "This source-day is marked " + status + " in trends and reports and kept out of spike baselines."
        )
    return "\n".join(lines)


def health_alarms(
    rows: Iterable[Mapping], history: Iterable[Mapping] = (), config: HealthConfig | None = None
) -> list[Alert]:
    """One alarm (an :class:`~.alerts.Alert` of kind ``health``) per source, day and first reason
    of its runs in ``rows``; ``history`` holds the trailing runs (``rows`` may be among them).
    Pure: ids, delivery and deduplication against earlier runs are :func:`run_health_alarms`'."""
    from .alerts import KIND_HEALTH, RULE_HEALTH, Alert
    from .trends import day_bounds

    config = config or HealthConfig()
    history = list(history)
    out: dict[tuple[str, str, str, str], Alert] = {}
    for row in sorted(rows, key=lambda r: (r["started_at"], r["platform"], r["board"])):
        reasons = row_reasons(row, history, config)
        if not reasons:
            continue
        day = taipei_day(row["started_at"])
        key = (row["platform"], row["board"], reasons[0], day)
        if key in out:
            continue
        trailing = [
            h["items"] for h in _trailing(row, history, config.baseline_days) if h["status"] != "failed"
        ]
        observed, expected = _observed(row, reasons[0], trailing)
        start, end = day_bounds(day)
        out[key] = Alert(
            alert_id="",
            rule=RULE_HEALTH,
            brand="",
            group=None,
            period_start=start,
            period_end=end,
            observed=observed,
            expected=expected,
            p_value=None,
            mentions=None,
            negative_share=None,
            message=alarm_message(row, reasons, effective_status(row, history, config)),
            kind=KIND_HEALTH,
            platform=row["platform"],
            board=row["board"],
            reason=reasons[0],
        )
    return list(out.values())


HEALTH_EPISODES = ("_state", "alerts", "health_alarms.json")


@dataclass
class HealthAlarmRun:
    """What :func:`run_health_alarms` did."""

    day: str
    rows: int = 0
    alarms: list[Alert] = field(default_factory=list)  # new ones (sent)
    repeats: list[Alert] = field(default_factory=list)  # already sent for that source, reason and day
    channels: list[str] = field(default_factory=list)

    def line(self) -> str:
        sent = ", ".join(f"{a.platform}/{a.board} ({a.reason})" for a in self.alarms) or "none"
        return (
            f"health alarms {self.day}: {self.rows} runs x sources, {len(self.alarms)} new alarms: {sent}; "
            f"{len(self.repeats)} already sent; channels: {', '.join(self.channels) or 'outbox only'}"
        )


def run_health_alarms(
    root: str,
    day: str | None = None,
    *,
    config: HealthConfig | None = None,
    alert_config: AlertConfig | None = None,
    send: bool = True,
    env: Mapping[str, str] | None = None,
) -> HealthAlarmRun:
    """Alarm on the crawl health rows of Taipei day ``day`` (default today) under ``root``.

    New alarms (once per source, reason and day; the state is ``_state/alerts/health_alarms.json``)
    go to the brand alerts' channels (``alert_config.notify`` and ``$KOUBEI_ALERT_URLS``), the outbox
    ``outbox/alerts.jsonl`` and ``alerts/date=<day>``, with kind ``health``. The DAG calls it after
    the crawls; ``koubei health --alarm`` runs it by hand.
    """
    from .alerts import (
        AlertConfig,
        Episodes,
        _read_json,
        _scheme,
        _write_json,
        append_outbox,
        deliver,
        notify_urls,
        write_alert_days,
    )
    from .trends import shift_day, taipei_today

    config = config or HealthConfig()
    alert_config = alert_config or AlertConfig()
    day = day or taipei_today()
    history = read_health(root, shift_day(day, -config.baseline_days), day)
    rows = [r for r in history if r["date"] == day]
    run = HealthAlarmRun(day, rows=len(rows))
    store = RawStore(root)
    oldest = datetime.fromisoformat(shift_day(day, -config.keep_days)).replace(tzinfo=UTC)
    state = {
        k: v
        for k, v in (_read_json(store, HEALTH_EPISODES) or {}).items()
        if datetime.fromisoformat(v["last_fired"]) >= oldest
    }
    episodes = Episodes(state)
    now = datetime.now(UTC)
    for alarm in health_alarms(rows, history, config):
        key = f"{alarm.platform}/{alarm.board}|{alarm.reason}|{alarm.day}"
        alarm_id = episodes.observe(key, alarm.period_start, timedelta(0))
        if alarm_id is None:
            run.repeats.append(alarm)
            continue
        alarm.alert_id, alarm.fired_at = alarm_id, now
        run.alarms.append(alarm)
    urls = notify_urls(alert_config, env)
    run.channels = [_scheme(u) for u in urls]
    for alarm in run.alarms:
        alarm.channels = run.channels
        alarm.delivered = deliver(alarm, urls) if send else False
    if run.alarms:
        append_outbox(store, run.alarms)
        write_alert_days(store, {a.day for a in run.alarms})
    _write_json(store, HEALTH_EPISODES, episodes.state)
    logger.info(run.line())
    return run
