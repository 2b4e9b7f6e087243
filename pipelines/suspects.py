"""Suspicious-author signals: per author and brand, the marks of coordinated or paid talk, with why.

A forum account that praises a brand is almost always a customer. What sets a 網軍 / 業配 account
apart is rarely one post but a pattern, so each (platform, author, brand) gets a list of
**reasons**, each a code, a sentence a person can check and the evidence (units, accounts, times):

Strong reasons (one is enough to be listed):

* ``near_duplicate``: the author wrote a text about the brand that is near-identical (Jaccard of
  character shingles ≥ ``near_dup_threshold``, found with MinHash LSH, then checked exactly) to a
  text of another account in another thread. Short texts (「推」「三星好用」) and URLs are left
  out: they repeat by chance; so are copies inside one thread (echo pushes, 跟推, are a custom).
* ``shared_ip_burst``: ``ip_min_accounts`` or more accounts wrote units of the same polarity
  about the brand from one IP within ``ip_window`` (PTT shows IPs; the ★ of the KOL view).
* ``dcard_suspicious_account``: Dcard itself marks the account (``isSuspiciousAccount``).

Weak reasons (two are needed, so a loyal fan or a heavy poster is never listed on one):

* ``brand_focus``: at least ``focus_min_units`` units in the period and at least ``focus_share``
  of all the author's units name the brand.
* ``burst``: ``burst_units`` or more units about the brand within ``burst_window`` spread over
  at least ``burst_threads`` threads.
* ``new_account``: first seen (the earliest post or comment stored) inside the period, where the
  stored data begins at least ``history_days`` before it (else every author would look new).

A shared IP is also a campus, an office or a carrier's NAT; copied text is also a quoted news
story. The list is for a person to look at, never an accusation.

Pure cores over Arrow tables and rows (:func:`find_suspects`, :func:`near_duplicates`,
:func:`coordination_signals`); reading in :func:`run_suspects`.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from koubei.nlp.clean import URL
from koubei.nlp.normalize import fold

from .schemas import COMMENTS, POSTS
from .store import TAIPEI
from .trends import (
    BrandInfo,
    Watch,
    brand_units,
    connect,
    day_bounds,
    query_arrow,
    read_partitions,
    read_units,
    shift_day,
    watch_brands,
)

LOOKBACK_DAYS = 31  # comments this many days after their post still count in the period
STRONG, WEAK = "strong", "weak"
MAX_EVIDENCE = 10  # units listed per reason


@dataclass(frozen=True)
class SuspectConfig:
    """The thresholds of every signal and of the listing rule (README: ``koubei suspects``)."""

    near_dup_threshold: float = 0.8  # Jaccard of character shingles
    near_dup_shingle: int = 3  # characters per shingle
    near_dup_min_chars: int = 20  # letters and digits; shorter texts repeat by chance
    near_dup_num_perm: int = 128
    near_dup_same_thread: bool = False  # echo pushes (跟推) inside one thread are a PTT custom
    ip_window: timedelta = timedelta(hours=24)
    ip_min_accounts: int = 3
    ip_sentiments: tuple[str, ...] = ("positive", "negative")  # neutral chatter is left out
    burst_units: int = 5
    burst_threads: int = 3
    burst_window: timedelta = timedelta(hours=2)
    focus_share: float = 0.8
    focus_min_units: int = 5
    history_days: int = 30
    min_strong: int = 1  # listed with this many strong reasons …
    min_weak: int = 2  # … or this many weak ones


DEFAULT_CONFIG = SuspectConfig()


@dataclass(frozen=True)
class Reason:
    code: str
    strength: str  # "strong" or "weak"
    text: str
    evidence: dict


@dataclass
class Suspect:
    """One author's signals about one brand in the period. ``author_id`` None: anonymous Dcard
    units that Dcard marked (they cannot be told apart, so they share one row per brand)."""

    platform: str
    author_id: str | None
    brand: str
    group: str | None
    units: int  # units naming the brand in the period
    first_seen: datetime | None
    reasons: list[Reason] = field(default_factory=list)
    config: SuspectConfig = field(default=DEFAULT_CONFIG, repr=False, compare=False)

    @property
    def strong(self) -> int:
        return sum(r.strength == STRONG for r in self.reasons)

    @property
    def weak(self) -> int:
        return sum(r.strength == WEAK for r in self.reasons)

    @property
    def listed(self) -> bool:
        return self.strong >= self.config.min_strong or self.weak >= self.config.min_weak

    def to_dict(self) -> dict:
        out = {
            k: getattr(self, k) for k in ("platform", "author_id", "brand", "group", "units", "first_seen")
        }
        return out | {"listed": self.listed, "reasons": [asdict(r) for r in self.reasons]}


def suspected_authors(suspects: Sequence[Suspect], brand: str | None = None) -> set[tuple[str, str]]:
    """``(platform, author_id)`` of the listed suspects (of one brand, if given): what the KOL
    and sponsored-share views set apart from organic talk."""
    return {
        (s.platform, s.author_id)
        for s in suspects
        if s.listed and s.author_id and (brand is None or s.brand == brand)
    }


# ---------------------------------------------------------------------------------------------- time spans


def densest_span(
    units: Sequence[Mapping], window: timedelta, measure: Callable[[Sequence[Mapping]], tuple | int]
) -> list[Mapping]:
    """The run of ``units`` (sorted by ``created_at``) lying within ``window`` that maximises
    ``measure``; the earliest such run on ties."""
    best: list[Mapping] = []
    lo = 0
    for hi in range(len(units)):
        while units[hi]["created_at"] - units[lo]["created_at"] > window:
            lo += 1
        span = list(units[lo : hi + 1])
        if not best or measure(span) > measure(best):
            best = span
    return best


def _accounts(span: Sequence[Mapping]) -> int:
    return len({u["author_id"] for u in span})


def _duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _taipei(ts: datetime) -> str:
    return ts.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------- shared IP


@dataclass(frozen=True)
class CoordinationSignal:
    """Several accounts, one IP, the same brand and polarity, within ``window``."""

    brand: str
    ip: str
    accounts: tuple[str, ...]
    units: int
    first: datetime
    last: datetime
    boards: tuple[str, ...]
    platform: str = "ptt"
    sentiment: str = "positive"

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
    """IPs from which ``min_accounts`` or more accounts wrote ``sentiment`` units about one brand
    within ``window``. ``rows``: brand units with ``ip`` (see :func:`unit_rows`)."""
    by_key: dict[tuple[str, str, str], list[Mapping]] = defaultdict(list)
    for r in rows:
        if r.get("ip") and r.get("author_id") and r.get("created_at") and r.get("sentiment") == sentiment:
            by_key[(r["brand"], r["platform"], r["ip"])].append(r)
    signals = []
    for (brand, platform, ip), units in sorted(by_key.items()):
        units.sort(key=lambda r: r["created_at"])
        best = densest_span(units, window, _accounts)
        accounts = tuple(sorted({u["author_id"] for u in best}))
        if len(accounts) >= min_accounts:
            boards = tuple(sorted({f"{u['platform']}/{u['board']}" for u in best}))
            first, last = best[0]["created_at"], best[-1]["created_at"]
            signals.append(
                CoordinationSignal(brand, ip, accounts, len(best), first, last, boards, platform, sentiment)
            )
    return signals


# ---------------------------------------------------------------------------------------------- near duplicates


def shingles(text: str, k: int) -> frozenset[str]:
    """Character ``k``-grams of the folded text's letters and digits, URLs left out (spacing,
    punctuation and 簡繁 / width / case differences do not hide a copy; one pasted link is no copy)."""
    chars = "".join(ch for ch in fold(URL.sub(" ", text)) if ch.isalnum())
    return frozenset(chars[i : i + k] for i in range(max(len(chars) - k + 1, 0)))


def near_duplicates(
    texts: Sequence[str], *, threshold: float = 0.8, k: int = 3, min_chars: int = 20, num_perm: int = 128
) -> dict[int, dict[int, float]]:
    """Index -> {other index: Jaccard} for every pair of ``texts`` at least ``threshold`` alike.

    MinHash LSH (datasketch) proposes the candidates; each is confirmed with the exact Jaccard of
    the shingle sets, so the answer does not depend on the hashing. Texts with fewer than
    ``min_chars`` letters and digits take no part.
    """
    from datasketch import MinHash, MinHashLSH

    sets = {i: s for i, t in enumerate(texts) if t and len(s := shingles(t, k)) >= max(min_chars - k + 1, 1)}
    if len(sets) < 2:
        return {}
    ids = sorted(sets)
    # crc32 (C, deterministic) instead of the default sha1: half the time, and every candidate
    # is confirmed exactly below, so a weaker hash can only cost recall at the threshold's edge.
    hashes = MinHash.bulk(
        ([g.encode() for g in sets[i]] for i in ids), num_perm=num_perm, hashfunc=zlib.crc32
    )
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, h in zip(ids, hashes, strict=True):
        lsh.insert(i, h)
    out: dict[int, dict[int, float]] = defaultdict(dict)
    for i, h in zip(ids, hashes, strict=True):
        for j in lsh.query(h):
            if j <= i:
                continue
            a, b = sets[i], sets[j]
            jaccard = len(a & b) / len(a | b)
            if jaccard >= threshold:
                out[i][j] = out[j][i] = jaccard
    return dict(out)


# ---------------------------------------------------------------------------------------------- rows

_UNIT_ROWS = """
SELECT b.brand, b."group", b.platform, b.board, b.post_id, b.seq, b.kind, b.author_id, b.title,
       b.text, b.sentiment, b.created_at, f.url, f.ip, coalesce(f.suspicious_account, false) AS flagged
FROM bu b LEFT JOIN facts f ON f.platform = b.platform AND f.post_id = b.post_id AND f.seq = b.seq
ORDER BY b.brand, b.platform, b.created_at, b.post_id, b.seq
"""

FACT_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("post_id", pa.string()),
        ("seq", pa.int32()),
        ("url", pa.string()),
        ("ip", pa.string()),
        ("suspicious_account", pa.bool_()),
    ]
)


def unit_rows(bu: pa.Table, facts: pa.Table) -> list[dict]:
    """:func:`~.trends.brand_units` rows with each unit's URL, IP and Dcard flag (``facts``,
    see :func:`read_unit_facts`; a unit not in it gets nulls)."""
    return query_arrow(connect(bu=bu, facts=facts), _UNIT_ROWS).to_pylist()


def _ref(r: Mapping) -> str:
    base = r.get("url") or f"{r['platform']}/{r['board']}/{r['post_id']}"
    return base if r["seq"] == 0 else f"{base}#{r['seq']}"


def _own_text(r: Mapping) -> str:
    """The unit's own text, without its title: replies (Re:) repeat their thread's title."""
    return r.get("text") or ""


# ---------------------------------------------------------------------------------------------- signals

Key = tuple[str, str | None, str]  # platform, author_id, brand


def _flagged(rows: Sequence[Mapping]) -> dict[Key, Reason]:
    units: dict[Key, list[Mapping]] = defaultdict(list)
    for r in rows:
        if r["flagged"]:
            units[(r["platform"], r["author_id"] or None, r["brand"])].append(r)
    return {
        key: Reason(
            "dcard_suspicious_account",
            STRONG,
            f"Dcard marks the account as suspicious (isSuspiciousAccount) on {len(us)} unit"
            + ("s" * (len(us) > 1))
            + f" about {key[2]}",
            {"units": [_ref(u) for u in us[:MAX_EVIDENCE]]},
        )
        for key, us in units.items()
    }


def _shared_ip(rows: Sequence[Mapping], config: SuspectConfig) -> dict[Key, Reason]:
    found: dict[Key, Reason] = {}
    for sentiment in config.ip_sentiments:
        for s in coordination_signals(
            rows, window=config.ip_window, min_accounts=config.ip_min_accounts, sentiment=sentiment
        ):
            for account in s.accounts:
                found.setdefault(
                    (s.platform, account, s.brand),
                    Reason(
                        "shared_ip_burst",
                        STRONG,
                        f"one of {len(s.accounts)} accounts writing {sentiment} about {s.brand} from "
                        f"IP {s.masked_ip} within {_duration(s.last - s.first)} "
                        f"({_taipei(s.first)} – {_taipei(s.last)}): {', '.join(s.accounts)}",
                        {
                            "ip": s.masked_ip,
                            "accounts": list(s.accounts),
                            "units": s.units,
                            "first": s.first,
                            "last": s.last,
                            "boards": list(s.boards),
                            "sentiment": sentiment,
                        },
                    ),
                )
    return found


def _counts_as_copy(mine: Mapping, other: Mapping, config: SuspectConfig) -> bool:
    """Another account's unit, and (unless configured) in another thread."""
    if (other["platform"], other["author_id"]) == (mine["platform"], mine["author_id"]):
        return False
    return config.near_dup_same_thread or (other["platform"], other["post_id"]) != (
        mine["platform"],
        mine["post_id"],
    )


@dataclass
class _Copies:
    """One author's copied units about one brand, the other accounts' units, the best Jaccard."""

    own: list[Mapping] = field(default_factory=list)
    others: dict[tuple, Mapping] = field(default_factory=dict)
    similarity: float = 0.0


def _near_duplicate(rows: Sequence[Mapping], config: SuspectConfig) -> dict[Key, Reason]:
    units: dict[tuple, Mapping] = {}
    brands: dict[tuple, set[str]] = defaultdict(set)
    for r in rows:
        if r["author_id"]:
            unit = (r["platform"], r["post_id"], r["seq"])
            units.setdefault(unit, r)
            brands[unit].add(r["brand"])
    keys = list(units)
    pairs = near_duplicates(
        [_own_text(units[u]) for u in keys],
        threshold=config.near_dup_threshold,
        k=config.near_dup_shingle,
        min_chars=config.near_dup_min_chars,
        num_perm=config.near_dup_num_perm,
    )
    hits: dict[Key, _Copies] = {}
    for i, neighbours in sorted(pairs.items()):
        mine = units[keys[i]]
        others = {keys[j]: j for j in neighbours if _counts_as_copy(mine, units[keys[j]], config)}
        for brand in sorted(brands[keys[i]]) if others else ():
            hit = hits.setdefault((mine["platform"], mine["author_id"], brand), _Copies())
            hit.own.append(mine)
            hit.others.update({k: units[k] for k in others})
            hit.similarity = max(hit.similarity, *(neighbours[j] for j in others.values()))
    found = {}
    for key, hit in hits.items():
        own, others, sim = hit.own, hit.others, hit.similarity
        accounts = sorted({o["author_id"] for o in others.values()})
        sample = " ".join(_own_text(own[0]).split())
        found[key] = Reason(
            "near_duplicate",
            STRONG,
            f"wrote text near-identical (similarity {sim:.2f}) to {len(accounts)} other "
            f"account{'s' * (len(accounts) > 1)} ({', '.join(accounts)}): 「{sample[:40]}"
            + ("…」" if len(sample) > 40 else "」"),
            {
                "accounts": accounts,
                "similarity": round(sim, 4),
                "units": [_ref(u) for u in own[:MAX_EVIDENCE]],
                "other_units": [_ref(o) for o in list(others.values())[:MAX_EVIDENCE]],
            },
        )
    return found


def _threads_then_units(span: Sequence[Mapping]) -> tuple[int, int]:
    return len({(u["platform"], u["post_id"]) for u in span}), len(span)


def _bursts(by_author: Mapping[Key, list[Mapping]], config: SuspectConfig) -> dict[Key, Reason]:
    found = {}
    for key, rows in by_author.items():
        timed = sorted((r for r in rows if r["created_at"]), key=lambda r: r["created_at"])
        span = densest_span(timed, config.burst_window, _threads_then_units)
        threads, n = _threads_then_units(span)
        if n < config.burst_units or threads < config.burst_threads:
            continue
        boards = sorted({f"{u['platform']}/{u['board']}" for u in span})
        first, last = span[0]["created_at"], span[-1]["created_at"]
        found[key] = Reason(
            "burst",
            WEAK,
            f"{n} units about {key[2]} within {_duration(last - first)} across {threads} threads "
            f"on {len(boards)} board{'s' * (len(boards) > 1)} ({_taipei(first)} – {_taipei(last)})",
            {
                "units": [_ref(u) for u in span[:MAX_EVIDENCE]],
                "threads": threads,
                "boards": boards,
                "first": first,
                "last": last,
            },
        )
    return found


def _focus(
    by_author: Mapping[Key, list[Mapping]], totals: Mapping[tuple[str, str], int], config: SuspectConfig
) -> dict[Key, Reason]:
    found = {}
    for key, rows in by_author.items():
        n, total = len(rows), totals.get((key[0], key[1]), 0)
        if n >= config.focus_min_units and total and n / total >= config.focus_share:
            found[key] = Reason(
                "brand_focus",
                WEAK,
                f"{n} of {total} units ({n / total:.0%}) in the period name {key[2]}",
                {"brand_units": n, "all_units": total, "share": round(n / total, 4)},
            )
    return found


def _new_accounts(
    keys: Sequence[Key],
    first_seen: Mapping[tuple[str, str], datetime],
    data_begins: datetime | None,
    period_start: datetime,
    config: SuspectConfig,
) -> dict[Key, Reason]:
    if data_begins is None or period_start - data_begins < timedelta(days=config.history_days):
        return {}  # too little history: every author would look new
    found = {}
    for key in keys:
        seen = first_seen.get((key[0], key[1]))
        if seen is not None and seen >= period_start:
            found[key] = Reason(
                "new_account",
                WEAK,
                f"first seen {_taipei(seen)}, inside the period (data since {_taipei(data_begins)[:10]})",
                {"first_seen": seen, "data_begins": data_begins},
            )
    return found


def _author_totals(units: pa.Table) -> dict[tuple[str, str], int]:
    t = units.select(["platform", "author_id"]).filter(pc.is_valid(units["author_id"]))
    counts = t.group_by(["platform", "author_id"]).aggregate([("author_id", "count")])
    return {
        (p, a): n
        for p, a, n in zip(
            counts["platform"].to_pylist(),
            counts["author_id"].to_pylist(),
            counts["author_id_count"].to_pylist(),
            strict=True,
        )
    }


def find_suspects(
    bu: pa.Table,
    units: pa.Table,
    facts: pa.Table,
    *,
    period: tuple[datetime, datetime],
    first_seen: Mapping[tuple[str, str], datetime] | None = None,
    data_begins: datetime | None = None,
    config: SuspectConfig = DEFAULT_CONFIG,
    listed_only: bool = True,
) -> list[Suspect]:
    """Every (platform, author, brand) with a reason, most reasons first.

    ``bu``: :func:`~.trends.brand_units` of the period's ``units`` (every enriched unit of the
    period: the denominator of ``brand_focus``); ``facts``: :func:`read_unit_facts`;
    ``first_seen`` / ``data_begins``: :func:`read_first_seen`. With ``listed_only`` (default),
    only those the listing rule keeps: ``min_strong`` strong or ``min_weak`` weak reasons.
    """
    rows = unit_rows(bu, facts)
    by_author: dict[Key, list[Mapping]] = defaultdict(list)
    for r in rows:
        if r["author_id"]:
            by_author[(r["platform"], r["author_id"], r["brand"])].append(r)
    found: dict[Key, list[Reason]] = defaultdict(list)
    signals = [
        _near_duplicate(rows, config),
        _shared_ip(rows, config),
        _flagged(rows),
        _bursts(by_author, config),
        _focus(by_author, _author_totals(units), config),
        _new_accounts(list(by_author), first_seen or {}, data_begins, period[0], config),
    ]
    for signal in signals:
        for key, reason in signal.items():
            found[key].append(reason)
    groups = {(r["platform"], r["author_id"] or None, r["brand"]): r["group"] for r in rows}
    counts: dict[Key, int] = defaultdict(int)
    for r in rows:
        if r["author_id"] or r["flagged"]:  # anonymous rows count only the units Dcard marked
            counts[(r["platform"], r["author_id"] or None, r["brand"])] += 1
    out = [
        Suspect(
            platform,
            author,
            brand,
            groups.get((platform, author, brand)),
            counts[(platform, author, brand)],
            (first_seen or {}).get((platform, author)) if author else None,
            reasons,
            config,
        )
        for (platform, author, brand), reasons in found.items()
    ]
    out = [s for s in out if s.listed or not listed_only]
    out.sort(key=lambda s: (-s.strong, -s.weak, s.brand, s.platform, s.author_id or ""))
    return out


# ---------------------------------------------------------------------------------------------- reading

_FACTS = """
SELECT platform, post_id, 0::INTEGER AS seq, url, author_ip AS ip, suspicious_account FROM posts
UNION ALL
SELECT c.platform, c.post_id, c.seq, p.url, c.ip, c.suspicious_account
FROM comments c LEFT JOIN (SELECT DISTINCT platform, post_id, url FROM posts) p
     ON p.platform = c.platform AND p.post_id = c.post_id
"""


def read_unit_facts(root: str, start: str, end: str, *, lookback_days: int = LOOKBACK_DAYS) -> pa.Table:
    """URL, IP and Dcard's suspicious flag of every raw post (``seq`` 0) and comment whose post
    was created ``lookback_days`` before ``start`` to ``end``."""
    first = shift_day(start, -lookback_days)
    posts = read_partitions(
        root, POSTS, first, end, columns=["platform", "post_id", "url", "author_ip", "suspicious_account"]
    )
    comments = read_partitions(
        root, COMMENTS, first, end, columns=["platform", "post_id", "seq", "ip", "suspicious_account"]
    )
    return query_arrow(connect(posts=posts, comments=comments), _FACTS).cast(FACT_SCHEMA)


def read_first_seen(root: str, end: str) -> tuple[dict[tuple[str, str], datetime], datetime | None]:
    """Each author's earliest stored post or comment up to ``end``, and when the data begins."""
    first: dict[tuple[str, str], datetime] = {}
    for dataset in (POSTS, COMMENTS):
        t = read_partitions(root, dataset, "0000-01-01", end, columns=["platform", "author_id", "created_at"])
        t = t.filter(pc.and_(pc.is_valid(t["author_id"]), pc.is_valid(t["created_at"])))
        agg = t.group_by(["platform", "author_id"]).aggregate([("created_at", "min")])
        for p, a, ts in zip(
            agg["platform"].to_pylist(),
            agg["author_id"].to_pylist(),
            agg["created_at_min"].to_pylist(),
            strict=True,
        ):
            if a and ((p, a) not in first or ts < first[(p, a)]):
                first[(p, a)] = ts
    return first, min(first.values(), default=None)


def period_bounds(start: str, end: str) -> tuple[datetime, datetime]:
    """UTC start of Taipei day ``start`` and end of Taipei day ``end``."""
    return day_bounds(start)[0], day_bounds(end)[1]


def suspects_of(
    root: str,
    start: str,
    end: str,
    units: pa.Table,
    bu: pa.Table,
    facts: pa.Table,
    *,
    config: SuspectConfig = DEFAULT_CONFIG,
    listed_only: bool = True,
) -> list[Suspect]:
    """:func:`find_suspects` over tables a stage has already read (the KOL view shares them)."""
    first_seen, begins = read_first_seen(root, end)
    return find_suspects(
        bu,
        units,
        facts,
        period=period_bounds(start, end),
        first_seen=first_seen,
        data_begins=begins,
        config=config,
        listed_only=listed_only,
    )


def run_suspects(
    root: str,
    start: str,
    end: str,
    watch: Watch = None,
    *,
    brands: Mapping[str, BrandInfo] | None = None,
    config: SuspectConfig = DEFAULT_CONFIG,
    listed_only: bool = True,
) -> list[Suspect]:
    """Suspects among the authors of the brands' talk written ``start``..``end`` (Taipei days)."""
    brands = brands if brands is not None else watch_brands(watch)
    units = read_units(root, start, end, lookback_days=LOOKBACK_DAYS)
    bu = brand_units(units, brands)
    facts = read_unit_facts(root, start, end)
    return suspects_of(root, start, end, units, bu, facts, config=config, listed_only=listed_only)
