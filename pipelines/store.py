"""The raw store: posts and comments as hive-partitioned Parquet, written atomically and idempotently.

Layout under the storage root (a local path or any pyarrow/fsspec URI)::

    posts/platform=ptt/date=2024-02-20/Stock.parquet       one file per board per Taipei day
    comments/platform=ptt/date=2024-02-20/Stock.parquet    comments sit with their post's day
    post_snapshots/platform=ptt/date=2024-02-20/Stock.parquet  one row per crawl of a post: its counts
    _state/cursors/ptt/Stock.json                          the per-board incremental cursor

Re-crawling a post replaces its row and all of its comments; an unchanged post (same content hash)
keeps its stored row, so a second identical crawl leaves identical posts and comments files (its
engagement snapshot is still appended: counts over time are the point of that dataset). Every write goes to a
temporary file first and is renamed into place, so a crawl killed mid-write leaves the previous
version, never a torn file. One file per board keeps parallel crawls of different boards from
racing on the same file; a lock file refuses two writers on the same board (local roots only:
see :meth:`RawStore.lock` for object stores).
"""

from __future__ import annotations

import functools
import json
import logging
import operator
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from koubei.spiders.items import DeletedItem, ThreadItem

from .schemas import COMMENTS, PARTITION_FIELDS, POST_SNAPSHOTS, POSTS, UTC_TS, Dataset

logger = logging.getLogger(__name__)
TAIPEI = ZoneInfo("Asia/Taipei")


def filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and base path for a local path, a pyarrow URI or an fsspec URI."""
    if "://" not in root:
        path = os.path.abspath(os.path.expanduser(root))
        return pafs.LocalFileSystem(), path
    try:
        return pafs.FileSystem.from_uri(root)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        import fsspec  # any fsspec protocol (memory://, gcs://, ...) through pyarrow's adapter

        fs, path = fsspec.core.url_to_fs(root)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def taipei_day(ts: datetime) -> str:
    return ts.astimezone(TAIPEI).date().isoformat()


@dataclass
class WriteStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    comments: int = 0
    marked_deleted: int = 0
    files: int = 0
    snapshots: int = 0

    def add(self, other: WriteStats) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)


@dataclass(frozen=True)
class Cursor:
    """How far a board has been crawled: the newest post stored and when that was recorded."""

    newest_post_id: str
    newest_created_at: datetime
    updated_at: datetime


class RawStore:
    def __init__(self, root: str):
        self.root = root
        self.fs, self.base = filesystem(root)
        self.local = isinstance(self.fs, pafs.LocalFileSystem)
        self._lock_warned = False

    # ------------------------------------------------------------------------------------- paths
    def _path(self, *parts: str) -> str:
        return "/".join([self.base.rstrip("/"), *parts])

    def partition_file(self, dataset: Dataset, platform: str, day: str, board: str) -> str:
        return self._path(dataset.name, f"platform={platform}", f"date={day}", f"{board}.parquet")

    def partitions(
        self, dataset: Dataset, *, platform: str | None = None, day: str | None = None
    ) -> list[tuple[str, str, str]]:
        """``(platform, day, board)`` of every partition file of ``dataset``, sorted."""
        base = self._path(dataset.name)
        if self.fs.get_file_info(base).type != pafs.FileType.Directory:
            return []
        found = []
        for info in self.fs.get_file_info(pafs.FileSelector(base, recursive=True)):
            p, d, name = (["", "", ""] + info.path.split("/"))[-3:]
            if (
                info.type != pafs.FileType.File
                or not (p.startswith("platform=") and d.startswith("date=") and name.endswith(".parquet"))
                or name.startswith(".")  # a write in progress
            ):
                continue
            p, d = p.removeprefix("platform="), d.removeprefix("date=")
            if (platform is None or p == platform) and (day is None or d == day):
                found.append((p, d, name.removesuffix(".parquet")))
        return sorted(found)

    # ------------------------------------------------------------------------------------- I/O
    def read_file(self, path: str, dataset: Dataset) -> pa.Table | None:
        """One partition file with the dataset's declared schema, or None when it does not exist."""
        info = self.fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            return None
        return pq.read_table(path, filesystem=self.fs, schema=dataset.file_schema)

    def write_file(self, path: str, table: pa.Table) -> None:
        """Write then rename (local), or a single PUT (object stores, where an object appears whole)."""
        parent = path.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        if not self.local:
            pq.write_table(table, path, filesystem=self.fs, compression="zstd")
            return
        name = path.rsplit("/", 1)[1]
        tmp = f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"  # dot-prefixed: dataset readers skip it
        pq.write_table(table, tmp, filesystem=self.fs, compression="zstd")
        self.fs.move(tmp, path)

    # ------------------------------------------------------------------------------------- writes
    def upsert_threads(self, threads: Iterable[ThreadItem]) -> WriteStats:
        """Insert or replace posts with their comments, grouped into one write per partition file."""
        groups: dict[tuple[str, str, str], dict[str, ThreadItem]] = defaultdict(dict)
        for t in threads:
            p = t.post
            groups[(p.platform, taipei_day(p.created_at), p.board)][p.post_id] = t  # last one wins
        total = WriteStats()
        for (platform, day, board), batch in sorted(groups.items()):
            total.add(self._upsert_partition(platform, day, board, batch))
        return total

    def _upsert_partition(
        self, platform: str, day: str, board: str, batch: dict[str, ThreadItem]
    ) -> WriteStats:
        stats = WriteStats()
        stats.snapshots = self._append_snapshots(platform, day, board, batch.values())
        posts_path = self.partition_file(POSTS, platform, day, board)
        comments_path = self.partition_file(COMMENTS, platform, day, board)
        old_posts = self.read_file(posts_path, POSTS)
        old_by_id = {r["post_id"]: r for r in old_posts.to_pylist()} if old_posts is not None else {}
        replaced: dict[str, ThreadItem] = {}
        for post_id, thread in batch.items():
            old = old_by_id.get(post_id)
            if old is not None and old["content_hash"] == thread.post.content_hash:
                stats.unchanged += 1
                continue
            if old is None:
                stats.new += 1
            else:
                stats.updated += 1
            replaced[post_id] = thread
        if not replaced:
            return stats
        # Comments first: if we die between the two writes, the old post hash makes the next
        # crawl rewrite both.
        old_comments = self.read_file(comments_path, COMMENTS)
        kept = (
            []
            if old_comments is None
            else [r for r in old_comments.to_pylist() if r["post_id"] not in replaced]
        )
        fresh = [_row(c, COMMENTS) for t in replaced.values() for c in t.comments]
        stats.comments = len(fresh)
        comments = sorted(kept + fresh, key=lambda r: (r["post_id"], r["seq"]))
        self.write_file(comments_path, pa.Table.from_pylist(comments, schema=COMMENTS.file_schema))
        for post_id, thread in replaced.items():
            old_by_id[post_id] = _row(thread.post, POSTS)
        posts = sorted(old_by_id.values(), key=lambda r: (r["created_at"], r["post_id"]))
        self.write_file(posts_path, pa.Table.from_pylist(posts, schema=POSTS.file_schema))
        stats.files = 2
        return stats

    def _append_snapshots(self, platform: str, day: str, board: str, threads: Iterable[ThreadItem]) -> int:
        """One engagement row per crawled post, unchanged posts included; a replayed batch (same
        post and crawled_at) replaces its rows instead of doubling them. Returns the rows added."""
        path = self.partition_file(POST_SNAPSHOTS, platform, day, board)
        old = self.read_file(path, POST_SNAPSHOTS)
        rows = {(r["post_id"], r["crawled_at"]): r for r in (old.to_pylist() if old is not None else [])}
        before = len(rows)
        for t in threads:
            rows[(t.post.post_id, t.post.crawled_at)] = _row(t.post, POST_SNAPSHOTS)
        table = pa.Table.from_pylist([rows[k] for k in sorted(rows)], schema=POST_SNAPSHOTS.file_schema)
        self.write_file(path, table)
        return len(rows) - before

    def mark_deleted(self, items: Iterable[DeletedItem]) -> WriteStats:
        """Flag stored posts that now answer 404. Unknown posts are ignored: nothing to keep."""
        stats = WriteStats()
        by_partition: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for item in items:
            by_partition[(item.platform, taipei_day(item.created_at), item.board)].add(item.post_id)
        for (platform, day, board), ids in by_partition.items():
            path = self.partition_file(POSTS, platform, day, board)
            table = self.read_file(path, POSTS)
            if table is None:
                continue
            rows = table.to_pylist()
            changed = 0
            for r in rows:
                if r["post_id"] in ids and not r["deleted"]:
                    r["deleted"], changed = True, changed + 1
            if changed:
                self.write_file(path, pa.Table.from_pylist(rows, schema=POSTS.file_schema))
                stats.marked_deleted += changed
        return stats

    # ------------------------------------------------------------------------------------- reads
    def post_counts(
        self, platform: str, board: str, since: datetime | None
    ) -> dict[str, tuple[int | None, int | None]]:
        """``post_id -> (like_count, comment_count)`` of the stored posts of one board created
        since ``since`` (day granularity; None = all), for spiders that skip re-fetching
        posts whose counts did not move."""
        base = self._path(POSTS.name, f"platform={platform}")
        if self.fs.get_file_info(base).type != pafs.FileType.Directory:
            return {}
        first = f"date={taipei_day(since)}" if since is not None else "date="
        out: dict[str, tuple[int | None, int | None]] = {}
        for info in self.fs.get_file_info(pafs.FileSelector(base)):
            name = info.path.rsplit("/", 1)[-1]
            if info.type != pafs.FileType.Directory or not name.startswith("date=") or name < first:
                continue
            table = self.read_file(f"{info.path}/{board}.parquet", POSTS)
            if table is None:
                continue
            for row in table.select(["post_id", "like_count", "comment_count"]).to_pylist():
                out[row["post_id"]] = (row["like_count"], row["comment_count"])
        return out

    # ------------------------------------------------------------------------------------- cursors
    def _cursor_path(self, platform: str, board: str) -> str:
        return self._path("_state", "cursors", platform, f"{board}.json")

    def read_cursor(self, platform: str, board: str) -> Cursor | None:
        path = self._cursor_path(platform, board)
        if self.fs.get_file_info(path).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(path) as f:
            data = json.loads(f.read().decode())
        return Cursor(
            newest_post_id=data["newest_post_id"],
            newest_created_at=datetime.fromisoformat(data["newest_created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
        )

    def advance_cursor(self, platform: str, board: str, post_id: str, created_at: datetime) -> Cursor:
        """Move the cursor forward (never back) once a crawl has finished and its data is written."""
        current = self.read_cursor(platform, board)
        if current is not None and current.newest_created_at >= created_at:
            post_id, created_at = current.newest_post_id, current.newest_created_at
        cursor = Cursor(post_id, created_at, datetime.now(UTC))
        path = self._cursor_path(platform, board)
        parent = path.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.{board}.{uuid.uuid4().hex}.tmp" if self.local else path
        with self.fs.open_output_stream(tmp) as f:
            f.write(
                json.dumps(
                    {
                        "newest_post_id": cursor.newest_post_id,
                        "newest_created_at": cursor.newest_created_at.isoformat(),
                        "updated_at": cursor.updated_at.isoformat(),
                    }
                ).encode()
            )
        if self.local:
            self.fs.move(tmp, path)
        return cursor

    # ------------------------------------------------------------------------------------- locks
    def lock(self, platform: str, board: str):
        """An exclusive, non-blocking lock on one board, held until closed; None on an object store.

        fcntl needs a local filesystem. An object store gets no lock, on purpose, with a warning: a
        conditional-put lock object would outlive a killed crawl and block the retry until it expired.
        There the scheduler must keep writers apart: one crawl task per source or site per DAG run
        (``max_active_runs=1``), and a ``crawl`` pool so the hourly and nightly DAGs' crawls do not
        overlap (README, "Past one machine").
        """
        if not self.local:
            if not self._lock_warned:
                logger.warning(
                    "%s is not a local folder: board locks are skipped; keep one writer per board "
                    "(one crawl per source at a time: a `crawl` pool, see README 'Past one machine')",
                    self.root,
                )
                self._lock_warned = True
            return None
        import fcntl

        path = self._path("_state", "locks", f"{platform}-{board}.lock")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "w")  # noqa: SIM115 - held open for the crawl's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RuntimeError(f"another crawl is writing {platform}/{board} in {self.root}") from None
        return handle


def _row(record, dataset: Dataset) -> dict:
    row = asdict(record)
    for f in PARTITION_FIELDS:
        row.pop(f.name, None)
    return {name: row.get(name) for name in dataset.file_schema.names}


def read_snapshots(
    root: str,
    *,
    created_since: str | None = None,
    crawled_since: datetime | None = None,
    crawled_until: datetime | None = None,
    platform: str | None = None,
) -> pa.Table:
    """Engagement snapshots (``post_snapshots``) sorted by post and time: optionally only of posts
    created on or after the Taipei day ``created_since`` (the partition, so older files are skipped),
    crawled in ``[crawled_since, crawled_until]``, on one platform."""
    parts = [
        ds.field("date") >= created_since if created_since else None,
        ds.field("crawled_at") >= pa.scalar(crawled_since, UTC_TS) if crawled_since else None,
        ds.field("crawled_at") <= pa.scalar(crawled_until, UTC_TS) if crawled_until else None,
        ds.field("platform") == platform if platform else None,
    ]
    wanted = [p for p in parts if p is not None]
    table = read_dataset(
        root, POST_SNAPSHOTS, filter=functools.reduce(operator.and_, wanted) if wanted else None
    )
    return table.sort_by([("platform", "ascending"), ("post_id", "ascending"), ("crawled_at", "ascending")])


def read_dataset(root: str, dataset: Dataset | str, filter: ds.Expression | None = None) -> pa.Table:
    """Read a whole dataset with its declared schema (partition columns included), optionally
    only the rows ``filter`` keeps."""
    if isinstance(dataset, str):
        from .schemas import DATASETS

        dataset = DATASETS[dataset]
    fs, base = filesystem(root)
    path = f"{base.rstrip('/')}/{dataset.name}"
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return dataset.schema.empty_table()
    partitioning = ds.partitioning(pa.schema(list(PARTITION_FIELDS)), flavor="hive")
    data = ds.dataset(path, filesystem=fs, format="parquet", partitioning=partitioning, schema=dataset.schema)
    return data.to_table(filter=filter)
