"""PTT board spider: walk each board's index back from the newest page, fetch every article.

    scrapy crawl ptt -a boards=Stock,Gossiping -a since=2024-02-01 [-a until=2024-02-20]
                     [-a lookback_days=2] [-a base_url=http://127.0.0.1:8000] -s KOUBEI_STORE=data

Incremental: without ``since`` the walk stops ``lookback_days`` before the newest post stored for
the board (its cursor; an explicit ``since`` wins), so a nightly run fetches the new articles plus recent ones whose pushes
are still growing; a re-crawled article replaces its stored version. The over-18 gate is passed
with the ``over18=1`` cookie that PTT's own form sets (never by pretending to be a search engine).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urljoin

import scrapy
from koubei.pipelines.store import RawStore
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from ..items import DeletedItem
from ..middlewares import BlockedError
from ..parsers import ptt

logger = logging.getLogger(__name__)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def failure_reason(failure: Failure) -> str:
    """A short stats key for why a request failed."""
    if failure.check(BlockedError):
        return f"blocked_{failure.value.reason}"
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(TimeoutError, TCPTimedOutError):
        return "timeout"
    return failure.type.__name__ if failure.type else "error"


class PttSpider(scrapy.Spider):
    name = "ptt"
    platform = "ptt"
    cookies = {"over18": "1"}

    def __init__(
        self,
        boards: str = "",
        since: str | None = None,
        until: str | None = None,
        lookback_days: str | int = 2,
        base_url: str = "https://www.ptt.cc",
        max_pages: str | int = 2000,
        *args,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.boards = [b.strip() for b in boards.split(",") if b.strip()]
        if not self.boards:
            raise ValueError("give at least one board: -a boards=Stock,Gossiping")
        self.since = _day(since)
        self.until = _day(until)
        self.lookback = timedelta(days=float(lookback_days))
        self.base_url = base_url.rstrip("/")
        self.max_pages = int(max_pages)
        self.floors: dict[str, datetime] = {}
        self.pages_walked: dict[str, int] = {}
        self.newest_seen: dict[str, tuple[datetime, str]] = {}

    # ------------------------------------------------------------------------------------- start
    def _floor(self, board: str) -> datetime:
        """Oldest article time this run wants: ``since`` if given, else the cursor minus the look-back."""
        if self.since:
            return ptt.taipei_midnight_utc(self.since)
        store = self.settings.get("KOUBEI_STORE")
        cursor = RawStore(store).read_cursor(self.platform, board) if store else None
        if cursor:
            return cursor.newest_created_at - self.lookback
        return datetime.now(UTC) - self.lookback  # first run without since: the look-back window only

    def _ceiling(self) -> datetime | None:
        return ptt.taipei_midnight_utc(self.until + ptt.ONE_DAY) if self.until else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.crawler.stats.set_value("koubei/sources", list(self.boards))
        for board in self.boards:
            self.floors[board] = self._floor(board)
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

    # ------------------------------------------------------------------------------------- parse
    def parse_index(self, response: Response, board: str):
        stats = self.crawler.stats
        try:
            page = ptt.parse_index(response.body, response.url)
        except ptt.PttParseError as exc:
            stats.inc_value(f"koubei/skipped/{exc.reason}")
            logger.error("index %s skipped: %s", response.url, exc)
            return
        stats.inc_value("koubei/ptt/index_pages")
        self.pages_walked[board] = self.pages_walked.get(board, 0) + 1
        floor, ceiling = self.floors[board], self._ceiling()
        for row in page.rows:
            if row.pinned:
                stats.inc_value("koubei/ptt/rows/pinned")
            elif row.deleted:
                stats.inc_value("koubei/ptt/rows/deleted")
        dated = [r for r in page.rows if not r.pinned and r.created_at]
        for row in page.articles:
            created = row.created_at
            if created is None or created < floor or (ceiling and created >= ceiling):
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
        if page.prev_url and (oldest is None or oldest >= floor):
            if self.pages_walked[board] >= self.max_pages:
                stats.inc_value("koubei/ptt/max_pages_reached")
                logger.warning("ptt/%s: stopped after %d index pages (max_pages)", board, self.max_pages)
                return
            yield self._index_request(urljoin(response.url, page.prev_url), board)

    def parse_article(self, response: Response, board: str):
        stats = self.crawler.stats
        if response.status == 404:
            board_, post_id = ptt.ids_from_url(response.url)
            stats.inc_value("koubei/skipped/not_found")
            logger.warning(
                "article %s answered 404 (deleted): stored copy, if any, marked deleted", response.url
            )
            yield DeletedItem(
                self.platform, board_, post_id, response.url, ptt.article_time(post_id), datetime.now(UTC)
            )
            return
        try:
            thread = ptt.parse_article(response.body, response.url, crawled_at=datetime.now(UTC))
        except ptt.TruncatedPage as exc:
            retry = self._retry_truncated(response)
            if retry is not None:
                yield retry
                return
            stats.inc_value(f"koubei/skipped/{exc.reason}")
            logger.error("article %s skipped: %s", response.url, exc)
            return
        except ptt.PttParseError as exc:
            stats.inc_value(f"koubei/skipped/{exc.reason}")
            logger.error("article %s skipped: %s", response.url, exc)
            return
        stats.inc_value("koubei/ptt/articles")
        stats.inc_value("koubei/ptt/comments", len(thread.comments))
        post = thread.post
        newest = self.newest_seen.get(board)
        if newest is None or post.created_at > newest[0]:
            self.newest_seen[board] = (post.created_at, post.post_id)
        yield thread

    def _retry_truncated(self, response: Response) -> scrapy.Request | None:
        from scrapy.downloadermiddlewares.retry import get_retry_request

        return get_retry_request(response.request, spider=self, reason="truncated page")

    def on_error(self, failure: Failure):
        reason = failure_reason(failure)
        if not failure.check(BlockedError):  # blocks are counted where they are detected
            self.crawler.stats.inc_value(f"koubei/skipped/{reason}")
        request = getattr(failure, "request", None)
        logger.error("skipped %s: %s", request.url if request else "?", reason)
