"""koubei_backfill: the nightly work for a range of days (params ``start``, ``end``), triggered by hand.

One crawl per source covers the whole range (plus the look-back), enrichment follows, trends are
mapped over the days, alerts run day by day in order (their episodes carry over), and one report
covers the range. Rerunning a range rewrites only partitions whose inputs changed.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from koubei.pipelines.dag_support import (
    ALERTS,
    DAG_DEFAULTS,
    ENRICHED,
    PARAMS,
    RANGE_PARAMS,
    RAW,
    REPORTS,
    TRENDS,
    watch_of,
)


@dag(
    dag_id="koubei_backfill",
    schedule=None,
    params={**PARAMS, **RANGE_PARAMS},
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def koubei_backfill():
    @task
    def days(params=None) -> list[str]:
        from koubei.pipelines.trends import days_between

        found = days_between(params["start"], params["end"])
        if not found:
            raise ValueError(f"end {params['end']} is before start {params['start']}")
        return found

    @task
    def crawl_jobs(params=None) -> list[dict]:
        from koubei.pipelines.nightly import load

        return load(watch_of(params)).crawl_jobs()

    @task(outlets=[RAW])
    def crawl(job: dict, params=None) -> dict:
        from koubei.pipelines.nightly import crawl_step

        watch, since = watch_of(params), params["start"]
        return crawl_step(watch, job, params["end"], since=since, base_url=params.get("base_url"))

    @task(outlets=[ENRICHED], trigger_rule="all_done")
    def enrich(params=None) -> list[str]:
        from koubei.pipelines.nightly import enrich_step

        return enrich_step(watch_of(params), params["end"], since=params["start"])

    @task(outlets=[TRENDS])
    def trends(day: str, params=None) -> list[str]:
        from koubei.pipelines.nightly import trends_step

        return trends_step(watch_of(params), day, days=[day])

    @task(outlets=[ALERTS])
    def alerts(days: list[str], params=None) -> list[dict]:
        from koubei.pipelines.nightly import alerts_step

        return [alerts_step(watch_of(params), d) for d in days]

    @task(outlets=[REPORTS])
    def report(days: list[str], params=None) -> str:
        from koubei.pipelines.nightly import report_step

        days = list(days)
        return report_step(watch_of(params), days[-1], days=len(days))

    the_days = days()
    crawled = crawl.expand(job=crawl_jobs())
    trended = trends.expand(day=the_days)
    crawled >> enrich() >> trended >> alerts(the_days) >> report(the_days)


koubei_backfill()
