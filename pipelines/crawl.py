"""The crawl stage: run one spider in a child process and summarize what it did.

A child process per crawl, because Twisted's reactor cannot restart inside one process (Airflow's
``dag.test()`` runs every task in one process), and because a hung crawl must be killable. The CLI
and the DAGs call the same :func:`run_crawl`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# site -> the spider argument that takes its sources (PTT boards, Dcard forum aliases, Mobile01 forum ids)
SPIDERS = {"ptt": "boards", "dcard": "forums", "mobile01": "forums"}
SETTINGS_MODULE = "koubei.spiders.settings"
logger = logging.getLogger(__name__)


@dataclass
class CrawlSummary:
    site: str
    returncode: int
    finish_reason: str | None
    stats: dict = field(default_factory=dict)
    log_file: str | None = None
    health: list[dict] = field(default_factory=list)  # the crawl health rows written for this run

    def count(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    def by_prefix(self, prefix: str) -> dict[str, int]:
        return {k[len(prefix) :]: int(v) for k, v in sorted(self.stats.items()) if k.startswith(prefix)}

    @property
    def pages(self) -> int:
        return self.count("downloader/response_count")

    @property
    def posts(self) -> int:
        return self.count(f"koubei/{self.site}/articles")

    @property
    def comments(self) -> int:
        return self.count(f"koubei/{self.site}/comments")

    @property
    def skipped(self) -> dict[str, int]:
        return self.by_prefix("koubei/skipped/")

    @property
    def blocked(self) -> dict[str, int]:
        return self.by_prefix("koubei/blocked/")

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.finish_reason == "finished"

    def line(self) -> str:
        """The closing stats line: pages, posts, comments, skips by reason."""
        store = self.by_prefix("koubei/store/")
        skips = {**self.skipped, **{f"blocked_{k}": v for k, v in self.blocked.items()}}
        if self.count("robotstxt/forbidden"):
            skips["robots_txt"] = self.count("robotstxt/forbidden")
        skip_text = ", ".join(f"{k} {v}" for k, v in sorted(skips.items())) or "none"
        return (
            f"{self.site}: {self.finish_reason or 'failed'} — pages {self.pages}, posts {self.posts}, "
            f"comments {self.comments}, stored new {store.get('new', 0)} / updated {store.get('updated', 0)} / "
            f"unchanged {store.get('unchanged', 0)}, retries {self.count('retry/count')}, skipped: {skip_text}"
        )


def crawl_command(
    site: str,
    sources: list[str],
    out: str,
    *,
    since: str | None = None,
    until: str | None = None,
    base_url: str | None = None,
    lookback_days: float | None = None,
    stats_file: str | None = None,
    log_file: str | None = None,
    settings: dict[str, str] | None = None,
    spider_args: dict[str, str] | None = None,
    impersonate: str | None = None,
) -> list[str]:
    """The ``scrapy crawl`` command line for one crawl (also what a user can run by hand).

    ``spider_args`` are extra ``-a`` arguments of one site (Dcard's ``refresh``, ...);
    ``impersonate`` names a browser for the opt-in ``scrapy-impersonate`` download handler.
    """
    if site not in SPIDERS:
        raise ValueError(f"unknown site {site!r}; one of {', '.join(SPIDERS)}")
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        site,
        "-a",
        f"{SPIDERS[site]}={','.join(sources)}",
        "-s",
        f"KOUBEI_STORE={out}",
    ]
    for name, value in (
        ("since", since),
        ("until", until),
        ("base_url", base_url),
        ("lookback_days", lookback_days),
        *(spider_args or {}).items(),
    ):
        if value is not None:
            cmd += ["-a", f"{name}={value}"]
    if impersonate:
        cmd += ["-s", f"KOUBEI_IMPERSONATE={impersonate}"]
    if stats_file:
        cmd += ["-s", f"KOUBEI_STATS_FILE={stats_file}"]
    if log_file:
        cmd += ["-s", f"LOG_FILE={log_file}"]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl(
    site: str,
    sources: list[str],
    out: str,
    *,
    timeout: float | None = None,
    log_file: str | None = None,
    on_progress: Callable[[dict], None] | None = None,
    health: bool = True,
    **options,
) -> CrawlSummary:
    """Crawl ``sources`` (PTT boards, Dcard or Mobile01 forums) of ``site`` into the raw store at ``out``.

    ``options`` are :func:`crawl_command`'s: since, until, base_url, lookback_days, settings,
    spider_args, impersonate. With ``health``, one crawl health row per source is appended to the
    store (:mod:`koubei.pipelines.health`), a killed or failed crawl included.
    """
    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix=f"koubei-crawl-{site}-"))
    stats_file = str(workdir / "stats.json")
    log_file = log_file or str(workdir / "crawl.log")
    cmd = crawl_command(site, sources, out, stats_file=stats_file, log_file=log_file, **options)
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": SETTINGS_MODULE}
    started = time.monotonic()
    stderr_path = workdir / "stderr.txt"
    with open(stderr_path, "w") as stderr:  # a file, not a pipe: a chatty child never blocks on it
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            while proc.poll() is None:
                if timeout is not None and time.monotonic() - started > timeout:
                    proc.kill()
                    break
                if on_progress:
                    on_progress(_read_stats(stats_file))
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    stats = _read_stats(stats_file)
    errors = stderr_path.read_text(errors="replace").strip()
    if proc.returncode != 0 and errors:
        stats.setdefault("koubei/error", errors.splitlines()[-1])
    summary = CrawlSummary(
        site=site,
        returncode=proc.returncode,
        finish_reason=stats.get("finish_reason"),
        stats=stats,
        log_file=log_file,
    )
    if health:
        stats.setdefault("koubei/sources", list(sources))  # a crawl that died before saying
        summary.health = _record_health(summary, out, started_at)
    return summary


def _record_health(summary: CrawlSummary, out: str, started_at: datetime) -> list[dict]:
    """Health rows of one crawl, written next to the raw store; a failed write is logged, never
    raised, so it cannot turn a good crawl into a failed task."""
    from .health import health_rows, last_rows, write_health

    try:
        rows = health_rows(
            summary,
            uuid.uuid4().hex[:12],
            started_at,
            datetime.now(UTC),
            previous=last_rows(out, summary.site),
        )
        write_health(out, rows)
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError/ValueError subclasses
        logger.warning("crawl health not written to %s: %s", out, exc)
        return []
    return rows


def _read_stats(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}
