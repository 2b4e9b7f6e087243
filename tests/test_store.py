"""The raw store without Scrapy: partitioning, replacement, cursors, locks, URIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from koubei.pipelines.store import RawStore, read_dataset
from koubei.spiders.items import CommentRecord, DeletedItem, PostRecord, ThreadItem

CRAWLED = datetime(2026, 11, 23, tzinfo=UTC)


def thread(post_id: str, created: datetime, texts: list[str], board: str = "Stock") -> ThreadItem:
    post = PostRecord(
        "ptt",
        board,
        post_id,
        f"https://www.ptt.cc/bbs/{board}/{post_id}.html",
        title="t",
        created_at=created,
        content="c",
        crawled_at=CRAWLED,
        comment_count=len(texts),
    )
    comments = [
        CommentRecord("ptt", board, post_id, i, "u", "push", t, created, "minute", crawled_at=CRAWLED)
        for i, t in enumerate(texts, 1)
    ]
    return ThreadItem(post, comments).finalize()


def test_partition_is_the_taipei_day_and_replacement_is_whole(tmp_path):
    store = RawStore(str(tmp_path))
    late = datetime(2024, 2, 20, 17, 30, tzinfo=UTC)  # 2024-02-21 01:30 in Taipei
    s1 = store.upsert_threads([thread("M.1.A.001", late, ["a", "b", "c"]), thread("M.2.A.002", late, ["x"])])
    assert (s1.new, s1.comments) == (2, 4)
    assert (tmp_path / "posts/platform=ptt/date=2024-02-21/Stock.parquet").exists()
    s2 = store.upsert_threads([thread("M.1.A.001", late, ["a"]), thread("M.2.A.002", late, ["x"])])
    assert (s2.new, s2.updated, s2.unchanged) == (0, 1, 1)
    comments = read_dataset(str(tmp_path), "comments").to_pylist()
    assert sorted((c["post_id"], c["content"]) for c in comments) == [("M.1.A.001", "a"), ("M.2.A.002", "x")]


def test_mark_deleted_keeps_the_row(tmp_path):
    store = RawStore(str(tmp_path))
    created = datetime(2024, 2, 1, tzinfo=UTC)
    store.upsert_threads([thread("M.1.A.001", created, ["a"])])
    gone = [
        DeletedItem("ptt", "Stock", "M.1.A.001", "u", created, CRAWLED),
        DeletedItem("ptt", "Stock", "M.9.A.009", "u", created, CRAWLED),
    ]  # never stored: nothing to do
    assert store.mark_deleted(gone).marked_deleted == 1
    (row,) = read_dataset(str(tmp_path), "posts").to_pylist()
    assert row["deleted"] is True and row["title"] == "t"


def test_cursor_only_moves_forward(tmp_path):
    store = RawStore(str(tmp_path))
    t = datetime(2024, 2, 1, tzinfo=UTC)
    assert store.read_cursor("ptt", "Stock") is None
    store.advance_cursor("ptt", "Stock", "M.2.A.002", t)
    back = store.advance_cursor("ptt", "Stock", "M.1.A.001", t - timedelta(days=1))
    assert (back.newest_post_id, back.newest_created_at) == ("M.2.A.002", t)
    assert store.read_cursor("ptt", "Stock").newest_post_id == "M.2.A.002"


def test_second_writer_on_a_board_is_refused(tmp_path):
    store = RawStore(str(tmp_path))
    held = store.lock("ptt", "Stock")
    with pytest.raises(RuntimeError, match="another crawl"):
        store.lock("ptt", "Stock")
    other = store.lock("ptt", "Gossiping")  # other boards write other files
    held.close()
    store.lock("ptt", "Stock").close()
    other.close()


def test_fsspec_uri_root():
    root = "memory://koubei-test-store"
    store = RawStore(root)
    store.upsert_threads([thread("M.1.A.001", datetime(2024, 2, 1, tzinfo=UTC), ["a", "b"])])
    assert read_dataset(root, "posts").num_rows == 1
    assert read_dataset(root, "comments").column("content").to_pylist() == ["a", "b"]
    assert read_dataset("memory://empty-koubei", "posts").num_rows == 0
