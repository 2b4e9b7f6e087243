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
signal for a person to look at, never an accusation. The signal lives in :mod:`.suspects` with the
other suspicious-author signals; each author row says whether the author is a listed suspect.

Pure core over Arrow tables (:func:`author_scores`); reading in :func:`run_kol`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pyarrow as pa

from .suspects import (
    DEFAULT_CONFIG,
    CoordinationSignal,
    Suspect,
    SuspectConfig,
    coordination_signals,
    read_unit_facts,
    suspected_authors,
    suspects_of,
    unit_rows,
)
from .trends import (
    BrandInfo,
    Watch,
    brand_units,
    connect,
    query_arrow,
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


@dataclass
class KolResult:
    authors: list[dict]  # each with ``suspected``: the author is listed by `koubei suspects` for the brand
    signals: list[CoordinationSignal]
    suspects: list[Suspect] = field(default_factory=list)


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
    suspect_config: SuspectConfig | None = DEFAULT_CONFIG,
) -> KolResult:
    """Authors and coordination signals of the brands' talk written ``start``..``end`` (Taipei).

    With ``suspect_config`` (None: skip), each author row says whether the author is a listed
    suspect for its brand (:mod:`.suspects`), so organic and suspected talk can be read apart.
    """
    brands = brands if brands is not None else watch_brands(watch)
    units = read_units(root, start, end, lookback_days=LOOKBACK_DAYS)
    bu = brand_units(units, brands)
    posts = read_posts(root, shift_day(start, -LOOKBACK_DAYS), end)
    authors = author_scores(bu, posts, kol_reach=kol_reach)
    facts = read_unit_facts(root, start, end, lookback_days=LOOKBACK_DAYS)
    signals = coordination_signals(unit_rows(bu, facts), window=window, min_accounts=min_accounts)
    suspects = (
        suspects_of(root, start, end, units, bu, facts, config=suspect_config) if suspect_config else []
    )
    suspected = {brand: suspected_authors(suspects, brand) for brand in {s.brand for s in suspects}}
    for a in authors:
        a["suspected"] = (a["platform"], a["author_id"]) in suspected.get(a["brand"], set())
    return KolResult(authors, signals, suspects)
