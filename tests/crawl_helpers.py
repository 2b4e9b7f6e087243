"""Helpers the end-to-end crawl tests share: fast settings, one crawl, a crawl killed midway.

Each crawl is a real ``scrapy crawl`` child process, as in production; only the base URL and
the politeness delays differ (zero delays on loopback keep the suite fast).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
from koubei.pipelines.crawl import SETTINGS_MODULE, CrawlSummary, crawl_command, run_crawl
from koubei.pipelines.replay import ReplayServer

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_TIMEOUT": "2",
    "RETRY_BACKOFF_BASE": "0.05",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "4",
    "LOG_LEVEL": "INFO",
}
# Slow enough to be killed midway, fast enough for the suite.
KILLABLE = {
    **FAST,
    "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
    "DOWNLOAD_DELAY": "0.05",
    "KOUBEI_FLUSH_ITEMS": "5",
}


def crawl(
    site: str, server: ReplayServer, out: Path, sources: list[str], since: str | None = "2024-01-01", **kw
) -> CrawlSummary:
    return run_crawl(
        site,
        sources,
        str(out),
        since=since,
        base_url=server.base_url,
        settings={**FAST, **kw.pop("settings", {})},
        timeout=120,
        **kw,
    )


RAW_DATASETS = ("posts", "comments")  # byte-identical after an unchanged re-crawl (snapshots, health grow)


def parquet_files(out: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for d in RAW_DATASETS if (out / d).exists() for p in (out / d).rglob("*.parquet")
    }


def stored_posts(out: Path) -> int:
    files = list((out / "posts").rglob("*.parquet")) if (out / "posts").exists() else []
    return sum(pq.read_metadata(f).num_rows for f in files)


def kill_midway(
    site: str, server: ReplayServer, out: Path, sources: list[str], at_least: int, log: Path, **kw
) -> int:
    """Start a crawl, SIGKILL it once ``at_least`` posts are stored; return how many were."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": SETTINGS_MODULE}
    cmd = crawl_command(
        site,
        sources,
        str(out),
        since=kw.pop("since", "2024-01-01"),
        base_url=server.base_url,
        settings={**KILLABLE, **kw.pop("settings", {})},
        log_file=str(log),
        **kw,
    )
    proc = subprocess.Popen(cmd, env=env)
    deadline, stored = time.monotonic() + 60, 0
    while time.monotonic() < deadline and proc.poll() is None:
        stored = stored_posts(out)
        if stored >= at_least:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return stored


def only_hidden_temp_files(out: Path) -> bool:
    """A killed writer may leave its temporary file; it is dot-prefixed, so readers skip it."""
    return all(p.name.startswith(".") for p in out.rglob("*.tmp"))
