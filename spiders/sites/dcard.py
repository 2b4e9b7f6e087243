"""Dcard forum spider: the JSON API, newest posts first, each post with all its comments.

    scrapy crawl dcard -a forums=makeup,boutique [-a since=2024-02-01] [-a until=2024-02-20]
                       [-a lookback_days=2] [-a refresh=changed|all] [-a limit=100]
                       [-a comments_limit=50] [-a api=/service/api/v2] [-a web_fallback=true]
                       [-a base_url=http://127.0.0.1:8000] [-a targets=targets.jsonl] -s KOUBEI_STORE=data

Per forum: ``/forums/{alias}/posts?limit=N`` (newest first), then ``before=<smallest id seen>``
until the posts are older than the window (``since``, else the forum's cursor minus
``lookback_days``). Each wanted post: ``/posts/{id}`` and its comments, paged by floor
(``/posts/{id}/comments?limit=N&after=<last floor>`` up to the post's ``commentCount``), then
each comment's sub-comments (``?parentId=<comment id>``). A post is stored only whole: if any
of its pages fails the post is skipped (counted) and its stored copy stays as it was.

Look-back refresh: a post inside the window whose list entry shows the same like and comment
counts as the stored row is not fetched again (``koubei/dcard/posts/unchanged``); ``-a
refresh=all`` re-fetches every post in the window (edits that change neither count).

Hidden or deleted posts (``hidden``/``hiddenByAuthor``/``deletedAt``, or an API error object /
404) mark the stored copy deleted, like PTT's 404. When the API detail is blocked (a Cloudflare
challenge, 403) or answers something that is not JSON, the spider falls back to the post's web
page (``/f/{forum}/p/{id}``) and reads its ``__NEXT_DATA__``; comments still come from the API.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from ..items import CommentRecord, DeletedItem, PostRecord, ThreadItem
from ..middlewares import BlockedError
from ..parsers import dcard
from ..parsers.errors import PageError
from .base import ListingSpider

logger = logging.getLogger(__name__)

# Every key of the post objects in the real saved answers (2016 ``/_api`` list, 2020 popular list,
# 2021 forum lists, 2025 detail: shared/fixtures/dcard). A key outside it is schema drift worth a
# look (a renamed content field shows up here first): counted per forum, logged once per crawl.
KNOWN_POST_FIELDS = frozenset(
    [
        "activityAvatar",
        "anonymousDepartment",
        "anonymousSchool",
        "categories",
        "collected",
        "collectionCount",
        "commentCount",
        "content",
        "createdAt",
        "currentMember",
        "customStyle",
        "department",
        "edited",
        "elapsedTime",
        "enableNestedComment",
        "enablePrivateMessage",
        "excerpt",
        "excerptComments",
        "forumAlias",
        "forumId",
        "forumLogo",
        "forumName",
        "gender",
        "globalPinned",
        "hidden",
        "hiddenByAuthor",
        "hiddenInProfileWall",
        "hiddenOnPlatforms",
        "id",
        "identityIdV3",
        "identityType",
        "isBlocked",
        "isBlocker",
        "isModerator",
        "isSelectedPost",
        "isSuspiciousAccount",
        "layout",
        "likeCount",
        "liked",
        "media",
        "mediaMeta",
        "memberType",
        "meta",
        "newComment",
        "nsfw",
        "personaDeletedAt",
        "personaNickname",
        "personaSubscribed",
        "personaSubscriptable",
        "personaUid",
        "pinned",
        "pinnedInProfileWall",
        "postAvatar",
        "quoteCount",
        "reacted",
        "reactions",
        "read",
        "replyId",
        "replyTitle",
        "reportReason",
        "reportReasonText",
        "school",
        "shareCount",
        "spoilerAlert",
        "subscribed",
        "supportedReactions",
        "tags",
        "title",
        "topics",
        "totalCommentCount",
        "unsafe",
        "updatedAt",
        "verifiedBadge",
        "withImages",
        "withNickname",
        "withVideos",
        "deletedAt",
    ]
)


def unknown_keys(body: bytes | str) -> set[str]:
    """Keys of the post objects in an API answer (a list, ``{"items": […]}`` or one post) that
    :data:`KNOWN_POST_FIELDS` lacks; an answer that is not JSON has none."""
    try:
        data = json.loads(body)
    except ValueError:
        return set()
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    objects = data if isinstance(data, list) else [data]
    return {k for o in objects if isinstance(o, dict) for k in o} - KNOWN_POST_FIELDS


@dataclass
class _Thread:
    """A post being assembled across its comment pages (one request at a time)."""

    forum: str
    post: PostRecord
    comments: dict[int, CommentRecord] = field(default_factory=dict)
    parents: list[tuple[str, int, int]] = field(default_factory=list)  # (comment id, floor, replies)
    via_web: bool = False


def _contiguous_floors(floors) -> int:
    """How many floors from 1 on are all present (a web page may embed only some comments)."""
    have, n = set(floors), 0
    while n + 1 in have:
        n += 1
    return n


def _flag(value: str | bool) -> bool:
    return value if isinstance(value, bool) else str(value).lower() not in ("0", "false", "no", "off")


class DcardSpider(ListingSpider):
    name = "dcard"
    platform = "dcard"
    source_name = "forum"

    def __init__(
        self,
        forums: str = "",
        *,
        base_url: str = dcard.WEB,
        api: str = dcard.API_ROOT,
        limit: str | int = 100,
        comments_limit: str | int = 50,
        web_fallback: str | bool = True,
        max_pages: str | int = 200,
        **kwargs,  # since, until, lookback_days, refresh: see ListingSpider
    ):
        super().__init__(forums, base_url=base_url, max_pages=max_pages, **kwargs)
        self.api = self.base_url + "/" + api.strip("/")
        self.old_api = api.rstrip("/") == dcard.OLD_API_ROOT
        self.limit = int(limit)
        self.comments_limit = int(comments_limit)
        self.web_fallback = _flag(web_fallback)
        self.unknown_seen: set[str] = set()

    def note_fields(self, forum: str, body: bytes) -> None:
        """Count the unknown post keys of an answer for the forum's health row; log each once."""
        for key in sorted(unknown_keys(body)):
            self.count_source(forum, f"unknown_fields/{key}")
            if key not in self.unknown_seen:
                self.unknown_seen.add(key)
                logger.warning(
                    "dcard/%s: unknown field %r in the API's post objects (schema drift?)", forum, key
                )

    def first_request(self, board: str) -> scrapy.Request:
        return self._list_request(board, before=None)

    def _list_request(self, forum: str, before: int | None) -> scrapy.Request:
        params: dict[str, str | int] = {"limit": self.limit}
        if self.old_api:
            params["popular"] = "false"  # the 2016 root mixed popular and latest behind one path
        if before is not None:
            params["before"] = before
        return scrapy.Request(
            f"{self.api}/forums/{forum}/posts?{urlencode(params)}",
            callback=self.parse_list,
            errback=self.on_error,
            cb_kwargs={"forum": forum, "before": before},
            priority=-1,  # a page's posts before the next page
        )

    # ------------------------------------------------------------------------------------- lists
    def parse_list(self, response: Response, forum: str, before: int | None):
        try:
            listing = dcard.parse_post_list(response.body, forum=forum, crawled_at=datetime.now(UTC))
        except PageError as exc:
            if retry := self.parse_failed(response, exc):
                yield retry
            return
        self.count("list_pages")
        self.page_read(forum)
        self.note_fields(forum, response.body)
        if listing.duplicates:
            self.count("list_duplicates", listing.duplicates)
        ranked = [p for p in listing.ranked if before is None or int(p.post_id) < before]
        if before is not None and listing.ranked and not ranked:
            self.count("list_no_progress")  # the server ignored before=: nothing older to read here
        wanted = {p.post_id for p in ranked} if before is not None else None
        for post in listing.posts:
            if post.post_id in self.listed[forum] or (wanted is not None and post.post_id not in wanted):
                continue
            self.listed[forum].add(post.post_id)
            if not self.in_window(forum, post.created_at):
                self.count("posts/out_of_range")
                continue
            if post.deleted:  # lists already say hidden: no need to fetch it to know
                yield from self._gone(forum, post, "hidden on Dcard (list)")
                continue
            if self.unchanged(forum, post.post_id, post.like_count, post.comment_count):
                self.count("posts/unchanged")
                continue
            yield self._detail_request(forum, post)
        oldest = min((p.created_at for p in ranked if p.created_at), default=None)
        if ranked and oldest is not None and oldest >= self.floors[forum] and self.may_walk_on(forum):
            yield self._list_request(forum, before=min(int(p.post_id) for p in ranked))

    def refresh_request(self, target) -> scrapy.Request:
        """A stored post's detail (then its comments), as if its list entry had been read."""
        listed = PostRecord(
            self.platform,
            target.board,
            target.post_id,
            dcard.post_url(target.board, target.post_id),
            created_at=target.created_at,
            comment_count=target.comment_count,
        )
        return self._detail_request(target.board, listed)

    # ------------------------------------------------------------------------------------- posts
    def _post_request(self, url: str, callback, errback, forum: str, listed: PostRecord) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=errback, cb_kwargs={"forum": forum, "listed": listed}
        )

    def _detail_request(self, forum: str, listed: PostRecord) -> scrapy.Request:
        url = f"{self.api}/posts/{listed.post_id}"
        return self._post_request(url, self.parse_detail, self.on_detail_error, forum, listed)

    def _gone(self, forum: str, listed: PostRecord, why: str, *, not_found: bool = False):
        """A post that is deleted or hidden: its stored copy, if any, is marked deleted."""
        self.count("posts/gone")
        if not_found:  # the site said so with a 404 or an error object
            self.crawler.stats.inc_value("koubei/skipped/not_found")
        logger.warning(
            "dcard post %s/%s is gone (%s): stored copy, if any, marked deleted", forum, listed.post_id, why
        )
        if listed.created_at is None:  # cannot locate a stored copy without its day
            return []
        return [
            DeletedItem(
                self.platform, forum, listed.post_id, listed.url, listed.created_at, datetime.now(UTC)
            )
        ]

    def parse_detail(self, response: Response, forum: str, listed: PostRecord):
        if response.status == 404:
            yield from self._gone(forum, listed, "404", not_found=True)
            return
        try:
            post = dcard.parse_post(response.body, forum=forum, crawled_at=datetime.now(UTC))
        except dcard.DcardApiError as exc:
            yield from self._gone(forum, listed, str(exc), not_found=True)
            return
        except dcard.NotDcard as exc:
            if self.web_fallback:
                self.count("web_fallback")
                logger.warning(
                    "dcard post %s: API answered no JSON (%s), trying the web page", listed.post_id, exc
                )
                yield self._web_request(forum, listed)
                return
            self.skip(exc.reason, response.url, exc)
            return
        except PageError as exc:
            if retry := self.parse_failed(response, exc):
                yield retry
            return
        self.note_fields(forum, response.body)
        if post.content is None and not post.deleted:  # what the list showed (an excerpt) is all there is
            self.count("posts/excerpt_only")
            self.count_source(forum, "excerpt_only")
            logger.warning(
                "dcard post %s/%s: the detail carries no content (excerpt only)", forum, post.post_id
            )
        yield from self._start_thread(forum, listed, post)

    def _start_thread(self, forum: str, listed: PostRecord, post: PostRecord, comments=(), via_web=False):
        if post.deleted:
            yield from self._gone(forum, listed, "hidden or deleted on Dcard")
            return
        post.created_at = post.created_at or listed.created_at
        thread = _Thread(forum, post, {c.seq: c for c in comments}, via_web=via_web)
        after = _contiguous_floors(c.seq for c in comments if c.parent_seq is None) or None
        if post.comment_count == 0 or (after is not None and after >= (post.comment_count or 0)):
            yield from self._next_parent_or_finish(thread)
        else:
            yield self._comments_request(thread, after=after)

    def on_detail_error(self, failure: Failure):
        blocked = failure.check(BlockedError) or (
            failure.check(HttpError) and failure.value.response.status in (401, 403)
        )
        if blocked and self.web_fallback:
            kwargs = failure.request.cb_kwargs
            self.count("web_fallback")
            logger.warning("dcard post %s: API blocked, trying the web page", kwargs["listed"].post_id)
            yield self._web_request(kwargs["forum"], kwargs["listed"])
            if not failure.check(BlockedError):
                self.crawler.stats.inc_value("koubei/blocked/http_403")
            return
        yield from self.on_error(failure) or ()

    def _web_request(self, forum: str, listed: PostRecord) -> scrapy.Request:
        url = f"{self.base_url}/f/{forum}/p/{listed.post_id}"
        return self._post_request(url, self.parse_web, self.on_error, forum, listed)

    def parse_web(self, response: Response, forum: str, listed: PostRecord):
        if response.status == 404:
            yield from self._gone(forum, listed, "web page 404", not_found=True)
            return
        try:
            page = dcard.parse_next_data(response.body, crawled_at=datetime.now(UTC))
        except PageError as exc:
            if retry := self.parse_failed(response, exc):
                yield retry
            return
        post = next((p for p in page.posts if p.post_id == listed.post_id), None)
        if post is None or (post.content is None and not post.deleted):
            self.skip("web_no_post", response.url, "the page's __NEXT_DATA__ lacks this post's content")
            return
        comments = [c for c in page.comments if c.post_id == post.post_id]
        yield from self._start_thread(forum, listed, post, comments, via_web=True)

    # ------------------------------------------------------------------------------------- comments
    def _comments_request(
        self, thread: _Thread, after: int | None = None, parent: tuple[str, int, int] | None = None
    ) -> scrapy.Request:
        params: dict[str, str | int] = {"limit": self.comments_limit}
        if after is not None:
            params["after"] = after
        if parent is not None:
            params["parentId"] = parent[0]
        return scrapy.Request(
            f"{self.api}/posts/{thread.post.post_id}/comments?{urlencode(params)}",
            callback=self.parse_comments,
            errback=self.on_comments_error,
            cb_kwargs={"thread": thread, "parent": parent},
            priority=1,  # finish a started post before starting others
        )

    def parse_comments(self, response: Response, thread: _Thread, parent: tuple[str, int, int] | None):
        post = thread.post
        parent_floor = parent[1] if parent else None
        own = [c for c in thread.comments.values() if c.parent_seq == parent_floor]
        try:
            records, items = dcard.parse_comments(
                response.body,
                board=thread.forum,
                post_id=post.post_id,
                parent_floor=parent_floor,
                start=len(own),
                crawled_at=post.crawled_at,
            )
        except PageError as exc:
            if retry := self.parse_failed(response, exc):
                yield retry
                return
            logger.error("dcard post %s not stored: a comment page failed", post.post_id)
            return
        self.count("comment_pages")
        new = [r for r in records if r.seq not in thread.comments]
        for r in new:
            thread.comments[r.seq] = r
        if parent is None:
            for obj, rec in zip(items, records, strict=False):
                replies = dcard._int(obj.get("subCommentCount")) or 0
                if replies and rec.comment_id:
                    thread.parents.append((rec.comment_id, rec.seq, replies))
        floors = [r.seq if parent is None else r.seq - parent[1] * dcard.SUB_SEQ_BASE for r in records]
        expected = post.comment_count if parent is None else parent[2]
        if new and floors and (expected is None or max(floors) < expected):
            yield self._comments_request(thread, after=max(floors), parent=parent)
            return
        yield from self._next_parent_or_finish(thread)

    def _next_parent_or_finish(self, thread: _Thread):
        if thread.parents:
            yield self._comments_request(thread, parent=thread.parents.pop(0))
            return
        item = ThreadItem(thread.post, [thread.comments[k] for k in sorted(thread.comments)]).finalize()
        self.count("articles")
        self.count("comments", len(item.comments))
        hidden = sum(c.hidden for c in item.comments)
        if hidden:
            self.count("comments_hidden", hidden)
        self.note_newest(thread.forum, item.post.created_at, item.post.post_id)
        yield item

    def on_comments_error(self, failure: Failure):
        thread = failure.request.cb_kwargs["thread"]
        logger.error("dcard post %s not stored: a comment page failed", thread.post.post_id)
        return self.on_error(failure)
