"""What the DAG tests share: one Airflow home, one tiny model and one replay server per test session,
and the nightly end-to-end check that every storage root (a folder, an S3 bucket) must pass.

A pytest plugin (``pytest_plugins = ("tests.dag_helpers",)``), not per-module fixtures: Airflow binds
its home at first import, so two test modules with two homes could not share a pytest session.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml
from koubei.pipelines.demo import (
    END,
    demo_talk,
    demo_watch,
    generate_site,
    nightly_logical_date,
    prepare_airflow,
    run_dag,
)
from koubei.pipelines.replay import ReplayServer
from koubei.pipelines.store import filesystem

DAYS = 6  # of generated talk, ending on END
DAY = END.isoformat()
PARTITIONED = ("posts", "comments", "enriched", "trends")
SUCCESS = ("success", "DagRunState.SUCCESS")


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow")
    prepare_airflow(home)  # sets AIRFLOW_HOME & co. before the first `import airflow`, migrates SQLite
    return home


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> Path:
    from koubei.models.export import export_onnx, random_model

    texts = [t.body for talk in demo_talk(days=DAYS).values() for t in talk]
    out = random_model(tmp_path_factory.mktemp("model") / "sentiment", texts, layers=1, hidden=32, heads=2)
    export_onnx(out)
    return out


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    generate_site(site, days=DAYS)
    with ReplayServer(site) as running:
        yield running


def write_watch(folder: Path, model: Path, **storage: str) -> Path:
    """The demo's watch file in ``folder``; ``storage`` overrides its ``storage:`` keys (root, reports)."""
    data = demo_watch(folder, model=model)
    data["storage"].update(storage)
    path = folder / "watch.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def digests(root: str | Path) -> dict[str, str]:
    """``relative path -> sha256`` of the partitioned Parquet files under a storage root (folder or URI)."""
    fs, base = filesystem(str(root))
    base = base.rstrip("/")
    out = {}
    for name in PARTITIONED:
        if fs.get_file_info(f"{base}/{name}").type != pafs.FileType.Directory:
            continue
        for info in fs.get_file_info(pafs.FileSelector(f"{base}/{name}", recursive=True)):
            if info.type == pafs.FileType.File and info.path.endswith(".parquet"):
                with fs.open_input_stream(info.path) as f:
                    out[info.path.removeprefix(f"{base}/")] = hashlib.sha256(f.read()).hexdigest()
    return dict(sorted(out.items()))


def check_nightly_end_to_end(watch: Path, base_url: str, root: str | Path, reports: Path) -> None:
    """Run ``koubei_nightly`` for END twice: every task succeeds, the crawl window's partitions of the
    three sites and their trends are stored under ``root``, the report is written, and the second
    run of the same logical date leaves every partition byte-identical."""
    conf = {"watch": str(watch), "base_url": base_url}
    first = run_dag("koubei_nightly", nightly_logical_date(END), conf)
    assert str(first.state) in SUCCESS
    states = {ti.task_id: ti.state for ti in first.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    before = digests(root)
    # the crawl window (day, two look-back days) of each of the six sources is stored
    window = {f"date={date.fromordinal(END.toordinal() - k).isoformat()}" for k in range(3)}
    assert {p.split("/")[2] for p in before if p.startswith("posts/")} == window
    assert {p.split("/")[1] for p in before if p.startswith("posts/")} == {
        "platform=ptt",
        "platform=dcard",
        "platform=mobile01",
    }
    assert sorted(p for p in before if p.startswith("trends/")) == sorted(
        f"trends/{d}/trends.parquet" for d in window
    )
    assert (reports / f"koubei-{DAY}.html").is_file()

    second = run_dag("koubei_nightly", nightly_logical_date(END), conf)
    assert str(second.state) in SUCCESS
    assert digests(root) == before
