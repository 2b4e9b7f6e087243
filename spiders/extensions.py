"""Scrapy extension that writes the crawl's stats to a JSON file while it runs and when it ends.

The process that started the crawl (the CLI, an Airflow task) reads it for a progress display and
the closing summary, without parsing logs.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class StatsFileExtension:
    def __init__(self, crawler: Crawler, path: str, interval: float):
        self.crawler, self.path, self.interval = crawler, path, interval
        self.loop: task.LoopingCall | None = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsFileExtension:
        path = crawler.settings.get("KOUBEI_STATS_FILE")
        if not path:
            raise NotConfigured
        return cls(crawler, path, crawler.settings.getfloat("KOUBEI_STATS_INTERVAL", 1.0))

    def write(self, finished: bool = False) -> None:
        stats = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in self.crawler.stats.get_stats().items()
        }
        stats["koubei/finished"] = finished
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(stats, f, ensure_ascii=False, default=str)
        os.replace(tmp, self.path)

    def opened(self, spider) -> None:
        self.loop = task.LoopingCall(self.write)
        self.loop.start(self.interval, now=True)

    def closed(self, spider, reason: str) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        self.crawler.stats.set_value("finish_reason", reason)
        self.write(finished=True)
