"""End-to-end: the real Scrapy spider crawls the loopback replay server into Parquet.

Each crawl is a real ``scrapy crawl`` child process, as in production; only the base URL and the
politeness delays differ (zero delays on loopback keep the suite fast).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from koubei.pipelines.replay import FaultPlan, ReplayServer
from koubei.pipelines.schemas import COMMENTS, POSTS
from koubei.pipelines.sitegen import FakeArticle, FakePush, write_board
from koubei.pipelines.store import RawStore, read_dataset

from . import crawl_helpers
from .conftest import FIXTURES, require_shared

pytestmark = pytest.mark.slow
BOARD = "KoubeiTest"
T0 = datetime(2024, 2, 1, tzinfo=UTC)


def make_articles(n: int, start: datetime = T0, seed: int = 7, hours: int = 5) -> list[FakeArticle]:
    """Generated articles (synthetic text) with 0–8 pushes each."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        created = start + timedelta(hours=hours * i)
        pushes = [
            FakePush(
                rng.choice(["push", "boo", "neutral"]),
                f"user{j}",
                f"留言{i}-{j}",
                created + timedelta(minutes=3 * (j + 1)),
                ip=None,
            )
            for j in range(rng.randint(0, 8))
        ]
        out.append(
            FakeArticle(
                BOARD,
                f"M.{int(created.timestamp())}.A.{i % 4096:03X}",
                f"author{i % 7}",
                "暱稱",
                f"[問卦] 測試文章 {i}",
                f"第 {i} 篇的內文\n第二行",
                pushes=pushes,
            )
        )
    return out


@pytest.fixture
def board_site(tmp_path) -> tuple[Path, list[FakeArticle]]:
    articles = make_articles(45)
    write_board(tmp_path / "site", BOARD, articles, pinned=articles[:1], deleted_per_page=1)
    return tmp_path / "site", articles


def crawl(server: ReplayServer, out: Path, since: str | None = "2024-01-01", **kw):
    return crawl_helpers.crawl("ptt", server, out, [kw.pop("board", BOARD)], since, **kw)


def rows(table, *cols):
    return sorted(tuple(r[c] for c in cols) for r in table.to_pylist())


def test_crawl_writes_documented_schema_and_is_idempotent(board_site, tmp_path):
    site, articles = board_site
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        first = crawl(server, out)
        files_first = crawl_helpers.parquet_files(out)
        second = crawl(server, out)
    assert first.ok, first.line()
    assert (first.posts, first.count("koubei/store/new")) == (45, 45)
    assert first.count("koubei/ptt/rows/pinned") == 1 and first.count("koubei/ptt/rows/deleted") == 3
    expected_comments = sum(len(a.pushes) for a in articles)
    assert first.comments == expected_comments

    posts = read_dataset(str(out), "posts")
    assert posts.schema == POSTS.schema and posts.num_rows == 45
    comments = read_dataset(str(out), "comments")
    assert comments.schema == COMMENTS.schema and comments.num_rows == expected_comments
    # Partition = Taipei day of creation; times stored in UTC.
    a0 = articles[0]
    row = next(r for r in posts.to_pylist() if r["post_id"] == a0.post_id)
    assert row["date"] == a0.created_at.date().isoformat() and row["platform"] == "ptt"
    assert row["created_at"] == a0.created_at.astimezone(UTC)
    assert (out / "posts" / "platform=ptt" / f"date={row['date']}" / f"{BOARD}.parquet").exists()

    # Other readers see the same data with the documented columns.
    df = pd.read_parquet(out / "posts")
    assert set(POSTS.schema.names) <= set(df.columns) and len(df) == 45
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    con = duckdb.connect()
    n, boos = con.execute(
        f"select count(*), sum(boo_count) from read_parquet('{out}/posts/**/*.parquet', "
        "hive_partitioning=true) where platform = 'ptt'"
    ).fetchone()
    assert (n, boos) == (45, sum(1 for a in articles for p in a.pushes if p.tag == "boo"))
    per_tag = dict(
        con.execute(
            f"select tag, count(*) from read_parquet('{out}/comments/**/*.parquet', "
            "hive_partitioning=true) group by tag"
        ).fetchall()
    )
    assert per_tag == {t: sum(1 for a in articles for p in a.pushes if p.tag == t) for t in per_tag}

    # The second identical crawl changes nothing: same rows, byte-identical files.
    assert (
        second.ok and second.count("koubei/store/unchanged") == 45 and second.count("koubei/store/new") == 0
    )
    assert crawl_helpers.parquet_files(out) == files_first
    cursor = RawStore(str(out)).read_cursor("ptt", BOARD)
    assert cursor.newest_post_id == articles[-1].post_id


def test_recrawl_replaces_changed_article_and_marks_deleted(board_site, tmp_path):
    site, articles = board_site
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        assert crawl(server, out).ok
        # New pushes on one article, another article deleted (PTT answers 404).
        grown = articles[10]
        grown.pushes.append(FakePush("boo", "latecomer", "噓爆", grown.created_at + timedelta(days=1)))
        write_board(site, BOARD, articles, pinned=articles[:1], deleted_per_page=1)
        (site / "bbs" / BOARD / f"{articles[11].post_id}.html").unlink()
        server.reload()
        again = crawl(server, out)
    assert again.ok
    assert again.count("koubei/store/updated") == 1 and again.count("koubei/store/marked_deleted") == 1
    assert again.skipped == {"not_found": 1}
    posts = {r["post_id"]: r for r in read_dataset(str(out), "posts").to_pylist()}
    assert len(posts) == 45
    assert posts[grown.post_id]["boo_count"] == sum(1 for p in grown.pushes if p.tag == "boo")
    assert posts[articles[11].post_id]["deleted"] is True  # kept, flagged: nothing stored is lost
    comments = read_dataset(str(out), "comments").to_pylist()
    assert [c["content"] for c in comments if c["post_id"] == grown.post_id][-1] == "噓爆"
    assert len({(c["post_id"], c["seq"]) for c in comments}) == len(comments)


def test_incremental_run_fetches_new_articles_and_lookback_only(tmp_path):
    site = tmp_path / "site"
    articles = make_articles(60, hours=12)  # one every 12 h over 30 days
    write_board(site, BOARD, articles[:50])
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        assert crawl(server, out, since="2024-01-01").posts == 50
        write_board(site, BOARD, articles)  # ten new articles appear overnight
        server.reload()
        before = {a.post_id: server.hits(f"/bbs/{BOARD}/{a.post_id}.html") for a in articles}
        nightly = crawl(server, out, since=None, lookback_days=2)
        after = {a.post_id: server.hits(f"/bbs/{BOARD}/{a.post_id}.html") for a in articles}
    assert nightly.ok
    fetched = [a for a in articles if after[a.post_id] > before[a.post_id]]
    # The 10 new ones plus those within 2 days of the previous newest (articles[49]): 48, 49 and 46 or 47.
    newest_old = articles[49].created_at
    window = [a for a in articles[:50] if a.created_at >= newest_old - timedelta(days=2)]
    assert fetched == window + articles[50:]
    assert nightly.count("koubei/store/new") == 10 and nightly.count("koubei/store/unchanged") == len(window)
    assert len(read_dataset(str(out), "posts")) == 60


def test_killed_crawl_resumes_with_every_article_exactly_once(tmp_path):
    site = tmp_path / "site"
    articles = make_articles(80, hours=2)
    write_board(site, BOARD, articles)
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        stored = crawl_helpers.kill_midway("ptt", server, out, [BOARD], 20, tmp_path / "killed.log")
        assert 20 <= stored < 80, f"kill came at {stored} stored articles"
        assert RawStore(str(out)).read_cursor("ptt", BOARD) is None  # never advanced by a killed crawl
        resumed = crawl(server, out)
    assert resumed.ok
    posts = read_dataset(str(out), "posts").to_pylist()
    assert sorted(p["post_id"] for p in posts) == sorted(a.post_id for a in articles)
    comments = read_dataset(str(out), "comments").to_pylist()
    assert len(comments) == sum(len(a.pushes) for a in articles)
    assert len({(c["post_id"], c["seq"]) for c in comments}) == len(comments)
    assert crawl_helpers.only_hidden_temp_files(out)


def test_each_fault_ends_in_retry_or_counted_skip(board_site, tmp_path):
    site, articles = board_site
    path = f"/bbs/{BOARD}/" + "{}.html"
    faults = (
        FaultPlan(timeout_seconds=3)
        .add(f"/bbs/{BOARD}/index.html", "429")
        .add(path.format(articles[3].post_id), "503", "truncated")
        .add(path.format(articles[5].post_id), "timeout")
        .add(path.format(articles[6].post_id), "dataloss")
        .add(path.format(articles[4].post_id), "cloudflare")
        .add(path.format(articles[7].post_id), "403")
        .add(path.format(articles[8].post_id), "503", "503", "503", "503", "503")
    )
    with ReplayServer(site, faults=faults) as server:
        summary = crawl(server, tmp_path / "store", settings={"RETRY_TIMES": "3"})
    assert summary.ok, summary.line()
    stored = {r["post_id"] for r in read_dataset(str(tmp_path / "store"), "posts").to_pylist()}
    lost = {articles[4].post_id, articles[7].post_id, articles[8].post_id}
    assert (
        stored == {a.post_id for a in articles} - lost
    )  # retried pages arrived; one bad page never ends the crawl
    assert summary.blocked == {"cloudflare": 1}  # a challenge is "blocked", not a parse error
    assert summary.skipped == {"http_403": 1, "http_503": 1}
    assert summary.count("retry/reason_count/429 Unknown Status") == 1
    assert summary.count("retry/reason_count/truncated page") == 1
    assert summary.count("retry/reason_count/scrapy.exceptions.DownloadTimeoutError") == 1
    assert summary.count("retry/reason_count/scrapy.exceptions.ResponseDataLossError") == 1
    assert summary.count("koubei/retry/gave_up") == 1
    assert "parse_error" not in summary.skipped


def test_over18_gate_is_passed_with_the_cookie_and_counted_without_it(tmp_path):
    site = tmp_path / "site"
    write_board(
        site,
        "Gossiping",
        [FakeArticle("Gossiping", "M.1706745600.A.001", "alice", "A", "[問卦] 有沒有", "內文")],
    )
    with ReplayServer(site, over18_boards=("Gossiping",)) as server:
        ok = crawl(server, tmp_path / "a", board="Gossiping")
        gated = crawl(server, tmp_path / "b", board="Gossiping", settings={"COOKIES_ENABLED": "False"})
    assert ok.posts == 1 and ok.blocked == {}
    assert gated.posts == 0 and gated.blocked == {"over18": 1}


@pytest.mark.shared
def test_crawl_real_saved_articles(tmp_path):
    """Real Gossiping pages from shared/fixtures, behind the over-18 gate, listed by our index pages."""
    real = require_shared("fixtures", "ptt")
    with ReplayServer([real, FIXTURES / "ptt_site"], over18_boards=("Gossiping",)) as server:
        summary = crawl(server, tmp_path / "store", board="Gossiping", since="2005-01-01")
    assert summary.ok, summary.line()
    posts = {r["post_id"]: r for r in read_dataset(str(tmp_path / "store"), "posts").to_pylist()}
    assert sorted(posts) == [
        "M.1119222611.A.7A9",
        "M.1119222660.A.94E",
        "M.1123769450.A.A1A",
        "M.1173456473.A.F4F",
        "M.1175469904.A.05B",
        "M.1519661420.A.098",
    ]
    assert summary.skipped == {"not_found": 1}  # M.1577579359: PTT's 404 page
    assert summary.count("koubei/ptt/rows/deleted") == 2 and summary.count("koubei/ptt/rows/pinned") == 1
    assert summary.comments == 1491 + 841 + 8 + 40 + 45 + 34
    assert (posts["M.1119222611.A.7A9"]["push_count"], posts["M.1119222611.A.7A9"]["boo_count"]) == (338, 833)
    assert posts["M.1123769450.A.A1A"]["date"] == "2005-08-10"
