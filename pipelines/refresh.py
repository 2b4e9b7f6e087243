"""Engagement history: how fast a post grows, from its ``post_snapshots``, and which stored posts
to re-fetch so that the history keeps up.

Every crawl of a post appends a snapshot of its counts (:meth:`~.store.RawStore.upsert_threads`).
A post's growth is the difference between two of its snapshots, per hour (:func:`growth`). Its
*interactions* are comments plus likes: on PTT every 推 / 噓 / → line is a comment, so pushes and
boos are already in the comment count and are reported apart (``boos``, ``boo_share``), never added
again.

Two refresh policies re-fetch stored posts by URL instead of walking the boards' lists:

* nightly, :func:`select_refresh`: the posts created in the last ``days`` days, fastest-growing
  first (then newest), as many as fit in a budget of requests (:func:`request_cost`);
* hourly, :func:`fast_growing`: the posts gaining at least ``min_per_hour`` interactions an hour.

:func:`refresh_posts` crawls the chosen posts (one real ``scrapy crawl`` per platform, the spiders'
``-a targets=FILE``), which appends one more snapshot per post.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds

from .schemas import POSTS
from .store import read_snapshots, taipei_day

MIN_SPAN_HOURS = 0.5  # two snapshots closer than this say nothing about a rate
DCARD_COMMENTS_PER_PAGE = 50  # the Dcard spider's default comments_limit
MOBILE01_FLOORS_PER_PAGE = 10  # the opening post and 9 replies on the first page, 10 on the others
LAST_DAY = "9999-12-31"  # an open end for day-partition ranges


def _n(value: int | None) -> int:
    return value or 0


@dataclass(frozen=True)
class Growth:
    """What a post gained between two of its snapshots (``start`` and ``end`` are their crawl times)."""

    platform: str
    board: str
    post_id: str
    start: datetime
    end: datetime
    pushes: int
    boos: int
    likes: int
    comments: int
    latest: Mapping  # the later snapshot's row: the counts as of ``end``

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def interactions(self) -> int:
        return self.comments + self.likes

    @property
    def per_hour(self) -> float:
        return self.interactions / self.hours

    @property
    def comments_per_hour(self) -> float:
        return self.comments / self.hours

    @property
    def boos_per_hour(self) -> float:
        return self.boos / self.hours

    @property
    def boo_share(self) -> float | None:
        """噓 among the new 推 and 噓 (None when neither grew, or off PTT)."""
        voted = self.pushes + self.boos
        return self.boos / voted if voted else None


def growth(
    snapshots: Sequence[Mapping],
    *,
    at: datetime | None = None,
    span_hours: float = 0.0,
    min_hours: float = MIN_SPAN_HOURS,
) -> Growth | None:
    """The growth of one post up to its latest snapshot at or before ``at``.

    Compared with the latest snapshot at least ``span_hours`` older (smoothing a rate over a
    window), else with the oldest one at least ``min_hours`` older; None when there is no such
    pair (fewer than two snapshots, or all taken within ``min_hours``). ``snapshots``: one post's
    rows, any order.
    """
    rows = sorted(
        (r for r in snapshots if at is None or r["crawled_at"] <= at), key=lambda r: r["crawled_at"]
    )
    if not rows:
        return None
    last = rows[-1]
    older = [r for r in rows if r["crawled_at"] <= last["crawled_at"] - timedelta(hours=min_hours)]
    if not older:
        return None
    spanning = [r for r in older if r["crawled_at"] <= last["crawled_at"] - timedelta(hours=span_hours)]
    first = spanning[-1] if spanning else older[0]
    return Growth(
        platform=last["platform"],
        board=last["board"],
        post_id=last["post_id"],
        start=first["crawled_at"],
        end=last["crawled_at"],
        pushes=_n(last["push_count"]) - _n(first["push_count"]),
        boos=_n(last["boo_count"]) - _n(first["boo_count"]),
        likes=_n(last["like_count"]) - _n(first["like_count"]),
        comments=_n(last["comment_count"]) - _n(first["comment_count"]),
        latest=last,
    )


def by_post(snapshots: Iterable[Mapping]) -> dict[tuple[str, str], list[Mapping]]:
    """Snapshot rows grouped by ``(platform, post_id)``, each list oldest first."""
    out: dict[tuple[str, str], list[Mapping]] = {}
    for r in sorted(snapshots, key=lambda r: r["crawled_at"]):
        out.setdefault((r["platform"], r["post_id"]), []).append(r)
    return out


def growth_by_post(
    snapshots: Iterable[Mapping], *, at: datetime | None = None, span_hours: float = 0.0
) -> dict[tuple[str, str], Growth]:
    """:func:`growth` of every post that has two usable snapshots."""
    out = {}
    for key, rows in by_post(snapshots).items():
        g = growth(rows, at=at, span_hours=span_hours)
        if g is not None:
            out[key] = g
    return out


def rate_since_creation(row: Mapping, created_at: datetime | None) -> float:
    """Interactions per hour between a post's creation (when it had none) and one snapshot: the
    rate of a post crawled only once."""
    if created_at is None:
        return 0.0
    hours = max((row["crawled_at"] - created_at).total_seconds() / 3600, MIN_SPAN_HOURS)
    return (_n(row["comment_count"]) + _n(row["like_count"])) / hours


# ---------------------------------------------------------------------------------------------- targets


def request_cost(platform: str, comment_count: int | None) -> int:
    """Requests one re-fetch takes: PTT one page; Dcard the detail plus the comment pages (sub-comment
    pages come on top and are not known in advance); Mobile01 every page of the topic."""
    comments = _n(comment_count)
    if platform == "dcard":
        return 1 + math.ceil(comments / DCARD_COMMENTS_PER_PAGE)
    if platform == "mobile01":
        return max(1, math.ceil((comments + 1) / MOBILE01_FLOORS_PER_PAGE))
    return 1


@dataclass(frozen=True)
class RefreshTarget:
    """A stored post to fetch again, with what the spiders need to build its URL."""

    platform: str
    board: str
    post_id: str
    created_at: datetime | None
    comment_count: int | None
    per_hour: float  # its latest growth (interactions an hour): why it was chosen
    cost: int  # estimated requests

    def to_json(self) -> dict:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> RefreshTarget:
        created = data.get("created_at")
        return cls(
            platform=data["platform"],
            board=data["board"],
            post_id=str(data["post_id"]),
            created_at=datetime.fromisoformat(created) if created else None,
            comment_count=data.get("comment_count"),
            per_hour=float(data.get("per_hour") or 0.0),
            cost=int(data.get("cost") or 1),
        )


def write_targets(targets: Iterable[RefreshTarget], path: str | Path) -> Path:
    """Targets as JSON lines (the spiders' ``-a targets=FILE``)."""
    path = Path(path)
    path.write_text("".join(json.dumps(t.to_json()) + "\n" for t in targets), encoding="utf-8")
    return path


@contextmanager
def targets_file(targets: Iterable[RefreshTarget]) -> Iterator[str]:
    """A temporary targets file for one crawl, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="koubei-refresh-") as tmp:
        yield str(write_targets(targets, Path(tmp) / "targets.jsonl"))


def read_targets(path: str | Path) -> list[RefreshTarget]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [RefreshTarget.from_json(json.loads(line)) for line in lines if line.strip()]


def _stored_posts(root: str, first_day: str, platform: str | None) -> dict[tuple[str, str], dict]:
    """Stored, not deleted posts created since ``first_day``, by key."""
    from .trends import read_partitions

    where = ~ds.field("deleted") | ds.field("deleted").is_null()
    if platform:
        where = where & (ds.field("platform") == platform)
    columns = ["platform", "board", "post_id", "created_at", "comment_count", "like_count"]
    table = read_partitions(root, POSTS, first_day, LAST_DAY, columns=columns, filter=where)
    return {(r["platform"], r["post_id"]): r for r in table.to_pylist()}


def _targets(
    posts: Mapping[tuple[str, str], Mapping], snapshots: Iterable[Mapping], now: datetime
) -> list[RefreshTarget]:
    """A target for every stored post, with its latest rate (from snapshots; one snapshot: since creation)."""
    history = by_post(snapshots)
    out = []
    for key, post in posts.items():
        rows = [r for r in history.get(key, []) if r["crawled_at"] <= now]
        g = growth(rows)
        if g is not None:
            rate = g.per_hour
        elif rows:
            rate = rate_since_creation(rows[-1], post["created_at"])
        else:
            rate = 0.0
        count = rows[-1]["comment_count"] if rows else post["comment_count"]
        out.append(
            RefreshTarget(
                platform=post["platform"],
                board=post["board"],
                post_id=post["post_id"],
                created_at=post["created_at"],
                comment_count=count,
                per_hour=rate,
                cost=request_cost(post["platform"], count),
            )
        )
    return out


def _ranked(targets: Iterable[RefreshTarget]) -> list[RefreshTarget]:
    """Fastest-growing first, then newest, then by id (a stable order)."""
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(
        targets, key=lambda t: (-t.per_hour, -(t.created_at or epoch).timestamp(), t.platform, t.post_id)
    )


def select_refresh(
    root: str,
    *,
    days: float,
    budget: int,
    platform: str | None = None,
    boards: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[RefreshTarget]:
    """The stored posts to re-fetch tonight: created within ``days`` of ``now``, fastest-growing
    first, then newest, as many as fit in ``budget`` requests (a post that does not fit is passed
    over for smaller ones after it)."""
    now = now or datetime.now(UTC)
    floor = now - timedelta(days=days)
    posts = {
        k: p
        for k, p in _stored_posts(root, taipei_day(floor), platform).items()
        if p["created_at"] is not None
        and floor <= p["created_at"] <= now
        and (not boards or p["board"] in boards)
    }
    snapshots = read_snapshots(root, created_since=taipei_day(floor), platform=platform).to_pylist()
    chosen, left = [], budget
    for target in _ranked(_targets(posts, snapshots, now)):
        if target.cost <= left:
            chosen.append(target)
            left -= target.cost
    return chosen


def fast_growing(
    root: str,
    since: datetime,
    min_per_hour: float,
    *,
    now: datetime | None = None,
    platform: str | None = None,
    max_age_days: float = 31,
) -> list[RefreshTarget]:
    """Posts crawled since ``since`` whose latest growth is at least ``min_per_hour`` interactions an
    hour (comments plus likes), fastest first: what the hourly DAG re-fetches. A post with a single
    snapshot is measured from its creation. Posts older than ``max_age_days`` are not considered."""
    now = now or datetime.now(UTC)
    first_day = taipei_day(now - timedelta(days=max_age_days))
    snapshots = read_snapshots(
        root, created_since=first_day, platform=platform, crawled_until=now
    ).to_pylist()
    recent = {(r["platform"], r["post_id"]) for r in snapshots if r["crawled_at"] >= since}
    posts = {k: p for k, p in _stored_posts(root, first_day, platform).items() if k in recent}
    return [t for t in _ranked(_targets(posts, snapshots, now)) if t.per_hour >= min_per_hour]


# ---------------------------------------------------------------------------------------------- crawl


def refresh_posts(root: str, targets: Sequence[RefreshTarget], **options) -> list:
    """Re-fetch ``targets`` into the raw store at ``root``: one crawl per platform, its sources the
    targets' boards. ``options`` are :func:`~.crawl.run_crawl`'s (base_url, settings, timeout, …).
    Returns the :class:`~.crawl.CrawlSummary` of each crawl."""
    from .crawl import run_crawl

    extra = options.pop("spider_args", None) or {}
    summaries = []
    for platform in sorted({t.platform for t in targets}):
        mine = [t for t in targets if t.platform == platform]
        with targets_file(mine) as path:
            spider_args = {**extra, "targets": path}
            summaries.append(
                run_crawl(platform, sorted({t.board for t in mine}), root, spider_args=spider_args, **options)
            )
    return summaries
