"""The crawl stage: run one spider in a child process and summarize what it did.

A child process per crawl, because Twisted's reactor cannot restart inside one process (Airflow's
``dag.test()`` runs every task in one process), and because a hung crawl must be killable. The CLI
and the DAGs call the same :func:`run_crawl`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# site -> the spider argument that takes its sources (PTT boards, Dcard forum aliases, Mobile01 forum ids)
SPIDERS = {"ptt": "boards", "dcard": "forums", "mobile01": "forums"}
SETTINGS_MODULE = "koubei.spiders.settings"


@dataclass
class CrawlSummary:
    site: str
    returncode: int
    finish_reason: str | None
    stats: dict = field(default_factory=dict)
    log_file: str | None = None

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
    **options,
) -> CrawlSummary:
    """Crawl ``sources`` (PTT boards, Dcard or Mobile01 forums) of ``site`` into the raw store at ``out``.

    ``options`` are :func:`crawl_command`'s: since, until, base_url, lookback_days, settings,
    spider_args, impersonate.
    """
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
    return CrawlSummary(
        site=site,
        returncode=proc.returncode,
        finish_reason=stats.get("finish_reason"),
        stats=stats,
        log_file=log_file,
    )


def _read_stats(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}
