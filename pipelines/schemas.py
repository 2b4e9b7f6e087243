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
            pa.field("comment_count", pa.int32()),  # Dcard: top-level comments (commentCount)
            pa.field("crawled_at", UTC_TS, nullable=False),
            pa.field("content_hash", pa.string()),  # sha256 of title + content + comments: detects changes
            # Added for Dcard (null elsewhere); appended so files written before still read.
            pa.field("topics", pa.list_(pa.string())),  # Dcard topics (hashtag-like labels)
            pa.field("reactions", pa.map_(pa.string(), pa.int32())),  # Dcard reaction name -> count
            pa.field("author_school", pa.string()),  # Dcard school shown with the post
            pa.field("author_department", pa.string()),  # Dcard department shown with the post
            pa.field("author_gender", pa.string()),  # Dcard F / M
            pa.field("suspicious_account", pa.bool_()),  # Dcard isSuspiciousAccount
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
            # PTT: 1-based order on the page; Dcard: floor (sub-comments: parent floor * 10000 + their
            # own floor); Mobile01: the reply's #floor (the opening post is #1, replies start at 2)
            pa.field("seq", pa.int32(), nullable=False),
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
            # Added for Dcard and Mobile01 (null elsewhere); appended so files written before still read.
            pa.field("author_school", pa.string()),  # Dcard school shown with the comment
            pa.field("author_gender", pa.string()),  # Dcard F / M
            pa.field("is_op", pa.bool_()),  # the post's author commenting (Dcard host, Mobile01 樓主)
            pa.field("quote", pa.string()),  # Mobile01: the quoted text, kept out of content
            pa.field("suspicious_account", pa.bool_()),  # Dcard isSuspiciousAccount
        ],
        metadata=_meta("one row per comment; a re-crawled post replaces all of its comments"),
    ),
)

DATASETS = {d.name: d for d in (POSTS, COMMENTS)}

# ---------------------------------------------------------------------------------------------- enriched
# Written by the enrich stage (pipelines/enrich.py) from one raw posts+comments partition pair, in
# the same layout, so a post and its comments stay together and a stage reads one board-day file.

MENTION = pa.struct(
    [
        pa.field("brand", pa.string(), nullable=False),  # the watch entry's name
        pa.field("group", pa.string()),  # the watch entry's group
        pa.field("field", pa.string(), nullable=False),  # "title" or "text": the column start/end index
        pa.field("start", pa.int32(), nullable=False),  # character offsets into that column
        pa.field("end", pa.int32(), nullable=False),
        pa.field("sentiment", pa.string()),  # the classifier on the window around the mention
        pa.field("score", pa.float32()),  # probability of that label
    ]
)

ENRICHED = Dataset(
    name="enriched",
    key=("platform", "post_id", "seq"),
    file_schema=pa.schema(
        [
            pa.field("board", pa.string(), nullable=False),
            pa.field("post_id", pa.string(), nullable=False),
            pa.field("seq", pa.int32(), nullable=False),  # 0: the post itself; else the comment's seq
            pa.field("kind", pa.string(), nullable=False),  # "post" or "comment"
            pa.field("author_id", pa.string()),
            pa.field("created_at", UTC_TS),  # the unit's own time (a comment's may be a later day)
            pa.field("tag", pa.string()),  # comments: push / boo / neutral (PTT 推 噓 →)
            pa.field("like_count", pa.int32()),  # Dcard / Mobile01 likes
            pa.field("comment_count", pa.int32()),  # posts: comments stored with the post
            pa.field("title", pa.string()),  # posts: the cleaned title
            pa.field("text", pa.string()),  # the cleaned own text: no quotes, signature, footer
            pa.field("sentiment", pa.string()),  # negative / neutral / positive; null: not scored
            pa.field("p_negative", pa.float32()),
            pa.field("p_neutral", pa.float32()),  # null for a two-class model
            pa.field("p_positive", pa.float32()),
            pa.field("sponsored", pa.bool_(), nullable=False),
            pa.field("sponsored_reasons", pa.list_(pa.string())),  # "rule:<name>: <matched text>", …
            pa.field("mentions", pa.list_(MENTION)),
            pa.field("model_version", pa.string()),  # <model dir>@<weights sha256[:12]>/<backend>
            pa.field("enriched_at", UTC_TS, nullable=False),
        ],
        metadata=_meta("one row per post (seq 0) and comment; a partition is rewritten whole"),
    ),
)

DATASETS[ENRICHED.name] = ENRICHED

# ---------------------------------------------------------------------------------------------- derived
# Trends, hourly trends and alerts (pipelines/trends.py, pipelines/alerts.py) span platforms and
# boards, so they are partitioned by the Asia/Taipei day only, one file per day:
# ``<name>/date=<YYYY-MM-DD>/<name>.parquet``. A day that was computed always has its file (possibly
# with no rows), so "no mentions that day" and "not computed" stay apart.

DAY_PARTITION = (pa.field("date", pa.string()),)


@dataclass(frozen=True)
class DayDataset(Dataset):
    """A derived dataset with one file per Asia/Taipei day (no platform partition)."""

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(DAY_PARTITION) + list(self.file_schema))

    def day_file(self, base: str, day: str) -> str:
        return f"{base.rstrip('/')}/{self.name}/date={day}/{self.name}.parquet"


_VOLUME = [
    pa.field("brand", pa.string(), nullable=False),  # the watch entry's name
    pa.field("group", pa.string()),  # its competitor group (share of voice is computed inside it)
    pa.field("platform", pa.string(), nullable=False),
    pa.field("board", pa.string(), nullable=False),
    # Units (a post, or one comment) that mention the brand, counted once however often they name it.
    pa.field("posts", pa.int32(), nullable=False),
    pa.field("comments", pa.int32(), nullable=False),
    pa.field("mentions", pa.int32(), nullable=False),  # posts + comments
    pa.field("authors", pa.int32(), nullable=False),  # distinct author ids (not additive across rows)
    # The brand's sentiment in each unit: the majority label of its mentions' windows.
    pa.field("positive", pa.int32(), nullable=False),
    pa.field("neutral", pa.int32(), nullable=False),
    pa.field("negative", pa.int32(), nullable=False),
    pa.field("unscored", pa.int32(), nullable=False),
    pa.field("sponsored", pa.int32(), nullable=False),  # units flagged 業配
]

TRENDS = DayDataset(
    name="trends",
    key=("date", "brand", "platform", "board"),
    file_schema=pa.schema(
        [
            *_VOLUME,
            pa.field("net_sentiment", pa.float64()),  # (positive - negative) / scored; null: none scored
            pa.field("pn_ratio", pa.float64()),  # positive / negative (P/N 值); null: no negative
            pa.field("sponsored_share", pa.float64(), nullable=False),  # sponsored / mentions
            # Engagement of the brand's posts created that day (raw posts), plus its comments' likes.
            pa.field("pushes", pa.int64(), nullable=False),  # PTT 推
            pa.field("boos", pa.int64(), nullable=False),  # PTT 噓
            pa.field("arrows", pa.int64(), nullable=False),  # PTT →
            pa.field("likes", pa.int64(), nullable=False),  # Dcard likes of posts and comments
            pa.field("comments_received", pa.int64(), nullable=False),  # comments on those posts
            # Share of voice: mentions / group_mentions, where group_mentions sums every brand of the
            # group on the same platform, board and day. Over several rows: the brand's summed mentions
            # over the group's summed mentions of the same rows (README), not sum(group_mentions).
            pa.field("group_mentions", pa.int32()),
            pa.field("sov", pa.float64()),
            pa.field("top_terms", pa.list_(pa.string())),  # TF-IDF against all of the day's units
            # Crawl coverage of the row's platform/board on that day, from the health dataset
            # (pipelines/health.py, README): ok / partial / blocked / failed, or unknown (no crawl
            # health row that day; files written before the column read null). A watched brand gets a
            # row with zero counts on a partial/blocked/failed source-day it has no mention on, so a
            # blind day reads "no data", never "quiet". Appended so files written before still read.
            pa.field("coverage", pa.string()),
            pa.field("coverage_reason", pa.string()),  # e.g. "cloudflare", "empty_list"; null when ok
        ],
        metadata=_meta("one row per brand x platform x board per Asia/Taipei day; a day is rewritten whole"),
    ),
)

TRENDS_HOURLY = DayDataset(
    name="trends_hourly",
    key=("date", "hour", "brand", "platform", "board"),
    file_schema=pa.schema(
        [
            pa.field("hour", UTC_TS, nullable=False),  # start of the hour (UTC; Taipei = UTC+8)
            *_VOLUME,
        ],
        metadata=_meta("one row per brand x platform x board per hour; kept for the latest days only"),
    ),
)

ALERT_THREAD = pa.struct(
    [
        pa.field("platform", pa.string()),
        pa.field("board", pa.string()),
        pa.field("post_id", pa.string()),
        pa.field("title", pa.string()),
        pa.field("url", pa.string()),
        pa.field("snippet", pa.string()),  # the text around the first negative mention
        pa.field("negative", pa.int32()),  # negative units about the brand in the thread, in the period
        pa.field("comments", pa.int32()),  # comments in the period
        pa.field("pushes", pa.int32()),
        pa.field("boos", pa.int32()),
    ]
)

ALERTS = DayDataset(
    name="alerts",
    key=("alert_id",),
    file_schema=pa.schema(
        [
            pa.field("alert_id", pa.string(), nullable=False),  # stable per episode
            pa.field("rule", pa.string(), nullable=False),  # negative_spike_daily / _hourly / viral_thread
            pa.field("brand", pa.string(), nullable=False),
            pa.field("group", pa.string()),
            pa.field("period_start", UTC_TS, nullable=False),
            pa.field("period_end", UTC_TS, nullable=False),
            pa.field("observed", pa.float64(), nullable=False),
            pa.field("expected", pa.float64()),
            pa.field("p_value", pa.float64()),
            pa.field("mentions", pa.int32()),  # all of the brand's mentions in the period
            pa.field("negative_share", pa.float64()),
            pa.field("threads", pa.list_(ALERT_THREAD)),
            pa.field("terms", pa.list_(pa.string())),
            pa.field("message", pa.string()),
            pa.field("fired_at", UTC_TS, nullable=False),
            pa.field("channels", pa.list_(pa.string())),  # redacted: scheme only
            pa.field("delivered", pa.bool_()),  # every channel accepted it (true when none configured)
            # Appended for crawl health alarms (pipelines/health.py); null on brand alerts written before.
            pa.field("kind", pa.string()),  # "brand" (the rules above) or "health" (brand is "" then)
            pa.field("platform", pa.string()),  # health: the source's platform
            pa.field("board", pa.string()),  # health: the source (PTT board, Dcard/Mobile01 forum)
            pa.field("reason", pa.string()),  # health: cloudflare, http_403, over18, empty_list, … (README)
        ],
        metadata=_meta("one row per alert (one per spike episode); the outbox JSONL is the source"),
    ),
)

# ---------------------------------------------------------------------------------------------- collection
# Written by the crawl stage itself (pipelines/store.py, pipelines/health.py): how a post's engagement
# moved between crawls, and how healthy each crawl of each source was.

POST_SNAPSHOTS = Dataset(
    name="post_snapshots",
    key=("platform", "post_id", "crawled_at"),
    file_schema=pa.schema(
        [
            pa.field("board", pa.string(), nullable=False),
            pa.field("post_id", pa.string(), nullable=False),
            pa.field("crawled_at", UTC_TS, nullable=False),  # when these counts were seen
            pa.field("push_count", pa.int32()),  # PTT 推
            pa.field("boo_count", pa.int32()),  # PTT 噓
            pa.field("arrow_count", pa.int32()),  # PTT →
            pa.field("like_count", pa.int32()),  # Dcard / Mobile01 likes
            pa.field("comment_count", pa.int32()),
        ],
        metadata=_meta("one row per crawl of a post (unchanged posts too); partitioned like posts"),
    ),
)

DATASETS[POST_SNAPSHOTS.name] = POST_SNAPSHOTS

CRAWL_HEALTH = DayDataset(
    name="health",
    key=("run_id", "platform", "board"),
    file_schema=pa.schema(
        [
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("platform", pa.string(), nullable=False),
            pa.field("board", pa.string(), nullable=False),  # PTT board / Dcard forum / Mobile01 forum id
            pa.field("status", pa.string(), nullable=False),  # ok / partial / blocked / failed (README)
            pa.field("finish_reason", pa.string()),  # Scrapy's; null: the crawl process died
            pa.field("returncode", pa.int32(), nullable=False),
            pa.field("started_at", UTC_TS, nullable=False),
            pa.field("finished_at", UTC_TS, nullable=False),
            pa.field("duration_s", pa.float64(), nullable=False),  # the whole crawl's (sources share it)
            pa.field("requested", pa.int32(), nullable=False),  # requests scheduled, retries included
            pa.field("succeeded", pa.int32(), nullable=False),  # responses with a status below 400
            pa.field("retried", pa.int32(), nullable=False),
            pa.field("blocked", pa.int32(), nullable=False),  # challenge, over-18, 403, empty list
            pa.field("blocked_reasons", pa.map_(pa.string(), pa.int32())),
            pa.field("failed", pa.int32(), nullable=False),  # requests given up (timeouts, 5xx, 404 …)
            pa.field("parse_errors", pa.int32(), nullable=False),  # pages skipped by a parser
            pa.field("listed", pa.int32()),  # rows the list pages showed; null: the crawl died first
            pa.field("empty_list", pa.bool_(), nullable=False),  # 0 listed where the last row had > 0
            pa.field("items", pa.int32(), nullable=False),  # posts the spider yielded
            pa.field("new", pa.int32(), nullable=False),
            pa.field("updated", pa.int32(), nullable=False),
            pa.field("unchanged", pa.int32(), nullable=False),
            pa.field("marked_deleted", pa.int32(), nullable=False),
            pa.field("fields_missing", pa.int32(), nullable=False),
            pa.field(
                "blocked_share", pa.float64(), nullable=False
            ),  # requests blocked/failed/unparsed / requested
            pa.field("error", pa.string()),  # the crawl's last stderr line when it failed
            # Appended for health alarms (schema drift, excerpt-only posts); null in older files.
            pa.field("dropped", pa.int32()),  # posts the item pipeline dropped (a required field missing)
            pa.field("incomplete", pa.int32()),  # stored posts lacking title/content or a comment's text
            pa.field("excerpt_only", pa.int32()),  # Dcard posts whose detail carried no content
            pa.field("unknown_fields", pa.list_(pa.string())),  # Dcard JSON keys not in the known set
        ],
        metadata=_meta("one row per crawl run x source, in the Asia/Taipei day the run started"),
    ),
)
