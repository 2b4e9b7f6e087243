"""What spiders yield: plain dataclasses whose fields are the columns of the raw datasets.

A spider yields one :class:`ThreadItem` per crawled post (the post and all of its comments), so the
store can replace a re-crawled post and its comments together, and a :class:`DeletedItem` when a
post it knew about is gone (the stored row is marked deleted, never dropped).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass
class CommentRecord:
    platform: str
    board: str
    post_id: str
    seq: int
    author_id: str | None = None
    tag: str | None = None  # push / boo / neutral
    content: str | None = None
    created_at: datetime | None = None
    time_precision: str | None = None
    ip: str | None = None
    comment_id: str | None = None
    parent_seq: int | None = None
    like_count: int | None = None
    hidden: bool = False
    crawled_at: datetime | None = None
    author_school: str | None = None
    author_gender: str | None = None
    is_op: bool | None = None
    quote: str | None = None
    suspicious_account: bool | None = None  # Dcard isSuspiciousAccount


@dataclass
class PostRecord:
    platform: str
    board: str
    post_id: str
    url: str
    title: str | None = None
    category: str | None = None
    is_reply: bool = False
    author_id: str | None = None
    author_nickname: str | None = None
    created_at: datetime | None = None
    content: str | None = None
    author_ip: str | None = None
    author_country: str | None = None
    edited: bool = False
    edited_at: datetime | None = None
    deleted: bool = False
    push_count: int | None = None
    boo_count: int | None = None
    arrow_count: int | None = None
    like_count: int | None = None
    comment_count: int | None = None
    crawled_at: datetime | None = None
    content_hash: str | None = None
    topics: list[str] | None = None
    reactions: dict[str, int] | None = None
    author_school: str | None = None
    author_department: str | None = None
    author_gender: str | None = None
    suspicious_account: bool | None = None


@dataclass
class ThreadItem:
    """A post with every comment seen on this crawl."""

    post: PostRecord
    comments: list[CommentRecord] = field(default_factory=list)

    def finalize(self) -> ThreadItem:
        """Fill the content hash: it changes when anything a reader sees changes."""
        h = hashlib.sha256()
        p = self.post
        for part in (p.title, p.content, p.edited_at, p.deleted, p.like_count):
            h.update(repr(part).encode())
        # Fields the later sites brought in; PTT posts hash exactly as before they existed.
        for part in (p.comment_count, p.reactions, p.topics) if p.platform != "ptt" else ():
            h.update(repr(part).encode())
        for c in self.comments:
            h.update(repr((c.seq, c.author_id, c.tag, c.content, c.like_count, c.hidden)).encode())
            if c.quote is not None:
                h.update(repr(c.quote).encode())
        p.content_hash = h.hexdigest()
        return self

    def to_dict(self) -> dict:
        return {"post": asdict(self.post), "comments": [asdict(c) for c in self.comments]}


@dataclass
class DeletedItem:
    """A known post that now answers 404: the stored row gets ``deleted = True``."""

    platform: str
    board: str
    post_id: str
    url: str
    created_at: datetime  # locates the stored partition
    seen_at: datetime
