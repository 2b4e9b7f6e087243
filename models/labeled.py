"""Hand-labeled 3-class sentiment set (``tests/fixtures/sentiment3``) joined with real PTT text.

The repo stores only stable ids and labels; the text stays in ``../shared`` (never copied) and is
joined here at load time. An id is ``(source, record, comment, field)``:

- ``source``: file path relative to the shared root;
- ``record``: 0-based index of the article in the file as this module reads it — the position in
  ``articles`` for the Gossiping JSON, the line number for JSON Lines, the data row (header not
  counted) of ``csv.DictReader`` for CSV;
- ``comment``: 0-based index of the push (PTT) or reply (Dcard, Mobile01, untagged PTT) in that
  record's comment list (``None`` for a title or body);
- ``field``: ``push``, ``reply``, ``title`` or ``body``.

A record's ``thread`` (the PTT article, the Dcard post, the Mobile01 thread) groups everything said
in one discussion, so train/dev/test splits never put one thread on both sides.

Sampling (``tests/fixtures/sentiment3/sample.py``) and loading both read through :func:`read_articles`,
so an id means the same thing in both.
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from koubei.pipelines.paths import shared_root as default_shared_root

LABELS3 = ("negative", "neutral", "positive")
FIELDS = ("push", "reply", "title", "body")
COMMENT_FIELDS = ("push", "reply")
PUSH_TAGS = ("推", "噓", "→")

GOSSIPING_2018 = "data/ptt_gossiping_2018/Gossiping.json.gz"
STOCK_2016 = "data/forum_text/ptt_stock_2016-2019_deternan.jsonl.gz"
GOSSIPING_YEEYAN = "data/forum_text/ptt_gossiping_2018-2019_yeeyanchen_ptt.csv.gz"
MULTIBOARD_2021 = "data/forum_text/ptt_multiboard_2021_chenhsihsien_ptt.csv.gz"
CHIANG_DIR = "data/forum_text/ptt_articles_chiang0601"
CHIANG_BOARDS = {  # file stem -> board (the numeric 分類 of the other files is not a board name)
    "1_C_chat": "C_Chat",
    "1_Gossiping": "Gossiping",
    "1_Lifeismoney": "Lifeismoney",
    "Food": "Food",
    "Tech_Job": "Tech_Job",
    "movie": "movie",
    "NBA": "NBA",
}
CHIANG_FILES = tuple(f"{CHIANG_DIR}/{stem}.csv.gz" for stem in CHIANG_BOARDS)
PUSH_SOURCES = (GOSSIPING_2018, STOCK_2016, GOSSIPING_YEEYAN)
TITLE_SOURCES = (MULTIBOARD_2021, *CHIANG_FILES)
OPTION_2021 = "data/forum_text/ptt_option_2021_fishkuo_comment_content.csv.gz"
TECHJOB_2023 = "data/forum_text/ptt_techjob_2023_chiaweiwu.jsonl.gz"
PTT_YOUTUBER = "data/forum_text/ptt_2021_youtuber_topics_bobolu.jsonl.gz"
DCARD_COMMENTS = "data/forum_text/dcard_2020-12_fishkuo_comments.jsonl.gz"
DCARD_POSTS = "data/forum_text/dcard_2020-12_fishkuo_posts.jsonl.gz"
DCARD_YOUTUBER = "data/forum_text/dcard_2021_youtuber_topics_bobolu.jsonl.gz"
MOBILE01_296 = "data/forum_text/mobile01_destroymayor_output_296.json.gz"
MOBILE01_QUESTION = "data/forum_text/mobile01_destroymayor_question.json.gz"
FORUM_SOURCES = (
    OPTION_2021,
    TECHJOB_2023,
    PTT_YOUTUBER,
    DCARD_COMMENTS,
    DCARD_POSTS,
    DCARD_YOUTUBER,
    MOBILE01_296,
    MOBILE01_QUESTION,
)

# The labels live with the tests in the repository (not in the installed package): relative to the
# checkout's root, where the tests and `koubei eval` are run from.
LABELS_CSV = Path("tests") / "fixtures" / "sentiment3" / "labels.csv"

csv.field_size_limit(1 << 26)


class LabeledDataError(LookupError):
    """A labeled id does not resolve to the expected text in the shared material."""


@dataclass(frozen=True)
class Push:
    tag: str
    text: str


@dataclass(frozen=True)
class Article:
    board: str
    title: str
    pushes: tuple[Push, ...]
    body: str = ""
    thread: str = ""  # the discussion this record belongs to (set by read_articles when empty)


# ----------------------------------------------------------------------------------------- readers


def _open(path: Path):
    if not path.is_file():
        raise LabeledDataError(f"shared file not found: {path} (set KOUBEI_SHARED)")
    return gzip.open(path, "rt", encoding="utf-8-sig", newline="")


def _jwlin_article(rec: dict, board: str) -> Article:
    # jwlin/ptt-web-crawler layout; 42 Stock records carry ``messages: null`` (crawler errors).
    pushes = tuple(
        Push(m.get("push_tag", "").strip(), (m.get("push_content") or "").strip())
        for m in rec.get("messages") or []
    )
    return Article(rec.get("board") or board, (rec.get("article_title") or "").strip(), pushes)


def _gossiping_2018(path: Path, wanted: set[int] | None) -> Iterator[tuple[int, Article]]:
    with _open(path) as f:
        articles = json.load(f)["articles"]
    for i, rec in enumerate(articles):
        if wanted is None or i in wanted:
            yield i, _jwlin_article(rec, "Gossiping")


def _stock_2016(path: Path, wanted: set[int] | None) -> Iterator[tuple[int, Article]]:
    with _open(path) as f:
        for i, line in enumerate(f):
            if wanted is None or i in wanted:  # parse only the lines asked for: the file is 123 MB
                yield i, _jwlin_article(json.loads(line), "Stock")


def _yeeyan_comment(c: dict) -> Push:
    text = c.get("cmtContent") or ""
    return Push((c.get("cmtStatus") or "").strip(), text.removeprefix(":").strip())


def _gossiping_yeeyan(path: Path, wanted: set[int] | None) -> Iterator[tuple[int, Article]]:
    with _open(path) as f:
        for i, row in enumerate(csv.DictReader(f)):
            if wanted is None or i in wanted:
                comments = ast.literal_eval(row["artComments"] or "[]")  # a Python literal, not JSON
                pushes = tuple(_yeeyan_comment(c) for c in comments)
                yield i, Article(row["artCat"], row["artTitle"].strip(), pushes)


def _titles_csv(
    path: Path, wanted: set[int] | None, title_col: str, board_of
) -> Iterator[tuple[int, Article]]:
    with _open(path) as f:
        for i, row in enumerate(csv.DictReader(f)):
            if wanted is None or i in wanted:
                yield i, Article(board_of(row), (row[title_col] or "").strip(), ())


def _json_list(path: Path) -> list:
    with _open(path) as f:
        return json.load(f)


def _option_2021(path: Path, wanted: set[int] | None) -> Iterator[tuple[int, Article]]:
    # one JSON array of [看板, url, userid, time, ": text"] rows, the push tag was not kept
    for i, row in enumerate(_json_list(path)):
        if wanted is None or i in wanted:
            board = row[0].removeprefix("看板").strip()
            text = row[4].strip().removeprefix(":").strip()
            yield i, Article(board, "", (Push("", text),), thread=row[1])


def _jsonl_records(path: Path, wanted: set[int] | None, make) -> Iterator[tuple[int, Article]]:
    with _open(path) as f:
        for i, line in enumerate(f):
            if wanted is None or i in wanted:
                yield i, make(json.loads(line))


def _dcard_id(link: str, fallback: str) -> str:
    tail = (link or "").rstrip("/").rsplit("/", 1)[-1]
    return f"dcard:{tail if tail.isdigit() else fallback}"


def _dcard_comment(rec: dict) -> Article:
    return Article(
        rec.get("forum_folder") or "",
        "",
        (Push("", (rec.get("content") or "").strip()),),
        thread=f"dcard:{rec.get('postId')}",
    )


def _dcard_post(rec: dict) -> Article:
    return Article(
        rec.get("forumName") or rec.get("forum_folder") or "",
        (rec.get("title") or "").strip(),
        (),
        body=(rec.get("content") or "").strip(),
        thread=f"dcard:{rec.get('id')}",
    )


def _dcard_youtuber(rec: dict) -> Article:
    link = rec.get("Link") or ""
    return Article(
        "Dcard",
        (rec.get("Title") or "").strip(),
        (),
        body=(rec.get("Text") or "").strip(),
        thread=_dcard_id(link, link),
    )


def _ptt_youtuber(rec: dict) -> Article:
    link = rec.get("Link") or ""
    board = link.split("/bbs/", 1)[1].split("/", 1)[0] if "/bbs/" in link else "Gossiping"
    return Article(
        board, (rec.get("Title") or "").strip(), (), body=(rec.get("Text") or "").strip(), thread=link
    )


def _techjob_2023(rec: dict) -> Article:
    return Article(
        "Tech_Job",
        (rec.get("title") or "").strip(),
        (),
        body=(rec.get("content") or "").strip(),
        thread=rec.get("url") or "",
    )


def _mobile01(path: Path, wanted: set[int] | None) -> Iterator[tuple[int, Article]]:
    # 296.json: {article_title, content, messages}; question.json: {title, content, reply} where
    # reply[0] repeats the opening post (kept, so indices match the file; samplers skip it)
    for i, rec in enumerate(_json_list(path)):
        if wanted is None or i in wanted:
            replies = rec.get("messages") if "messages" in rec else rec.get("reply")
            pushes = tuple(Push("", (r or "").strip()) for r in replies or [])
            title = (rec.get("article_title") or rec.get("title") or "").strip()
            yield i, Article("Mobile01", title, pushes, body=(rec.get("content") or "").strip())


def read_articles(
    source: str, root: Path | None = None, records: Iterable[int] | None = None
) -> Iterator[tuple[int, Article]]:
    """``(record, Article)`` pairs of one source file, all of them or only ``records``."""
    path = (root or default_shared_root()) / source
    wanted = None if records is None else set(records)
    if source == GOSSIPING_2018:
        return _gossiping_2018(path, wanted)
    if source == STOCK_2016:
        return _stock_2016(path, wanted)
    if source == GOSSIPING_YEEYAN:
        return _gossiping_yeeyan(path, wanted)
    if source == MULTIBOARD_2021:
        return _titles_csv(path, wanted, "標題", lambda row: row["看板"])
    if source in CHIANG_FILES:
        board = CHIANG_BOARDS[Path(source).name.removesuffix(".csv.gz")]
        return _titles_csv(path, wanted, "標題", lambda _row: board)
    readers = {
        OPTION_2021: lambda: _option_2021(path, wanted),
        TECHJOB_2023: lambda: _jsonl_records(path, wanted, _techjob_2023),
        PTT_YOUTUBER: lambda: _jsonl_records(path, wanted, _ptt_youtuber),
        DCARD_COMMENTS: lambda: _jsonl_records(path, wanted, _dcard_comment),
        DCARD_POSTS: lambda: _jsonl_records(path, wanted, _dcard_post),
        DCARD_YOUTUBER: lambda: _jsonl_records(path, wanted, _dcard_youtuber),
        MOBILE01_296: lambda: _mobile01(path, wanted),
        MOBILE01_QUESTION: lambda: _mobile01(path, wanted),
    }
    if source in readers:
        return readers[source]()
    raise LabeledDataError(
        f"unknown source {source!r}; known: {PUSH_SOURCES + TITLE_SOURCES + FORUM_SOURCES}"
    )


def thread_of(source: str, record: int, article: Article) -> str:
    """The discussion a record belongs to: the split unit."""
    return article.thread or f"{source}#{record}"


# ----------------------------------------------------------------------------------------- labels


def read_label_rows(path: Path = LABELS_CSV) -> list[dict[str, str]]:
    """The rows of a labels CSV as strings (ids and labels, no text)."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def item_key(row: dict) -> tuple[str, int, int | None, str]:
    """The stable id of a labeled row, typed."""
    comment = str(row.get("comment") if row.get("comment") is not None else "").strip()
    return row["source"], int(row["record"]), int(comment) if comment else None, row["field"]


def _resolve(
    key: tuple[str, int, int | None, str], article: Article | None, push_tag: str
) -> tuple[str, str]:
    source, record, comment, field = key
    where = f"{source} record {record}" + ("" if comment is None else f" comment {comment}")
    if article is None:
        raise LabeledDataError(f"{where}: record not found in the shared file")
    if field == "title":
        if not article.title:
            raise LabeledDataError(f"{where}: empty title")
        return article.title, article.board
    if field == "body":
        if not article.body:
            raise LabeledDataError(f"{where}: empty body")
        return article.body, article.board
    if comment is None or not 0 <= comment < len(article.pushes):
        raise LabeledDataError(f"{where}: push not found (article has {len(article.pushes)} pushes)")
    push = article.pushes[comment]
    if push_tag and push.tag != push_tag:
        raise LabeledDataError(f"{where}: push tag is {push.tag!r}, labels say {push_tag!r} (ids shifted?)")
    if not push.text:
        raise LabeledDataError(f"{where}: empty push")
    return push.text, article.board


def join_text(rows: list[dict], root: Path | None = None) -> list[dict]:
    """Label rows with their text and board joined from the shared files (one pass per file)."""
    by_source: dict[str, set[int]] = {}
    for row in rows:
        source, record, _, field = item_key(row)
        if field not in FIELDS:
            raise LabeledDataError(f"{source} record {record}: unknown field {field!r}")
        by_source.setdefault(source, set()).add(record)
    articles = {source: dict(read_articles(source, root, records)) for source, records in by_source.items()}
    out = []
    for row in rows:
        key = item_key(row)
        push_tag = (row.get("push_tag") or "").strip()
        article = articles[key[0]].get(key[1])
        text, board = _resolve(key, article, push_tag)
        out.append(
            {
                **row,
                "record": key[1],
                "comment": key[2],
                "push_tag": push_tag or None,
                "text": text,
                "board": board,
                "thread": thread_of(key[0], key[1], article),
            }
        )
    return out


def load_sentiment3(shared_root: Path | None = None, labels_path: Path = LABELS_CSV) -> list[dict]:
    """The hand-labeled set: dicts with ``text, label, field, push_tag, board, source, record,
    comment, note``, in file order. Raises :class:`LabeledDataError` naming any id that does not resolve."""
    rows = read_label_rows(labels_path)
    for row in rows:
        if row["label"] not in LABELS3:
            raise LabeledDataError(f"{row['source']} record {row['record']}: bad label {row['label']!r}")
    return join_text(rows, shared_root)


def export_csv(path: Path | str, shared_root: Path | None = None) -> int:
    """Write ``text,label`` (for ``koubei eval sentiment --data FILE.csv``); returns the row count."""
    items = load_sentiment3(shared_root)
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows((item["text"], item["label"]) for item in items)
    return len(items)
