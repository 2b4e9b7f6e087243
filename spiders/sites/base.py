"""What koubei's forum spiders share: sources, the date window and cursor, stats, error handling.

Every spider crawls a list of sources (PTT boards, Dcard forums, Mobile01 forums) into the raw
store. The window of posts a run wants is the same everywhere: ``since``/``until`` days
(Asia/Taipei) when given, else from the source's cursor (the newest post stored) minus a
look-back, so recent posts whose comments are still growing are refreshed. The item pipeline
locks ``boards`` and advances cursors from ``newest_seen`` after a clean finish.

``-a targets=FILE`` (JSON lines of :class:`~koubei.pipelines.refresh.RefreshTarget`, written by
``koubei crawl SITE --refresh-days`` and the hourly DAG) re-fetches those stored posts by URL
instead of walking the lists: each one is a listed row of its source for crawl health.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import scrapy
from koubei.pipelines.item_pipelines import SOURCE_PREFIX, count_source
from koubei.pipelines.refresh import RefreshTarget, read_targets
from koubei.pipelines.store import Cursor, RawStore
from scrapy import signals
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from ..middlewares import BlockedError, enable_impersonation
from ..parsers.errors import PageError, TruncatedError

logger = logging.getLogger(__name__)
TAIPEI = ZoneInfo("Asia/Taipei")
ONE_DAY = timedelta(days=1)


def failure_reason(failure: Failure) -> str:
    """A short stats key for why a request failed."""
    if failure.check(BlockedError):
        return f"blocked_{failure.value.reason}"
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(TimeoutError, TCPTimedOutError):
        return "timeout"
    return failure.type.__name__ if failure.type else "error"


def taipei_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TAIPEI).astimezone(UTC)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class ForumSpider(scrapy.Spider):
    platform = ""
    source_name = "board"  # what the error message calls a source

    def __init__(
        self,
        sources: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        lookback_days: str | float = 2,
        base_url: str = "",
        max_pages: str | int = 2000,
        targets: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.boards = [b.strip() for b in sources.split(",") if b.strip()]
        if not self.boards:
            raise ValueError(f"give at least one {self.source_name}: -a {self.source_name}s=A,B")
        self.since = _day(since)
        self.until = _day(until)
        self.lookback = timedelta(days=float(lookback_days))
        self.base_url = base_url.rstrip("/")
        self.max_pages = int(max_pages)
        self.floors: dict[str, datetime] = {}
        self.pages_walked: dict[str, int] = {}
        self.newest_seen: dict[str, tuple[datetime, str]] = {}
        self.rows_listed: dict[str, int] = {}
        self.source_of_url: dict[str, str] = {}  # so a skip, which knows only the URL, finds its source
        self.targets: list[RefreshTarget] | None = read_targets(targets) if targets else None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider.response_received, signal=signals.response_received)
        return spider

    @classmethod
    def update_settings(cls, settings) -> None:
        super().update_settings(settings)
        enable_impersonation(settings)

    # ------------------------------------------------------------------------------------- window
    @property
    def store(self) -> RawStore | None:
        root = self.settings.get("KOUBEI_STORE")
        return RawStore(root) if root else None

    def cursor(self, board: str) -> Cursor | None:
        store = self.store
        return store.read_cursor(self.platform, board) if store else None

    def floor(self, board: str) -> datetime:
        """Oldest time this run wants: ``since`` if given, else the cursor minus the look-back."""
        if self.since:
            return taipei_midnight_utc(self.since)
        cursor = self.cursor(board)
        if cursor:
            return cursor.newest_created_at - self.lookback
        return datetime.now(UTC) - self.lookback  # first run without since: the look-back window only

    def ceiling(self) -> datetime | None:
        return taipei_midnight_utc(self.until + ONE_DAY) if self.until else None

    def in_window(self, board: str, when: datetime | None) -> bool:
        ceiling = self.ceiling()
        return when is not None and when >= self.floors[board] and (ceiling is None or when < ceiling)

    def page_read(self, board: str) -> None:
        self.pages_walked[board] = self.pages_walked.get(board, 0) + 1

    def may_walk_on(self, board: str) -> bool:
        """False (counted, with a warning) once ``max_pages`` list pages of ``board`` were read."""
        if self.pages_walked.get(board, 0) < self.max_pages:
            return True
        self.count("max_pages_reached")
        logger.warning("%s/%s: stopped after %d list pages (max_pages)", self.platform, board, self.max_pages)
        return False

    def note_newest(self, board: str, when: datetime | None, post_id: str) -> None:
        newest = self.newest_seen.get(board)
        if when is not None and (newest is None or when > newest[0]):
            self.newest_seen[board] = (when, post_id)

    # ------------------------------------------------------------------------------------- refresh
    def refresh_requests(self):
        """One request per target of a source of this crawl, in place of the list walk."""
        self.crawler.stats.set_value("koubei/sources", list(self.boards))
        for target in self.targets or ():
            if target.platform != self.platform or target.board not in self.boards:
                self.count("refresh/not_mine")
                continue
            self.list_rows(target.board, 1)
            self.count("refresh/targets")
            yield self.refresh_request(target)

    def refresh_request(self, target: RefreshTarget) -> scrapy.Request:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------- stats
    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"koubei/{self.platform}/{key}", n)

    def count_source(self, board: str | None, event: str, n: int = 1) -> None:
        """Per-source counters next to the crawl-wide ones: one crawl covers several sources, and
        a blind source must not hide behind a healthy one."""
        count_source(self.crawler.stats, board, event, n)

    def source_of(self, request: Request) -> str | None:
        """The source a request belongs to, from its callback arguments (a board or forum name,
        or an object that carries one), else from the URL it was first scheduled under."""
        kwargs = request.cb_kwargs
        for value in (kwargs.get("board"), kwargs.get("forum"), *kwargs.values()):
            for candidate in (value, getattr(value, "board", None), getattr(value, "forum", None)):
                if isinstance(candidate, str) and candidate in self.boards:
                    return candidate
        return self.source_of_url.get(request.url)

    def request_scheduled(self, request: Request, spider=None) -> None:
        board = self.source_of(request)
        if board is None:
            return
        self.source_of_url[request.url] = board
        self.count_source(board, "requested")
        if request.meta.get("retry_times"):
            self.count_source(board, "retried")

    def response_received(self, response: Response, request: Request, spider=None) -> None:
        board = self.source_of(request)
        self.count_source(board, "responses")
        if response.status < 400:
            self.count_source(board, "succeeded")

    def list_rows(self, board: str, n: int) -> None:
        """Rows a list page showed: zero where a source had rows before means the crawl is blind."""
        self.rows_listed[board] = self.rows_listed.get(board, 0) + n

    def listed_count(self, board: str) -> int:
        return self.rows_listed.get(board, 0)

    def closed(self, reason: str) -> None:
        # Spider.close runs before the stats-file extension's final write, so these values are kept.
        for board in self.boards:
            self.crawler.stats.set_value(f"{SOURCE_PREFIX}{board}/listed", self.listed_count(board))

    def skip(self, reason: str, url: str, why: object) -> None:
        self.crawler.stats.inc_value(f"koubei/skipped/{reason}")
        self.count_source(self.source_of_url.get(url), f"skipped/{reason}")
        logger.error("%s skipped (%s): %s", url, reason, why)

    def count_missing(self, missing) -> None:
        """Fields a defensive parser could not find: counted per field, never fatal."""
        for name, n in missing.items():
            self.crawler.stats.inc_value(f"koubei/fields_missing/{self.platform}_{name}", n)

    def parse_failed(self, response: Response, exc: PageError):
        """Retry a truncated download (through the retry budget), else count the skip."""
        if isinstance(exc, TruncatedError):
            retry = self.retry_truncated(response)
            if retry is not None:
                return retry
        self.skip(exc.reason, response.url, exc)
        return None

    def retry_truncated(self, response: Response) -> scrapy.Request | None:
        from scrapy.downloadermiddlewares.retry import get_retry_request

        return get_retry_request(response.request, spider=self, reason="truncated page")

    def on_error(self, failure: Failure):
        reason = failure_reason(failure)
        request = getattr(failure, "request", None)
        board = self.source_of(request) if request is not None else None
        if failure.check(BlockedError):  # blocks are counted crawl-wide where they are detected
            self.count_source(board, f"blocked/{failure.value.reason}")
        else:
            self.crawler.stats.inc_value(f"koubei/skipped/{reason}")
            self.count_source(board, f"failed/{reason}")
        logger.error("skipped %s: %s", request.url if request else "?", reason)


class ListingSpider(ForumSpider):
    """A spider that reads list pages with counts (Dcard, Mobile01) and skips, in the look-back
    window, posts whose listed counts equal the stored ones (``refresh="changed"``)."""

    def __init__(self, sources: str = "", *, refresh: str = "changed", **kwargs):
        super().__init__(sources, **kwargs)
        if refresh not in ("changed", "all"):
            raise ValueError("refresh is 'changed' (skip posts whose listed counts did not move) or 'all'")
        self.refresh = refresh
        self.stored: dict[str, dict[str, tuple[int | None, int | None]]] = {}
        self.listed: dict[str, set[str]] = {}

    def counts_since(self, board: str) -> datetime | None:
        """Creation day from which stored counts are worth reading (None: all)."""
        return self.floors[board] - ONE_DAY

    def first_request(self, board: str) -> scrapy.Request:
        raise NotImplementedError

    def listed_count(self, board: str) -> int:
        return len(self.listed.get(board, ())) + self.rows_listed.get(board, 0)  # list rows or targets

    def unchanged(self, board: str, post_id: str, like_count: int | None, comment_count: int | None) -> bool:
        return self.stored[board].get(post_id) == (like_count, comment_count)

    def open_source(self, board: str) -> None:
        """The window, the seen-set and the stored counts of one source, before its first list page."""
        store = self.store
        self.floors[board] = self.floor(board)
        self.listed[board] = set()
        self.stored[board] = (
            store.post_counts(self.platform, board, self.counts_since(board))
            if store is not None and self.refresh == "changed"
            else {}
        )
        logger.info("%s/%s: from %s", self.platform, board, self.floors[board].isoformat())

    async def start(self):
        if self.targets is not None:
            for request in self.refresh_requests():
                yield request
            return
        self.crawler.stats.set_value("koubei/sources", list(self.boards))
        for board in self.boards:
            self.open_source(board)
            yield self.first_request(board)
