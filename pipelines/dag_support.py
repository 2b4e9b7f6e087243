"""What koubei's three DAGs share: Assets, params, retry/timeout defaults, and how a task finds its day.

Imported by the DAG files at parse time, so it stays light: Airflow's SDK and the standard library
only (the stages are imported inside the tasks).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pendulum
from airflow.sdk import Asset, Param

from .nightly import WATCH_ENV, hourly_clock, nightly_day, notify_failure

# Data-aware scheduling: a downstream DAG can run on `schedule=[TRENDS]` (see README).
RAW = Asset(name="koubei_raw", uri="koubei://raw")
ENRICHED = Asset(name="koubei_enriched", uri="koubei://enriched")
TRENDS = Asset(name="koubei_trends", uri="koubei://trends")
ALERTS = Asset(name="koubei_alerts", uri="koubei://alerts")
REPORTS = Asset(name="koubei_reports", uri="koubei://reports")

START = pendulum.datetime(2026, 1, 1, tz="Asia/Taipei")
TAGS = ["koubei"]
RETRIES_ENV = "KOUBEI_DAG_RETRIES"  # the demo and tests set 0: a failure should end the run, not wait

DEFAULT_ARGS = {
    "owner": "koubei",
    "retries": int(os.environ.get(RETRIES_ENV, "2")),
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,  # 5, 10, 20 … minutes: a blocked site gets time to cool down
    "max_retry_delay": timedelta(hours=1),
    "execution_timeout": timedelta(hours=3),  # a backstop; each crawl has its own timeout_minutes
    "on_failure_callback": notify_failure,
}

# What every koubei DAG shares: `@dag(dag_id=..., schedule=..., params=..., **DAG_DEFAULTS)`.
DAG_DEFAULTS = {
    "start_date": START,
    "catchup": False,  # a missed night is caught up by its crawl's look-back or by koubei_backfill
    "max_active_runs": 1,  # two runs would race on the same boards' locks
    "default_args": DEFAULT_ARGS,
    "tags": TAGS,
}

PARAMS = {
    "watch": Param(
        None,
        type=["null", "string"],
        description=f"Watch file path (default: ${WATCH_ENV}).",
    ),
    "base_url": Param(
        None,
        type=["null", "string"],
        description="Crawl a replay server instead of the sites (tests, the demo).",
    ),
}
DAY_PARAM = {
    "day": Param(
        None,
        type=["null", "string"],
        description="Taipei day to process (YYYY-MM-DD); default: the day before the logical date.",
    ),
    "since": Param(
        None,
        type=["null", "string"],
        description="Crawl (and analyse) from this day instead of the window: a first run, a replay.",
    ),
}
RANGE_PARAMS = {
    "start": Param("2026-01-01", type="string", format="date", description="First Taipei day."),
    "end": Param("2026-01-03", type="string", format="date", description="Last Taipei day (inclusive)."),
}


def watch_of(params) -> str:
    """The watch file of a run: its ``watch`` param, else ``$KOUBEI_WATCH``."""
    watch = (params or {}).get("watch") or os.environ.get(WATCH_ENV)
    if not watch:
        raise ValueError(f"no watch file: give the `watch` param or set ${WATCH_ENV} (see `koubei init`)")
    return watch


def day_of(params, logical_date: datetime | None) -> str:
    return nightly_day(logical_date, (params or {}).get("day"))


def clock_of(logical_date: datetime | None) -> tuple[str, datetime]:
    return hourly_clock(logical_date)
