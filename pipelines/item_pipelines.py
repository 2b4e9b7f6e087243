"""Scrapy item pipelines: validate what spiders yield, then write it to the raw Parquet store.

Spiders only select and parse; these pipelines decide what is kept. Items are buffered and written
in batches (one atomic write per partition file), and each board's cursor moves forward only
after a crawl finished cleanly, so a killed crawl is simply crawled again.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from koubei.spiders.items import DeletedItem, ThreadItem
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector

from .store import RawStore, WriteStats

logger = logging.getLogger(__name__)
REQUIRED_POST_FIELDS = ("platform", "board", "post_id", "url", "created_at", "crawled_at")
# Kept when missing (the post is still worth storing) but counted: many posts without them is schema
# drift, which the crawl health alarms report (pipelines/health.py).
EXPECTED_POST_FIELDS = ("title", "content")
SOURCE_PREFIX = "koubei/source/"
STORE_KEYS = ("new", "updated", "unchanged", "comments", "marked_deleted", "files", "snapshots")


def count_source(stats: StatsCollector, board: str | None, event: str, n: int = 1) -> None:
    """``koubei/source/<board>/<event>``: the per-source counters the crawl health rows read."""
    if board and n:
        stats.inc_value(f"{SOURCE_PREFIX}{board}/{event}", n)


class ValidatePipeline:
    """Drop items that would break the schema, with the reason in the stats."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, DeletedItem):
            return item
        if not isinstance(item, ThreadItem):
            raise DropItem(f"unknown item type {type(item).__name__}")
        missing = [f for f in REQUIRED_POST_FIELDS if getattr(item.post, f) in (None, "")]
        if missing:
            self.stats.inc_value("koubei/dropped/missing_" + "_".join(missing))
            count_source(self.stats, item.post.board, "dropped")
            raise DropItem(f"post {item.post.post_id or item.post.url} lacks {', '.join(missing)}")
        board = item.post.board
        lacking = [f for f in EXPECTED_POST_FIELDS if getattr(item.post, f) is None and not item.post.deleted]
        for name in lacking:
            self.stats.inc_value(f"koubei/fields_missing/post_{name}")
            count_source(self.stats, board, "fields_missing")
        for c in item.comments:
            if c.content is None and not c.hidden:  # a hidden comment has no content by design
                self.stats.inc_value("koubei/fields_missing/comment_content")
                count_source(self.stats, board, "fields_missing")
                lacking.append("comment_content")
        if lacking:  # one per post: the share of posts hit is what tells schema drift from a glitch
            count_source(self.stats, board, "incomplete")
        count_source(self.stats, board, "items")
        return item


class ParquetStorePipeline:
    def __init__(self, crawler: Crawler):
        root = crawler.settings.get("KOUBEI_STORE")
        if not root:
            raise NotConfigured("KOUBEI_STORE is not set")
        self.crawler = crawler
        self.store = RawStore(root)
        self.flush_every = crawler.settings.getint("KOUBEI_FLUSH_ITEMS", 25)
        self.threads: list[ThreadItem] = []
        self.deleted: list[DeletedItem] = []
        self.locks: list = []
        self.totals = WriteStats()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParquetStorePipeline:
        return cls(crawler)

    def open_spider(self):
        spider = self.crawler.spider
        for board in getattr(spider, "boards", []):
            handle = self.store.lock(spider.platform, board)
            if handle is not None:
                self.locks.append(handle)

    def process_item(self, item):
        if isinstance(item, DeletedItem):
            self.deleted.append(item)
        else:
            self.threads.append(item)
        if len(self.threads) + len(self.deleted) >= self.flush_every:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffer one source at a time, so the store's outcome is counted per source too."""
        by_source: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        for thread in self.threads:
            by_source[thread.post.board][0].append(thread)
        for item in self.deleted:
            by_source[item.board][1].append(item)
        self.threads, self.deleted = [], []
        for board, (threads, deleted) in sorted(by_source.items()):
            stats = self.store.upsert_threads(threads)
            stats.add(self.store.mark_deleted(deleted))
            self.totals.add(stats)
            for key in STORE_KEYS:
                value = getattr(stats, key)
                if value:
                    self.crawler.stats.inc_value(f"koubei/store/{key}", value)
                    count_source(self.crawler.stats, board, f"store/{key}", value)

    def close_spider(self):
        self.flush()

    def spider_closed(self, spider, reason: str) -> None:
        try:
            if reason != "finished":
                logger.warning("crawl ended with %r: cursors not advanced, the next run re-crawls", reason)
                return
            for board, (created_at, post_id) in getattr(spider, "newest_seen", {}).items():
                cursor = self.store.advance_cursor(spider.platform, board, post_id, created_at)
                logger.info(
                    "cursor %s/%s -> %s (%s)",
                    spider.platform,
                    board,
                    cursor.newest_post_id,
                    cursor.newest_created_at.isoformat(),
                )
        finally:
            for handle in self.locks:
                handle.close()
            self.locks = []
