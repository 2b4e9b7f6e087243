"""Render synthetic forum pages in the sites' real markup, for replay tests and the offline demo.

Everything made here is generated text, never scored as real data. The markup follows the real
saved pages in ``shared/fixtures/ptt`` (2025 layout): metalines, ``span.f2`` footers, ``div.push``
rows with ``push-ipdatetime``, index rows with ``nrec``/``r-list-sep``/paging buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")
TAGS = {"push": ("推 ", "hl push-tag"), "boo": ("噓 ", "f1 hl push-tag"), "neutral": ("→ ", "f1 hl push-tag")}


@dataclass
class FakePush:
    tag: str  # push / boo / neutral
    user: str
    text: str
    at: datetime
    ip: str | None = None


@dataclass
class FakeArticle:
    board: str
    post_id: str  # M.<unix>.A.<hex>
    author: str
    nickname: str
    title: str
    body: str
    ip: str = "1.160.199.248"
    pushes: list[FakePush] = field(default_factory=list)

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(int(self.post_id.split(".")[1]), tz=TAIPEI)


def _ctime(ts: datetime) -> str:
    local = ts.astimezone(TAIPEI)
    return f"{local:%a %b} {local.day:2d} {local:%H:%M:%S %Y}"


def article_html(a: FakeArticle) -> str:
    url = f"https://www.ptt.cc/bbs/{a.board}/{a.post_id}.html"
    meta = "".join(
        f'<div class="{cls}"><span class="article-meta-tag">{tag}</span>'
        f'<span class="article-meta-value">{escape(value)}</span></div>'
        for cls, tag, value in (
            ("article-metaline", "作者", f"{a.author} ({a.nickname})"),
            ("article-metaline-right", "看板", a.board),
            ("article-metaline", "標題", a.title),
            ("article-metaline", "時間", _ctime(a.created_at)),
        )
    )
    pushes = "".join(
        f'<div class="push"><span class="{TAGS[p.tag][1]}">{TAGS[p.tag][0]}</span>'
        f'<span class="f3 hl push-userid">{escape(p.user)}</span>'
        f'<span class="f3 push-content">: {escape(p.text)}</span>'
        f'<span class="push-ipdatetime"> {(p.ip + " ") if p.ip else ""}{p.at.astimezone(TAIPEI):%m/%d %H:%M}\n</span></div>'
        for p in a.pushes
    )
    return f"""<!DOCTYPE html>
<html>
	<head>
		<meta charset="utf-8">
<title>{escape(a.title)} - 看板 {a.board} - 批踢踢實業坊</title>
<link rel="canonical" href="{url}">
	</head>
    <body>
<div id="main-container">
    <div id="main-content" class="bbs-screen bbs-content">{meta}{escape(a.body)}
--
<span class="f2">※ 發信站: 批踢踢實業坊(ptt.cc), 來自: {a.ip} (臺灣)
</span><span class="f2">※ 文章網址: <a href="{url}" target="_blank" rel="nofollow">{url}</a>
</span>{pushes}</div>
</div>
    </body>
</html>
"""


def index_html(
    board: str,
    page: int,
    rows: list[FakeArticle],
    *,
    newest: bool,
    deleted: int = 0,
    pinned: list[FakeArticle] | None = None,
) -> str:
    def row(a: FakeArticle) -> str:
        net = sum(1 for p in a.pushes if p.tag == "push") - sum(1 for p in a.pushes if p.tag == "boo")
        nrec = (
            ""
            if net == 0
            else ("爆" if net >= 100 else (f"X{min(9, -net // 10)}" if net <= -10 else str(net)))
        )
        local = a.created_at.astimezone(TAIPEI)
        return (
            f'<div class="r-ent"><div class="nrec"><span class="hl f2">{nrec}</span></div>'
            f'<div class="title"><a href="/bbs/{board}/{a.post_id}.html">{escape(a.title)}</a></div>'
            f'<div class="meta"><div class="author">{a.author}</div><div class="article-menu"></div>'
            f'<div class="date">{local.month:2d}/{local.day:02d}</div><div class="mark"></div></div></div>\n'
        )

    gone = (
        '<div class="r-ent"><div class="nrec"></div><div class="title">(本文已被刪除) [someone]</div>'
        '<div class="meta"><div class="author">-</div><div class="date"> 1/01</div>'
        '<div class="mark"></div></div></div>\n'
    ) * deleted
    body = "".join(row(a) for a in rows) + gone
    if pinned:
        body += '<div class="r-list-sep"></div>\n' + "".join(row(a) for a in pinned)
    prev = (
        f'<a class="btn wide" href="/bbs/{board}/index{page - 1}.html">&lsaquo; 上頁</a>'
        if page > 1
        else '<a class="btn wide disabled">&lsaquo; 上頁</a>'
    )
    nxt = (
        '<a class="btn wide disabled">下頁 &rsaquo;</a>'
        if newest
        else f'<a class="btn wide" href="/bbs/{board}/index{page + 1}.html">下頁 &rsaquo;</a>'
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>看板 {board} 文章列表 - 批踢踢實業坊</title></head>
<body><div id="action-bar-container"><div class="action-bar"><div class="btn-group btn-group-paging">
<a class="btn wide" href="/bbs/{board}/index1.html">最舊</a>{prev}{nxt}
<a class="btn wide" href="/bbs/{board}/index.html">最新</a></div></div></div>
<div id="main-container"><div class="r-list-container action-bar-margin bbs-screen">
{body}</div></div></body></html>
"""


def write_board(
    root: Path,
    board: str,
    articles: list[FakeArticle],
    *,
    per_page: int = 20,
    pinned: list[FakeArticle] | None = None,
    deleted_per_page: int = 0,
) -> list[Path]:
    """Write a board's index pages (oldest first, newest page also as index.html) and articles."""
    articles = sorted(articles, key=lambda a: a.post_id)
    base = root / "bbs" / board
    base.mkdir(parents=True, exist_ok=True)
    pages = [articles[i : i + per_page] for i in range(0, len(articles), per_page)] or [[]]
    written = []
    for n, rows in enumerate(pages, 1):
        newest = n == len(pages)
        html = index_html(
            board, n, rows, newest=newest, deleted=deleted_per_page, pinned=pinned if newest else None
        )
        for name in [f"index{n}.html"] + (["index.html"] if newest else []):
            (base / name).write_text(html, encoding="utf-8")
            written.append(base / name)
    for a in articles:
        path = base / f"{a.post_id}.html"
        path.write_text(article_html(a), encoding="utf-8")
        written.append(path)
    return written
