"""``koubei demo``: the whole collection path on one machine with no internet.

It generates a month of PTT-format pages (synthetic text, marked as such, never scored as real
data), serves them on 127.0.0.1 with the replay server, crawls them with the real spider into the
raw Parquet store, and summarizes what landed. ``--replay DIR`` crawls saved real pages instead.
Later stages (enrich, trends, alerts, report) join this command as they are built.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .crawl import CrawlSummary, run_crawl
from .replay import ReplayServer
from .sitegen import FakeArticle, FakePush, write_board

DEMO_BOARDS = ("MobileComm", "Gossiping")
BRANDS = ("iPhone", "三星", "小米", "全聯", "momo")
OPINIONS = (
    "{b} 這次真的很讚，CP值高",
    "{b} 客服超爛，踩雷了",
    "有人用過 {b} 嗎？",
    "{b} 新品開箱心得",
    "{b} 漲價了 母湯",
    "聽說 {b} 要出新款",
)
REPLIES = [
    ("push", "推 推"),
    ("push", "真的好用"),
    ("boo", "業配文吧"),
    ("boo", "爛"),
    ("neutral", "先觀望"),
    ("neutral", "我也想知道"),
]
# Crawl politely even on loopback? No: the demo serves itself, so no delays.
LOOPBACK = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "ROBOTSTXT_OBEY": "True",
}


@dataclass
class DemoResult:
    site_dir: Path
    store: Path
    crawls: list[CrawlSummary]


def generate_site(
    root: Path, days: int = 30, per_day: int = 6, seed: int = 20261123, end: datetime | None = None
) -> dict[str, list[FakeArticle]]:
    """A month of generated PTT pages per demo board (deterministic for a seed)."""
    rng = random.Random(seed)
    end = end or datetime(2026, 11, 1, tzinfo=UTC)
    boards: dict[str, list[FakeArticle]] = {}
    for board in DEMO_BOARDS:
        articles = []
        for d in range(days):
            for k in range(per_day):
                created = end - timedelta(days=days - d) + timedelta(minutes=rng.randint(0, 1439))
                brand = rng.choice(BRANDS)
                text = rng.choice(OPINIONS).format(b=brand)
                pushes = [
                    FakePush(
                        tag,
                        f"u{rng.randint(1, 400)}",
                        msg,
                        created + timedelta(minutes=rng.randint(1, 600)),
                        ip=None,
                    )
                    for tag, msg in rng.sample(REPLIES, rng.randint(0, len(REPLIES)))
                ]
                pushes.sort(key=lambda p: p.at)
                articles.append(
                    FakeArticle(
                        board,
                        f"M.{int(created.timestamp())}.A.{(d * per_day + k) % 4096:03X}",
                        f"demo{rng.randint(1, 60)}",
                        "示範帳號",
                        f"[問卦] {text}",
                        f"(示範用的生成文字)\n{text}\n大家覺得呢？",
                        pushes=pushes,
                    )
                )
        write_board(root, board, articles, pinned=articles[:1])
        boards[board] = articles
    return boards


def run_demo(out: Path, replay: Path | None = None, boards: tuple[str, ...] = DEMO_BOARDS) -> DemoResult:
    out = Path(out)
    site = replay or out / "site"
    if replay is None:
        generate_site(site)
    store = out / "data"
    crawls = []
    with ReplayServer(site, over18_boards=("Gossiping",)) as server:
        for board in boards:
            crawls.append(
                run_crawl(
                    "ptt",
                    [board],
                    str(store),
                    since="2000-01-01",
                    base_url=server.base_url,
                    settings=LOOPBACK,
                    log_file=str(out / f"crawl-{board}.log"),
                )
            )
    return DemoResult(site_dir=site, store=store, crawls=crawls)
