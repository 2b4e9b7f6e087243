"""`koubei demo` as a newcomer runs it: a fresh process, the shipped model, no network.

It must end with the raw/enriched/trends Parquet, the HTML report and exactly one negative-spike
alert (the injected 全聯 spike) in the outbox. Run in a child process because Airflow binds its
home directory at first import, and the demo brings its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from koubei.models.paths import SENTIMENT_DIR

DAYS = 20  # the daily rule needs 14 days of history before the spike (the last 3 days)


@pytest.mark.slow
def test_demo_ends_with_report_datasets_and_one_spike_alert(tmp_path):
    assert (SENTIMENT_DIR / "config.json").is_file(), "the shipped sentiment model is missing"
    koubei = Path(sys.executable).with_name("koubei")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    done = subprocess.run(
        [str(koubei), "demo", "--out", str(tmp_path / "demo"), "--days", str(DAYS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = tmp_path / "demo"
    for dataset in ("posts", "comments", "enriched", "trends"):
        assert list((out / "data" / dataset).rglob("*.parquet")), dataset
    reports = sorted((out / "reports").glob("koubei-*.html"))
    assert reports and "<html" in reports[-1].read_text(encoding="utf-8")[:500].lower()
    alerts = [
        json.loads(line) for line in (out / "data" / "outbox" / "alerts.jsonl").read_text().splitlines()
    ]
    spikes = [a for a in alerts if a["rule"].startswith("negative_spike")]
    assert [a["brand"] for a in spikes] == ["全聯"], alerts
    assert str(reports[-1]) in done.stdout or reports[-1].name in done.stdout
