"""Render synthetic Mobile01 forum lists and topic pages for replay tests.

Everything made here is generated text, never scored as real data. List rows copy the markup of
the real saved hot-topics page (``l-listTable__tr``, ``c-listTableTd__title``, ``l-jumpList``,
``l-listTable__td--time`` with ``o-fNotes``, ``l-listTable__td--count``). Topic pages follow the
structure notes (no real topic page was ever saved; see ``tests/fixtures/mobile01_site/README.md``):
``div.l-articlePage`` blocks, the opening post's ``[itemprop=articleBody]`` and ``ul.l-toolBar``
time, replies' ``article#article_<id>`` with ``blockquote`` quotes and ``l-navigation__item``
spans (time, ``#floor``), ``li.l-pagination__page`` with ``data-page``. 10 floors a page.

Files are named for :mod:`koubei.pipelines.replay`'s query-in-file-name layout
(``topiclist.php@f=9001&p=2.html``, ``topicdetail.php@f=9001&t=1&p=2.html``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")
FLOORS_PER_PAGE = 10


def _shown(ts: datetime) -> str:
    """Mobile01's ``YYYY-MM-DD h:mm`` (Asia/Taipei, hour without a leading zero)."""
    local = ts.astimezone(TAIPEI)
    return f"{local:%Y-%m-%d} {local.hour}:{local:%M}"


@dataclass
class FakeReply:
    author: str
    text: str
    at: datetime
    quote: str | None = None


@dataclass
class FakeTopic:
    forum: str
    topic: int
    title: str
    author: str
    body: str
    created_at: datetime
    replies: list[FakeReply] = field(default_factory=list)
    pinned: bool = False

    @property
    def pages(self) -> int:
        return (len(self.replies) + 1 + FLOORS_PER_PAGE - 1) // FLOORS_PER_PAGE

    @property
    def last_activity(self) -> datetime:
        return max([self.created_at] + [r.at for r in self.replies])

    def reply_id(self, floor: int) -> int:
        return self.topic * 1000 + floor


def _author_block(name: str, op: bool) -> str:
    title = '<div class="c-authorInfo__title">樓主</div>' if op else ""
    return (
        f'<div class="l-articlePage__author"><div class="c-authorInfo"><div class="c-authorInfo__id">'
        f'<a href="userinfo.php?id=1" class="c-link c-link--gn u-ellipsis">{escape(name)}</a></div>{title}'
        "</div></div>"
    )


def topic_page_html(t: FakeTopic, page: int) -> str:
    blocks = []
    if page == 1:
        blocks.append(
            f'<div class="l-articlePage">{_author_block(t.author, True)}<div class="l-articlePage__publish">'
            f'<div class="l-docking"><div class="l-docking__title">{escape(t.title)}</div>'
            f'<div class="l-docking__navigation"><ul class="l-toolBar"><li class="l-toolBar__item">'
            f'{_shown(t.created_at)}</li><li class="l-toolBar__item">100</li></ul></div></div>'
            f'<div class="l-publish__content"><div itemprop="articleBody">'
            f"{'<br>'.join(escape(line) for line in t.body.splitlines())}</div></div></div></div>"
        )
    first = 2 if page == 1 else (page - 1) * FLOORS_PER_PAGE + 1
    last = page * FLOORS_PER_PAGE
    for floor in range(first, last + 1):
        if floor - 2 >= len(t.replies):
            break
        r = t.replies[floor - 2]
        quote = f"<blockquote>{escape(r.quote)}</blockquote>" if r.quote else ""
        blocks.append(
            f'<div class="l-articlePage">{_author_block(r.author, r.author == t.author)}'
            f'<div class="l-articlePage__publish"><div class="u-gapBottom--max">'
            f'<article id="article_{t.reply_id(floor)}" class="u-gapBottom--max c-articleLimit">'
            f'{quote}{escape(r.text)}</article></div><div class="l-navigation"><div class="l-navigation__item">'
            f'<span class="o-fNotes o-fSubMini">{_shown(r.at)}</span>'
            f'<span class="o-fNotes o-fSubMini">#{floor}</span></div></div></div></div>'
        )
    pagination = "".join(
        f'<li class="l-pagination__page"><a href="topicdetail.php?f={t.forum}&amp;t={t.topic}&amp;p={n}"'
        f' data-page="{n}">{n}</a></li>'
        for n in range(1, t.pages + 1)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="zh-Hant-TW"><head><meta charset="utf-8"><title>{escape(t.title)}'
        f' - Mobile01</title></head><body><main class="l-main"><div class="l-heading__title">'
        f'<h1 class="t2">{escape(t.title)}</h1></div>{"".join(blocks)}'
        f'<div class="l-pagination"><ul class="l-pagination">{pagination}</ul></div></main></body></html>\n'
    )


def _row(t: FakeTopic) -> str:
    jumps = "".join(
        f'<li><a href="topicdetail.php?f={t.forum}&amp;t={t.topic}&amp;p={n}">{n}</a></li>'
        for n in range(2, t.pages + 1)
    )
    last = t.replies[-1] if t.replies else None
    pin = '<span class="c-listTableTd__tag">置頂</span>' if t.pinned else ""
    return (
        f'<div class="l-listTable__tr" data-id="{t.topic % 100000}"><div class="l-listTable__td">'
        f'<div class="c-listTableTd"><div class="c-listTableTd__title">{pin}'
        f'<a href="topicdetail.php?f={t.forum}&amp;t={t.topic}" class="c-link u-ellipsis">{escape(t.title)}</a>'
        f'<ul class="l-jumpList">{jumps}</ul></div></div></div>'
        f'<div class="l-listTable__td l-listTable__td--time"><div><a href="topicdetail.php?f={t.forum}'
        f'&amp;t={t.topic}" class="c-link u-ellipsis">{escape(t.author)}</a></div>'
        f'<div class="o-fNotes">{_shown(t.created_at)}</div></div>'
        f'<div class="l-listTable__td l-listTable__td--time"><div><a href="topicdetail.php?f={t.forum}'
        f'&amp;t={t.topic}&amp;p={t.pages}" class="c-link u-ellipsis">{escape(last.author if last else t.author)}'
        f'</a></div><div class="o-fNotes">{_shown(t.last_activity)}</div></div>'
        f'<div class="l-listTable__td l-listTable__td--count"><div class="o-fMini">{len(t.replies)}</div></div>'
        "</div>\n"
    )


def list_page_html(forum: str, topics: list[FakeTopic], page: int, last_page: int) -> str:
    pagination = "".join(
        f'<li class="l-pagination__page"><a href="topiclist.php?f={forum}&amp;p={n}" data-page="{n}">{n}</a></li>'
        for n in range(1, last_page + 1)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="zh-Hant-TW"><head><meta charset="utf-8"><title>測試版 {forum}'
        ' - Mobile01</title></head><body><main class="l-main"><div class="l-listTable">'
        '<div class="l-listTable__tbody">\n'
        f"{''.join(_row(t) for t in topics)}</div></div>"
        f'<div class="l-pagination"><ul class="l-pagination">{pagination}</ul></div></main></body></html>\n'
    )


def write_forum(root: Path, forum: str, topics: list[FakeTopic], *, per_list_page: int = 30) -> list[Path]:
    """Write the forum's list pages (pinned first, then by last activity) and every topic page."""
    root.mkdir(parents=True, exist_ok=True)
    ordered = [t for t in topics if t.pinned] + sorted(
        (t for t in topics if not t.pinned), key=lambda t: t.last_activity, reverse=True
    )
    chunks = [ordered[i : i + per_list_page] for i in range(0, len(ordered), per_list_page)] or [[]]
    written = []
    for n, chunk in enumerate(chunks, 1):
        name = f"topiclist.php@f={forum}" + (f"&p={n}" if n > 1 else "") + ".html"
        (root / name).write_text(list_page_html(forum, chunk, n, len(chunks)), encoding="utf-8")
        written.append(root / name)
    for t in topics:
        for page in range(1, t.pages + 1):
            name = f"topicdetail.php@f={forum}&t={t.topic}" + (f"&p={page}" if page > 1 else "") + ".html"
            (root / name).write_text(topic_page_html(t, page), encoding="utf-8")
            written.append(root / name)
    return written
