"""Engagement history: snapshots from real re-crawls, the refresh policy, the viral rule read from
snapshots, and the report's growth chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from koubei.pipelines.alerts import RULE_VIRAL, read_outbox, run_alerts
from koubei.pipelines.cli import main
from koubei.pipelines.health import read_health
from koubei.pipelines.refresh import RefreshTarget, fast_growing, growth, refresh_posts, select_refresh
from koubei.pipelines.replay import ReplayServer
from koubei.pipelines.reports import build_report, render_html
from koubei.pipelines.sitegen import FakeArticle, FakePush, write_board
from koubei.pipelines.sitegen_dcard import FakeComment, FakePost
from koubei.pipelines.sitegen_dcard import write_forum as write_dcard
from koubei.pipelines.sitegen_mobile01 import FakeReply, FakeTopic
from koubei.pipelines.sitegen_mobile01 import write_forum as write_mobile01
from koubei.pipelines.store import RawStore, read_snapshots, taipei_day
from koubei.spiders.items import PostRecord, ThreadItem

from . import crawl_helpers
from . import listening_data as data

RECENT = (datetime.now(UTC) - timedelta(hours=20)).replace(second=0, microsecond=0)


def counts(root: Path, post_id: str, *cols: str) -> list[tuple]:
    rows = [r for r in read_snapshots(str(root)).to_pylist() if r["post_id"] == post_id]
    return [tuple(r[c] for c in cols) for r in rows]


# ---------------------------------------------------------------------------------------------- real re-crawls


@pytest.mark.slow
def test_three_replay_days_with_growing_pushes_give_three_snapshots(tmp_path):
    """Day 1 reads the board; days 2 and 3 re-fetch the stored articles of the last 2 days by URL
    (``--refresh-days 2 --refresh-budget 1``): only the recent one, one request each."""
    site, out = tmp_path / "site", tmp_path / "store"
    recent = FakeArticle("Alpha", f"M.{int(RECENT.timestamp())}.A.0A1", "alice", "A", "[問卦] 推爆", "內文")
    old_time = RECENT - timedelta(days=3)
    old = FakeArticle("Alpha", f"M.{int(old_time.timestamp())}.A.0B2", "bob", "B", "[閒聊] 舊文", "舊")
    fast = [f"{k}={v}" for k, v in crawl_helpers.FAST.items()]
    args = ["crawl", "ptt", "--board", "Alpha", "--out", str(out)] + [x for s in fast for x in ("-s", s)]
    write_board(site, "Alpha", [old, recent])
    with ReplayServer(site) as server:
        for day, pushes in enumerate((1, 3, 6)):
            recent.pushes = [
                FakePush("push", f"u{j}", "推", RECENT + timedelta(minutes=j)) for j in range(pushes)
            ]
            write_board(site, "Alpha", [old, recent])
            server.reload()
            window = (
                ["--since", taipei_day(old_time)]
                if day == 0
                else ["--refresh-days", "2", "--refresh-budget", "1"]
            )
            result = CliRunner().invoke(main, [*args, "--base-url", server.base_url, *window])
            assert result.exit_code == 0, result.output
            if day:
                assert "refresh: 1 stored ptt posts of the last 2 days, ~1 of 1 requests" in result.output
    assert counts(out, recent.post_id, "push_count", "comment_count") == [(1, 1), (3, 3), (6, 6)]
    assert counts(out, old.post_id, "push_count") == [(0,)]  # older than 2 days: not refreshed
    runs = sorted(read_health(str(out)), key=lambda r: r["started_at"])
    assert [(r["status"], r["requested"], r["listed"], r["items"]) for r in runs[1:]] == [("ok", 1, 1, 1)] * 2


@pytest.mark.slow
def test_dcard_and_mobile01_refresh_fetch_the_stored_posts_again(tmp_path):
    site, out = tmp_path / "site", tmp_path / "store"
    post = FakePost("makeup", 250000001, "#心得 測試", "內文", RECENT, reactions={"愛心": 2})
    post.comments = [FakeComment(f, f"留言{f}", RECENT + timedelta(minutes=f)) for f in (1, 2)]
    topic = FakeTopic("291", 6000001, "測試主題", "op", "內文", RECENT)
    topic.replies = [FakeReply(f"u{i}", f"回覆{i}", RECENT + timedelta(minutes=i)) for i in range(12)]
    write_dcard(site, "makeup", [post])
    write_mobile01(site, "291", [topic])
    since = taipei_day(RECENT - timedelta(days=1))
    with ReplayServer(site) as server:
        assert crawl_helpers.crawl("dcard", server, out, ["makeup"], since=since).ok
        assert crawl_helpers.crawl("mobile01", server, out, ["291"], since=since).ok
        post.comments += [FakeComment(f, f"留言{f}", RECENT + timedelta(minutes=f)) for f in (3, 4, 5)]
        post.reactions = {"愛心": 4}
        topic.replies += [
            FakeReply(f"v{i}", f"再回{i}", RECENT + timedelta(hours=1, minutes=i)) for i in range(3)
        ]
        write_dcard(site, "makeup", [post])
        write_mobile01(site, "291", [topic])
        server.reload()
        targets = select_refresh(str(out), days=2, budget=10)
        assert [(t.platform, t.post_id, t.cost) for t in targets] == [
            # ranked by the rate since creation: Dcard 4 interactions, Mobile01 12 replies
            ("mobile01", "6000001", 2),  # ceil((12 + 1) / 10) topic pages
            ("dcard", "250000001", 2),  # the detail and one comment page
        ]
        summaries = refresh_posts(
            str(out), targets, base_url=server.base_url, settings=crawl_helpers.FAST, timeout=120
        )
    assert [s.ok for s in summaries] == [True, True]
    health = [
        (r["platform"], r["status"], r["requested"], r["listed"], r["items"])
        for s in summaries
        for r in s.health
    ]
    assert health == [("dcard", "ok", 2, 1, 1), ("mobile01", "ok", 2, 1, 1)]  # as estimated: 2 requests each
    assert counts(out, "250000001", "comment_count", "like_count") == [(2, 2), (5, 4)]
    assert counts(out, "6000001", "comment_count") == [(12,), (15,)]


# ---------------------------------------------------------------------------------------------- refresh policy

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)


def thread(
    post_id: str,
    created: datetime,
    crawled: datetime,
    comments: int,
    *,
    platform="ptt",
    board="Alpha",
    **extra,
) -> ThreadItem:
    post = PostRecord(
        platform=platform,
        board=board,
        post_id=post_id,
        url=f"https://example.test/{post_id}",
        title="標題",
        content="內文",
        created_at=created,
        comment_count=comments,
        crawled_at=crawled,
        **extra,
    )
    return ThreadItem(post, []).finalize()


@pytest.fixture
def history(tmp_path) -> str:
    """PTT: A (snapshots 40 comments apart in 8 h: 5/h), B (one snapshot, 30 comments 47 h after
    creation), C (new, no comments), D (5 days old), E (deleted); Dcard: F (90 in 5 h: 18/h, 120
    comments: 1 + 3 requests)."""
    h = timedelta(hours=1)
    store = RawStore(str(tmp_path))
    for t in (
        thread("A", NOW - 24 * h, NOW - 10 * h, 10),
        thread("A", NOW - 24 * h, NOW - 2 * h, 50),
        thread("B", NOW - 48 * h, NOW - h, 30),
        thread("C", NOW - 6 * h, NOW - h, 0),
        thread("D", NOW - 120 * h, NOW - h, 300),
        thread("E", NOW - 24 * h, NOW - h, 80, deleted=True),
        thread("F", NOW - 12 * h, NOW - 6 * h, 60, platform="dcard", board="3c", like_count=10),
        thread("F", NOW - 12 * h, NOW - h, 120, platform="dcard", board="3c", like_count=40),
    ):
        store.upsert_threads([t])
    return str(tmp_path)


def ids(targets: list[RefreshTarget]) -> list[str]:
    return [t.post_id for t in targets]


def test_refresh_selection_respects_days_and_budget(history):
    every = select_refresh(history, days=3, budget=100, now=NOW)
    assert ids(every) == ["F", "A", "B", "C"]  # D is older than 3 days, E deleted
    assert [round(t.per_hour, 3) for t in every] == [18.0, 5.0, round(30 / 47, 3), 0.0]
    assert [t.cost for t in every] == [4, 1, 1, 1]
    assert ids(select_refresh(history, days=3, budget=4, now=NOW)) == ["F"]
    assert ids(select_refresh(history, days=3, budget=3, now=NOW)) == ["A", "B", "C"]  # F does not fit
    assert ids(select_refresh(history, days=3, budget=2, now=NOW, platform="ptt")) == ["A", "B"]
    assert ids(select_refresh(history, days=6, budget=100, now=NOW, platform="ptt")) == ["A", "D", "B", "C"]
    assert ids(select_refresh(history, days=1.1, budget=100, now=NOW, boards=["Alpha"])) == ["A", "C"]


def test_fast_growing_reads_the_latest_growth(history):
    assert ids(fast_growing(history, NOW - timedelta(hours=3), 5, now=NOW)) == ["F", "A"]
    assert ids(fast_growing(history, NOW - timedelta(minutes=90), 5, now=NOW)) == ["F"]  # A last seen 2 h ago
    assert ids(fast_growing(history, NOW - timedelta(hours=3), 1, now=NOW, platform="ptt")) == [
        "A",
        "D",
    ]  # D: 300 in 119 h


def test_growth_needs_two_snapshots_half_an_hour_apart():
    def snap(minutes: int, comments: int) -> dict:
        row = dict.fromkeys(("push_count", "boo_count", "like_count"))
        return row | {
            "platform": "ptt",
            "board": "B",
            "post_id": "P",
            "comment_count": comments,
            "crawled_at": NOW + timedelta(minutes=minutes),
        }

    assert growth([snap(0, 5)]) is None
    assert growth([snap(0, 5), snap(20, 9)]) is None
    g = growth([snap(0, 5), snap(60, 9), snap(120, 29)], span_hours=1)
    assert (g.start, g.comments, g.per_hour) == (NOW + timedelta(minutes=60), 20, 20.0)
    g = growth([snap(0, 5), snap(60, 9), snap(120, 29)], span_hours=3)  # none 3 h older: the oldest
    assert (g.start, g.comments, g.per_hour) == (NOW, 24, 12.0)


# ---------------------------------------------------------------------------------------------- viral rule

DAY = "2024-02-20"


def _thread(post_id: str, title: str, label: str) -> data.T:
    return data.T("ptt", "MobileComm", post_id, title, "內文沒有品牌", "op", "2024-02-20 09:00", label=label)


BURNING = _thread("M.1708390800.A.0F1", "[爆卦] iPhone 15 電池膨脹", "negative")  # boos grow fast
SMOULDER = _thread("M.1708390800.A.0F2", "[問題] iPhone 15 訊號差", "negative")  # grows slowly
CHEERED = _thread("M.1708390800.A.0F3", "[心得] iPhone 15 開箱", "neutral")  # fast, mostly 推
BOOED = _thread("M.1708390800.A.0F4", "[新聞] 蘋果 回應", "neutral")  # fast, mostly 噓
# (Taipei time, pushes, boos) of each crawl
CRAWLS = [
    (BURNING, [("10:00", 2, 3), ("11:00", 4, 15), ("12:00", 6, 35)]),
    (SMOULDER, [("10:00", 4, 1), ("11:00", 5, 2), ("12:00", 6, 3)]),
    (CHEERED, [("10:00", 0, 0), ("12:00", 40, 2)]),
    (BOOED, [("10:00", 0, 0), ("12:00", 5, 30)]),
]


def snapshot(t: data.T, when: str, pushes: int, boos: int) -> ThreadItem:
    item = data.raw_thread(t)
    post = item.post
    post.push_count, post.boo_count, post.arrow_count = pushes, boos, 0
    post.comment_count = pushes + boos
    post.crawled_at = data.at(f"{DAY} {when}")
    return item.finalize()


@pytest.fixture
def viral_store(tmp_path) -> Path:
    data.write_enriched(tmp_path, [t for t, _ in CRAWLS])
    store = RawStore(str(tmp_path))
    for t, crawls in CRAWLS:
        for crawl in crawls:
            store.upsert_threads([snapshot(t, *crawl)])
    return tmp_path


def viral(run) -> list[tuple]:
    return [
        (a.threads[0]["post_id"], a.observed, a.period_start, a.period_end)
        for a in run.alerts
        if a.rule == RULE_VIRAL
    ]


def test_fast_negative_thread_fires_the_viral_alert_exactly_once(viral_store, monkeypatch):
    monkeypatch.delenv("KOUBEI_ALERT_URLS", raising=False)
    root = str(viral_store)
    first = run_alerts(root, data.WATCH, day=DAY, now=data.at(f"{DAY} 12:30"), env={})
    ten, noon = data.at(f"{DAY} 10:00"), data.at(f"{DAY} 12:00")
    # BURNING: 36 comments (32 噓) in 2 h; BOOED: 35, 30 噓 of the 35 new votes; SMOULDER: 2 噓 an
    # hour, too slow; CHEERED: fast, but 40 推 of 42 about a neutral post.
    assert viral(first) == [(BURNING.post_id, 36.0, ten, noon), (BOOED.post_id, 35.0, ten, noon)]
    burning = first.alerts[0]
    assert (
        burning.title
        == "[koubei] Apple: a negative thread is going viral: 36 new comments and reactions in 2 h (18.0/h)"
    )
    assert (burning.threads[0]["pushes"], burning.threads[0]["boos"], burning.threads[0]["comments"]) == (
        6,
        35,
        36,
    )

    assert viral(run_alerts(root, data.WATCH, day=DAY, now=data.at(f"{DAY} 12:45"), env={})) == []
    RawStore(root).upsert_threads([snapshot(BURNING, "13:00", 8, 60)])
    assert viral(run_alerts(root, data.WATCH, day=DAY, now=data.at(f"{DAY} 13:30"), env={})) == []
    fired = [a.threads[0]["post_id"] for a in read_outbox(root) if a.rule == RULE_VIRAL]
    assert sorted(fired) == sorted([BURNING.post_id, BOOED.post_id])  # once each over three runs


def test_report_draws_the_viral_threads_growth_curve(viral_store):
    root = str(viral_store)
    run_alerts(root, data.WATCH, day=DAY, now=data.at(f"{DAY} 12:30"), env={})
    report = build_report(root, data.WATCH, DAY, DAY)
    curves = {c["post_id"]: c for c in report.growth}
    assert list(curves) == [BURNING.post_id, BOOED.post_id, SMOULDER.post_id]  # alerts, then top negative
    burning = curves[BURNING.post_id]
    assert burning["why"] == "Apple: viral alert"
    assert burning["times"] == [data.at(f"{DAY} {c[0]}") for c in CRAWLS[0][1]]
    assert burning["series"] == {
        "comment_count": [5, 19, 41],
        "push_count": [2, 4, 6],
        "boo_count": [3, 15, 35],
    }
    assert curves[SMOULDER.post_id]["why"] == "Apple: top negative"
    page = render_html(report)
    assert "討論串成長 Thread growth" in page
    assert (
        '"y":[3,15,35]' in page and '"x":["2024-02-20 10:00","2024-02-20 11:00","2024-02-20 12:00"]' in page
    )
