"""The trends stage: enriched units → per brand × platform × board × Asia/Taipei day (and hour) volume.

What a brand manager reads: 聲量 (units mentioning the brand), 好感度 (positive / negative, net
sentiment, P/N ratio), share of voice inside the brand's watch group, sponsored share, the
engagement its posts earned and the terms of the talk. Schemas: :data:`~.schemas.TRENDS`,
:data:`~.schemas.TRENDS_HOURLY`.

Decisions worth knowing:

* **A unit is a post or one comment**, and it counts once per brand however often it names the
  brand. The brand's sentiment in the unit is the majority label of its mention windows (ties: the
  larger summed probability), falling back to the unit's own label: 「A 很爛 B 很好」 counts A
  negative and B positive.
* **Days are the unit's own Asia/Taipei day** (``created_at``), not its post's partition: a push
  written on the 21st under a post of the 20th is talk of the 21st. Enriched partitions of the
  ``lookback_days`` before the day are read to find such late comments.
* **Engagement** (pushes, boos, arrows, comments received, likes) comes from the raw ``posts``
  dataset, joined on ``(platform, post_id)``, for the brand's posts created that day; Dcard comment
  likes are added from the enriched comments.
* **Idempotent**: a day's file is computed from the data alone (no clock) and rewritten whole; a
  re-run over the same inputs is byte-identical, and an unchanged file is not rewritten.
* **Coverage**: every row carries its platform/board's crawl coverage that day (``ok``, ``partial``,
  ``blocked``, ``failed``; ``unknown`` without a crawl health row; :mod:`.health`), and a brand with
  no mention on a source-day that was not ``ok`` gets a row of zeros marked so (:func:`with_coverage`):
  a blind day reads as no data, never as a quiet day, and spike baselines leave it out.

The aggregation cores (:func:`brand_units`, :func:`aggregate`, :func:`top_terms`) are pure functions
over Arrow tables (DuckDB SQL in memory); reading and writing Parquet stays in :func:`run_trends`.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from koubei.nlp.brands import WatchEntry, load_watch
from koubei.nlp.normalize import fold

from .schemas import ENRICHED, POSTS, TRENDS, TRENDS_HOURLY, Dataset, DayDataset
from .store import RawStore, filesystem

logger = logging.getLogger(__name__)

TAIPEI = ZoneInfo("Asia/Taipei")
LOOKBACK_DAYS = 31  # comments this many days after their post still reach the day they were written
KEEP_HOURLY_DAYS = 15  # hourly trends kept: the hourly spike baseline reads a week of them
TOP_TERMS = 10
_NUMBER = re.compile(r"^[\d.,%+-]+$")  # "15", "2.5": no term on their own

Watch = str | Path | Sequence[WatchEntry] | None


# ---------------------------------------------------------------------------------------------- watch


@dataclass(frozen=True)
class BrandInfo:
    """What the aggregation needs from a watch entry."""

    group: str | None
    aliases: tuple[str, ...]


def watch_brands(watch: Watch) -> dict[str, BrandInfo] | None:
    """Brand name -> group and aliases from a watch file or entries; None: every brand found."""
    if watch is None:
        return None
    entries = load_watch(watch) if isinstance(watch, str | Path) else list(watch)
    return {e.name: BrandInfo(e.group, e.terms) for e in entries}


# ---------------------------------------------------------------------------------------------- days


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """The UTC start and end of an Asia/Taipei calendar day."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), TAIPEI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def shift_day(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def days_between(start: str, end: str) -> list[str]:
    """Every day from ``start`` to ``end`` inclusive."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def taipei_today(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(TAIPEI).date().isoformat()


# ---------------------------------------------------------------------------------------------- reading


def _hive(dataset: Dataset) -> ds.Partitioning:
    fields = list(dataset.schema)[: len(dataset.schema) - len(dataset.file_schema)]
    return ds.partitioning(pa.schema(fields), flavor="hive")


def read_partitions(
    root: str, dataset: Dataset, start: str, end: str, *, columns: list[str] | None = None, filter=None
) -> pa.Table:
    """Rows of ``dataset`` whose ``date`` partition lies in ``[start, end]``, with its declared schema.

    Works for any root :func:`~koubei.pipelines.store.filesystem` understands (pyarrow reads, so an
    object store works as well as a folder); dot-files (writes in progress) are skipped.
    """
    fs, base = filesystem(root)
    path = f"{base.rstrip('/')}/{dataset.name}"
    schema = dataset.schema
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty
    data = ds.dataset(path, filesystem=fs, format="parquet", partitioning=_hive(dataset), schema=schema)
    where = (ds.field("date") >= start) & (ds.field("date") <= end)
    if filter is not None:
        where = where & filter
    return data.to_table(columns=columns, filter=where)


UNIT_COLUMNS = [
    "platform",
    "date",
    "board",
    "post_id",
    "seq",
    "kind",
    "author_id",
    "created_at",
    "tag",
    "like_count",
    "comment_count",
    "title",
    "text",
    "sentiment",
    "sponsored",
    "mentions",
]

POST_COLUMNS = [
    "platform",
    "post_id",
    "url",
    "title",
    "push_count",
    "boo_count",
    "arrow_count",
    "like_count",
    "comment_count",
    "author_ip",
]


def read_units(root: str, start: str, end: str, *, lookback_days: int = LOOKBACK_DAYS) -> pa.Table:
    """Enriched units written (``created_at``) on Taipei days ``start``..``end``.

    Partitions from ``lookback_days`` before ``start`` are read for late comments; a unit without a
    time counts on its partition's day.
    """
    lo, _ = day_bounds(start)
    _, hi = day_bounds(end)
    in_window = (ds.field("created_at") >= pa.scalar(lo, ENRICHED.schema.field("created_at").type)) & (
        ds.field("created_at") < pa.scalar(hi, ENRICHED.schema.field("created_at").type)
    )
    untimed = ds.field("created_at").is_null() & (ds.field("date") >= start) & (ds.field("date") <= end)
    return read_partitions(
        root,
        ENRICHED,
        shift_day(start, -lookback_days),
        end,
        columns=UNIT_COLUMNS,
        filter=in_window | untimed,
    )


def read_posts(root: str, start: str, end: str) -> pa.Table:
    """Raw posts created ``start``..``end`` (engagement, URL, title, author IP)."""
    return read_partitions(root, POSTS, start, end, columns=POST_COLUMNS)


# ---------------------------------------------------------------------------------------------- core


def query_arrow(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> pa.Table:
    rel = con.sql(query, params=params)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow  # duckdb < 1.4 has only .arrow()
    return fetch()


def connect(**tables: pa.Table) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the given Arrow tables registered (UTC session time zone)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    return con


_BRAND_UNITS = """
WITH u AS (
    SELECT platform, board, post_id, seq, kind, author_id, tag, like_count, comment_count, title, text,
           sentiment AS unit_sentiment, sponsored, mentions,
           coalesce(created_at, timezone('Asia/Taipei', CAST(date AS TIMESTAMP))) AS unit_time
    FROM units
    WHERE mentions IS NOT NULL AND len(mentions) > 0
),
m AS (
    SELECT u.* EXCLUDE (mentions), x.m.brand AS brand, x.m."group" AS mention_group,
           x.m.sentiment AS label, coalesce(x.m.score, 0) AS score, x.m.field AS field,
           x.m.start AS start, x.m."end" AS "end"
    FROM u, UNNEST(u.mentions) AS x(m)
),
votes AS (
    SELECT platform, post_id, seq, brand, label,
           row_number() OVER (PARTITION BY platform, post_id, seq, brand
                              ORDER BY count(*) DESC, sum(score) DESC, label) AS rank
    FROM m WHERE label IS NOT NULL
    GROUP BY platform, post_id, seq, brand, label
),
per_unit AS (
    SELECT platform, post_id, seq, brand,
           any_value(board) AS board, any_value(kind) AS kind, any_value(author_id) AS author_id,
           any_value(tag) AS tag, any_value(like_count) AS like_count,
           any_value(comment_count) AS comment_count, any_value(title) AS title, any_value(text) AS text,
           any_value(unit_sentiment) AS unit_sentiment, any_value(sponsored) AS sponsored,
           any_value(unit_time) AS unit_time, any_value(mention_group) AS mention_group,
           count(*)::INTEGER AS occurrences,
           arg_min(field, (field <> 'title', start)) AS first_field,
           arg_min(start, (field <> 'title', start)) AS first_start,
           arg_min("end", (field <> 'title', start)) AS first_end
    FROM m GROUP BY platform, post_id, seq, brand
)
SELECT p.platform, p.board, p.post_id, p.seq, p.kind, p.author_id, p.tag, p.like_count,
       p.comment_count, p.title, p.text, p.sponsored, p.brand,
       {group_expr} AS "group",
       coalesce(v.label, p.unit_sentiment) AS sentiment,
       p.occurrences, p.first_field, p.first_start, p.first_end,
       p.unit_time AS created_at,
       strftime(timezone('Asia/Taipei', p.unit_time), '%Y-%m-%d') AS day,
       date_trunc('hour', p.unit_time) AS hour
FROM per_unit p
LEFT JOIN votes v ON v.rank = 1 AND v.platform = p.platform AND v.post_id = p.post_id
                 AND v.seq = p.seq AND v.brand = p.brand
{watch_join}
ORDER BY p.brand, p.platform, p.board, p.post_id, p.seq
"""


def brand_units(units: pa.Table, brands: Mapping[str, BrandInfo] | None = None) -> pa.Table:
    """One row per (unit, brand it mentions): the unit's fields, the brand's sentiment in it,
    its Taipei ``day`` and UTC ``hour``, and the span of its first mention (title first).

    With ``brands`` (from the watch file), only those brands are kept and their group is the watch
    file's; without, every brand found keeps the group recorded with its mentions.
    """
    tables = {"units": units}
    if brands is None:
        group_expr, watch_join = "p.mention_group", ""
    else:
        tables["watch"] = pa.table(
            {"brand": list(brands), "grp": [b.group for b in brands.values()]},
            schema=pa.schema([("brand", pa.string()), ("grp", pa.string())]),
        )
        group_expr, watch_join = "w.grp", "JOIN watch w ON w.brand = p.brand"
    con = connect(**tables)
    return query_arrow(con, _BRAND_UNITS.format(group_expr=group_expr, watch_join=watch_join))


_AGGREGATE = """
WITH post_stats AS (
    SELECT platform, post_id, max(push_count) AS push_count, max(boo_count) AS boo_count,
           max(arrow_count) AS arrow_count, max(like_count) AS like_count,
           max(comment_count) AS comment_count
    FROM posts GROUP BY platform, post_id
),
rows AS (
    SELECT b.{bucket} AS bucket, b.brand, any_value(b."group") AS "group", b.platform, b.board,
           count(*) FILTER (WHERE b.kind = 'post') AS posts,
           count(*) FILTER (WHERE b.kind = 'comment') AS comments,
           count(*) AS mentions,
           count(DISTINCT b.author_id) AS authors,
           count(*) FILTER (WHERE b.sentiment = 'positive') AS positive,
           count(*) FILTER (WHERE b.sentiment = 'neutral') AS neutral,
           count(*) FILTER (WHERE b.sentiment = 'negative') AS negative,
           count(*) FILTER (WHERE b.sentiment IS NULL) AS unscored,
           count(*) FILTER (WHERE b.sponsored) AS sponsored,
           coalesce(sum(s.push_count) FILTER (WHERE b.kind = 'post'), 0) AS pushes,
           coalesce(sum(s.boo_count) FILTER (WHERE b.kind = 'post'), 0) AS boos,
           coalesce(sum(s.arrow_count) FILTER (WHERE b.kind = 'post'), 0) AS arrows,
           coalesce(sum(CASE WHEN b.kind = 'post' THEN coalesce(s.like_count, b.like_count)
                             ELSE b.like_count END), 0) AS likes,
           coalesce(sum(coalesce(s.comment_count, b.comment_count)) FILTER (WHERE b.kind = 'post'), 0)
               AS comments_received
    FROM bu b LEFT JOIN post_stats s ON s.platform = b.platform AND s.post_id = b.post_id
    WHERE b.day = $day
    GROUP BY b.{bucket}, b.brand, b.platform, b.board
)
SELECT *,
       CASE WHEN "group" IS NULL THEN NULL
            ELSE sum(mentions) OVER (PARTITION BY bucket, platform, board, "group") END AS group_mentions
FROM rows
ORDER BY bucket, brand, platform, board
"""


def aggregate(bu: pa.Table, posts: pa.Table, day: str, *, hourly: bool = False) -> pa.Table:
    """Volume, sentiment, sponsored and engagement of :func:`brand_units` rows of one Taipei day,
    per brand × platform × board (× hour). Without terms; see :func:`day_terms`."""
    bu = bu.filter(pc.equal(bu["day"], day))  # here, not only in SQL: see the README on DuckDB filters
    con = connect(bu=bu, posts=posts.select([c for c in POST_COLUMNS if c in posts.column_names]))
    out = query_arrow(con, _AGGREGATE.format(bucket="hour" if hourly else "day"), {"day": day})
    return out


def _ratio(num: pa.Array, den: pa.Array) -> pa.Array:
    num = pc.cast(num, pa.float64())
    den = pc.cast(den, pa.float64())
    return pc.if_else(pc.greater(den, 0), pc.divide(num, pc.if_else(pc.greater(den, 0), den, 1.0)), None)


def _finish(
    agg: pa.Table, dataset: DayDataset, terms: Mapping[tuple[str, str, str], list[str]] | None
) -> pa.Table:
    """Derived ratios, terms and the declared schema."""
    cols = {name: agg[name] for name in agg.column_names}
    if dataset is TRENDS_HOURLY:
        cols["hour"] = agg["bucket"]
    else:
        scored = pc.add(pc.add(agg["positive"], agg["neutral"]), agg["negative"])
        cols["net_sentiment"] = _ratio(pc.subtract(agg["positive"], agg["negative"]), scored)
        cols["pn_ratio"] = _ratio(agg["positive"], agg["negative"])
        cols["sponsored_share"] = _ratio(agg["sponsored"], agg["mentions"])
        cols["sov"] = _ratio(agg["mentions"], agg["group_mentions"])
        keys = zip(
            agg["brand"].to_pylist(), agg["platform"].to_pylist(), agg["board"].to_pylist(), strict=True
        )
        cols["top_terms"] = pa.array([(terms or {}).get(k, []) for k in keys], pa.list_(pa.string()))
    schema = dataset.file_schema
    for f in schema:  # columns a later step fills (coverage)
        cols.setdefault(f.name, pa.nulls(agg.num_rows, f.type))
    return pa.table({f.name: pc.cast(cols[f.name], f.type) for f in schema}, schema=schema)


UNKNOWN = "unknown"
NOT_COVERED = ("partial", "blocked", "failed")


def with_coverage(
    daily: pa.Table,
    coverage: Mapping[tuple[str, str], tuple[str, str | None]],
    brands: Mapping[str, str | None],
) -> pa.Table:
    """``daily`` (a :data:`TRENDS` table of one day) with each row's source coverage, plus a row of
    zeros for every brand in ``brands`` (name -> group) lacking a row on a source-day that was not ok.

    ``coverage``: ``(platform, board) -> (status, reason)`` (:func:`.health.source_coverage`);
    sources missing from it are ``unknown``.
    """
    rows = daily.to_pylist()
    for r in rows:
        r["coverage"], r["coverage_reason"] = coverage.get((r["platform"], r["board"]), (UNKNOWN, None))
    have = {(r["brand"], r["platform"], r["board"]) for r in rows}
    zeros = {f.name: 0 for f in TRENDS.file_schema if f.name in _ZERO_COUNTS}
    for (platform, board), (status, reason) in sorted(coverage.items()):
        if status not in NOT_COVERED:
            continue
        for brand, group in sorted(brands.items()):
            if (brand, platform, board) not in have:
                rows.append(
                    zeros
                    | {"brand": brand, "group": group, "platform": platform, "board": board}
                    | {"sponsored_share": 0.0, "top_terms": [], "coverage": status, "coverage_reason": reason}
                )
    rows.sort(key=lambda r: (r["brand"], r["platform"], r["board"]))
    return pa.Table.from_pylist(rows, schema=TRENDS.file_schema)


_ZERO_COUNTS = {f.name for f in TRENDS.file_schema if pa.types.is_integer(f.type) and not f.nullable}


def top_terms(
    rows: pa.Table,
    background: Sequence[str],
    brands: Mapping[str, BrandInfo] | None,
    *,
    top: int = TOP_TERMS,
    by: tuple[str, ...] = ("brand", "platform", "board"),
) -> dict[tuple, list[str]]:
    """Top TF-IDF terms of :func:`brand_units` ``rows`` grouped by ``by``, with IDF learned from
    the ``background`` documents (all units of the period, so common talk ranks low).

    The brand's own aliases are left out: they top every list. Keys are the values of ``by``.
    """
    from koubei.nlp.keywords import IdfModel
    from koubei.nlp.segment import Segmenter

    background = [d for d in background if d.strip()]
    if not background or not rows.num_rows:
        return {}
    aliases = {b: info.aliases for b, info in (brands or {}).items()}
    segmenter = Segmenter(user_words=[a for names in aliases.values() for a in names])
    model = IdfModel(segmenter).fit(background)
    texts: dict[tuple, list[str]] = defaultdict(list)
    for r in rows.select([*by, "title", "text"]).to_pylist():
        texts[tuple(r[k] for k in by)].append(_doc(r["title"], r["text"]))
    out = {}
    for key, docs in sorted(texts.items()):
        brand = key[by.index("brand")] if "brand" in by else None
        own = {fold(a).lower() for a in aliases.get(brand, (brand,) if brand else ())}
        tags = model.extract_tags("\n".join(docs), topK=top + len(own))
        out[key] = [t for t in tags if fold(t).lower() not in own and not _NUMBER.match(t)][:top]
    return out


def unit_documents(units: pa.Table, day: str) -> list[str]:
    """Title + text of every unit written on ``day``: the IDF background of that day's terms."""
    docs = units.filter(pc.equal(_unit_days(units), day)).select(["title", "text"]).to_pylist()
    return [_doc(d["title"], d["text"]) for d in docs]


def _doc(title: str | None, text: str | None) -> str:
    return "\n".join(x for x in (title, text) if x)


def _unit_days(units: pa.Table) -> pa.Array:
    """The Taipei day of each unit (its partition day when it has no time)."""
    local = pc.strftime(pc.cast(units["created_at"], pa.timestamp("us", tz="Asia/Taipei")), "%Y-%m-%d")
    return pc.coalesce(local, units["date"])


def compute_day(
    units: pa.Table,
    posts: pa.Table,
    day: str,
    brands: Mapping[str, BrandInfo] | None = None,
    *,
    n_terms: int = TOP_TERMS,
) -> tuple[pa.Table, pa.Table]:
    """The daily and hourly trend tables of one Taipei day from enriched units and raw posts."""
    bu = brand_units(units, brands)
    rows = bu.filter(pc.equal(bu["day"], day))
    terms = top_terms(rows, unit_documents(units, day), brands, top=n_terms) if n_terms else {}
    daily = _finish(aggregate(bu, posts, day), TRENDS, terms)
    hourly = _finish(aggregate(bu, posts, day, hourly=True), TRENDS_HOURLY, None)
    return daily, hourly


# ---------------------------------------------------------------------------------------------- stage


@dataclass
class TrendStats:
    """What :func:`run_trends` did for one day."""

    day: str
    units: int = 0
    brand_units: int = 0
    rows: int = 0
    hourly_rows: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"trends {self.day}: {self.units:,} units read, {self.brand_units:,} brand mentions -> "
            f"{self.rows} daily rows, {self.hourly_rows} hourly rows; written: "
            f"{', '.join(self.written) or 'none'}; unchanged: {', '.join(self.unchanged) or 'none'}"
            + (f"; pruned hourly: {', '.join(self.pruned)}" if self.pruned else "")
        )


def run_trends(
    root: str,
    day: str,
    watch: Watch = None,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    n_terms: int = TOP_TERMS,
    keep_hourly_days: int = KEEP_HOURLY_DAYS,
) -> TrendStats:
    """Compute and write ``trends/date=<day>`` and ``trends_hourly/date=<day>`` under ``root``.

    ``watch``: a watch file (or entries) naming the brands and their groups; None keeps every brand
    the enrich stage found. Hourly partitions older than ``keep_hourly_days`` before the newest one
    are removed (a backfill of an old day writes no hourly file).
    """
    date.fromisoformat(day)
    brands = watch_brands(watch)
    stats = TrendStats(day)
    units = read_units(root, day, day, lookback_days=lookback_days)
    posts = read_posts(root, shift_day(day, -lookback_days), day)
    stats.units = units.num_rows
    daily, hourly = compute_day(units, posts, day, brands, n_terms=n_terms)
    from .health import source_coverage  # lazy: it imports the crawl stack's counters

    daily = with_coverage(daily, source_coverage(root, day), _brand_groups(root, day, brands, daily))
    stats.brand_units = sum(daily["mentions"].to_pylist())
    stats.rows, stats.hourly_rows = daily.num_rows, hourly.num_rows
    store = RawStore(root)
    _write(store, TRENDS, day, daily, stats)
    if _keep_hourly(store, day, keep_hourly_days, stats):
        _write(store, TRENDS_HOURLY, day, hourly, stats)
    logger.info(stats.line())
    return stats


def _brand_groups(
    root: str, day: str, brands: Mapping[str, BrandInfo] | None, daily: pa.Table
) -> dict[str, str | None]:
    """The brands a blind source-day gets rows for: the watched ones, else those of the day and of
    the trailing week's trends."""
    if brands is not None:
        return {b: info.group for b, info in brands.items()}
    seen = read_trends(root, shift_day(day, -7), shift_day(day, -1)).select(["brand", "group"]).to_pylist()
    seen += daily.select(["brand", "group"]).to_pylist()
    return {r["brand"]: r["group"] for r in seen}


def _write(store: RawStore, dataset: DayDataset, day: str, table: pa.Table, stats: TrendStats) -> None:
    path = dataset.day_file(store.base, day)
    table = table.replace_schema_metadata(dataset.file_schema.metadata)
    if store.fs.get_file_info(path).type == pafs.FileType.File:
        old = pq.read_table(path, filesystem=store.fs, schema=dataset.file_schema)
        if old.equals(table):
            stats.unchanged.append(dataset.name)
            return
    store.write_file(path, table)
    stats.written.append(dataset.name)


def stored_days(root: str, dataset: DayDataset) -> list[str]:
    """The days a derived dataset has a file for, sorted."""
    fs, base = filesystem(root)
    path = f"{base.rstrip('/')}/{dataset.name}"
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    found = []
    for info in fs.get_file_info(pafs.FileSelector(path)):
        name = info.path.rsplit("/", 1)[-1]
        is_day = info.type == pafs.FileType.Directory and name.startswith("date=")
        if is_day and fs.get_file_info(f"{info.path}/{dataset.name}.parquet").type == pafs.FileType.File:
            found.append(name.removeprefix("date="))
    return sorted(found)


def _keep_hourly(store: RawStore, day: str, keep_days: int, stats: TrendStats) -> bool:
    """Prune old hourly partitions; False when ``day`` itself is too old to keep."""
    days = stored_days(store.root, TRENDS_HOURLY)
    oldest_kept = shift_day(max([*days, day]), -(keep_days - 1))
    for old in days:
        if old < oldest_kept:
            store.fs.delete_dir(f"{store.base.rstrip('/')}/{TRENDS_HOURLY.name}/date={old}")
            stats.pruned.append(old)
    return day >= oldest_kept


def read_trends(root: str, start: str, end: str, *, hourly: bool = False) -> pa.Table:
    """Stored daily (or hourly) trends of ``start``..``end``, with the ``date`` column."""
    return read_partitions(root, TRENDS_HOURLY if hourly else TRENDS, start, end)
