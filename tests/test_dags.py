"""The DAGs: the folder imports cleanly, and koubei_nightly / koubei_backfill run end to end with
``dag.test()`` against a replay server of generated pages (PTT, Dcard, Mobile01), real ``scrapy``
child processes and a tiny random sentiment model built here (never the shipped one).

Airflow is pointed at a private SQLite home before it is first imported; every DAG run of the test
session shares one process, so only the first pays Airflow's start-up (fixtures: tests/dag_helpers.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from koubei.pipelines.demo import END, nightly_logical_date, run_dag

pytest.register_assert_rewrite("tests.dag_helpers")  # its asserts explain failures too
from .dag_helpers import DAY, SUCCESS, check_nightly_end_to_end, write_watch  # noqa: E402

pytest_plugins = ("tests.dag_helpers",)  # airflow_home, model, server: one of each per session

ROOT = Path(__file__).resolve().parents[1]


def test_dag_folder_imports_without_errors(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dags) == {"koubei_nightly", "koubei_backfill", "koubei_hourly"}
    nightly = bag.dags["koubei_nightly"]
    assert nightly.catchup is False
    assert [t.task_id for t in nightly.topological_sort()][0] == "crawl_jobs"
    crawl = nightly.get_task("crawl")
    assert crawl.retry_exponential_backoff and crawl.execution_timeout is not None
    assert [a.name for a in crawl.outlets] == ["koubei_raw"]
    assert nightly.get_task("trends").outlets[0].name == "koubei_trends"


@pytest.mark.slow
def test_nightly_end_to_end_and_idempotent(airflow_home, model, server, tmp_path):
    watch = write_watch(tmp_path, model)
    check_nightly_end_to_end(watch, server.base_url, tmp_path / "data", tmp_path / "reports")


@pytest.mark.slow
def test_backfill_three_days(airflow_home, model, server, tmp_path):
    from koubei.pipelines.schemas import TRENDS
    from koubei.pipelines.trends import read_trends, stored_days

    watch = write_watch(tmp_path, model)
    start, end = date.fromordinal(END.toordinal() - 2).isoformat(), DAY
    conf = {"watch": str(watch), "base_url": server.base_url, "start": start, "end": end}
    run = run_dag("koubei_backfill", nightly_logical_date(END), conf)
    assert str(run.state) in SUCCESS
    root = str(tmp_path / "data")
    assert stored_days(root, TRENDS) == [
        start,
        date.fromordinal(END.toordinal() - 1).isoformat(),
        end,
    ]
    trends = read_trends(root, start, end)
    assert set(trends.column("brand").to_pylist()) == {"Apple", "Samsung", "全聯", "家樂福"}


@pytest.mark.slow
def test_refresh_step_refetches_recent_posts_within_the_budget(model, server, tmp_path):
    import yaml
    from koubei.pipelines.nightly import crawl_step, load, refresh_step
    from koubei.pipelines.store import read_snapshots

    watch = write_watch(tmp_path, model)
    assert refresh_step(watch, DAY) == {"targets": 0, "skipped": "crawl.refresh_days is 0"}
    data = yaml.safe_load(watch.read_text(encoding="utf-8"))
    data["crawl"].update(refresh_days=3, refresh_budget=4)
    watch.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    job = next(j for j in load(watch).crawl_jobs() if j["site"] == "ptt")
    crawl_step(watch, job, DAY, base_url=server.base_url, check_health=False)
    root = str(tmp_path / "data")
    before = read_snapshots(root).num_rows
    result = refresh_step(watch, DAY, base_url=server.base_url)
    assert result["targets"] == 4 and result["posts"] == 4  # PTT: one request a post
    assert read_snapshots(root).num_rows == before + 4  # each re-fetch appends a snapshot
