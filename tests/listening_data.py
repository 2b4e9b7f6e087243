"""A small, hand-countable listening dataset: raw posts (through ``RawStore``) and the enriched
rows the enrich stage would write for them (built with pyarrow from the ENRICHED schema; mention
spans from the real :class:`~koubei.nlp.brands.BrandMatcher`, labels set by hand).

Expected numbers for 2024-02-20 (Asia/Taipei) are spelled out in tests/test_trends.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
from koubei.nlp.brands import BrandMatcher, load_watch
from koubei.pipelines.schemas import ENRICHED
from koubei.pipelines.store import RawStore, taipei_day
from koubei.spiders.items import CommentRecord, PostRecord, ThreadItem

WATCH = Path(__file__).parent / "fixtures" / "listening" / "watch.yaml"
TAIPEI = ZoneInfo("Asia/Taipei")
ENRICHED_AT = datetime(2024, 3, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """``"2024-02-20 09:05"`` Asia/Taipei as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=TAIPEI).astimezone(UTC)


@dataclass
class C:
    """A comment: its text, author, Taipei time, PTT tag, unit label and per-brand labels."""

    text: str
    author: str | None
    when: str
    tag: str | None = None
    label: str | None = "neutral"
    brands: dict[str, str] = field(default_factory=dict)
    likes: int | None = None
    ip: str | None = None
    sponsored: bool = False


@dataclass
class T:
    """A thread: the post (title + text) and its comments."""

    platform: str
    board: str
    post_id: str
    title: str
    text: str
    author: str | None
    when: str
    label: str | None = "neutral"
    brands: dict[str, str] = field(default_factory=dict)
    pushes: int | None = None
    boos: int | None = None
    arrows: int | None = None
    likes: int | None = None
    sponsored: bool = False
    ip: str | None = None
    comments: list[C] = field(default_factory=list)

    @property
    def url(self) -> str:
        if self.platform == "dcard":
            return f"https://www.dcard.tw/f/{self.board}/p/{self.post_id}"
        return f"https://www.ptt.cc/bbs/{self.board}/{self.post_id}.html"


THREADS = [
    T(
        "ptt",
        "MobileComm",
        "M.1708390800.A.001",
        "[問題] iPhone 15 電池一天就沒電",
        "買了 iPhone 15 才兩個月，電池一天就沒電，蘋果客服只叫我重置。",
        "userA",
        "2024-02-20 09:00",
        label="negative",
        pushes=10,
        boos=3,
        arrows=2,
        ip="1.160.10.20",
        comments=[
            C("三星 Galaxy 續航好多了", "userB", "2024-02-20 09:05", "push", "positive"),
            C("蘋果越來越爛", "userC", "2024-02-20 09:10", "boo", "negative", ip="36.224.1.1"),
            C("我的 iPhone 還好啊", "userD", "2024-02-20 10:30", "push", "neutral"),
            # Apple negative, Samsung positive in one push: counted apart.
            C(
                "蘋果電池爛 三星好用",
                "userE",
                "2024-02-20 11:00",
                "boo",
                "negative",
                brands={"Apple": "negative", "Samsung": "positive"},
            ),
            # A push written after midnight: talk of the 21st, stored with the post of the 20th.
            C("iPhone 送修就好", "userD", "2024-02-21 00:30", "neutral", "neutral"),
        ],
    ),
    T(
        "ptt",
        "MobileComm",
        "M.1708394400.A.002",
        "[心得] Galaxy S24 開箱",
        "三星這次螢幕很漂亮，拍照也進步，推薦。",
        "userF",
        "2024-02-20 10:00",
        label="positive",
        pushes=20,
        boos=1,
        arrows=0,
        sponsored=True,
        ip="1.160.10.20",
        comments=[
            C("Galaxy 真的不錯", "userG", "2024-02-20 10:10", "push", "positive"),
            C("業配文", "userC", "2024-02-20 10:20", "boo", "negative"),
        ],
    ),
    T(
        "ptt",
        "Lifeismoney",
        "M.1708430400.A.003",
        "[情報] 全聯 週末咖啡買一送一",
        "全聯 咖啡買一送一，到週日。",
        "userH",
        "2024-02-20 20:00",
        label="positive",
        pushes=5,
        boos=0,
        arrows=1,
        comments=[C("蘋果 也有特價嗎", "userB", "2024-02-20 20:30", "push", "neutral")],
    ),
    T(
        "dcard",
        "3c",
        "255000001",
        "iPhone 和 Galaxy 怎麼選",
        "想換手機，蘋果還是三星比較好？",
        "dcard-uid-1",
        "2024-02-20 22:00",
        label="neutral",
        likes=12,
        comments=[C("三星 CP 值高", None, "2024-02-20 22:10", None, "positive", likes=3)],
    ),
    # A title a report must show as text, one day earlier.
    T(
        "ptt",
        "MobileComm",
        "M.1708300000.A.004",
        "<script>alert(1)</script> iPhone 爛",
        "iPhone 又當機 <b>不要買</b>",
        "userX",
        "2024-02-19 08:00",
        label="negative",
        pushes=0,
        boos=4,
        arrows=0,
    ),
]


def watch_matcher() -> BrandMatcher:
    return BrandMatcher(load_watch(WATCH))


def raw_thread(t: T) -> ThreadItem:
    post = PostRecord(
        platform=t.platform,
        board=t.board,
        post_id=t.post_id,
        url=t.url,
        title=t.title,
        author_id=t.author,
        created_at=at(t.when),
        content=t.text,
        author_ip=t.ip,
        push_count=t.pushes,
        boo_count=t.boos,
        arrow_count=t.arrows,
        like_count=t.likes,
        comment_count=len(t.comments),
        crawled_at=ENRICHED_AT,
    )
    comments = [
        CommentRecord(
            platform=t.platform,
            board=t.board,
            post_id=t.post_id,
            seq=i,
            author_id=c.author,
            tag=c.tag,
            content=c.text,
            created_at=at(c.when),
            time_precision="minute",
            ip=c.ip,
            like_count=c.likes,
            crawled_at=ENRICHED_AT,
        )
        for i, c in enumerate(t.comments, start=1)
    ]
    return ThreadItem(post, comments).finalize()


def _mentions(matcher: BrandMatcher, found, label: str | None, brands: dict[str, str]) -> list[dict]:
    return [
        {
            "brand": m.brand,
            "group": m.group,
            "field": "title" if m.field == "title" else "text",
            "start": m.start,
            "end": m.end,
            "sentiment": brands.get(m.brand, label),
            "score": 0.9,
        }
        for m in found
    ]


def enriched_rows(t: T, matcher: BrandMatcher) -> list[dict]:
    """The rows the enrich stage would write for a thread, with hand-set labels."""
    common = {"board": t.board, "post_id": t.post_id, "model_version": "test", "enriched_at": ENRICHED_AT}
    rows = [
        {
            **common,
            "seq": 0,
            "kind": "post",
            "author_id": t.author,
            "created_at": at(t.when),
            "like_count": t.likes,
            "comment_count": len(t.comments),
            "title": t.title,
            "text": t.text,
            "sentiment": t.label,
            "sponsored": t.sponsored,
            "sponsored_reasons": ["rule:disclosure: test"] if t.sponsored else [],
            "mentions": _mentions(matcher, matcher.match_item(t.title, t.text), t.label, t.brands),
        }
    ]
    for i, c in enumerate(t.comments, start=1):
        rows.append(
            {
                **common,
                "seq": i,
                "kind": "comment",
                "author_id": c.author,
                "created_at": at(c.when),
                "tag": c.tag,
                "like_count": c.likes,
                "text": c.text,
                "sentiment": c.label,
                "sponsored": c.sponsored,
                "sponsored_reasons": [],
                "mentions": _mentions(matcher, matcher.find(c.text, "text"), c.label, c.brands),
            }
        )
    return rows


def write_enriched(root: Path, threads: list[T], matcher: BrandMatcher | None = None) -> None:
    """Write enriched partitions (one file per platform/day/board) for ``threads``."""
    matcher = matcher or watch_matcher()
    parts: dict[tuple[str, str, str], list[dict]] = {}
    for t in threads:
        key = (t.platform, taipei_day(at(t.when)), t.board)
        parts.setdefault(key, []).extend(enriched_rows(t, matcher))
    for (platform, day, board), rows in parts.items():
        write_rows(root, platform, day, board, rows)


def build(root: Path, threads: list[T] | None = None) -> Path:
    """Raw and enriched datasets for ``threads`` (default :data:`THREADS`) under ``root``."""
    threads = THREADS if threads is None else threads
    RawStore(str(root)).upsert_threads(raw_thread(t) for t in threads)
    write_enriched(root, threads)
    return root


TAG_LABEL = {"push": "positive", "boo": "negative", "neutral": "neutral"}


def enriched_from_thread(thread: ThreadItem, matcher: BrandMatcher) -> list[dict]:
    """Enriched rows for a parsed thread, labelled from the PTT tags (推 positive, 噓 negative,
    → neutral; the post neutral): a stand-in for the classifier that a reader can count by hand."""
    p = thread.post
    common = {"board": p.board, "post_id": p.post_id, "model_version": "tags", "enriched_at": ENRICHED_AT}
    rows = [
        {
            **common,
            "seq": 0,
            "kind": "post",
            "author_id": p.author_id,
            "created_at": p.created_at,
            "comment_count": len(thread.comments),
            "title": p.title,
            "text": p.content,
            "sentiment": "neutral",
            "sponsored": False,
            "mentions": _mentions(matcher, matcher.match_item(p.title, p.content), "neutral", {}),
        }
    ]
    for c in thread.comments:
        label = TAG_LABEL.get(c.tag or "", "neutral")
        rows.append(
            {
                **common,
                "seq": c.seq,
                "kind": "comment",
                "author_id": c.author_id,
                "created_at": c.created_at,
                "tag": c.tag,
                "text": c.content,
                "sentiment": label,
                "sponsored": False,
                "mentions": _mentions(matcher, matcher.find(c.content or "", "text"), label, {}),
            }
        )
    return rows


def write_rows(root: Path, platform: str, day: str, board: str, rows: list[dict]) -> None:
    store = RawStore(str(root))
    table = pa.Table.from_pylist(rows, schema=ENRICHED.file_schema)
    store.write_file(store.partition_file(ENRICHED, platform, day, board), table)


# A negative spike about Apple on 2024-02-20 18:00-19:45 Taipei: one thread, 36 pushes (18 噓).
_NEGATIVE = [
    "iPhone 電池又膨脹了",
    "蘋果客服態度很差",
    "iPhone 更新後一直當機",
    "蘋果這次真的很爛",
    "iPhone 訊號超差",
    "蘋果售後服務爛透了",
]
SPIKE = T(
    "ptt",
    "MobileComm",
    "M.1708423200.A.010",
    "[爆卦] iPhone 15 大量電池膨脹",
    "多位網友回報 iPhone 15 電池膨脹，蘋果至今沒有回應。",
    "userZ",
    "2024-02-20 18:00",
    label="negative",
    pushes=18,
    boos=18,
    arrows=0,
    comments=[
        C(
            _NEGATIVE[i % len(_NEGATIVE)],
            f"angry{i}",
            f"2024-02-20 {18 + i // 20}:{(i * 3) % 60:02d}",
            "boo" if i % 2 else "push",
            "negative",
        )
        for i in range(36)
    ],
)


def write_quiet_history(root: Path, first: str, last: str, *, seed: int = 1) -> None:
    """Trend files for quiet days: Apple on ptt/MobileComm with 0-3 negative of 10 mentions a day."""
    import random

    from koubei.pipelines.schemas import TRENDS
    from koubei.pipelines.trends import days_between

    rng = random.Random(seed)
    store = RawStore(str(root))
    zeros = {f.name: 0 for f in TRENDS.file_schema if pa.types.is_integer(f.type)}
    for day in days_between(first, last):
        row = zeros | {
            "brand": "Apple",
            "group": "phones",
            "platform": "ptt",
            "board": "MobileComm",
            "negative": rng.choice([0, 1, 1, 2, 2, 3]),
            "mentions": 10,
            "sponsored_share": 0.0,
            "top_terms": [],
        }
        row["neutral"] = row["mentions"] - row["negative"]
        store.write_file(
            TRENDS.day_file(store.base, day), pa.Table.from_pylist([row], schema=TRENDS.file_schema)
        )
