"""Crawl health rows and engagement snapshots, through real crawls of the loopback replay server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.crawl import CrawlSummary, run_crawl
from koubei.pipelines.health import health_rows, read_health, write_health
from koubei.pipelines.replay import FaultPlan, ReplayServer
from koubei.pipelines.sitegen import FakeArticle, FakePush, article_html, write_board
from koubei.pipelines.store import RawStore, read_dataset, taipei_day
from koubei.spiders.parsers import ptt

from . import crawl_helpers
from .test_crawl_ptt import make_articles

T0 = datetime(2024, 2, 1, tzinfo=UTC)


def site_with(tmp_path: Path, **boards: int) -> Path:
    site = tmp_path / "site"
    for i, (board, n) in enumerate(boards.items()):
        articles = make_articles(n, start=T0 + timedelta(minutes=i), seed=i)
        for a in articles:
            a.board = board
        write_board(site, board, articles)
    return site


@pytest.mark.slow
def test_clean_crawl_gives_one_ok_row_per_board_with_exact_counts(tmp_path):
    site = site_with(tmp_path, Alpha=25, Beta=5)  # Alpha: 2 index pages, Beta: 1
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        summary = crawl_helpers.crawl("ptt", server, out, ["Alpha", "Beta"])
    assert summary.ok, summary.line()
    got = {r["board"]: r for r in read_health(str(out))}
    assert sorted(got) == ["Alpha", "Beta"]
    pick = ("status", "requested", "succeeded", "retried", "blocked", "failed", "parse_errors", "listed")
    assert [got["Alpha"][k] for k in pick] == ["ok", 2 + 25, 2 + 25, 0, 0, 0, 0, 25]
    assert [got["Beta"][k] for k in pick] == ["ok", 1 + 5, 1 + 5, 0, 0, 0, 0, 5]
    counts = ("items", "new", "updated", "unchanged", "finish_reason", "returncode", "blocked_reasons")
    assert [got["Alpha"][k] for k in counts] == [25, 25, 0, 0, "finished", 0, {}]
    assert [got["Beta"][k] for k in counts] == [5, 5, 0, 0, "finished", 0, {}]
    assert got["Alpha"]["run_id"] == got["Beta"]["run_id"] and got["Alpha"]["duration_s"] > 0
    day = taipei_day(got["Alpha"]["started_at"])
    assert got["Alpha"]["date"] == day and (out / "health" / f"date={day}" / "health.parquet").exists()
    assert [r["status"] for r in summary.health] == ["ok", "ok"]


@pytest.mark.slow
def test_cloudflare_on_the_index_is_a_blocked_row_naming_the_reason(tmp_path):
    site = site_with(tmp_path, Alpha=5)
    faults = FaultPlan().add("/bbs/Alpha/index.html", "cloudflare")
    with ReplayServer(site, faults=faults) as server:
        summary = crawl_helpers.crawl("ptt", server, tmp_path / "store", ["Alpha"])
    assert summary.ok  # Scrapy finished cleanly: only the health row says the crawl was blind
    [row] = read_health(str(tmp_path / "store"))
    assert (row["status"], row["blocked"], row["blocked_reasons"]) == ("blocked", 1, {"cloudflare": 1})
    assert (row["requested"], row["succeeded"], row["items"], row["listed"]) == (1, 0, 0, 0)


@pytest.mark.slow
def test_killed_crawl_still_gets_a_failed_row(tmp_path):
    site = site_with(tmp_path, Alpha=40)
    with ReplayServer(site) as server:
        summary = run_crawl(
            "ptt",
            ["Alpha"],
            str(tmp_path / "store"),
            since="2024-01-01",
            base_url=server.base_url,
            settings={**crawl_helpers.KILLABLE, "DOWNLOAD_DELAY": "0.5"},
            timeout=1.5,
        )
    assert summary.returncode != 0
    [row] = read_health(str(tmp_path / "store"))
    assert (row["status"], row["finish_reason"], row["returncode"]) == ("failed", None, summary.returncode)


def test_empty_list_after_a_listed_run_is_blocked_and_rules_are_ordered():
    now = datetime(2024, 3, 1, 12, tzinfo=UTC)

    def summary(returncode=0, reason="finished", **source) -> CrawlSummary:
        stats = {"koubei/sources": ["B"], **{f"koubei/source/B/{k}": v for k, v in source.items()}}
        return CrawlSummary("ptt", returncode, reason, stats)

    def status(s: CrawlSummary, previous=None) -> str:
        [row] = health_rows(s, "r", now, now + timedelta(seconds=5), previous=previous)
        return row["status"]

    fine = {"requested": 20, "succeeded": 20, "listed": 10, "items": 10}
    assert status(summary(**fine)) == "ok"
    assert status(summary(**{**fine, "listed": 0, "items": 0}), {"B": {"listed": 10}}) == "blocked"
    assert status(summary(**{**fine, "listed": 0, "items": 0}), {"B": {"listed": 0}}) == "ok"
    assert status(summary(**{**fine, "failed/http_403": 1})) == "ok"  # one refusal, items came back
    assert status(summary(**{**fine, "items": 0, "failed/http_403": 1})) == "blocked"
    assert status(summary(**{**fine, "failed/timeout": 3})) == "partial"  # 3/20 > 10%
    assert status(summary(**{**fine, "failed/timeout": 2})) == "ok"  # 2/20 = 10%: not above
    assert status(summary(reason="closespider_timeout", **fine)) == "partial"
    assert status(summary(returncode=-9, reason=None, **fine)) == "failed"


@pytest.mark.slow
def test_each_crawl_of_a_post_appends_a_snapshot_with_its_counts(tmp_path):
    site = tmp_path / "site"
    created = datetime(2024, 2, 1, 10, tzinfo=UTC)
    article = FakeArticle("Alpha", f"M.{int(created.timestamp())}.A.001", "alice", "A", "[問卦] 推爆", "內文")
    out = tmp_path / "store"
    write_board(site, "Alpha", [article])
    with ReplayServer(site) as server:
        for day, pushes in enumerate((1, 3, 6)):  # the article on three replay "days"
            article.pushes = [
                FakePush("push", f"u{j}", "推", created + timedelta(days=day, minutes=j))
                for j in range(pushes)
            ]
            write_board(site, "Alpha", [article])
            server.reload()
            assert crawl_helpers.crawl("ptt", server, out, ["Alpha"]).ok
        raw = crawl_helpers.parquet_files(out)
        assert crawl_helpers.crawl("ptt", server, out, ["Alpha"]).count("koubei/store/unchanged") == 1
    assert crawl_helpers.parquet_files(out) == raw  # posts/comments byte-identical on an unchanged crawl
    snaps = sorted(read_dataset(str(out), "post_snapshots").to_pylist(), key=lambda r: r["crawled_at"])
    assert [r["push_count"] for r in snaps] == [1, 3, 6, 6]
    assert {(r["platform"], r["date"], r["board"], r["post_id"]) for r in snaps} == {
        ("ptt", "2024-02-01", "Alpha", article.post_id)
    }
    assert len({r["crawled_at"] for r in snaps}) == 4


def test_a_replayed_batch_never_doubles_snapshots(tmp_path):
    url = "https://www.ptt.cc/bbs/Alpha/M.1706781600.A.001.html"
    article = FakeArticle("Alpha", "M.1706781600.A.001", "alice", "A", "[問卦] 測試", "內文")
    article.pushes = [FakePush("boo", "bob", "噓", datetime(2024, 2, 1, 11, tzinfo=UTC))]
    at = datetime(2024, 2, 2, tzinfo=UTC)
    thread = ptt.parse_article(article_html(article).encode(), url, crawled_at=at)
    store = RawStore(str(tmp_path))
    assert store.upsert_threads([thread]).snapshots == 1
    assert store.upsert_threads([thread]).snapshots == 0  # same post, same crawled_at: replaced
    later = ptt.parse_article(article_html(article).encode(), url, crawled_at=at + timedelta(hours=1))
    assert store.upsert_threads([later]).snapshots == 1
    rows = read_dataset(str(tmp_path), "post_snapshots").to_pylist()
    assert [(r["crawled_at"], r["boo_count"], r["push_count"]) for r in rows] == [
        (at, 1, 0),
        (at + timedelta(hours=1), 1, 0),
    ]


def test_health_command_prints_rows_worst_first(tmp_path):
    started = datetime(2024, 3, 1, 4, tzinfo=UTC)  # 12:00 Taipei
    base = dict(
        platform="ptt",
        finish_reason="finished",
        returncode=0,
        started_at=started,
        finished_at=started + timedelta(seconds=9),
        duration_s=9.0,
        requested=10,
        succeeded=10,
        retried=0,
        blocked=0,
        blocked_reasons={},
        failed=0,
        parse_errors=0,
        listed=10,
        empty_list=False,
        items=10,
        new=10,
        updated=0,
        unchanged=0,
        marked_deleted=0,
        fields_missing=0,
        blocked_share=0.0,
        error=None,
    )
    rows = [
        {**base, "run_id": "r1", "board": "Okay", "status": "ok"},
        {**base, "run_id": "r1", "board": "Half", "status": "partial", "failed": 3, "blocked_share": 0.3},
        {
            **base,
            "run_id": "r1",
            "board": "Blind",
            "status": "blocked",
            "blocked": 1,
            "blocked_reasons": {"cloudflare": 1},
        },
        {
            **base,
            "run_id": "r2",
            "board": "Dead",
            "status": "failed",
            "finish_reason": None,
            "returncode": -9,
        },
        {
            **base,
            "run_id": "r3",
            "board": "Old",
            "status": "failed",
            "started_at": started - timedelta(days=5),
        },
    ]
    write_health(str(tmp_path), rows)
    result = CliRunner().invoke(
        main, ["health", "--out", str(tmp_path), "--from", "2024-03-01", "--to", "2024-03-01"]
    )
    assert result.exit_code == 0, result.output
    order = [b for b in ("Dead", "Blind", "Half", "Okay", "Old") if f"ptt/{b}" in result.output]
    assert order == ["Dead", "Blind", "Half", "Okay"]
    positions = [result.output.index(f"ptt/{b}") for b in order]
    assert positions == sorted(positions)
    assert "cloudflare 1" in result.output and "died (rc -9)" in result.output
    empty = CliRunner().invoke(
        main, ["health", "--out", str(tmp_path), "--from", "2023-01-01", "--to", "2023-01-02"]
    )
    assert empty.exit_code == 1 and "no crawl health rows" in empty.output
