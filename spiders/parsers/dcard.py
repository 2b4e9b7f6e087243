"""Dcard API JSON (and the web page's ``__NEXT_DATA__``) to records: pure functions, no network.

Layouts handled are the ones real saved responses show (``research/sites.md`` §2): the 2016
``/_api`` field set, the 2020–2021 and 2025 ``/service/api/v2`` field sets, post lists joined
from two fetches (a post repeated with newer counts: the later copy wins), a crawler's
``{url, fetch_time, posts}`` envelope around a real response, and the browser-rendered web page
whose Next.js state embeds the same post objects.

Mapping choices, documented once here:

- ``board`` is the forum alias, ``post_id`` the numeric id as a string, times are UTC.
- Authors: with ``withNickname`` Dcard puts the persona's nickname in ``school`` and its uid in
  ``department`` (seen in the 2020 and 2025 files); then ``author_id`` = uid and
  ``author_nickname`` = nickname. Otherwise the author is anonymous: no id, and the school and
  department are kept only where Dcard shows them (``anonymousSchool`` / ``anonymousDepartment``).
- ``comment_count`` is Dcard's ``commentCount`` (top-level comments, what lists show);
  sub-comments are rows whose ``parent_seq`` is the parent's floor and whose ``seq`` is
  ``parent floor * 10000 + their own floor``, so a re-crawl gives every comment the same key.
- Reactions are stored by name (愛心, 哈哈, …: Dcard's own table, seen in the 2021 web page);
  an id not in that table is kept as the id. ``like_count`` is Dcard's ``likeCount``, which
  equals the sum of the reactions in every saved file.
- ``edited`` comes from the 2025 ``edited`` flag only: in older layouts ``updatedAt`` moves with
  activity (29 of the 30 posts in the 2016 list have ``updatedAt`` > ``createdAt``).
- Hidden or deleted posts and comments (``hidden``, ``hiddenByAuthor``, ``deletedAt``) have no
  ``content``: posts come back ``deleted``, comments ``hidden`` with ``content`` None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..items import CommentRecord, PostRecord
from .errors import NotFoundError, PageError, TruncatedError, WrongPageError, check_not_challenge

PLATFORM = "dcard"
WEB = "https://www.dcard.tw"
API_ROOT = "/service/api/v2"
OLD_API_ROOT = "/_api"  # 2016 layout; same resources under another root
SUB_SEQ_BASE = 10_000
INT32_MAX = 2**31 - 1
# Dcard's reaction table as the 2021 web page embeds it (props.initialState.reaction.data).
REACTIONS = {
    "286f599c-f86a-4932-82f0-f5a06f1eca03": "愛心",
    "e8e6bc5d-41b0-4129-b134-97507523d7ff": "哈哈",
    "4b018f48-e184-445f-adf1-fc8e04ba09b9": "驚訝",
    "514c2569-fd53-4d9d-a415-bf0f88e7329f": "嗚嗚",
    "011ead16-9b83-4729-9fde-c588920c6c2d": "跪",
    "aa0d425f-d530-4478-9a77-fe3aedc79eea": "森77",
}
WEB_POST = re.compile(r"/f/([A-Za-z0-9_\-]+)/p/(\d+)")
API_POST = re.compile(r"/posts/(\d+)")
TITLE_TAG = re.compile(r"^#(\S{1,8})\s")
NEXT_DATA = re.compile(r'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', re.DOTALL)


class DcardParseError(PageError):
    reason = "parse_error"


class TruncatedJson(DcardParseError, TruncatedError):
    reason = "truncated"


class NotDcard(DcardParseError, WrongPageError):
    reason = "not_dcard"


class DcardApiError(DcardParseError, NotFoundError):
    """The API answered an error object instead of the resource (a deleted or unknown post)."""

    reason = "not_found"


# ---------------------------------------------------------------------------------------------- fields


def parse_time(value: Any) -> datetime | None:
    """``2016-07-15T11:08:23.539Z`` (UTC) to an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def reactions_by_name(items: Any) -> dict[str, int] | None:
    if not isinstance(items, list):
        return None
    out: dict[str, int] = {}
    for r in items:
        if isinstance(r, dict) and isinstance(r.get("id"), str) and _int(r.get("count")) is not None:
            name = REACTIONS.get(r["id"], r["id"])
            out[name] = out.get(name, 0) + r["count"]
    return out


def post_url(forum: str, post_id: str) -> str:
    return f"{WEB}/f/{forum}/p/{post_id}"


def _persona(obj: dict) -> tuple[str | None, str | None]:
    """(uid, nickname) when the author writes under a nickname, else (None, None)."""
    if not obj.get("withNickname"):
        return None, None
    return (
        _text(obj.get("personaUid")) or _text(obj.get("department")),
        _text(obj.get("personaNickname")) or _text(obj.get("school")),
    )


def _is_gone(obj: dict) -> bool:
    return bool(obj.get("hidden") or obj.get("hiddenByAuthor") or obj.get("deletedAt"))


def post_record(obj: dict, *, forum: str | None = None, crawled_at: datetime | None = None) -> PostRecord:
    """One post object (list item, detail or ``__NEXT_DATA__`` entry) as a :class:`PostRecord`."""
    post_id = obj.get("id")
    if not isinstance(post_id, int | str) or not str(post_id).isdigit():
        raise NotDcard(f"a Dcard post needs a numeric id, got {post_id!r}")
    board = _text(obj.get("forumAlias")) or forum
    if not board:
        raise NotDcard(f"post {post_id} names no forum")
    uid, nickname = _persona(obj)
    anonymous = uid is None and nickname is None and not obj.get("withNickname")
    title = _text(obj.get("title"))
    categories = obj.get("categories")
    category = (
        categories[0]
        if isinstance(categories, list) and categories and isinstance(categories[0], str)
        else (m.group(1) if title and (m := TITLE_TAG.match(title)) else None)
    )
    edited = bool(obj.get("edited"))
    topics = obj.get("topics")
    return PostRecord(
        platform=PLATFORM,
        board=board,
        post_id=str(post_id),
        url=post_url(board, str(post_id)),
        title=title,
        category=category,
        is_reply=obj.get("replyId") is not None,
        author_id=uid,
        author_nickname=nickname,
        created_at=parse_time(obj.get("createdAt")),
        content=obj.get("content") if isinstance(obj.get("content"), str) else None,
        edited=edited,
        edited_at=parse_time(obj.get("updatedAt")) if edited else None,
        deleted=_is_gone(obj),
        like_count=_int(obj.get("likeCount")),
        comment_count=_int(obj.get("commentCount")),
        crawled_at=crawled_at or datetime.now(UTC),
        topics=[t for t in topics if isinstance(t, str)] if isinstance(topics, list) else None,
        reactions=reactions_by_name(obj.get("reactions")),
        author_school=_text(obj.get("school")) if anonymous and not obj.get("anonymousSchool") else None,
        author_department=(
            _text(obj.get("department")) if anonymous and not obj.get("anonymousDepartment") else None
        ),
        author_gender=_text(obj.get("gender")),
        suspicious_account=_flag(obj.get("isSuspiciousAccount")),
    )


def sub_seq(parent_floor: int, floor: int) -> int | None:
    """The stored ``seq`` of a sub-comment; None when it would not fit the int32 column."""
    seq = parent_floor * SUB_SEQ_BASE + floor
    return seq if 0 < floor < SUB_SEQ_BASE and seq <= INT32_MAX else None


def comment_record(
    obj: dict,
    *,
    board: str | None,
    post_id: str,
    position: int,
    parent_floor: int | None = None,
    crawled_at: datetime | None = None,
) -> CommentRecord | None:
    """A comment (or, with ``parent_floor``, a sub-comment); None if it cannot get a stable key.

    ``position`` (1-based, counting from the first comment of the whole list) stands in for a
    missing ``floor``.
    """
    floor = _int(obj.get("floor")) or position
    seq = floor if parent_floor is None else sub_seq(parent_floor, floor)
    if seq is None or seq > INT32_MAX:
        return None
    hidden = _is_gone(obj)
    uid, _ = _persona(obj)
    return CommentRecord(
        platform=PLATFORM,
        board=board,
        post_id=post_id,
        seq=seq,
        author_id=uid,
        content=None if hidden else (obj.get("content") if isinstance(obj.get("content"), str) else None),
        created_at=parse_time(obj.get("createdAt")),
        time_precision="millisecond" if obj.get("createdAt") else None,
        comment_id=_text(obj.get("id")),
        parent_seq=parent_floor,
        like_count=None if hidden else _int(obj.get("likeCount")),
        hidden=hidden,
        crawled_at=crawled_at or datetime.now(UTC),
        author_school=None if uid or obj.get("withNickname") else _text(obj.get("school")),
        author_gender=_text(obj.get("gender")),
        is_op=_flag(obj.get("host")),
        suspicious_account=_flag(obj.get("isSuspiciousAccount")),
    )


# ---------------------------------------------------------------------------------------------- bodies


def _decode(body: bytes | str) -> str:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return text.lstrip("\ufeff").strip()


def load_json(body: bytes | str) -> Any:
    """The JSON of an API answer. A cut-off body is :class:`TruncatedJson` (worth a retry)."""
    text = _decode(body)
    if not text:
        raise NotDcard("empty answer")
    if text[0] not in "[{":
        check_not_challenge(text)
        raise NotDcard(f"not JSON (starts {text[:40]!r})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TruncatedJson(f"JSON ends early or is broken at character {exc.pos} of {len(text)}") from None


def _items(data: Any, what: str) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]  # newer endpoints page as {"items": [...], "nextKey": ...}
    if isinstance(data, dict) and "error" in data:
        raise DcardApiError(f"the API answered an error: {json.dumps(data, ensure_ascii=False)[:200]}")
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise NotDcard(f"expected a JSON array of {what}")
    return data


@dataclass
class PostList:
    """One list answer in its own order (forum lists: newest first), each id once."""

    posts: list[PostRecord]
    duplicates: int = 0  # objects dropped because their id came again later
    pinned: set[str] = field(default_factory=set)

    @property
    def ranked(self) -> list[PostRecord]:
        """Posts that take part in ``before=`` paging (pinned posts can be any age)."""
        return [p for p in self.posts if p.post_id not in self.pinned]


def post_list(items: Iterable[dict], *, forum: str | None = None, crawled_at=None) -> PostList:
    by_id: dict[str, PostRecord] = {}
    pinned: set[str] = set()
    total = 0
    for obj in items:
        total += 1
        post = post_record(obj, forum=forum, crawled_at=crawled_at)
        if obj.get("pinned"):
            pinned.add(post.post_id)
        by_id[post.post_id] = post  # a later copy (a later fetch) carries the newer counts
    return PostList(list(by_id.values()), duplicates=total - len(by_id), pinned=pinned)


def parse_post_list(body: bytes | str, *, forum: str | None = None, crawled_at=None) -> PostList:
    """A post list (``/forums/{alias}/posts``, ``/posts``), duplicates merged."""
    return post_list(_items(load_json(body), "posts"), forum=forum, crawled_at=crawled_at)


def _post_from(data: Any, forum: str | None, crawled_at) -> PostRecord:
    if isinstance(data, dict) and "error" in data and "id" not in data:
        raise DcardApiError(f"the API answered an error: {json.dumps(data, ensure_ascii=False)[:200]}")
    if not isinstance(data, dict):
        raise NotDcard("expected a post object")
    return post_record(data, forum=forum, crawled_at=crawled_at)


def parse_post(body: bytes | str, *, forum: str | None = None, crawled_at=None) -> PostRecord:
    """A post detail (``/posts/{id}``)."""
    return _post_from(load_json(body), forum, crawled_at)


def comments_from(
    items: list[dict], *, board, post_id: str, parent_floor=None, start: int = 0, crawled_at=None
) -> list[CommentRecord]:
    records = []
    for i, obj in enumerate(items, start + 1):
        rec = comment_record(
            obj, board=board, post_id=post_id, position=i, parent_floor=parent_floor, crawled_at=crawled_at
        )
        if rec is not None:
            records.append(rec)
    return records


def parse_comments(
    body: bytes | str,
    *,
    board: str | None,
    post_id: str,
    parent_floor: int | None = None,
    start: int = 0,
    crawled_at=None,
) -> tuple[list[CommentRecord], list[dict]]:
    """A page of comments; also the raw objects (the spider reads ``subCommentCount`` from them).

    ``start`` is how many comments of the same list came on earlier pages (for missing floors).
    """
    items = _items(load_json(body), "comments")
    records = comments_from(
        items, board=board, post_id=post_id, parent_floor=parent_floor, start=start, crawled_at=crawled_at
    )
    return records, items


# ---------------------------------------------------------------------------------------------- web page


@dataclass
class WebPage:
    """What a ``www.dcard.tw`` page's ``__NEXT_DATA__`` holds: posts, and comments if any."""

    page: str | None
    posts: list[PostRecord]
    comments: list[CommentRecord]


def parse_next_data(html: bytes | str, *, crawled_at=None) -> WebPage:
    """Posts (and comments) from a web page; the fallback when the API path is blocked.

    DOM classes are hashed and change with every build, so only the embedded JSON is read.
    """
    text = _decode(html)
    check_not_challenge(text)
    m = NEXT_DATA.search(text)
    if not m:
        if "<html" in text[:2000].lower() and "</html>" not in text[-2000:].lower():
            raise TruncatedJson("the page ends before </html>: truncated download")
        raise NotDcard("no __NEXT_DATA__ script: not a Dcard web page")
    try:
        data = json.loads(m.group(1))
    except json.JSONDecodeError as exc:
        raise TruncatedJson(f"__NEXT_DATA__ is broken at character {exc.pos}") from None
    state = (data.get("props") or {}).get("initialState") or {}
    post_data = ((state.get("post") or {}).get("data")) or {}
    posts = post_list([v for v in post_data.values() if isinstance(v, dict)], crawled_at=crawled_at).posts
    forums = {p.post_id: p.board for p in posts}
    comments = []
    comment_data = ((state.get("comment") or {}).get("data")) or {}
    for obj in comment_data.values():
        if not isinstance(obj, dict) or str(obj.get("postId")) not in forums:
            continue
        pid = str(obj["postId"])
        rec = comment_record(obj, board=forums[pid], post_id=pid, position=0, crawled_at=crawled_at)
        if rec is not None and rec.seq > 0:
            comments.append(rec)
    comments.sort(key=lambda c: (c.post_id, c.seq))
    return WebPage(page=data.get("page"), posts=posts, comments=comments)


# ---------------------------------------------------------------------------------------------- any file


@dataclass
class Document:
    """Whatever a saved Dcard file holds, for ``koubei parse dcard``."""

    kind: str  # post_list | post | comments | forums | web_page | empty
    posts: list[PostRecord] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    forums: list[dict] = field(default_factory=list)
    duplicates: int = 0
    envelope: dict | None = None  # a crawler's wrapper around the real answer, if there was one

    @property
    def hidden_comments(self) -> int:
        return sum(c.hidden for c in self.comments)

    @property
    def deleted_posts(self) -> int:
        return sum(p.deleted for p in self.posts)


def _post_id_from(url: str | None) -> str | None:
    m = WEB_POST.search(url or "") or API_POST.search(url or "")
    return m.group(m.lastindex) if m else None


def parse_document(
    body: bytes | str, *, url: str | None = None, forum: str | None = None, crawled_at=None
) -> Document:
    """Recognise and parse any saved Dcard answer: post list, post, comments, forums, web page.

    A crawler's ``{"url", "fetch_time", "posts": [...]}`` envelope is opened (its ``url`` tells
    which post the comments belong to) and reported in :attr:`Document.envelope`.
    """
    text = _decode(body)
    if text[:1] == "<":
        page = parse_next_data(text, crawled_at=crawled_at)
        return Document("web_page", posts=page.posts, comments=page.comments)
    data = load_json(text)
    envelope = None
    if isinstance(data, dict) and {"url", "posts"} <= data.keys() and "id" not in data:
        envelope = {k: v for k, v in data.items() if k != "posts"}
        url = url or data.get("url")
        data = data["posts"]
    if isinstance(data, dict) and not isinstance(data.get("items"), list):
        return Document("post", posts=[_post_from(data, forum, crawled_at)], envelope=envelope)
    items = _items(data, "objects")
    if not items:
        return Document("empty", envelope=envelope)
    if all("floor" in x for x in items):
        post_id = _post_id_from(url) or str(items[0].get("postId") or "") or None
        if not post_id:
            raise NotDcard("comments without a post id: pass the API URL (--url)")
        comments = comments_from(items, board=forum, post_id=post_id, crawled_at=crawled_at)
        return Document("comments", comments=comments, envelope=envelope)
    if all("alias" in x and "name" in x and "title" not in x for x in items):
        forums = [{k: x.get(k) for k in ("alias", "name", "isSchool", "subscriptionCount")} for x in items]
        return Document("forums", forums=forums, envelope=envelope)
    listing = post_list(items, forum=forum, crawled_at=crawled_at)
    return Document("post_list", posts=listing.posts, duplicates=listing.duplicates, envelope=envelope)
