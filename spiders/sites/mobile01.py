"""Mobile01 forum spider: the topic list, then every page of each wanted topic.

    scrapy crawl mobile01 -a forums=291,793 [-a since=2024-02-01] [-a until=2024-02-20]
                          [-a lookback_days=2] [-a refresh=changed|all]
                          [-a base_url=http://127.0.0.1:8000] [-a targets=targets.jsonl] -s KOUBEI_STORE=data

Per forum: ``topiclist.php?f=F`` then ``&p=2, 3, …`` while a page still lists topics active
inside the window (``since``, else the forum's cursor minus ``lookback_days``; a topic's
activity is its last reply time, else its creation time); pinned (置頂) rows are skipped. Each
wanted topic: ``topicdetail.php?f=F&t=T`` and ``&p=2…`` up to the last page the pagination (or
the list row) shows; the topic is stored whole (the opening post and every reply) or, when a
page fails, not at all (counted; the stored copy stays). A topic whose list row shows the
stored number of replies is not fetched again (``koubei/mobile01/topics/unchanged``) unless
``-a refresh=all``.

The cursor of a forum holds its newest *activity* seen (last reply time and that topic), since
lists are read by activity, not by creation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import scrapy
from scrapy.http import Response

from ..items import DeletedItem
from ..parsers import mobile01
from ..parsers.errors import PageError
from .base import ListingSpider

logger = logging.getLogger(__name__)


class Mobile01Spider(ListingSpider):
    name = "mobile01"
    platform = "mobile01"
    source_name = "forum"

    def __init__(
        self,
        forums: str = "",
        *,
        base_url: str = mobile01.SITE,
        max_pages: str | int = 50,
        **kwargs,  # since, until, lookback_days, refresh: see ListingSpider
    ):
        super().__init__(forums, base_url=base_url, max_pages=max_pages, **kwargs)
        bad = [f for f in self.boards if not f.isdigit()]
        if bad:
            raise ValueError(f"Mobile01 forums are numeric ids (topiclist.php?f=…), not {', '.join(bad)}")

    def counts_since(self, board: str) -> None:
        return None  # a topic created long ago can get new replies: compare against all stored

    def first_request(self, board: str) -> scrapy.Request:
        return self._list_request(board, 1)

    def _list_request(self, forum: str, page: int) -> scrapy.Request:
        url = f"{self.base_url}/topiclist.php?f={forum}" + (f"&p={page}" if page > 1 else "")
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.on_error,
            cb_kwargs={"forum": forum, "page": page},
            priority=-1,
        )

    def _topic_request(self, row: mobile01.TopicRow, page: int, pages: list) -> scrapy.Request:
        url = f"{self.base_url}/topicdetail.php?f={row.forum}&t={row.topic}" + (
            f"&p={page}" if page > 1 else ""
        )
        return scrapy.Request(
            url,
            callback=self.parse_topic,
            errback=self.on_topic_error,
            cb_kwargs={"row": row, "pages": pages},
            priority=1 if page > 1 else 0,  # finish a started topic before starting others
        )

    def refresh_request(self, target) -> scrapy.Request:
        """A stored topic's first page (then the others), as if its list row had been read."""
        row = mobile01.TopicRow(
            title="",
            forum=target.board,
            topic=target.post_id,
            url=mobile01.topic_url(target.board, target.post_id),
            forum_name=None,
            author=None,
            created_at=target.created_at,
            last_reply_by=None,
            last_reply_at=None,
            reply_count=target.comment_count,
            pages=1,  # the first page's pagination shows the rest
            pinned=False,
            data_id=None,
        )
        return self._topic_request(row, 1, [])

    # ------------------------------------------------------------------------------------- lists
    def parse_list(self, response: Response, forum: str, page: int):
        if response.status == 404:
            self.count("list_end")
            return
        try:
            listing = mobile01.parse_topic_list(response.body, response.url)
        except PageError as exc:
            if retry := self.parse_failed(response, exc):
                yield retry
            return
        self.count("list_pages")
        self.page_read(forum)
        self.count_missing(listing.missing)
        fresh = [r for r in listing.rows if r.topic not in self.listed[forum]]
        active = False
        for row in fresh:
            self.listed[forum].add(row.topic)
            if row.pinned:
                self.count("rows/pinned")
                continue
            if row.forum != forum:
                self.count("rows/other_forum")
                continue
            ceiling = self.ceiling()
            if row.activity is None or row.activity < self.floors[forum]:
                self.count("rows/out_of_range")
                continue
            active = True
            if ceiling is not None and (row.created_at or row.activity) >= ceiling:
                self.count("rows/out_of_range")  # created after --until
                continue
            if self.unchanged(forum, row.topic, None, row.reply_count):  # Mobile01 shows no likes
                self.count("topics/unchanged")
                continue
            yield self._topic_request(row, 1, [])
        last = listing.last_page
        if active and fresh and (last is None or page < last) and self.may_walk_on(forum):
            yield self._list_request(forum, page + 1)

    # ------------------------------------------------------------------------------------- topics
    def parse_topic(self, response: Response, row: mobile01.TopicRow, pages: list):
        if response.status == 404 and not pages:
            self.crawler.stats.inc_value("koubei/skipped/not_found")
            yield from self._gone(row)
            return
        try:
            page = mobile01.parse_topic_page(response.body, response.url, crawled_at=datetime.now(UTC))
        except mobile01.NoArticles as exc:
            self.skip(exc.reason, response.url, exc)
            if not pages:
                yield from self._gone(row)
            return
        except PageError as exc:
            if retry := self.parse_failed(response, exc):
                yield retry
                return
            logger.error("mobile01 topic %s not stored: a page failed", row.topic)
            return
        self.count("topic_pages")
        self.count_missing(page.missing)
        seen = {r.seq for p in pages for r in p.replies}
        repeated = page.page > 1 and all(r.seq in seen for r in page.replies)
        if not repeated:  # past the last page Mobile01 answers the last page again
            pages.append(page)
        last = max(p.last_page for p in pages) if pages else 1
        if not repeated and page.page < max(last, row.pages):
            yield self._topic_request(row, page.page + 1, pages)
            return
        try:
            thread = mobile01.assemble_topic(pages, fallback_created=row.created_at)
        except PageError as exc:
            self.skip(exc.reason, response.url, exc)
            return
        if thread.post.created_at is None:
            self.skip("no_time", response.url, "neither the topic nor its list row shows a time")
            return
        self.count("articles")
        self.count("comments", len(thread.comments))
        times = [c.created_at for c in thread.comments if c.created_at] + [thread.post.created_at]
        self.note_newest(row.forum, max(times), thread.post.post_id)
        yield thread

    def _gone(self, row: mobile01.TopicRow):
        logger.warning("mobile01 topic %s is gone: stored copy, if any, marked deleted", row.topic)
        if row.created_at is not None:
            yield DeletedItem(self.platform, row.forum, row.topic, row.url, row.created_at, datetime.now(UTC))

    def on_topic_error(self, failure):
        row = failure.request.cb_kwargs["row"]
        logger.error("mobile01 topic %s not stored: a page failed", row.topic)
        return self.on_error(failure)
