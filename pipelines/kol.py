"""Who drives the talk about a brand: KOL / KOC ranking and a coordinated-account signal.

Forum influence is earned per post, so authors are ranked by the **trust their brand posts earn**,
not by how much they post: the Wilson lower bound of approval (PTT 推 and Dcard likes against 噓)
times the reach those posts got (approvals and replies received), with a bonus for coming back on
several days and for being heard on several boards. Ten posts nobody pushed score zero; one post
with 300 推 and 5 噓 ranks high. Organic and sponsored (業配-flagged) units are ranked apart.

Tiers: **KOL** when the brand posts reached at least ``kol_reach`` approvals + replies in the
period, else **KOC** (key opinion consumer: trusted, smaller audience).

The coordination signal (★) looks at PTT IPs where the page shows them (the post's 發信站 line,
newer pushes): several accounts writing positively about the same brand from one IP within a short
window. A shared IP is also a campus, an office or a mobile carrier's NAT: the report shows the
signal for a person to look at, never an accusation.

Pure cores over Arrow tables (:func:`author_scores`, :func:`coordination_signals`); reading in
:func:`run_kol`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from .schemas import COMMENTS
from .trends import (
    BrandInfo,
    Watch,
    brand_units,
    connect,
    query_arrow,
    read_partitions,
    read_posts,
    read_units,
    shift_day,
    watch_brands,
)

KOL_REACH = 100  # approvals + replies received in the period that make a KOL
LOOKBACK_DAYS = 31


def wilson_lower_bound(up: float, total: float, z: float = 1.96) -> float:
    """The lower end of the 95 % Wilson interval of ``up / total``: small samples rank low."""
    if total <= 0:
        return 0.0
    p = up / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


_AUTHORS = """
WITH post_stats AS (
    SELECT platform, post_id, max(push_count) AS push_count, max(boo_count) AS boo_count,
           max(like_count) AS like_count, max(comment_count) AS comment_count
    FROM posts GROUP BY platform, post_id
),
units AS (
    SELECT b.*, coalesce(b.sponsored, false) AS is_sponsored,
           CASE WHEN b.kind = 'post' THEN coalesce(s.push_count, 0) ELSE 0 END AS pushes,
           CASE WHEN b.kind = 'post' THEN coalesce(s.boo_count, 0) ELSE 0 END AS boos,
           CASE WHEN b.kind = 'post' THEN coalesce(s.like_count, b.like_count, 0)
                ELSE coalesce(b.like_count, 0) END AS likes,
           CASE WHEN b.kind = 'post' THEN coalesce(s.comment_count, b.comment_count, 0) ELSE 0 END AS replies
    FROM bu b LEFT JOIN post_stats s ON s.platform = b.platform AND s.post_id = b.post_id
    WHERE b.author_id IS NOT NULL AND b.author_id <> ''
),
reach AS (
    SELECT brand, platform, author_id, count(DISTINCT board) AS boards FROM units GROUP BY ALL
)
SELECT u.brand, any_value(u."group") AS "group", u.platform, u.board, u.author_id,
       u.is_sponsored AS sponsored,
       count(*) FILTER (WHERE u.kind = 'post') AS posts,
       count(*) FILTER (WHERE u.kind = 'comment') AS comments,
       sum(u.pushes)::BIGINT AS pushes, sum(u.boos)::BIGINT AS boos, sum(u.likes)::BIGINT AS likes,
       sum(u.replies)::BIGINT AS replies,
       count(DISTINCT u.day) AS active_days, any_value(r.boards) AS boards,
       count(*) FILTER (WHERE u.sentiment = 'positive') AS positive,
       count(*) FILTER (WHERE u.sentiment = 'negative') AS negative,
       arg_max(u.post_id, u.pushes + u.likes + u.replies) AS best_post
FROM units u JOIN reach r USING (brand, platform, author_id)
GROUP BY u.brand, u.platform, u.board, u.author_id, u.is_sponsored
"""


def author_scores(bu: pa.Table, posts: pa.Table, *, kol_reach: int = KOL_REACH) -> list[dict]:
    """One row per brand × platform × board × author × sponsored, with ``trust``, ``score``,
    ``tier`` and ``rank`` (1 = first within its brand, board and sponsored flag), best first."""
    rows = query_arrow(connect(bu=bu, posts=posts), _AUTHORS).to_pylist()
    for r in rows:
        up = r["pushes"] + r["likes"]
        r["trust"] = wilson_lower_bound(up, up + r["boos"])
        r["score"] = (
            r["trust"]
            * math.log1p(up + r["replies"])
            * (1 + math.log(r["active_days"]))
            * (1 + 0.5 * math.log(r["boards"]))
        )
        r["tier"] = "KOL" if up + r["replies"] >= kol_reach else "KOC"
    rows.sort(
        key=lambda r: (
            r["brand"],
            r["platform"],
            r["board"],
            r["sponsored"],
            -r["score"],
            -r["pushes"],
            r["author_id"],
        )
    )
    rank: dict[tuple, int] = defaultdict(int)
    for r in rows:
        key = (r["brand"], r["platform"], r["board"], r["sponsored"])
        rank[key] += 1
        r["rank"] = rank[key]
    return rows


@dataclass(frozen=True)
class CoordinationSignal:
    """Several accounts, one IP, the same brand, positive, within ``window``."""

    brand: str
    ip: str
    accounts: tuple[str, ...]
    units: int
    first: datetime
    last: datetime
    boards: tuple[str, ...]

    @property
    def masked_ip(self) -> str:
        """The IP with its last part hidden: enough to see it is one address, no more."""
        parts = self.ip.split(".")
        return ".".join([*parts[:-1], "x"]) if len(parts) == 4 else self.ip[: len(self.ip) // 2] + "…"


def coordination_signals(
    rows: Sequence[Mapping],
    *,
    window: timedelta = timedelta(hours=24),
    min_accounts: int = 3,
    sentiment: str = "positive",
) -> list[CoordinationSignal]:
    """Find IPs from which ``min_accounts`` or more accounts wrote ``sentiment`` units about one
    brand within ``window``. ``rows``: brand units with ``ip`` (see :func:`run_kol`)."""
    by_key: dict[tuple[str, str], list[Mapping]] = defaultdict(list)
    for r in rows:
        if r.get("ip") and r.get("author_id") and r.get("sentiment") == sentiment:
            by_key[(r["brand"], r["ip"])].append(r)
    signals = []
    for (brand, ip), units in sorted(by_key.items()):
        units.sort(key=lambda r: r["created_at"])
        best: list[Mapping] = []
        lo = 0
        for hi in range(len(units)):
            while units[hi]["created_at"] - units[lo]["created_at"] > window:
                lo += 1
            span = units[lo : hi + 1]
            if len({u["author_id"] for u in span}) > len({u["author_id"] for u in best}):
                best = span
        accounts = tuple(sorted({u["author_id"] for u in best}))
        if len(accounts) >= min_accounts:
            signals.append(
                CoordinationSignal(
                    brand,
                    ip,
                    accounts,
                    len(best),
                    best[0]["created_at"],
                    best[-1]["created_at"],
                    tuple(sorted({f"{u['platform']}/{u['board']}" for u in best})),
                )
            )
    return signals


@dataclass
class KolResult:
    authors: list[dict]
    signals: list[CoordinationSignal]


def run_kol(
    root: str,
    start: str,
    end: str,
    watch: Watch = None,
    *,
    brands: Mapping[str, BrandInfo] | None = None,
    kol_reach: int = KOL_REACH,
    window: timedelta = timedelta(hours=24),
    min_accounts: int = 3,
) -> KolResult:
    """Authors and coordination signals of the brands' talk written ``start``..``end`` (Taipei)."""
    brands = brands if brands is not None else watch_brands(watch)
    units = read_units(root, start, end, lookback_days=LOOKBACK_DAYS)
    bu = brand_units(units, brands)
    posts = read_posts(root, shift_day(start, -LOOKBACK_DAYS), end)
    authors = author_scores(bu, posts, kol_reach=kol_reach)
    comment_ips = read_partitions(
        root, COMMENTS, shift_day(start, -LOOKBACK_DAYS), end, columns=["platform", "post_id", "seq", "ip"]
    ).to_pylist()
    ips = {(c["platform"], c["post_id"], c["seq"]): c["ip"] for c in comment_ips if c["ip"]}
    ips.update(
        {(p["platform"], p["post_id"], 0): p["author_ip"] for p in posts.to_pylist() if p["author_ip"]}
    )
    rows = [
        {**r, "ip": ips.get((r["platform"], r["post_id"], r["seq"]))}
        for r in bu.select(
            ["brand", "platform", "board", "post_id", "seq", "author_id", "sentiment", "created_at"]
        ).to_pylist()
    ]
    return KolResult(authors, coordination_signals(rows, window=window, min_accounts=min_accounts))
