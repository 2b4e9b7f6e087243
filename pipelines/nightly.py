"""The orchestrated steps: one plain function per DAG task, each a function of (watch file, day).

The DAGs in ``dags/`` only wrap these in ``@task``; the demo and a user's shell can call them the
same way. Each step reads the watch file itself (so XCom carries paths and short lines, never
data), overwrites only its own partitions and takes no clock reading into its output: a step rerun
for the same day leaves the same files (the stages skip or rewrite identical partitions).

The day a run answers for: a nightly run whose logical date falls on Taipei day D+1 processes day D
(:func:`nightly_day`); its crawl reaches ``crawl.window_days`` + ``crawl.lookback_days`` back, so
late pushes and comments on older posts land in their posts' partitions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)
TAIPEI = ZoneInfo("Asia/Taipei")
WATCH_ENV = "KOUBEI_WATCH"  # the DAGs' watch file when no param names one


def nightly_day(logical_date: datetime | None, day: str | None = None) -> str:
    """The Taipei day a nightly run answers for: ``day`` when given, else the day before the logical date's."""
    if day:
        return datetime.fromisoformat(day).date().isoformat()
    when = logical_date or datetime.now(UTC)
    return (when.astimezone(TAIPEI).date() - timedelta(days=1)).isoformat()


def hourly_clock(logical_date: datetime | None) -> tuple[str, datetime]:
    """The Taipei day and the clock of an hourly run (its logical date; now for a manual run)."""
    now = (logical_date or datetime.now(UTC)).astimezone(UTC)
    return now.astimezone(TAIPEI).date().isoformat(), now


def load(watch: str | Path):
    from .watch import load_watch_file

    return load_watch_file(watch)


MAX_DENSE_DAYS = 62  # a wider window (a replay, a first crawl) visits only the days that hold data


def window_days(watch: str | Path, day: str, since: str | None = None) -> list[str]:
    """The days whose partitions a run for ``day`` may change: its crawl window (from ``since`` if earlier)."""
    from .trends import days_between

    first, last = load(watch).crawl.window(day)
    return days_between(min(first, since) if since else first, last)


def _days_with(root: str, dataset, days: list[str]) -> list[str]:
    """``days`` itself when short; else those of them with a partition of ``dataset``."""
    if len(days) <= MAX_DENSE_DAYS:
        return days
    from .store import RawStore

    present = {d for _, d, _ in RawStore(root).partitions(dataset)}
    return [d for d in days if d in present]


# ---------------------------------------------------------------------------------------------- crawl


def crawl_step(
    watch: str | Path,
    job: dict,
    day: str,
    *,
    base_url: str | None = None,
    since: str | None = None,
    check_health: bool = True,
    log_dir: str | Path | None = None,
) -> dict:
    """Crawl one job (a site and its sources, from :meth:`WatchConfig.crawl_jobs`) for ``day``'s window.

    A Scrapy child process (:func:`~.crawl.run_crawl`). With ``check_health``, a crawl whose health
    rows match the watch file's ``health.fail_on`` raises :class:`~.health.CrawlHealthError` naming
    the source and reason, so the task fails, retries and notifies. ``since`` widens the window
    (a backfill crawls its whole range at once).
    """
    from .crawl import run_crawl
    from .health import raise_for_health, read_health
    from .store import taipei_day
    from .trends import shift_day

    cfg = load(watch)
    first, until = cfg.crawl.window(day)
    since = min(since, first) if since else first
    log_file = None
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        log_file = str(Path(log_dir) / f"crawl-{day}-{job['site']}-{'_'.join(job['sources'])}.log")
    summary = run_crawl(
        job["site"],
        list(job["sources"]),
        cfg.root,
        since=since,
        until=until,
        base_url=base_url,
        settings=dict(cfg.crawl.settings),
        timeout=cfg.crawl.timeout_minutes * 60,
        log_file=log_file,
    )
    logger.info(summary.line())
    if check_health:
        history = read_health(cfg.root, shift_day(day, -cfg.health.baseline_days))
        raise_for_health(summary.health, history=history, config=cfg.health)
    if not summary.ok:
        raise RuntimeError(
            f"{job['site']} {','.join(job['sources'])}: crawl did not finish "
            f"({summary.stats.get('koubei/error') or summary.finish_reason}); log: {summary.log_file}"
        )
    return {
        **job,
        "line": summary.line(),
        "posts": summary.posts,
        "comments": summary.comments,
        "health_days": sorted({taipei_day(r["started_at"]) for r in summary.health}),
    }


def refresh_step(
    watch: str | Path,
    day: str,
    *,
    base_url: str | None = None,
    now: datetime | None = None,
    hourly: bool = False,
) -> dict:
    """Re-fetch stored posts so their engagement history grows (``post_snapshots``).

    Nightly: posts created in the ``crawl.refresh_days`` before the end of ``day``, fastest-growing
    first, within ``crawl.refresh_budget`` requests. Hourly (``hourly``): posts crawled in the last
    two hours that gain at least ``crawl.refresh_per_hour`` comments + likes an hour. The clock is
    the run's (the end of ``day``, or ``now``), never the wall clock, so a rerun picks the same posts.
    """
    from .refresh import fast_growing, refresh_posts, select_refresh

    cfg = load(watch)
    if hourly:
        if not cfg.crawl.refresh_per_hour:
            return {"targets": 0, "skipped": "crawl.refresh_per_hour is 0"}
        now = now or datetime.now(UTC)
        targets = fast_growing(cfg.root, now - timedelta(hours=2), cfg.crawl.refresh_per_hour, now=now)
    else:
        if not cfg.crawl.refresh_days:
            return {"targets": 0, "skipped": "crawl.refresh_days is 0"}
        end = now or datetime.combine(
            datetime.fromisoformat(day).date() + timedelta(days=1), datetime.min.time(), TAIPEI
        ).astimezone(UTC)
        targets = select_refresh(
            cfg.root, days=cfg.crawl.refresh_days, budget=cfg.crawl.refresh_budget, now=end
        )
    summaries = refresh_posts(
        cfg.root,
        targets,
        base_url=base_url,
        settings=dict(cfg.crawl.settings),
        timeout=cfg.crawl.timeout_minutes * 60,
    )
    for summary in summaries:
        logger.info("refresh: %s", summary.line())
    return {"targets": len(targets), "posts": sum(s.posts for s in summaries)}


def health_step(watch: str | Path, crawls: list[dict], *, send: bool = True) -> list[str]:
    """Crawl-health alarms for the days the crawls recorded health rows on."""
    from .health import run_health_alarms

    cfg = load(watch)
    days = sorted({d for c in crawls for d in c.get("health_days", [])})
    return [
        run_health_alarms(cfg.root, d, config=cfg.health, alert_config=cfg.alerts, send=send).line()
        for d in days
    ]


# ---------------------------------------------------------------------------------------------- analysis


def sponsored_detectors(cfg):
    """The watch file's ``models.sponsored``: None (the default set), ``rules``, or a model directory."""
    from .enrich import ModelDetector, RuleDetector

    choice = cfg.models.sponsored
    if choice is None:
        return None
    if choice == "rules":
        return [RuleDetector()]
    return [RuleDetector(), ModelDetector(cfg.resolve(choice), backend=cfg.models.backend)]


def enrich_step(watch: str | Path, day: str, *, since: str | None = None) -> list[str]:
    """Enrich the raw partitions of ``day``'s crawl window (unchanged ones are skipped)."""
    from .enrich import run_enrich
    from .schemas import POSTS

    cfg = load(watch)
    lines = []
    for d in _days_with(cfg.root, POSTS, window_days(watch, day, since)):
        stats = run_enrich(
            cfg.root,
            day=d,
            watch=cfg.path,
            model_dir=cfg.sentiment_model,
            backend=cfg.models.backend,
            batch_size=cfg.models.batch_size,
            sponsored=sponsored_detectors(cfg),
        )
        lines.append(f"{d}: {stats.line()}")
        logger.info(lines[-1])
    return lines


def trends_step(
    watch: str | Path, day: str, *, since: str | None = None, days: list[str] | None = None
) -> list[str]:
    """Trends of every day of the crawl window (late comments move earlier days too), or of ``days``."""
    from .schemas import ENRICHED
    from .trends import run_trends

    cfg = load(watch)
    days = days or _days_with(cfg.root, ENRICHED, window_days(watch, day, since))
    return [run_trends(cfg.root, d, cfg.path).line() for d in days]


def alerts_step(watch: str | Path, day: str, *, now: datetime | None = None, send: bool = True) -> dict:
    """Spike and viral checks for ``day`` (clock: ``now``, default the end of the day)."""
    from .alerts import run_alerts

    cfg = load(watch)
    run = run_alerts(cfg.root, cfg.path, day=day, now=now, config=cfg.alerts, send=send)
    return {"line": run.line(), "alerts": [a.alert_id for a in run.alerts]}


def report_step(watch: str | Path, day: str, *, days: int = 7, since: str | None = None) -> str:
    """The HTML report of the ``days`` ending on ``day`` (or of the trends from ``since``):
    ``<reports>/koubei-<day>.html``. Trends are the trends step's; none is computed here."""
    from .reports import build_report, write_report
    from .schemas import TRENDS
    from .trends import shift_day, stored_days

    cfg = load(watch)
    start = shift_day(day, -(days - 1))
    if since:
        start = next((d for d in stored_days(cfg.root, TRENDS) if since <= d <= day), start)
    data = build_report(cfg.root, cfg.path, start, day, update=False)
    return str(write_report(data, cfg.reports_dir / f"koubei-{day}.html"))


# ---------------------------------------------------------------------------------------------- failures


def notify_failure(context) -> None:
    """Airflow ``on_failure_callback``: tell the watch file's alert channels which task failed and why.

    Task-level (DAG-level notifier callbacks crash under ``dag.test()``, apache/airflow#64649).
    Sent through :func:`~.alerts.deliver` (apprise, tokens redacted from logs). Never raises: a
    broken channel must not hide the task's own error.
    """
    import os
    from types import SimpleNamespace

    from .alerts import AlertConfig, deliver, notify_urls

    try:
        ti = context.get("ti") or context.get("task_instance")
        watch = (context.get("params") or {}).get("watch") or os.environ.get(WATCH_ENV)
        urls = notify_urls(load(watch).alerts if watch else AlertConfig())
        title = f"koubei: {ti.dag_id}.{ti.task_id} failed"
        message = f"{title} (run {ti.run_id}, try {ti.try_number}): {context.get('exception')}"
        logger.error(message)
        deliver(SimpleNamespace(title=title, message=message, alert_id=f"{ti.dag_id}.{ti.task_id}"), urls)
    except Exception:
        logger.exception("failure notification not sent")
