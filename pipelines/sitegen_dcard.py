"""Render synthetic Dcard API answers (and post web pages) for replay tests.

Everything made here is generated text, never scored as real data. The JSON follows the field
set of the real saved answers in ``shared/fixtures/dcard`` (2021 lists, 2025 detail and
comments): ``id``, ``forumAlias``, ``createdAt`` in UTC with milliseconds, ``likeCount`` equal to
the sum of ``reactions``, ``commentCount`` = top-level comments, hidden comments without
``content``/``likeCount``, ``withNickname`` authors with nickname/uid in ``school``/``department``.

The tree uses :mod:`koubei.pipelines.replay`'s query-in-file-name layout, written exactly as the
spider pages: list pages ``posts@limit=L`` then ``posts@before=<smallest id>&limit=L`` (an empty
``[]`` page after the oldest), comments ``comments@limit=C`` then ``comments@after=<floor>&limit=C``
up to ``commentCount``, sub-comments ``comments@limit=C&parentId=<id>``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

API = "service/api/v2"
NAMESPACE = uuid.UUID("6f1c1c3e-3f4a-4b7e-9d38-6b0b5d1f0a11")
REACTION_IDS = {
    "愛心": "286f599c-f86a-4932-82f0-f5a06f1eca03",
    "哈哈": "e8e6bc5d-41b0-4129-b134-97507523d7ff",
    "嗚嗚": "514c2569-fd53-4d9d-a415-bf0f88e7329f",
}


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


@dataclass
class FakeComment:
    floor: int
    text: str | None  # None: hidden (Dcard sends no content then)
    at: datetime
    likes: int = 0
    school: str = "測試大學"
    gender: str = "F"
    host: bool = False
    nickname: tuple[str, str] | None = None  # (nickname, uid)
    replies: list[FakeComment] = field(default_factory=list)

    def comment_id(self, post_id: int, parent: int | None = None) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{post_id}-{parent}-{self.floor}"))


@dataclass
class FakePost:
    forum: str
    post_id: int
    title: str
    content: str
    created_at: datetime
    reactions: dict[str, int] = field(default_factory=dict)
    comments: list[FakeComment] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    school: str | None = "測試大學"
    department: str | None = None
    gender: str = "F"
    nickname: tuple[str, str] | None = None
    hidden: bool = False
    edited_at: datetime | None = None

    @property
    def like_count(self) -> int:
        return sum(self.reactions.values())


def _author(obj: dict, school, department, gender, nickname) -> dict:
    if nickname:
        obj.update(withNickname=True, school=nickname[0], department=nickname[1])
        obj.update(personaNickname=nickname[0], personaUid=nickname[1])
    else:
        obj.update(withNickname=False, school=school, anonymousSchool=school is None)
        obj.update(anonymousDepartment=department is None)
        if department:
            obj["department"] = department
    obj["gender"] = gender
    return obj


def post_json(p: FakePost, *, detail: bool) -> dict:
    obj = {
        "id": p.post_id,
        "title": p.title,
        "excerpt": p.content[:40],
        "pinned": False,
        "forumId": str(uuid.uuid5(NAMESPACE, p.forum)),
        "replyId": None,
        "createdAt": _iso(p.created_at),
        "updatedAt": _iso(p.edited_at or p.created_at),
        "commentCount": len(p.comments),
        "likeCount": p.like_count,
        "tags": [],
        "topics": p.topics,
        "forumName": p.forum,
        "forumAlias": p.forum,
        "replyTitle": None,
        "reactions": [{"id": REACTION_IDS[k], "count": v} for k, v in p.reactions.items() if v],
        "hidden": p.hidden,
        "isSuspiciousAccount": False,
        "layout": "classic",
    }
    _author(obj, p.school, p.department, p.gender, p.nickname)
    if detail:
        obj.update(content=p.content, edited=p.edited_at is not None)
        obj["totalCommentCount"] = len(p.comments) + sum(len(c.replies) for c in p.comments)
        if p.hidden:
            del obj["content"]
    return obj


def comment_json(c: FakeComment, post_id: int, parent: int | None = None) -> dict:
    obj = {
        "id": c.comment_id(post_id, parent),
        "anonymous": c.nickname is None,
        "postId": post_id,
        "createdAt": _iso(c.at),
        "updatedAt": _iso(c.at),
        "floor": c.floor,
        "hiddenByAuthor": False,
        "host": c.host,
        "hidden": c.text is None,
        "doorplate": f"{parent}-{c.floor}" if parent else str(c.floor),
        "subCommentCount": len(c.replies),
        "edited": False,
    }
    if c.text is not None:
        obj.update(content=c.text, likeCount=c.likes)
        _author(obj, c.school, None, c.gender, c.nickname)
    return obj


def web_page_html(p: FakePost, embedded_comments: int = 0) -> str:
    """The post's ``/f/{forum}/p/{id}`` page: a Next.js shell whose ``__NEXT_DATA__`` holds it."""
    comments = {
        (cid := c.comment_id(p.post_id)): {**comment_json(c, p.post_id), "id": cid}
        for c in p.comments[:embedded_comments]
    }
    state = {
        "props": {
            "initialState": {
                "post": {"data": {str(p.post_id): {**post_json(p, detail=True), "id": str(p.post_id)}}},
                "comment": {"data": comments},
            }
        },
        "page": "/forum/post",
        "query": {"forumAlias": p.forum, "postId": str(p.post_id)},
    }
    data = json.dumps(state, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<!DOCTYPE html><html lang="zh-TW"><head><meta charset="utf-8"><title>{escape(p.title)}'
        f' - {escape(p.forum)}板 | Dcard</title></head><body><div id="__next"><div class="sc-8a1b2c-0">'
        f"{escape(p.title)}</div></div>"
        f'<script id="__NEXT_DATA__" type="application/json">{data}</script></body></html>\n'
    )


def _dump(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _paged(base: Path, items: list, page_size: int, key, query: str = "") -> list[Path]:
    """``base@limit=N[&query].json``, then ``base@after=<key of last>&limit=N…`` pages."""
    written, after = [], None
    for i in range(0, max(len(items), 1), page_size):
        chunk = items[i : i + page_size]
        q = (f"after={after}&" if after is not None else "") + f"limit={page_size}" + query
        written.append(_dump(base.with_name(f"{base.name}@{q}.json"), chunk))
        if chunk:
            after = key(chunk[-1])
    return written


def write_forum(
    root: Path,
    forum: str,
    posts: list[FakePost],
    *,
    limit: int = 100,  # the spider's defaults
    comments_limit: int = 50,
    web_pages: bool = False,
    embedded_comments: int = 0,
) -> list[Path]:
    """Write a forum's list pages, each post's detail, comments and sub-comments (and web page)."""
    posts = sorted(posts, key=lambda p: p.post_id, reverse=True)
    api = root / API
    written: list[Path] = []
    before, start = None, 0
    while True:  # ends with the empty page a request past the oldest post gets
        chunk = [post_json(p, detail=False) for p in posts[start : start + limit]]
        q = (f"before={before}&" if before is not None else "") + f"limit={limit}"
        written.append(_dump(api / "forums" / forum / f"posts@{q}.json", chunk))
        if not chunk:
            break
        before, start = chunk[-1]["id"], start + limit
    for p in posts:
        written.append(_dump(api / "posts" / f"{p.post_id}.json", post_json(p, detail=True)))
        base = api / "posts" / str(p.post_id) / "comments"
        top = [comment_json(c, p.post_id) for c in p.comments]
        if top:
            written += _paged(base, top, comments_limit, key=lambda o: o["floor"])
        for c in p.comments:
            if c.replies:
                subs = [comment_json(r, p.post_id, parent=c.floor) for r in c.replies]
                query = f"&parentId={c.comment_id(p.post_id)}"
                written += _paged(base, subs, comments_limit, key=lambda o: o["floor"], query=query)
        if web_pages:
            page = root / "f" / forum / "p" / f"{p.post_id}@.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(web_page_html(p, embedded_comments), encoding="utf-8")
            written.append(page)
    return written
