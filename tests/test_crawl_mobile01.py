"""End-to-end: the real Mobile01 spider crawls the loopback replay server into Parquet.

Topic and list pages are generated (synthetic text) in the markup our parser reads, or are the
hand-written pages of ``tests/fixtures/mobile01_site`` (no real topic page was ever saved).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.replay import FaultPlan, ReplayServer
from koubei.pipelines.schemas import COMMENTS, POSTS
from koubei.pipelines.sitegen_mobile01 import FakeReply, FakeTopic, write_forum
from koubei.pipelines.store import RawStore, read_dataset

from . import crawl_helpers
from .conftest import FIXTURES

pytestmark = pytest.mark.slow
FORUM = "9001"
TAIPEI = ZoneInfo("Asia/Taipei")
T0 = datetime(2024, 2, 1, tzinfo=UTC)


def make_topics(n: int, start: datetime = T0, hours: int = 7, seed: int = 5) -> list[FakeTopic]:
    """Generated topics with 0–25 replies (up to 3 pages), some quoting the reply before."""
    rng = random.Random(seed)
    topics = []
    for i in range(n):
        created = start + timedelta(hours=hours * i)
        replies = [
            FakeReply(
                f"user{j % 6}",
                f"回覆{i}-{j}",
                created + timedelta(minutes=11 * (j + 1)),
                quote=f"user{(j - 1) % 6} wrote: 回覆{i}-{j - 1}" if j and rng.random() < 0.2 else None,
            )
            for j in range(rng.choice([0, 1, 3, 9, 10, 25]))
        ]
        topics.append(
            FakeTopic(
                FORUM, 7000000 + i, f"測試主題 {i}", f"author{i % 5}", f"第 {i} 篇\n第二行", created, replies
            )
        )
    return topics


def pinned() -> FakeTopic:
    return FakeTopic(
        FORUM, 6999999, "【版規】發文前請先看", "mod", "規則", T0 - timedelta(days=400), pinned=True
    )


def crawl(server, out: Path, since: str | None = "2024-01-01", **kw):
    return crawl_helpers.crawl("mobile01", server, out, [kw.pop("forum", FORUM)], since, **kw)


@pytest.fixture
def forum_site(tmp_path) -> tuple[Path, list[FakeTopic]]:
    topics = make_topics(40)
    write_forum(tmp_path / "site", FORUM, topics + [pinned()], per_list_page=15)
    return tmp_path / "site", topics


def test_crawl_writes_schema_and_is_idempotent(forum_site, tmp_path):
    site, topics = forum_site
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        first = crawl(server, out)
        files = crawl_helpers.parquet_files(out)
        second = crawl(server, out)  # reply counts unchanged: no topic fetched again
        third = crawl(server, out, spider_args={"refresh": "all"})
    assert first.ok, first.line()
    replies = sum(len(t.replies) for t in topics)
    assert (first.posts, first.count("koubei/store/new"), first.comments) == (40, 40, replies)
    assert first.count("koubei/mobile01/rows/pinned") == 1 and first.count("koubei/mobile01/list_pages") == 3
    assert first.count("koubei/mobile01/topic_pages") == sum(t.pages for t in topics)
    posts = read_dataset(str(out), "posts")
    assert posts.schema == POSTS.schema and posts.num_rows == 40
    comments = read_dataset(str(out), "comments")
    assert comments.schema == COMMENTS.schema and comments.num_rows == replies
    big = next(t for t in topics if len(t.replies) == 25)  # 3 pages: #2–#10, #11–#20, #21–#26
    row = next(r for r in posts.to_pylist() if r["post_id"] == str(big.topic))
    assert (row["board"], row["title"], row["author_id"], row["content"]) == (
        FORUM,
        big.title,
        big.author,
        big.body,
    )
    day = big.created_at.astimezone(TAIPEI).date().isoformat()
    assert (row["comment_count"], row["created_at"], row["date"]) == (25, big.created_at, day)
    assert row["url"] == f"https://www.mobile01.com/topicdetail.php?f={FORUM}&t={big.topic}"
    mine = sorted(
        (c["seq"], c["content"], c["quote"]) for c in comments.to_pylist() if c["post_id"] == str(big.topic)
    )
    assert [(s, text) for s, text, _ in mine] == [
        (j + 2, f"回覆{big.topic - 7000000}-{j}") for j in range(25)
    ]
    assert [q for _, _, q in mine] == [r.quote for r in big.replies]  # quotes kept apart from content
    assert second.ok and second.count("koubei/mobile01/topics/unchanged") == 40 and second.posts == 0
    assert third.ok and third.count("koubei/store/unchanged") == 40
    assert crawl_helpers.parquet_files(out) == files  # byte-identical after both re-runs
    newest = max(topics, key=lambda t: t.last_activity)
    assert RawStore(str(out)).read_cursor("mobile01", FORUM).newest_post_id == str(newest.topic)


def test_new_replies_refetch_only_their_topic(tmp_path):
    site, out = tmp_path / "site", tmp_path / "store"
    topics = make_topics(30, hours=12)
    write_forum(site, FORUM, topics[:28])
    with ReplayServer(site) as server:
        assert crawl(server, out).posts == 28
        # Overnight: two new topics, and new replies on an old topic (created weeks ago).
        old = topics[3]
        old.replies.append(FakeReply("latecomer", "一年後的回覆", topics[29].created_at + timedelta(hours=1)))
        write_forum(site, FORUM, topics)
        server.reload()
        before = {t.topic: server.hits(f"/topicdetail.php?f={FORUM}&t={t.topic}") for t in topics}
        nightly = crawl(server, out, since=None, lookback_days=1)
        after = {t.topic: server.hits(f"/topicdetail.php?f={FORUM}&t={t.topic}") for t in topics}
    assert nightly.ok, nightly.line()
    assert [t.topic for t in topics if after[t.topic] > before[t.topic]] == [
        old.topic,
        topics[28].topic,
        topics[29].topic,
    ]
    assert (nightly.count("koubei/store/new"), nightly.count("koubei/store/updated")) == (2, 1)
    stored = {r["post_id"]: r for r in read_dataset(str(out), "posts").to_pylist()}
    assert len(stored) == 30 and stored[str(old.topic)]["comment_count"] == len(old.replies)


def test_killed_crawl_resumes_with_every_topic_exactly_once(tmp_path):
    site, out = tmp_path / "site", tmp_path / "store"
    topics = make_topics(70, hours=2)
    write_forum(site, FORUM, topics)
    with ReplayServer(site) as server:
        stored = crawl_helpers.kill_midway("mobile01", server, out, [FORUM], 15, tmp_path / "killed.log")
        assert 15 <= stored < 70, f"kill came at {stored} stored topics"
        assert RawStore(str(out)).read_cursor("mobile01", FORUM) is None
        resumed = crawl(server, out)
    assert resumed.ok, resumed.line()
    rows = read_dataset(str(out), "posts").to_pylist()
    assert sorted(r["post_id"] for r in rows) == sorted(str(t.topic) for t in topics)
    comments = read_dataset(str(out), "comments").to_pylist()
    assert len(comments) == sum(len(t.replies) for t in topics)
    assert len({(c["post_id"], c["seq"]) for c in comments}) == len(comments)
    assert crawl_helpers.only_hidden_temp_files(out)


def test_each_fault_ends_in_retry_or_counted_skip(forum_site, tmp_path):
    site, topics = forum_site
    multi = [t for t in topics if t.pages >= 2]
    single = [t for t in topics if t.pages == 1]

    def url(t: FakeTopic, page: int = 1) -> str:
        return f"/topicdetail.php?f={FORUM}&t={t.topic}" + (f"&p={page}" if page > 1 else "")

    faults = (
        FaultPlan(timeout_seconds=3)
        .add(f"/topiclist.php?f={FORUM}&p=2", "429")
        .add(url(multi[0], 2), "503", "truncated")
        .add(url(single[0]), "timeout")
        .add(url(single[1]), "dataloss")
        .add(url(single[2]), "cloudflare")
        .add(url(single[3]), "cfblock")
        .add(url(multi[1], 2), "503", "503", "503", "503", "503")  # page 2 never comes: topic waits
    )
    with ReplayServer(site, faults=faults) as server:
        summary = crawl(server, tmp_path / "store", settings={"RETRY_TIMES": "3"})
    assert summary.ok, summary.line()
    stored = {r["post_id"] for r in read_dataset(str(tmp_path / "store"), "posts").to_pylist()}
    lost = {str(single[2].topic), str(single[3].topic), str(multi[1].topic)}
    assert stored == {str(t.topic) for t in topics} - lost  # never half a topic
    assert summary.blocked == {"cloudflare": 2}
    assert summary.skipped == {"http_503": 1}
    assert summary.count("retry/reason_count/429 Unknown Status") == 1
    assert summary.count("retry/reason_count/truncated page") == 1
    assert summary.count("retry/reason_count/scrapy.exceptions.DownloadTimeoutError") == 1
    assert summary.count("retry/reason_count/scrapy.exceptions.ResponseDataLossError") == 1
    assert "parse_error" not in summary.skipped and "not_mobile01" not in summary.skipped


def test_crawl_own_fixture_pages_counts_missing_fields(tmp_path):
    with ReplayServer(FIXTURES / "mobile01_site") as server:
        summary = crawl(server, tmp_path / "store", since="2024-02-01")
    assert summary.ok, summary.line()
    assert (summary.posts, summary.comments) == (2, 14)
    assert summary.count("koubei/mobile01/list_pages") == 2  # page 2 lists only a 2023 topic: stop
    assert summary.count("koubei/mobile01/rows/pinned") == 1
    assert summary.count("koubei/fields_missing/mobile01_reply_created_at") == 1
    assert summary.count("koubei/fields_missing/mobile01_reply_floor") == 1
    comments = read_dataset(str(tmp_path / "store"), "comments").to_pylist()
    quoted = [c for c in comments if c["quote"]]
    assert len(quoted) == 3 and all("wrote:" not in c["content"] for c in comments)
    assert sum(bool(c["is_op"]) for c in comments) == 3  # 居家小明 answering (#3, #7, #10); 梅雨季 never
    cursor = RawStore(str(tmp_path / "store")).read_cursor("mobile01", FORUM)
    assert (cursor.newest_post_id, cursor.newest_created_at) == (
        "9000001",
        datetime(2024, 3, 5, 23, 0, tzinfo=UTC),
    )


def test_cli_crawl_mobile01(tmp_path):
    runner = CliRunner()
    with ReplayServer(FIXTURES / "mobile01_site") as server:
        fast = [x for k, v in crawl_helpers.FAST.items() for x in ("-s", f"{k}={v}")]
        result = runner.invoke(
            main,
            ["crawl", "mobile01", "--forum", FORUM, "--since", "2024-02-01", "--base-url", server.base_url]
            + ["--out", str(tmp_path / "d"), *fast],
        )
    assert result.exit_code == 0, result.output
    # robots.txt, 2 list pages, 9000001 p1 + p2, 9000002
    assert "mobile01: finished — pages 6, posts 2, comments 14, stored new 2" in result.output
    bad = runner.invoke(main, ["crawl", "mobile01", "--forum", "家電"])
    assert bad.exit_code == 2 and "numeric ids" in bad.output and "Traceback" not in bad.output
