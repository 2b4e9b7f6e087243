"""PTT web pages (www.ptt.cc) to records: pure functions of (html, url), no network.

The same functions serve the Scrapy spider and ``koubei parse ptt FILE``, so a user debugging a page
sees exactly what the crawler stores. The page layouts handled are the ones seen in real saved
pages from 2005 to 2025 (see ``research/sites.md``): three header styles, three deleted-row
formats, three edit-line formats, pushes with and without a time, and PTT's lack of years on
push and edit times.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from lxml import html as lxml_html

from ..items import CommentRecord, PostRecord, ThreadItem
from .errors import NotFoundError, PageError, TruncatedError, WrongPageError

TAIPEI = ZoneInfo("Asia/Taipei")
PLATFORM = "ptt"

ARTICLE_ID = re.compile(r"M\.(\d{9,10})\.A\.([0-9A-Fa-f]{3})")
ARTICLE_PATH = re.compile(r"/bbs/([A-Za-z0-9_\-]+)/(M\.\d+\.A\.[0-9A-Fa-f]{3})\.html")
INDEX_PATH = re.compile(r"/bbs/([A-Za-z0-9_\-]+)/index(\d*)\.html")
TAG_NAMES = {"推": "push", "噓": "boo", "→": "neutral"}
CATEGORY = re.compile(r"^\s*(?:(?:Re|Fw|RE|FW)\s*:\s*)*\[([^\]]{1,12})\]")
REPLY = re.compile(r"^\s*(?:Re|RE)\s*:", re.IGNORECASE)
IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# 來自: 1.160.199.248 (臺灣)  |  ◆ From: 140.118.229.94
FOOTER_IP = re.compile(rf"(?:來自|From)\s*:\s*({IPV4})(?:\s*\(([^)]+)\))?")
FOOTER_START = re.compile(r"^※ 發信站:|^◆ From:", re.MULTILINE)
# Three edit-line layouts seen on real pages:
#   ※ 編輯: a9051338        來自: 140.118.229.94       (04/02 12:45)
#   ※ 編輯: adsl15888 (113.21.55.28), 06/10/2018 09:25:49
#   ※ 編輯: AmosYang (136.56.13.184 美國), 09/18/2020 11:44:41
EDIT_OLD = re.compile(rf"※ 編輯:\s*(\S+)\s+來自:\s*({IPV4})\s*\((\d{{2}})/(\d{{2}})\s+(\d{{2}}):(\d{{2}})\)")
EDIT_NEW = re.compile(
    rf"※ 編輯:\s*(\S+)\s*\(({IPV4})(?:\s+([^)]+))?\),\s*(\d{{2}})/(\d{{2}})/(\d{{4}})\s+(\d{{2}}):(\d{{2}}):(\d{{2}})"
)
PUSH_TIME = re.compile(rf"(?:({IPV4})\s+)?(\d{{1,2}})/(\d{{1,2}})(?:\s+(\d{{1,2}}):(\d{{2}}))?")
# Header as text (pages without article-metaline divs):
#   作者: julysecond (還是台灣好) 站內: Gossiping     |   作者  MOTHERGOOSE   看板  Gossiping
HEADER_AUTHOR = re.compile(
    r"^\s*作者[:：]?\s+(\S+)(?:\s+\((.*?)\))?\s+(?:看板|站內)[:：]?\s+(\S+)", re.MULTILINE
)
HEADER_TITLE = re.compile(r"^\s*標題[:：]?\s+(.*?)\s*$", re.MULTILINE)
HEADER_TIME = re.compile(r"^\s*時間[:：]?\s+(.*?)\s*$", re.MULTILINE)
HEADER_RULE = re.compile(r"^\s*─+\s*$", re.MULTILINE)
NREC_LIMIT = 100
TRAILING_RULE = re.compile(r"\n--\s*$")  # the separator PTT puts before the footer


class PttParseError(PageError):
    """The page is not a PTT page of the expected kind; ``reason`` is a short stats key."""

    reason = "parse_error"


class NotFoundPage(PttParseError, NotFoundError):
    reason = "not_found"


class NotPttPage(PttParseError, WrongPageError):
    reason = "not_ptt"


class TruncatedPage(PttParseError, TruncatedError):
    reason = "truncated"


class Over18Page(PttParseError):
    reason = "over18"


# ---------------------------------------------------------------------------------------------- helpers


def article_time(post_id: str) -> datetime | None:
    """Creation time encoded in the article id (unix seconds), UTC."""
    m = ARTICLE_ID.search(post_id)
    return datetime.fromtimestamp(int(m.group(1)), tz=UTC) if m else None


def parse_ctime(text: str) -> datetime | None:
    """``Tue Jun  5 21:13:13 2018`` (Asia/Taipei, no zone on the page) to UTC."""
    try:
        local = datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return local.replace(tzinfo=TAIPEI).astimezone(UTC)


def _taipei(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=TAIPEI).astimezone(UTC)
    except ValueError:  # 02/29 in an inferred non-leap year, or garbage
        return None


class YearInference:
    """PTT push and edit times carry no year: walk them in page order from the post's time.

    Pushes are appended in time order, so a date more than two days before the previous one
    (12/31 → 01/01, or 08/10 → 07/28 a year later) starts a new year; a small step back is the
    few minutes of disorder real pages show around midnight, not a new year.
    """

    SLACK = timedelta(days=2)

    def __init__(self, start: datetime):
        local = start.astimezone(TAIPEI)
        self.year = local.year
        self.last = local.date()

    def year_for(self, month: int, day: int) -> int:
        candidate = self._date(self.year, month, day)
        if candidate is None:
            return self.year
        if candidate < self.last - self.SLACK:
            self.year += 1
        if (month, day) == (2, 29):  # only a leap year has one
            while not calendar.isleap(self.year):
                self.year += 1
        self.last = max(self.last, self._date(self.year, month, day) or candidate)
        return self.year

    @staticmethod
    def _date(year: int, month: int, day: int) -> date | None:
        try:
            return date(year, month, 28 if (month, day) == (2, 29) else day)
        except ValueError:
            return None


def _decode_cfemail(hexstr: str) -> str:
    """Cloudflare's email obfuscation (``data-cfemail``): XOR with the first byte."""
    try:
        data = bytes.fromhex(hexstr)
        return bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return "[email protected]"


def _load(html: str | bytes) -> lxml_html.HtmlElement:
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if not html.strip():
        raise NotPttPage("empty page")
    doc = lxml_html.fromstring(html)
    for a in doc.xpath('//*[contains(@class, "__cf_email__")][@data-cfemail]'):
        tail = a.tail
        a.clear()
        a.text, a.tail = _decode_cfemail(a.get("data-cfemail", "")), tail
    return doc


def _text(el) -> str:
    return el.text_content() if el is not None else ""


def _drop(el) -> None:
    """Remove an element but keep the text that follows it (lxml keeps that text in ``tail``)."""
    parent, tail = el.getparent(), el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _title_of(doc) -> str:
    return " ".join(doc.xpath("string(//title)").split())


def _check_page(doc) -> None:
    title = _title_of(doc)
    if title == "404" or "404 - Not Found" in " ".join(doc.xpath("string(//body)").split())[:200]:
        raise NotFoundPage("PTT answered 404: the article was deleted or never existed")
    if doc.xpath('//form[contains(@action, "/ask/over18")]') or "over18" in doc.xpath(
        "string(//div[contains(@class,'over18-notice')])"
    ):
        raise Over18Page("the over-18 question page came back: the over18 cookie was not accepted")
    if "批踢踢實業坊" not in title and not doc.xpath('//div[@id="main-content"]'):
        raise NotPttPage(f"not a PTT page (title {title!r})")


# ---------------------------------------------------------------------------------------------- article


@dataclass
class _Header:
    author_id: str | None = None
    nickname: str | None = None
    board: str | None = None
    title: str | None = None
    created_at: datetime | None = None


def _header_from_metalines(main) -> _Header | None:
    values = {}
    for line in main.xpath('./div[starts-with(@class, "article-metaline")]'):
        tag = _text(line.find_class("article-meta-tag")[0] if line.find_class("article-meta-tag") else None)
        val = line.find_class("article-meta-value")
        values[tag.strip()] = _text(val[0]) if val else ""
    if not values:
        return None
    author, nick = values.get("作者", "").strip(), None
    m = re.match(r"^(\S+)\s*\((.*)\)\s*$", author)
    if m:
        author, nick = m.group(1), m.group(2)
    return _Header(
        author_id=author or None,
        nickname=nick,
        board=values.get("看板", "").strip() or None,
        title=values.get("標題", "").strip() or None,
        created_at=parse_ctime(values.get("時間", "")),
    )


def _header_from_text(text: str) -> tuple[_Header | None, str]:
    """Pages without metaline divs print the header as text; returns it and the text after it."""
    head = text[:600]
    m_author = HEADER_AUTHOR.search(head)
    if not m_author or m_author.start() > 80:
        return None, text
    h = _Header(author_id=m_author.group(1), nickname=m_author.group(2), board=m_author.group(3))
    end = m_author.end()
    if m := HEADER_TITLE.search(head, end):
        h.title, end = m.group(1), m.end()
    if m := HEADER_TIME.search(head, end):
        h.created_at, end = parse_ctime(m.group(1)), m.end()
    if m := HEADER_RULE.match(text, end + 1):
        end = m.end()
    return h, text[end:]


def _split_footer(body: str) -> tuple[str, str]:
    """Content before the ``※ 發信站`` / ``◆ From`` footer, and the footer text."""
    m = FOOTER_START.search(body)
    if not m:
        return body, ""
    return body[: m.start()], body[m.start() :]


def _edits(texts: list[str], start: datetime) -> list[datetime | None]:
    inference = YearInference(start)
    out: list[datetime | None] = []
    for t in texts:
        if m := EDIT_NEW.search(t):
            mo, d, y, hh, mm, ss = (int(x) for x in m.group(4, 5, 6, 7, 8, 9))
            out.append(_taipei(y, mo, d, hh, mm, ss))
        elif m := EDIT_OLD.search(t):
            mo, d, hh, mm = (int(x) for x in m.group(3, 4, 5, 6))
            out.append(_taipei(inference.year_for(mo, d), mo, d, hh, mm))
        else:
            out.append(None)
    return out


def _comments(main, board: str, post_id: str, start: datetime, crawled_at: datetime) -> list[CommentRecord]:
    inference = YearInference(start)
    comments = []
    for push in main.xpath('.//div[contains(concat(" ", @class, " "), " push ")]'):
        tag_el = push.find_class("push-tag")
        if not tag_el:  # "檔案過大！部分文章無法顯示" warning rows use div.push too
            continue
        tag = TAG_NAMES.get(_text(tag_el[0]).strip())
        user = push.find_class("push-userid")
        content = _text(push.find_class("push-content")[0]) if push.find_class("push-content") else ""
        if content.startswith(":"):
            content = content[1:]
        ipdt = _text(push.find_class("push-ipdatetime")[0]) if push.find_class("push-ipdatetime") else ""
        created, precision, ip = None, None, None
        if m := PUSH_TIME.search(ipdt):
            ip = m.group(1)
            mo, d = int(m.group(2)), int(m.group(3))
            year = inference.year_for(mo, d)
            if m.group(4):
                created, precision = _taipei(year, mo, d, int(m.group(4)), int(m.group(5))), "minute"
            else:
                created, precision = _taipei(year, mo, d), "day"
        comments.append(
            CommentRecord(
                platform=PLATFORM,
                board=board,
                post_id=post_id,
                seq=len(comments) + 1,
                author_id=_text(user[0]).strip() or None if user else None,
                tag=tag,
                content=content.strip(),
                created_at=created,
                time_precision=precision if created else None,
                ip=ip,
                crawled_at=crawled_at,
            )
        )
    return comments


def ids_from_url(url: str) -> tuple[str, str]:
    """(board, post_id) from an article URL; raises :class:`NotPttPage` for anything else."""
    m = ARTICLE_PATH.search(url or "")
    if not m:
        raise NotPttPage(f"not a PTT article URL: {url!r}")
    return m.group(1), m.group(2)


def parse_article(
    html: str | bytes, url: str | None = None, *, crawled_at: datetime | None = None
) -> ThreadItem:
    """Parse one article page into a post and its pushes.

    ``url`` may be omitted when the page carries its canonical link. Raises a
    :class:`PttParseError` subclass (404 page, over-18 page, truncated or non-PTT page).
    """
    doc = _load(html)
    _check_page(doc)
    canonical = doc.xpath('string(//link[@rel="canonical"]/@href)') or doc.xpath(
        'string(//meta[@property="og:url"]/@content)'
    )
    board, post_id = ids_from_url(url or canonical)
    mains = doc.xpath('//div[@id="main-content"]')
    if not mains:
        raise NotPttPage("no #main-content: not a PTT article page")
    tail = html[-2000:] if isinstance(html, str) else html[-2000:].decode("utf-8", "replace")
    if "</html>" not in tail.lower():
        raise TruncatedPage("the page ends before </html>: truncated download")
    main = mains[0]
    crawled_at = crawled_at or datetime.now(UTC)

    header = _header_from_metalines(main)
    comments_start = article_time(post_id) or crawled_at
    created = (header.created_at if header else None) or comments_start
    comments = _comments(main, board, post_id, created, crawled_at)
    edit_texts = [_text(s) for s in main.xpath('./span[contains(@class, "f2")]') if "※ 編輯" in _text(s)]

    for el in main.xpath(
        './div[starts-with(@class, "article-metaline")] | .//div[contains(concat(" ", @class, " "), " push ")]'
        ' | .//div[contains(@class, "richcontent")]'
    ):
        _drop(el)
    for el in main.xpath('./span[contains(@class, "f2")]'):
        if "※ 編輯" in _text(el):  # edit lines are system lines, wherever they sit
            _drop(el)
    text = main.text_content().replace("\r\n", "\n")
    if header is None:
        header, text = _header_from_text(text)
        if header and header.created_at:
            created = header.created_at
    header = header or _Header()
    body, footer = _split_footer(text.lstrip("\n"))
    # Edit and 轉錄 lines after the footer are system lines, not content.
    ip, country = None, None
    if m := FOOTER_IP.search(footer):
        ip, country = m.group(1), m.group(2)
    edit_times = [t for t in _edits(edit_texts, created) if t]
    title = header.title or _title_from_html(doc)
    category = m.group(1) if title and (m := CATEGORY.match(title)) else None
    counts = {tag: sum(1 for c in comments if c.tag == tag) for tag in TAG_NAMES.values()}
    post = PostRecord(
        platform=PLATFORM,
        board=board,
        post_id=post_id,
        url=f"https://www.ptt.cc/bbs/{board}/{post_id}.html",
        title=title,
        category=category,
        is_reply=bool(title and REPLY.match(title)),
        author_id=header.author_id,
        author_nickname=header.nickname or None,
        created_at=created,
        content=TRAILING_RULE.sub("", body.strip("\n")).rstrip(),
        author_ip=ip,
        author_country=country,
        edited=bool(edit_texts),
        edited_at=max(edit_times) if edit_times else None,
        deleted=False,
        push_count=counts["push"],
        boo_count=counts["boo"],
        arrow_count=counts["neutral"],
        comment_count=len(comments),
        crawled_at=crawled_at,
    )
    return ThreadItem(post=post, comments=comments).finalize()


def _title_from_html(doc) -> str | None:
    title = _title_of(doc)
    m = re.match(r"^(.*) - 看板 \S+ - 批踢踢實業坊$", title)
    return m.group(1) if m and m.group(1) != "閱讀文章" else None


# ---------------------------------------------------------------------------------------------- index


@dataclass
class IndexRow:
    title: str
    post_id: str | None  # None for deleted rows (no link)
    url: str | None
    author: str | None
    date_text: str
    nrec: int  # 推 − 噓 as the index shows it, capped: 爆 = 100, X1 = -10 … XX = -100
    mark: str
    deleted: bool
    pinned: bool

    @property
    def created_at(self) -> datetime | None:
        return article_time(self.post_id) if self.post_id else None


@dataclass
class IndexPage:
    board: str
    page: int | None  # this page's number (the newest page's number is 上頁 + 1)
    prev_url: str | None
    next_url: str | None
    rows: list[IndexRow] = field(default_factory=list)

    @property
    def articles(self) -> list[IndexRow]:
        """Rows worth fetching: linked, not deleted, not pinned."""
        return [r for r in self.rows if r.post_id and not r.pinned and not r.deleted]


def parse_nrec(text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    if text == "爆":
        return NREC_LIMIT
    if text.startswith("X"):
        return -NREC_LIMIT if text == "XX" else -10 * int(text[1:] or 1)
    try:
        return int(text)
    except ValueError:
        return 0


def parse_index(html: str | bytes, url: str) -> IndexPage:
    """Parse a board index page: rows oldest → newest, pinned rows (after ``r-list-sep``) flagged."""
    doc = _load(html)
    _check_page(doc)
    m = INDEX_PATH.search(url)
    if not m:
        raise NotPttPage(f"not a PTT index URL: {url!r}")
    board = m.group(1)
    containers = doc.xpath('//div[contains(@class, "r-list-container")]')
    if not containers:
        raise NotPttPage("no r-list-container: not a board index page")
    prev_url = next_url = None
    for a in doc.xpath('//div[contains(@class, "btn-group-paging")]/a'):
        label, href = _text(a), a.get("href")
        if "上頁" in label and href:
            prev_url = href
        elif "下頁" in label and href:
            next_url = href
    page = int(m.group(2)) if m.group(2) else None
    if page is None and prev_url and (pm := INDEX_PATH.search(prev_url)) and pm.group(2):
        page = int(pm.group(2)) + 1
    rows, pinned = [], False
    for el in containers[0].iter("div"):
        cls = f" {el.get('class', '')} "
        if " r-list-sep " in cls:
            pinned = True
        elif " r-ent " in cls:
            rows.append(_index_row(el, pinned))
    return IndexPage(board=board, page=page, prev_url=prev_url, next_url=next_url, rows=rows)


def _index_row(el, pinned: bool) -> IndexRow:
    def first(cls: str) -> str:
        found = el.find_class(cls)
        return _text(found[0]) if found else ""

    links = el.xpath('.//div[contains(@class, "title")]/a[@href]')
    href = links[0].get("href") if links else None
    post_id = pm.group(2) if href and (pm := ARTICLE_PATH.search(href)) else None
    title = " ".join(first("title").split())
    author = first("author").strip()
    return IndexRow(
        title=title,
        post_id=post_id,
        url=href,
        author=None if author in ("", "-") else author,
        date_text=first("date").strip(),
        nrec=parse_nrec(first("nrec")),
        mark=first("mark").strip(),
        deleted=post_id is None,
        pinned=pinned,
    )


def taipei_date(ts: datetime) -> date:
    return ts.astimezone(TAIPEI).date()


def taipei_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TAIPEI).astimezone(UTC)


ONE_DAY = timedelta(days=1)
