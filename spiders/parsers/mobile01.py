"""Mobile01 forum pages (www.mobile01.com) to records: pure functions of (html, url), no network.

Topic lists (``topiclist.php?f=``, and the hot list ``hottopics.php``) use the ``l-listTable``
rows of the real saved 2021 page. No topic page (``topicdetail.php?f=&t=&p=``) was ever saved
anywhere we could find, so that parser follows the structure notes in ``research/sites.md`` §3
and the selectors several peer crawlers agree on; it is defensive: a field it cannot find is
recorded in :attr:`TopicPage.missing` (the spider counts and logs it) instead of crashing.

Mapping: ``board`` = forum id (``f``), ``post_id`` = topic id (``t``); the opening post is the
post, every reply on every page is a comment whose ``seq`` is its ``#floor`` (the opening post is
#1, so replies start at 2; 10 floors a page). Quoted text (``blockquote``) goes to ``quote``, not
``content``. Times are shown in Asia/Taipei as ``YYYY-MM-DD h:mm`` and stored in UTC.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

from lxml import html as lxml_html

from ..items import CommentRecord, PostRecord, ThreadItem
from .errors import NotFoundError, PageError, TruncatedError, WrongPageError, check_not_challenge

TAIPEI = ZoneInfo("Asia/Taipei")
PLATFORM = "mobile01"
SITE = "https://www.mobile01.com"
FLOORS_PER_PAGE = 10  # 103 replies → 11 pages in the saved list: the opening post + 103 = 104 floors
TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})")
FLOOR = re.compile(r"#\s*(\d+)")
REPLY_ID = re.compile(r"(?:^|_)(\d{5,})$")


class Mobile01ParseError(PageError):
    reason = "parse_error"


class NotMobile01(Mobile01ParseError, WrongPageError):
    reason = "not_mobile01"


class TruncatedPage(Mobile01ParseError, TruncatedError):
    reason = "truncated"


class NoArticles(Mobile01ParseError, NotFoundError):
    """A Mobile01 page without any post: the topic was removed or never existed."""

    reason = "not_found"


# ---------------------------------------------------------------------------------------------- helpers


def parse_time(text: str | None) -> datetime | None:
    """``2021-01-20 9:10`` (Asia/Taipei) to UTC."""
    m = TIME.search(text or "")
    if not m:
        return None
    try:
        local = datetime(*(int(x) for x in m.groups()), tzinfo=TAIPEI)
    except ValueError:
        return None
    return local.astimezone(UTC)


def query_ids(url: str | None) -> dict[str, str]:
    """``f``, ``t``, ``p`` (and ``id``) of a Mobile01 URL, HTML-escaped or not."""
    query = urlsplit((url or "").replace("&amp;", "&")).query
    return {k: v[0] for k, v in parse_qs(query).items() if v}


def topic_url(forum: str, topic: str, page: int = 1) -> str:
    return f"{SITE}/topicdetail.php?f={forum}&t={topic}" + (f"&p={page}" if page > 1 else "")


def list_url(forum: str, page: int = 1) -> str:
    return f"{SITE}/topiclist.php?f={forum}" + (f"&p={page}" if page > 1 else "")


def _text(el) -> str:
    return " ".join(el.text_content().split()) if el is not None else ""


def _first(el, xpath: str):
    found = el.xpath(xpath)
    return found[0] if found else None


def _has_class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def _load(html: str | bytes):
    text = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    if not text.strip():
        raise NotMobile01("empty page")
    check_not_challenge(text)
    if "</html>" not in text[-3000:].lower():
        raise TruncatedPage("the page ends before </html>: truncated download")
    doc = lxml_html.fromstring(text)
    title = " ".join(doc.xpath("string(//title)").split())
    if "Mobile01" not in title and not doc.xpath(f"//div[{_has_class('l-listTable')}]"):
        raise NotMobile01(f"not a Mobile01 page (title {title!r})")
    return doc, title


def _page_links(doc, pattern: re.Pattern) -> list[int]:
    pages = []
    for a in doc.xpath("//a[@href]"):
        m = pattern.search(a.get("href", "").replace("&amp;", "&"))
        if m:
            pages.append(int(m.group(1)))
    for n in doc.xpath("//@data-page"):
        if n.isdigit():
            pages.append(int(n))
    return pages


def _canonical(doc) -> str | None:
    return doc.xpath('string(//link[@rel="canonical"]/@href)') or doc.xpath(
        'string(//meta[@property="og:url"]/@content)'
    )


# ---------------------------------------------------------------------------------------------- list


@dataclass
class TopicRow:
    title: str
    forum: str
    topic: str
    url: str
    forum_name: str | None
    author: str | None
    created_at: datetime | None
    last_reply_by: str | None
    last_reply_at: datetime | None
    reply_count: int | None
    pages: int  # from the row's page jumps (1 when it has none)
    pinned: bool
    data_id: str | None  # the row's data-id attribute (meaning not verified)

    @property
    def activity(self) -> datetime | None:
        """When anything last happened in the topic, as far as the list shows."""
        return self.last_reply_at or self.created_at


@dataclass
class TopicList:
    url: str
    forum: str | None  # None on the cross-forum hot list
    page: int
    last_page: int | None
    rows: list[TopicRow] = field(default_factory=list)
    missing: Counter = field(default_factory=Counter)


def parse_topic_list(html: str | bytes, url: str | None = None) -> TopicList:
    """Every topic row of a forum list (``topiclist.php``) or the hot list (``hottopics.php``)."""
    doc, _ = _load(html)
    url = url or _canonical(doc) or ""
    ids = query_ids(url)
    forum = ids.get("f")
    page = int(ids["p"]) if ids.get("p", "").isdigit() else 1
    rows_el = doc.xpath(f"//div[{_has_class('l-listTable__tbody')}]/div[{_has_class('l-listTable__tr')}]")
    if not rows_el and not doc.xpath(f"//div[{_has_class('l-listTable')}]"):
        raise NotMobile01("no l-listTable: not a topic list page")
    out = TopicList(url=url, forum=forum, page=page, last_page=None)
    for el in rows_el:
        row = _topic_row(el, out.missing)
        if row is not None:
            out.rows.append(row)
    if forum:
        pages = _page_links(doc, re.compile(rf"topiclist\.php\?f={re.escape(forum)}&p=(\d+)"))
        out.last_page = max(pages + [page]) if pages else None
    return out


def _topic_row(el, missing: Counter) -> TopicRow | None:
    link = _first(el, f'.//div[{_has_class("c-listTableTd__title")}]/a[contains(@href, "topicdetail.php")]')
    if link is None:
        link = _first(el, './/a[contains(@href, "topicdetail.php")]')
    ids = query_ids(link.get("href")) if link is not None else {}
    if not ids.get("f") or not ids.get("t"):
        missing["row_link"] += 1
        return None
    cells = el.xpath(f"./div[{_has_class('l-listTable__td--time')}]")
    people, times = [], []
    for cell in cells[:2]:
        people.append(_text(_first(cell, ".//a")) or None)
        times.append(parse_time(_text(_first(cell, f".//div[{_has_class('o-fNotes')}]"))))
    people += [None] * (2 - len(people))
    times += [None] * (2 - len(times))
    count_text = _text(_first(el, f"./div[{_has_class('l-listTable__td--count')}]"))
    count = int(count_text.replace(",", "")) if count_text.replace(",", "").isdigit() else None
    for name, value in (("author", people[0]), ("created_at", times[0]), ("reply_count", count)):
        if value is None:
            missing[name] += 1
    jumps = [
        int(_text(a)) for a in el.xpath('.//ul[contains(@class, "l-jumpList")]//a') if _text(a).isdigit()
    ]
    forum_link = _first(el, './/ul[contains(@class, "l-jumpList")]//a[contains(@href, "topiclist.php")]')
    title = _text(link)
    rest = _text(el).replace(title, "", 1)
    return TopicRow(
        title=title,
        forum=ids["f"],
        topic=ids["t"],
        url=topic_url(ids["f"], ids["t"]),
        forum_name=_text(forum_link) or None,
        author=people[0],
        created_at=times[0],
        last_reply_by=people[1],
        last_reply_at=times[1],
        reply_count=count,
        pages=max(jumps, default=1),
        pinned="置頂" in rest,
        data_id=el.get("data-id"),
    )


# ---------------------------------------------------------------------------------------------- topic


@dataclass
class TopicPage:
    forum: str
    topic: str
    page: int
    last_page: int
    title: str | None
    opening: PostRecord | None  # page 1 only
    replies: list[CommentRecord]
    missing: Counter = field(default_factory=Counter)


def _is_opening(block) -> bool:
    return bool(
        block.xpath(
            './/*[@itemprop="articleBody"] | .//*[contains(@class, "topic_article")]'
            f" | .//div[{_has_class('l-docking')}]"
        )
    )


def _body_and_quote(article) -> tuple[str, str | None]:
    """Text of a post body with quoted blocks taken out (and returned separately)."""
    for br in article.xpath(".//br"):  # a <br> is the line break; source newlines are not
        br.tail = "\n" + (br.tail or "").lstrip("\r\n")
    quotes = []
    for q in article.xpath(".//blockquote"):
        quotes.append(q.text_content().strip())
        parent, tail = q.getparent(), q.tail
        if tail:
            prev = q.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
        parent.remove(q)
    for junk in article.xpath(".//script | .//style"):
        junk.getparent().remove(junk)
    text = "\n".join(line.strip() for line in article.text_content().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    quote = "\n".join(q for q in quotes if q) or None
    return text, quote


def _author(block) -> str | None:
    return _text(_first(block, f".//div[{_has_class('c-authorInfo__id')}]")) or None


def _block_time(block) -> datetime | None:
    for xpath in (
        f".//div[{_has_class('l-navigation__item')}]//span",
        f".//*[{_has_class('l-toolBar__item')}]",
        './/*[contains(@class, "o-fNotes")]',
    ):
        for el in block.xpath(xpath):
            if ts := parse_time(_text(el)):
                return ts
    return None


def _reply_id(block) -> str | None:
    for value in block.xpath(".//article/@id | .//a/@id | .//@id"):
        if m := REPLY_ID.search(value):
            return m.group(1)
    return None


def parse_topic_page(
    html: str | bytes, url: str | None = None, *, crawled_at: datetime | None = None
) -> TopicPage:
    """One page of a topic: the opening post (page 1) and every reply on the page."""
    doc, title_tag = _load(html)
    ids = query_ids(url or _canonical(doc))
    forum = ids.get("f") or query_ids(
        doc.xpath(
            'string(//ul[contains(@class, "c-breadCrumb")]//a[contains(@href, "topiclist.php")][last()]/@href)'
        )
    ).get("f")
    topic = ids.get("t")
    if not forum or not topic:
        raise NotMobile01(f"not a Mobile01 topic URL: {url!r}")
    page = int(ids["p"]) if ids.get("p", "").isdigit() else 1
    crawled_at = crawled_at or datetime.now(UTC)
    blocks = doc.xpath(f"//div[{_has_class('l-articlePage')}]")
    if not blocks:
        raise NoArticles(f"topic {topic}: the page holds no posts (removed, or not a topic page)")
    pages = _page_links(doc, re.compile(rf"topicdetail\.php\?f={forum}&t={topic}&p=(\d+)"))
    title = _text(_first(doc, '//h1[contains(@class, "t2")]')) or _text(
        _first(doc, f"//div[{_has_class('l-docking__title')}]")
    )
    if not title and title_tag.endswith(" - Mobile01"):
        title = title_tag[: -len(" - Mobile01")].strip()
    out = TopicPage(
        forum=forum,
        topic=topic,
        page=page,
        last_page=max(pages + [page]),
        title=title or None,
        opening=None,
        replies=[],
    )
    if not title:
        out.missing["title"] += 1
    position = 0
    for block in blocks:
        if _is_opening(block):
            if page == 1 and out.opening is None:
                out.opening = _opening(block, out, crawled_at)
            continue  # the opening post repeated on a later page is not a reply
        position += 1
        reply = _reply(block, out, position, crawled_at)
        if reply is not None:
            out.replies.append(reply)
    return out


def _opening(block, page: TopicPage, crawled_at: datetime) -> PostRecord:
    body = _first(block, './/*[@itemprop="articleBody"]')
    if body is None:
        body = _first(block, './/*[contains(@class, "topic_article")]')
    content, _ = _body_and_quote(body) if body is not None else ("", None)
    author = _author(block)
    created = _block_time(block)
    for name, value in (("author", author), ("created_at", created), ("content", body)):
        if value is None:
            page.missing[f"opening_{name}"] += 1
    return PostRecord(
        platform=PLATFORM,
        board=page.forum,
        post_id=page.topic,
        url=topic_url(page.forum, page.topic),
        title=page.title,
        author_id=author,
        created_at=created,
        content=content if body is not None else None,
        crawled_at=crawled_at,
    )


def _reply(block, page: TopicPage, position: int, crawled_at: datetime) -> CommentRecord | None:
    article = _first(block, f".//div[{_has_class('l-articlePage__publish')}]//article")
    if article is None:  # lxml elements without children are falsy: test None, never truth
        article = _first(block, ".//article")
    floor = None
    for el in block.xpath(f".//div[{_has_class('l-navigation__item')}]//span"):
        if m := FLOOR.fullmatch(_text(el)):
            floor = int(m.group(1))
            break
    if floor is None:  # 10 floors a page; the opening post is #1 on page 1
        page.missing["reply_floor"] += 1
        floor = (page.page - 1) * FLOORS_PER_PAGE + position + (1 if page.page == 1 else 0)
    author = _author(block)
    created = _block_time(block)
    for name, value in (("author", author), ("created_at", created), ("content", article)):
        if value is None:
            page.missing[f"reply_{name}"] += 1
    content, quote = _body_and_quote(article) if article is not None else (None, None)
    return CommentRecord(
        platform=PLATFORM,
        board=page.forum,
        post_id=page.topic,
        seq=floor,
        author_id=author,
        content=content,
        created_at=created,
        time_precision="minute" if created else None,
        comment_id=_reply_id(block),
        crawled_at=crawled_at,
        is_op="樓主" in _text(_first(block, f".//div[{_has_class('l-articlePage__author')}]")) or None,
        quote=quote,
    )


def assemble_topic(pages: list[TopicPage], *, fallback_created: datetime | None = None) -> ThreadItem:
    """The whole topic from its pages: the opening post and each floor once, in floor order.

    Raises :class:`NoArticles` when page 1 (with the opening post) is not among ``pages``.
    """
    first = next((p for p in pages if p.page == 1 and p.opening is not None), None)
    if first is None:
        raise NoArticles("the topic's first page (the opening post) is missing")
    post = first.opening
    if post.created_at is None:
        post.created_at = fallback_created
    floors: dict[int, CommentRecord] = {}
    for p in sorted(pages, key=lambda x: x.page):
        for reply in p.replies:
            floors.setdefault(reply.seq, reply)
    comments = [floors[k] for k in sorted(floors)]
    post.comment_count = len(comments)
    return ThreadItem(post=post, comments=comments).finalize()


def absolute(url: str, href: str) -> str:
    return urljoin(url, href.replace("&amp;", "&"))
