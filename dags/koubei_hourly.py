"""koubei_hourly: alerts on the latest data, every hour (no report).

Crawls today's window (the look-back included), enriches and recomputes today's trends, then runs
the alert rules with the run's logical time as the clock: the hourly spike rule sees the last
complete hour and the viral rule the last ``viral_window_hours``. Alert episodes are shared with the
nightly run, so a spike is sent once.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from koubei.pipelines.dag_support import (
    ALERTS,
    DAG_DEFAULTS,
    ENRICHED,
    PARAMS,
    RAW,
    TRENDS,
    clock_of,
    watch_of,
)


@dag(
    dag_id="koubei_hourly",
    schedule=CronTriggerTimetable("15 * * * *", timezone="Asia/Taipei"),
    params=PARAMS,
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def koubei_hourly():
    @task
    def crawl_jobs(params=None) -> list[dict]:
        from koubei.pipelines.nightly import load

        return load(watch_of(params)).crawl_jobs()

    @task(outlets=[RAW])
    def crawl(job: dict, params=None, logical_date=None) -> dict:
        from koubei.pipelines.nightly import crawl_step

        day, _ = clock_of(logical_date)
        return crawl_step(watch_of(params), job, day, base_url=params.get("base_url"))

    @task(outlets=[RAW], trigger_rule="all_done")
    def refresh(params=None, logical_date=None) -> dict:
        from koubei.pipelines.nightly import refresh_step

        day, now = clock_of(logical_date)
        return refresh_step(watch_of(params), day, now=now, hourly=True, base_url=params.get("base_url"))

    @task(outlets=[ENRICHED], trigger_rule="all_done")
    def enrich(params=None, logical_date=None) -> list[str]:
        from koubei.pipelines.nightly import enrich_step

        return enrich_step(watch_of(params), clock_of(logical_date)[0])

    @task(outlets=[TRENDS])
    def trends(params=None, logical_date=None) -> list[str]:
        from koubei.pipelines.nightly import trends_step

        return trends_step(watch_of(params), clock_of(logical_date)[0])

    @task(outlets=[ALERTS])
    def alerts(params=None, logical_date=None) -> dict:
        from koubei.pipelines.nightly import alerts_step

        day, now = clock_of(logical_date)
        return alerts_step(watch_of(params), day, now=now)

    crawl.expand(job=crawl_jobs()) >> refresh() >> enrich() >> trends() >> alerts()


koubei_hourly()
