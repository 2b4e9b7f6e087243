"""PTT board spider: walk each board's index back from the newest page, fetch every article.

    scrapy crawl ptt -a boards=Stock,Gossiping -a since=2024-02-01 [-a until=2024-02-20]
                     [-a lookback_days=2] [-a base_url=http://127.0.0.1:8000] -s KOUBEI_STORE=data
    scrapy crawl ptt -a boards=Stock -a targets=targets.jsonl -s KOUBEI_STORE=data   (re-fetch stored articles)

Incremental: without ``since`` the walk stops ``lookback_days`` before the newest post stored for
the board (its cursor; an explicit ``since`` wins), so a nightly run fetches the new articles plus recent ones whose pushes
are still growing; a re-crawled article replaces its stored version. The over-18 gate is passed
with the ``over18=1`` cookie that PTT's own form sets (never by pretending to be a search engine).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response

from ..items import DeletedItem
from ..parsers import ptt
from .base import ForumSpider, failure_reason

__all__ = ["PttSpider", "failure_reason"]
logger = logging.getLogger(__name__)


class PttSpider(ForumSpider):
    name = "ptt"
    platform = "ptt"
    cookies = {"over18": "1"}

    def __init__(self, boards: str = "", *, base_url: str = "https://www.ptt.cc", **kwargs):
        super().__init__(boards, base_url=base_url, **kwargs)  # since, until, lookback_days, max_pages

    # ------------------------------------------------------------------------------------- start
    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.targets is not None:
            for request in self.refresh_requests():
                yield request
            return
        self.crawler.stats.set_value("koubei/sources", list(self.boards))
        for board in self.boards:
            self.floors[board] = self.floor(board)
            logger.info("ptt/%s: articles from %s", board, self.floors[board].isoformat())
            yield self._index_request(f"{self.base_url}/bbs/{board}/index.html", board)

    def _index_request(self, url: str, board: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_index,
            errback=self.on_error,
            cookies=self.cookies,
            cb_kwargs={"board": board},
            priority=-1,  # articles of a page before the next page
        )

    def refresh_request(self, target) -> scrapy.Request:
        return scrapy.Request(
            f"{self.base_url}/bbs/{target.board}/{target.post_id}.html",
            callback=self.parse_article,
            errback=self.on_error,
            cookies=self.cookies,
            cb_kwargs={"board": target.board},
        )

    # ------------------------------------------------------------------------------------- parse
    def parse_index(self, response: Response, board: str):
        stats = self.crawler.stats
        try:
            page = ptt.parse_index(response.body, response.url)
        except ptt.PttParseError as exc:
            self.skip(exc.reason, response.url, exc)
            return
        self.count("index_pages")
        self.page_read(board)
        self.list_rows(board, len(page.articles))
        floor = self.floors[board]
        for row in page.rows:
            if row.pinned:
                stats.inc_value("koubei/ptt/rows/pinned")
            elif row.deleted:
                stats.inc_value("koubei/ptt/rows/deleted")
        dated = [r for r in page.rows if not r.pinned and r.created_at]
        for row in page.articles:
            if not self.in_window(board, row.created_at):
                stats.inc_value("koubei/ptt/rows/out_of_range")
                continue
            yield response.follow(
                row.url,
                callback=self.parse_article,
                errback=self.on_error,
                cookies=self.cookies,
                cb_kwargs={"board": board},
            )
        oldest = min((r.created_at for r in dated), default=None)
        if page.prev_url and (oldest is None or oldest >= floor) and self.may_walk_on(board):
            yield self._index_request(urljoin(response.url, page.prev_url), board)

    def parse_article(self, response: Response, board: str):
        if response.status == 404:
            board_, post_id = ptt.ids_from_url(response.url)
            self.crawler.stats.inc_value("koubei/skipped/not_found")
            self.count_source(board, "not_found")
            logger.warning(
                "article %s answered 404 (deleted): stored copy, if any, marked deleted", response.url
            )
            yield DeletedItem(
                self.platform, board_, post_id, response.url, ptt.article_time(post_id), datetime.now(UTC)
            )
            return
        try:
            thread = ptt.parse_article(response.body, response.url, crawled_at=datetime.now(UTC))
        except ptt.PttParseError as exc:
            retry = self.parse_failed(response, exc)
            if retry is not None:
                yield retry
            return
        self.count("articles")
        self.count("comments", len(thread.comments))
        self.note_newest(board, thread.post.created_at, thread.post.post_id)
        yield thread
