"""The declared schemas of koubei's Parquet datasets: the contract between stages.

Every writer casts to these schemas and every reader asks for them, so a stage never depends on
another stage's internals. Datasets are hive-partitioned; the partition columns (``platform``,
``date``) live in the directory names, not inside the files, so pandas, DuckDB and pyarrow all
read the same tree (pandas refuses a column that is both in the file and in the path).

Times are stored in UTC (pages show Asia/Taipei); ``date`` is the Asia/Taipei calendar day of the
post's creation, so a re-crawled post always lands in the partition it was first written to, and
a post's comments live in the same partition as the post.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

SCHEMA_VERSION = 1
TAIPEI = "Asia/Taipei"
UTC_TS = pa.timestamp("us", tz="UTC")

# Columns encoded in the directory layout: <dataset>/platform=<p>/date=<YYYY-MM-DD>/<file>.parquet
PARTITION_FIELDS = (pa.field("platform", pa.string()), pa.field("date", pa.string()))


@dataclass(frozen=True)
class Dataset:
    """A named Parquet dataset: file columns, partition columns and its identity key."""

    name: str
    file_schema: pa.Schema
    key: tuple[str, ...]

    @property
    def schema(self) -> pa.Schema:
        """The logical schema a reader sees: partition columns first, then the file columns."""
        return pa.schema(list(PARTITION_FIELDS) + list(self.file_schema))


def _meta(doc: str) -> dict[bytes, bytes]:
    return {b"koubei.schema_version": str(SCHEMA_VERSION).encode(), b"koubei.doc": doc.encode()}


POSTS = Dataset(
    name="posts",
    key=("platform", "post_id"),
    file_schema=pa.schema(
        [
            pa.field(
                "board", pa.string(), nullable=False
            ),  # PTT board / Dcard forum alias / Mobile01 forum id
            pa.field("post_id", pa.string(), nullable=False),  # PTT M.1119222611.A.7A9, Dcard id, Mobile01 t
            pa.field("url", pa.string(), nullable=False),
            pa.field("title", pa.string()),
            pa.field("category", pa.string()),  # the [問卦]/[新聞] tag without brackets
            pa.field("is_reply", pa.bool_()),  # "Re:" article / Dcard response post
            pa.field("author_id", pa.string()),
            pa.field("author_nickname", pa.string()),
            pa.field("created_at", UTC_TS),
            pa.field("content", pa.string()),  # the body as shown, pushes and footers removed
            pa.field("author_ip", pa.string()),
            pa.field("author_country", pa.string()),
            pa.field("edited", pa.bool_()),
            pa.field("edited_at", UTC_TS),  # last edit time when the page shows it
            pa.field("deleted", pa.bool_()),
            pa.field("push_count", pa.int32()),  # PTT 推
            pa.field("boo_count", pa.int32()),  # PTT 噓
            pa.field("arrow_count", pa.int32()),  # PTT →
            pa.field("like_count", pa.int32()),  # Dcard likes (null on PTT)
            pa.field("comment_count", pa.int32()),
            pa.field("crawled_at", UTC_TS, nullable=False),
            pa.field("content_hash", pa.string()),  # sha256 of title + content + comments: detects changes
        ],
        metadata=_meta("one row per post; re-crawls replace the row"),
    ),
)

COMMENTS = Dataset(
    name="comments",
    key=("platform", "post_id", "seq"),
    file_schema=pa.schema(
        [
            pa.field("board", pa.string(), nullable=False),
            pa.field("post_id", pa.string(), nullable=False),
            pa.field("seq", pa.int32(), nullable=False),  # 1-based order on the page (Dcard: floor)
            pa.field("comment_id", pa.string()),  # Dcard comment uuid (null on PTT)
            pa.field("parent_seq", pa.int32()),  # sub-comment parent (Dcard); null otherwise
            pa.field("author_id", pa.string()),
            pa.field("tag", pa.string()),  # push / boo / neutral (PTT 推 噓 →); null elsewhere
            pa.field("content", pa.string()),
            pa.field("created_at", UTC_TS),
            pa.field("time_precision", pa.string()),  # "minute", or "day" for old PTT pushes (IP + date only)
            pa.field("ip", pa.string()),
            pa.field("like_count", pa.int32()),
            pa.field("hidden", pa.bool_()),
            pa.field("crawled_at", UTC_TS, nullable=False),
        ],
        metadata=_meta("one row per comment; a re-crawled post replaces all of its comments"),
    ),
)

DATASETS = {d.name: d for d in (POSTS, COMMENTS)}
