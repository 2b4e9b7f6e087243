"""koubei_nightly: crawl every source for yesterday's window, refresh recent posts, then enrich, trends, alerts, report.

Thin by design: each task calls one step of :mod:`koubei.pipelines.nightly` for the run's day
(the Taipei day before its logical date, or the ``day`` param). Crawls are mapped over the watch
file's sources, each a ``scrapy crawl`` child process. Analysis runs even when a crawl failed
(``all_done``): that source-day is marked in the trends' coverage instead of reading as quiet.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from koubei.pipelines.dag_support import (
    ALERTS,
    DAG_DEFAULTS,
    DAY_PARAM,
    ENRICHED,
    PARAMS,
    RAW,
    REPORTS,
    TRENDS,
    day_of,
    watch_of,
)


@dag(
    dag_id="koubei_nightly",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="Asia/Taipei"),
    params={**PARAMS, **DAY_PARAM},
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def koubei_nightly():
    @task
    def crawl_jobs(params=None) -> list[dict]:
        from koubei.pipelines.nightly import load

        return load(watch_of(params)).crawl_jobs()

    @task(outlets=[RAW])
    def crawl(job: dict, params=None, logical_date=None) -> dict:
        from koubei.pipelines.nightly import crawl_step

        day, since = day_of(params, logical_date), params.get("since")
        return crawl_step(watch_of(params), job, day, since=since, base_url=params.get("base_url"))

    @task(outlets=[RAW], trigger_rule="all_done")
    def refresh(params=None, logical_date=None) -> dict:
        from koubei.pipelines.nightly import refresh_step

        day = day_of(params, logical_date)
        return refresh_step(watch_of(params), day, base_url=params.get("base_url"))

    @task(trigger_rule="all_done")
    def health(crawls, params=None) -> list[str]:
        from koubei.pipelines.nightly import health_step

        # by index: iterating a mapped XCom probes one past the end and logs an error
        return health_step(watch_of(params), [crawls[i] for i in range(len(crawls))])

    @task(outlets=[ENRICHED], trigger_rule="all_done")
    def enrich(params=None, logical_date=None) -> list[str]:
        from koubei.pipelines.nightly import enrich_step

        return enrich_step(watch_of(params), day_of(params, logical_date), since=params.get("since"))

    @task(outlets=[TRENDS])
    def trends(params=None, logical_date=None) -> list[str]:
        from koubei.pipelines.nightly import trends_step

        return trends_step(watch_of(params), day_of(params, logical_date), since=params.get("since"))

    @task(outlets=[ALERTS])
    def alerts(params=None, logical_date=None) -> dict:
        from koubei.pipelines.nightly import alerts_step

        return alerts_step(watch_of(params), day_of(params, logical_date))

    @task(outlets=[REPORTS])
    def report(params=None, logical_date=None) -> str:
        from koubei.pipelines.nightly import report_step

        return report_step(watch_of(params), day_of(params, logical_date), since=params.get("since"))

    crawled = crawl.expand(job=crawl_jobs())
    health(crawled)
    crawled >> refresh() >> enrich() >> trends() >> alerts() >> report()


koubei_nightly()
