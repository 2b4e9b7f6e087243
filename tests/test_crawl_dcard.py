"""End-to-end: the real Dcard spider crawls the loopback replay server into Parquet.

The site is generated (synthetic text) in the API's real field layout, written exactly as the
spider pages it; one test crawls the real saved 2025 post detail through a hand-written list.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.replay import FaultPlan, ReplayServer
from koubei.pipelines.schemas import COMMENTS, POSTS
from koubei.pipelines.sitegen_dcard import FakeComment, FakePost, write_forum
from koubei.pipelines.store import RawStore, read_dataset

from . import crawl_helpers
from .conftest import FIXTURES, require_shared

pytestmark = pytest.mark.slow
FORUM = "makeup"
T0 = datetime(2024, 2, 1, tzinfo=UTC)
PAGING = {"limit": "20", "comments_limit": "5"}  # small pages, so lists and comments really page
API = "/service/api/v2"


def make_posts(n: int, start: datetime = T0, hours: int = 5, seed: int = 3) -> list[FakePost]:
    """Generated posts: 0–7 comments each (~10% hidden), some with sub-comments, some nicknamed."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        created = start + timedelta(hours=hours * i)
        comments = []
        for floor in range(1, rng.randint(0, 7) + 1):
            text = None if rng.random() < 0.1 else f"留言{i}-{floor}"
            c = FakeComment(floor, text, created + timedelta(minutes=3 * floor), likes=rng.randint(0, 5))
            if text and rng.random() < 0.3:
                c.replies = [
                    FakeComment(k, f"回覆{i}-{floor}-{k}", c.at + timedelta(minutes=k))
                    for k in range(1, rng.randint(2, 7))
                ]
            comments.append(c)
        posts.append(
            FakePost(
                FORUM,
                250000000 + 37 * i,
                f"#心得 測試文章 {i}",
                f"第 {i} 篇內文\n第二行",
                created,
                reactions={"愛心": rng.randint(0, 9), "哈哈": rng.randint(0, 2)},
                comments=comments,
                topics=["保養", "測試"],
                nickname=("暱稱", f"uid{i}") if i % 4 == 0 else None,
            )
        )
    return posts


def n_comments(posts: list[FakePost]) -> int:
    return sum(len(p.comments) + sum(len(c.replies) for c in p.comments) for p in posts)


def crawl(server, out: Path, since: str | None = "2024-01-01", **kw):
    kw["spider_args"] = {**PAGING, **kw.get("spider_args", {})}
    return crawl_helpers.crawl("dcard", server, out, [kw.pop("forum", FORUM)], since, **kw)


@pytest.fixture
def forum_site(tmp_path) -> tuple[Path, list[FakePost]]:
    posts = make_posts(45)
    write_forum(
        tmp_path / "site", FORUM, posts, limit=20, comments_limit=5, web_pages=True, embedded_comments=7
    )
    return tmp_path / "site", posts


def test_crawl_writes_schema_and_is_idempotent(forum_site, tmp_path):
    site, posts = forum_site
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        first = crawl(server, out)
        files = crawl_helpers.parquet_files(out)
        second = crawl(server, out)  # counts unchanged: no post fetched again
        files_second = crawl_helpers.parquet_files(out)
        third = crawl(server, out, spider_args={"refresh": "all"})  # everything fetched again
    assert first.ok, first.line()
    assert (first.posts, first.count("koubei/store/new"), first.comments) == (45, 45, n_comments(posts))
    hidden = sum(c.text is None for p in posts for c in p.comments)
    assert hidden > 0 and first.count("koubei/dcard/comments_hidden") == hidden
    assert first.count("koubei/dcard/list_pages") == 4  # 20 + 20 + 5 + the empty page
    stored = read_dataset(str(out), "posts")
    assert stored.schema == POSTS.schema and stored.num_rows == 45
    comments = read_dataset(str(out), "comments")
    assert comments.schema == COMMENTS.schema and comments.num_rows == n_comments(posts)
    rows = {r["post_id"]: r for r in stored.to_pylist()}
    p0 = posts[0]
    r0 = rows[str(p0.post_id)]
    assert (r0["board"], r0["title"], r0["like_count"], r0["comment_count"]) == (
        FORUM,
        p0.title,
        p0.like_count,
        len(p0.comments),
    )
    assert (r0["author_id"], r0["author_nickname"], r0["category"], r0["topics"]) == (
        "uid0",
        "暱稱",
        "心得",
        ["保養", "測試"],
    )
    assert r0["date"] == "2024-02-01" and r0["created_at"] == p0.created_at
    assert r0["url"] == f"https://www.dcard.tw/f/{FORUM}/p/{p0.post_id}"
    # Sub-comments: parent floor * 10000 + their own floor, parent_seq = the parent floor.
    parent = next((p, c) for p in posts for c in p.comments if c.replies)
    subs = sorted(
        (r["seq"], r["parent_seq"], r["content"])
        for r in comments.to_pylist()
        if r["post_id"] == str(parent[0].post_id) and r["parent_seq"] == parent[1].floor
    )
    assert subs == [(parent[1].floor * 10000 + r.floor, parent[1].floor, r.text) for r in parent[1].replies]
    con = duckdb.connect()
    hidden_rows, love = con.execute(
        f"select (select count(*) from read_parquet('{out}/comments/**/*.parquet', hive_partitioning=true)"
        " where hidden and content is null),"
        f" (select sum(reactions['愛心']) from read_parquet('{out}/posts/**/*.parquet', hive_partitioning=true))"
    ).fetchone()
    assert (hidden_rows, love) == (hidden, sum(p.reactions["愛心"] for p in posts))
    assert second.ok and second.count("koubei/dcard/posts/unchanged") == 45 and second.posts == 0
    assert third.ok and third.count("koubei/store/unchanged") == 45 and third.count("koubei/store/new") == 0
    assert files_second == files and crawl_helpers.parquet_files(out) == files  # byte-identical
    cursor = RawStore(str(out)).read_cursor("dcard", FORUM)
    assert cursor.newest_post_id == str(posts[-1].post_id)


def test_lookback_refreshes_changed_posts_only(tmp_path):
    site, out = tmp_path / "site", tmp_path / "store"
    posts = make_posts(45, hours=12)  # one every 12 h over 22 days
    write_forum(site, FORUM, posts[:40], limit=20, comments_limit=5)
    with ReplayServer(site) as server:
        assert crawl(server, out).posts == 40
        # Overnight: 5 new posts; a recent post gets a comment; an old one (outside the window) too;
        # another recent post is deleted (hidden by Dcard).
        recent, old, hidden = posts[38], posts[10], posts[37]
        for p in (recent, old):
            p.comments.append(
                FakeComment(len(p.comments) + 1, "晚來的留言", p.created_at + timedelta(days=1))
            )
        hidden.hidden = True
        write_forum(site, FORUM, posts, limit=20, comments_limit=5)
        server.reload()
        before = {p.post_id: server.hits(f"{API}/posts/{p.post_id}") for p in posts}
        nightly = crawl(server, out, since=None, lookback_days=2)
        after = {p.post_id: server.hits(f"{API}/posts/{p.post_id}") for p in posts}
    assert nightly.ok, nightly.line()
    fetched = [p.post_id for p in posts if after[p.post_id] > before[p.post_id]]
    # Window = newest stored (posts[39]) − 2 days: posts[35..39]; of those only the changed one.
    # The hidden one needs no fetch: the list already says hidden.
    assert fetched == [recent.post_id] + [p.post_id for p in posts[40:]]
    assert nightly.count("koubei/dcard/posts/unchanged") == 3  # posts 35, 36, 39
    assert nightly.count("koubei/dcard/posts/gone") == 1
    assert (nightly.count("koubei/store/new"), nightly.count("koubei/store/updated")) == (5, 1)
    assert nightly.count("koubei/store/marked_deleted") == 1
    rows = {r["post_id"]: r for r in read_dataset(str(out), "posts").to_pylist()}
    assert len(rows) == 45 and rows[str(hidden.post_id)]["deleted"] is True
    assert rows[str(recent.post_id)]["comment_count"] == len(recent.comments)
    assert rows[str(old.post_id)]["comment_count"] == len(old.comments) - 1  # outside the window: not seen
    assert RawStore(str(out)).read_cursor("dcard", FORUM).newest_post_id == str(posts[-1].post_id)


def test_killed_crawl_resumes_with_every_post_exactly_once(tmp_path):
    site, out = tmp_path / "site", tmp_path / "store"
    posts = make_posts(80, hours=2)
    write_forum(site, FORUM, posts, limit=20, comments_limit=5)
    with ReplayServer(site) as server:
        stored = crawl_helpers.kill_midway(
            "dcard", server, out, [FORUM], 15, tmp_path / "killed.log", spider_args=PAGING
        )
        assert 15 <= stored < 80, f"kill came at {stored} stored posts"
        assert RawStore(str(out)).read_cursor("dcard", FORUM) is None
        resumed = crawl(server, out)
    assert resumed.ok, resumed.line()
    assert resumed.count("koubei/dcard/posts/unchanged") >= 15  # what the killed run stored is kept
    rows = read_dataset(str(out), "posts").to_pylist()
    assert sorted(r["post_id"] for r in rows) == sorted(str(p.post_id) for p in posts)
    comments = read_dataset(str(out), "comments").to_pylist()
    assert len(comments) == n_comments(posts)
    assert len({(c["post_id"], c["seq"]) for c in comments}) == len(comments)
    assert crawl_helpers.only_hidden_temp_files(out)


def test_each_fault_ends_in_retry_or_counted_skip(forum_site, tmp_path):
    site, posts = forum_site
    detail = f"{API}/posts/" + "{}"
    with_comments = [p for p in posts if len(p.comments) > 5]  # two comment pages at least
    page2 = (
        f"{API}/forums/{FORUM}/posts?before={posts[25].post_id}&limit=20"  # newest first: 44..25, then 24..
    )
    faults = (
        FaultPlan(timeout_seconds=3)
        .add(f"{API}/forums/{FORUM}/posts?limit=20", "429")
        .add(page2, "truncated")  # JSON cut mid-value: retried
        .add(detail.format(posts[3].post_id), "503", "truncated")
        .add(detail.format(posts[5].post_id), "timeout")
        .add(detail.format(posts[6].post_id), "dataloss")
        .add(detail.format(posts[4].post_id), "cloudflare")  # the API is challenged: web page instead
        .add(detail.format(posts[7].post_id), "cfblock")
        .add(f"/f/{FORUM}/p/{posts[7].post_id}", "cfblock")  # ... and so is its web page: lost
        .add(
            f"{API}/posts/{with_comments[0].post_id}/comments?after=5&limit=5",
            "503",
            "503",
            "503",
            "503",
            "503",
        )
        .add(f"{API}/posts/{with_comments[1].post_id}/comments?limit=5", "truncated")
    )
    with ReplayServer(site, faults=faults) as server:
        summary = crawl(server, tmp_path / "store", settings={"RETRY_TIMES": "3"})
    assert summary.ok, summary.line()
    stored = {r["post_id"] for r in read_dataset(str(tmp_path / "store"), "posts").to_pylist()}
    lost = {str(posts[7].post_id), str(with_comments[0].post_id)}  # never stored half: the whole post waits
    assert stored == {str(p.post_id) for p in posts} - lost
    assert summary.blocked == {"cloudflare": 3}  # API + its web page for posts[7] (cfblock), posts[4] API
    assert summary.count("koubei/dcard/web_fallback") == 2
    assert summary.skipped == {"http_503": 1}
    assert summary.count("retry/reason_count/429 Unknown Status") == 1
    assert summary.count("retry/reason_count/truncated page") == 3
    assert summary.count("retry/reason_count/scrapy.exceptions.DownloadTimeoutError") == 1
    assert summary.count("retry/reason_count/scrapy.exceptions.ResponseDataLossError") == 1
    assert summary.count("koubei/retry/gave_up") == 1
    assert "parse_error" not in summary.skipped and "not_dcard" not in summary.skipped


@pytest.mark.shared
def test_crawl_real_saved_post_detail(tmp_path):
    """The real 2025 detail of post 258862181, listed by our hand-written forum page."""
    real = require_shared("fixtures", "dcard")
    out = tmp_path / "store"
    with ReplayServer([real, FIXTURES / "dcard_site"]) as server:
        first = crawl(server, out, forum="house_purchase", since="2025-05-01")
        files = crawl_helpers.parquet_files(out)
        again = crawl(server, out, forum="house_purchase", since="2025-05-01", spider_args={"refresh": "all"})
    assert first.ok, first.line()
    assert first.count("koubei/dcard/list_no_progress") == 1  # the saved list ignores before=: stop, not loop
    (row,) = read_dataset(str(out), "posts").to_pylist()
    assert (row["post_id"], row["board"], row["title"], row["date"]) == (
        "258862181",
        "house_purchase",
        "#資訊 新青安成功貸款分享與驗屋",
        "2025-05-20",
    )
    assert (row["like_count"], row["comment_count"], row["reactions"]) == (
        137,
        31,
        [("愛心", 135), ("跪", 2)],
    )
    assert (row["author_school"], row["author_department"], row["author_gender"]) == (
        "東海大學",
        "法律學系",
        "M",
    )
    assert (
        again.ok and again.count("koubei/store/unchanged") == 1 and crawl_helpers.parquet_files(out) == files
    )


def test_impersonating_handler_is_opt_in(forum_site, tmp_path):
    pytest.importorskip("scrapy_impersonate")
    site, _ = forum_site
    with ReplayServer(site) as server:
        summary = crawl(server, tmp_path / "store", since="2024-02-09", impersonate="chrome")
    assert summary.ok, summary.line()
    assert summary.posts > 0 and summary.count("impersonate/request_bytes") > 0  # curl_cffi did the fetching


def test_cli_crawl_dcard_and_a_fully_blocked_site(tmp_path):
    site = tmp_path / "site"
    write_forum(site, FORUM, make_posts(30, hours=10))  # the spider's default page sizes
    runner = CliRunner()
    faults = FaultPlan().add(f"{API}/forums/blocked/posts", "cloudflare")
    with ReplayServer(site, faults=faults) as server:
        args = [
            "crawl",
            "dcard",
            "--base-url",
            server.base_url,
            "--since",
            "2024-02-09",
            "--out",
            str(tmp_path / "d"),
        ]
        fast = [x for k, v in crawl_helpers.FAST.items() for x in ("-s", f"{k}={v}")]
        result = runner.invoke(main, [*args, "--forum", FORUM, *fast])
        blocked = runner.invoke(main, [*args, "--forum", "blocked", *fast])
    assert result.exit_code == 0, result.output
    assert "dcard: finished — pages " in result.output and "skipped: none" in result.output
    assert read_dataset(str(tmp_path / "d"), "posts").num_rows == 11  # posts 19..29: from 2024-02-09 Taipei
    assert blocked.exit_code == 0 and "posts 0" in blocked.output and "blocked_cloudflare 1" in blocked.output
    bad = runner.invoke(main, ["crawl", "dcard", "--forum", "x", "--refresh", "sometimes"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_list_walk_stops_at_max_pages_without_network():
    from koubei.pipelines.sitegen_dcard import post_json
    from koubei.spiders.sites.dcard import DcardSpider
    from scrapy.http import Request, TextResponse
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(DcardSpider, {"KOUBEI_STORE": ""})
    spider = DcardSpider.from_crawler(crawler, forums=FORUM, since="2024-01-01", max_pages="1")
    spider.open_source(FORUM)
    url = f"https://www.dcard.tw{API}/forums/{FORUM}/posts?limit=100"
    body = json.dumps([post_json(p, detail=False) for p in reversed(make_posts(3))])
    response = TextResponse(url, body=body.encode(), encoding="utf-8", request=Request(url))
    out = list(spider.parse_list(response, forum=FORUM, before=None))
    assert [r.url for r in out] == [
        f"https://www.dcard.tw{API}/posts/{250000000 + 37 * i}" for i in (2, 1, 0)
    ]
    assert crawler.stats.get_value("koubei/dcard/max_pages_reached") == 1  # no second list page
