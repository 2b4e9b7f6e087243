"""Negative-spike alerts: a PR team hears about a negative spike before it spreads, with its cause.

Three rules, each a pure function over counts, with I/O at the edges (:func:`run_alerts`):

* **Daily negative spike** — a brand's negative mentions on a Taipei day against a baseline of the
  trailing ``weeks`` weeks with weekday seasonality (:func:`detect_spike`).
* **Hourly negative spike** — the last complete hour against the same hour of the trailing days.
* **Viral thread** — one thread about the brand, mostly negative, gaining comments or boos fast:
  growth per hour between its engagement snapshots (``post_snapshots``), see :func:`viral_alerts`.

A spike must pass *all* of: a negative-binomial tail test (overdispersion estimated robustly from
the trailing series), a minimum volume (a brand with 2 negative mentions a day does not alert on
5), a minimum ratio over the expected count and a minimum negative share of the brand's mentions
(a launch that doubles all talk is not a negative spike). This is the practice of commercial tools
(weekday-matched baselines, minimum volume, share floor, cool-down; research/anchors.md §2).

One alert per episode: a brand whose negative-spike rules (daily or hourly) fire again within
``cooldown_hours`` of the last firing is in the same episode, which is not re-sent (a viral thread is
its own episode, once per thread); episodes live in
``_state/alerts/episodes.json`` under the storage root, so a re-run never sends twice. Alerts go
through `apprise <https://github.com/caronc/apprise>`_ URLs (Slack, Discord, e-mail, Telegram,
LINE, a JSON webhook, …) named in the watch file's ``alerts:`` section or the environment, and are
always appended to ``outbox/alerts.jsonl`` (JSON lines) and ``alerts/date=<day>/alerts.parquet``.

Crawl health alarms (:mod:`.health`) share the channels, the outbox and the dataset as alerts of
kind ``health``; days whose crawl coverage was partial, blocked or failed (the trends' ``coverage``)
are left out of baselines and get no verdict (:func:`partial_days`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .refresh import Growth, growth_by_post
from .schemas import ALERTS, TRENDS, TRENDS_HOURLY
from .store import RawStore, read_snapshots
from .trends import (
    Watch,
    brand_units,
    day_bounds,
    read_partitions,
    read_posts,
    read_trends,
    read_units,
    shift_day,
    stored_days,
    taipei_today,
    top_terms,
    watch_brands,
)

logger = logging.getLogger(__name__)

URLS_ENV = "KOUBEI_ALERT_URLS"  # extra apprise URLs (space- or comma-separated), always used
OUTBOX = ("outbox", "alerts.jsonl")
EPISODES = ("_state", "alerts", "episodes.json")
RULE_DAILY = "negative_spike_daily"
RULE_HOURLY = "negative_spike_hourly"
RULE_VIRAL = "viral_thread"
RULE_HEALTH = "crawl_health"  # alarms of kind KIND_HEALTH (pipelines/health.py): a source, not a brand
KIND_BRAND, KIND_HEALTH = "brand", "health"


# ---------------------------------------------------------------------------------------------- config


class AlertConfig(BaseModel):
    """The watch file's ``alerts:`` section (every key optional)::

        alerts:
          notify: [env:KOUBEI_SLACK_URL, "json://127.0.0.1:8080/hook"]
          min_volume: 10
          cooldown_hours: 48

    ``notify`` entries are apprise URLs, or ``env:NAME`` for a variable holding one or more of them
    (keep secrets there, not in the file). ``$KOUBEI_ALERT_URLS`` is always added.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    notify: tuple[str, ...] = ()
    # daily rule
    weeks: int = Field(8, ge=2, le=26)  # trailing weeks of the baseline
    min_history_days: int = Field(14, ge=7)  # fewer usable days: no verdict (cold start)
    min_volume: int = Field(10, ge=1)  # negative mentions on the day
    min_ratio: float = Field(2.5, ge=1.0)  # observed / expected
    alpha: float = Field(2e-3, gt=0, lt=1)  # tail probability under the count model
    min_negative_share: float = Field(0.2, ge=0, le=1)  # negative / all of the brand's mentions
    cooldown_hours: float = Field(48, ge=0)
    # hourly rule (the last complete hour against the same hour of the trailing days)
    hourly: bool = True
    hourly_days: int = Field(7, ge=2, le=14)
    hourly_min_volume: int = Field(5, ge=1)
    # viral thread rule
    viral_window_hours: float = Field(3, gt=0)
    viral_min_comments: int = Field(30, ge=1)
    viral_min_boos: int = Field(10, ge=1)
    viral_min_negative_share: float = Field(0.5, ge=0, le=1)
    viral_cooldown_hours: float = Field(168, ge=0)
    # what an alert carries
    top_threads: int = Field(3, ge=0, le=20)
    top_terms: int = Field(8, ge=0, le=50)

    def daily_test(self, history: Sequence[float | None], observed: float, scale: float = 1.0) -> SpikeTest:
        """The daily rule's test (also what the backtest runs)."""
        return detect_spike(
            history,
            observed,
            season=7,
            seasons=self.weeks,
            min_volume=self.min_volume,
            min_ratio=self.min_ratio,
            alpha=self.alpha,
            min_history=self.min_history_days,
            scale=scale,
        )

    def hourly_test(self, history: Sequence[float | None], observed: float) -> SpikeTest:
        """The hourly rule's test: the same hour of the trailing days, three days of history at least."""
        return detect_spike(
            history,
            observed,
            season=24,
            seasons=self.hourly_days,
            min_volume=self.hourly_min_volume,
            min_ratio=self.min_ratio,
            alpha=self.alpha,
            min_history=24 * 3,
        )


class AlertConfigError(ValueError):
    """An ``alerts:`` (or ``health:``) section that cannot be used; the message says where."""


_Section = TypeVar("_Section", bound=BaseModel)


def parse_section(
    data: Mapping | None, name: str, model: type[_Section], source: str = "<watch>"
) -> _Section:
    """The watch file's ``name:`` section as ``model`` (its defaults when absent); problems are one
    :class:`AlertConfigError` line naming the file and the keys."""
    section = (data or {}).get(name) if isinstance(data, Mapping) else None
    if section is None:
        return model()
    if not isinstance(section, Mapping):
        raise AlertConfigError(f"{source}: '{name}' must be a mapping")
    try:
        return model.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise AlertConfigError(f"{source}: {name}: {problems}") from None


def load_section(path: str | Path | None, name: str, model: type[_Section]) -> _Section:
    """A section of a watch file (defaults when there is no file)."""
    if path is None:
        return model()
    return parse_section(yaml.safe_load(Path(path).read_text(encoding="utf-8")), name, model, str(path))


def parse_alert_config(data: Mapping | None, source: str = "<watch>") -> AlertConfig:
    return parse_section(data, "alerts", AlertConfig, source)


def load_alert_config(path: str | Path | None) -> AlertConfig:
    """The ``alerts:`` section of a watch file (defaults when absent)."""
    return load_section(path, "alerts", AlertConfig)


def notify_urls(config: AlertConfig, env: Mapping[str, str] | None = None) -> list[str]:
    """The apprise URLs to send to: literal entries, ``env:NAME`` expanded, plus ``$KOUBEI_ALERT_URLS``."""
    env = os.environ if env is None else env
    urls: list[str] = []
    for entry in (*config.notify, f"env:{URLS_ENV}"):
        if entry.startswith("env:"):
            name = entry.removeprefix("env:")
            value = env.get(name, "")
            if not value and name != URLS_ENV:
                logger.warning("alerts: environment variable %s is not set; that channel is skipped", name)
            urls.extend(u for u in re.split(r"[\s,]+", value) if u)
        else:
            urls.append(entry)
    return list(dict.fromkeys(urls))


_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,20})://[^\s'\"<>]+", re.IGNORECASE)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Hide everything after the scheme of every URL, and every piece of ``secrets`` (tokens live
    in hosts, paths and queries, and libraries log paths without their scheme)."""
    text = _URL.sub(lambda m: f"{m.group(1)}://***", text)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def url_secrets(url: str) -> set[str]:
    """The parts of an apprise URL that may be credentials: user, password, path segments, query values."""
    rest = url.split("://", 1)[-1]
    pieces = set(re.split(r"[/?&=:@#,]+", rest))
    return {p for p in pieces if len(p) >= 4} | ({rest} if rest else set())


class _Redact(logging.Filter):
    """Redacts the records of a library that may log a notification URL (apprise, urllib3)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), tuple(self.secrets))
        record.args = ()
        return True


_REDACT = _Redact()
_CHATTY_LOGGERS = ("apprise", "urllib3.connectionpool", "requests")


# ---------------------------------------------------------------------------------------------- detector


@dataclass(frozen=True)
class SpikeTest:
    """The verdict on one period: observed against expected, and why it is (not) a spike."""

    observed: float
    expected: float | None
    p_value: float | None
    dispersion: float | None  # negative-binomial phi: variance = mu + phi * mu^2
    history: int  # usable periods in the baseline
    spike: bool
    reason: str  # "spike" or what failed

    @property
    def ratio(self) -> float | None:
        return None if not self.expected else self.observed / self.expected


def baseline(history: Sequence[float | None], season: int, seasons: int) -> tuple[float, float, int]:
    """``(expected, phi, usable periods)`` for the period after ``history`` (oldest first).

    Per season slot (weekday, hour of day), values far above the slot's median (past spikes:
    over median + 4 robust standard deviations) are set aside. Expected: the mean of the same
    slot over the last ``seasons`` seasons, moved halfway toward the recent level (the last two
    seasons against the whole window), floored at 0.5. ``phi`` (negative-binomial overdispersion,
    variance = mu + phi mu^2) is the moment estimate from the slots' spread, widened by the
    uncertainty of the expected value itself (it is a mean of few values). ``None`` values
    (partial or blocked days) are left out.
    """
    window = list(history)[-season * seasons :]
    offset = (
        len(window) % season
    )  # window[i] is in the same slot as the next period iff (i - offset) % season == 0
    raw: dict[int, list[float]] = {}
    for i, x in enumerate(window):
        if x is not None:
            raw.setdefault((i - offset) % season, []).append(float(x))
    slots = {k: _clean(v) for k, v in raw.items()}
    values = [x for v in slots.values() for x in v]
    if not values:
        return 0.5, 0.0, 0
    overall = sum(values) / len(values)
    recent = _clean([float(x) for x in window[-2 * season :] if x is not None])
    same = slots.get(0) or values
    seasonal = sum(same) / len(same)
    level = sum(recent) / len(recent) if recent else overall
    expected = max(seasonal / overall * level if overall > 0 else level, 0.5)
    spread = sum(
        len(v) / (len(v) - 1) * sum((x - m) ** 2 - m for x in v)
        for v in slots.values()
        if len(v) > 1 and (m := sum(v) / len(v)) >= 0
    )
    scale = sum(len(v) * (sum(v) / len(v)) ** 2 for v in slots.values() if len(v) > 1)
    phi = max(spread / scale, 0.0) if scale > 0 else 0.0
    dof = len(values) - len(slots)
    phi *= 1 + math.sqrt(2 / dof) if dof > 0 else 2  # an upper bound: an underestimate cries wolf
    # The expectation is itself a mean of len(same) values: its variance adds to the prediction's.
    variance = (expected + phi * expected**2) * (1 + 1 / len(same) + 1 / max(len(recent), 1))
    phi = min(max((variance - expected) / expected**2, 0.0), 3.0)
    return expected, phi, len(values)


def _clean(values: list[float]) -> list[float]:
    """``values`` without those far above their median (past spikes, which would mask the next)."""
    if len(values) < 3:
        return values
    mid = median(values)
    mad = 1.4826 * median(abs(x - mid) for x in values)
    limit = mid + 4 * max(mad, math.sqrt(mid), 1.0)
    return [x for x in values if x <= limit]


def tail_probability(observed: float, expected: float, phi: float) -> float:
    """P(X >= observed) for a negative binomial with mean ``expected`` and ``phi`` (Poisson at 0)."""
    from scipy.stats import nbinom, poisson

    k = math.ceil(observed) - 1
    if phi < 1e-9:
        return float(poisson.sf(k, expected))
    n = 1.0 / phi
    return float(nbinom.sf(k, n, n / (n + expected)))


def detect_spike(
    history: Sequence[float | None],
    observed: float,
    *,
    season: int = 7,
    seasons: int = 8,
    min_volume: float = 10,
    min_ratio: float = 2.5,
    alpha: float = 2e-3,
    min_history: int = 14,
    min_phi: float = 0.05,
    scale: float = 1.0,
) -> SpikeTest:
    """Is ``observed`` a spike after ``history`` (counts per period, oldest first, ``None`` = excluded)?

    ``season`` periods make a cycle (7 days, 24 hours); ``scale`` shrinks the expectation for an
    incomplete period (the share of it elapsed). ``min_phi`` keeps a little overdispersion even
    when the history looks Poisson: forum talk always clusters.
    """
    expected, phi, usable = baseline(history, season, seasons)
    if usable < min_history:
        return SpikeTest(
            observed, None, None, None, usable, False, f"history {usable} < {min_history} periods"
        )
    expected *= scale
    phi = max(phi, min_phi)
    p = tail_probability(observed, expected, phi)
    checks = [
        (observed >= min_volume, f"volume {observed:g} < {min_volume:g}"),
        (observed >= min_ratio * expected, f"ratio {observed / expected:.2f} < {min_ratio:g}"),
        (p < alpha, f"p {p:.2g} >= {alpha:g}"),
    ]
    failed = [why for ok, why in checks if not ok]
    return SpikeTest(observed, expected, p, phi, usable, not failed, "; ".join(failed) or "spike")


# ---------------------------------------------------------------------------------------------- episodes


class Episodes:
    """Open spike episodes by key (``brand|rule[|thread]``): one alert per episode.

    A firing within ``cooldown`` of the key's last firing continues its episode; otherwise a new
    episode (and alert) starts. The state is plain JSON so it can live under the storage root.
    """

    def __init__(self, state: Mapping[str, Mapping[str, str]] | None = None):
        self.state: dict[str, dict[str, str]] = {k: dict(v) for k, v in (state or {}).items()}

    def observe(self, key: str, when: datetime, cooldown: timedelta) -> str | None:
        """Record a firing; the new episode's alert id, or None when it continues an episode."""
        episode = self.state.get(key)
        if episode is not None:
            last = datetime.fromisoformat(episode["last_fired"])
            started = datetime.fromisoformat(episode["started"])
            if started - cooldown <= when <= last + cooldown:
                if when > last:
                    episode["last_fired"] = when.isoformat()
                return None
        alert_id = hashlib.sha256(f"{key}|{when.isoformat()}".encode()).hexdigest()[:16]
        self.state[key] = {"alert_id": alert_id, "started": when.isoformat(), "last_fired": when.isoformat()}
        return alert_id


# ---------------------------------------------------------------------------------------------- alerts


@dataclass
class Alert:
    """One alert: a row of :data:`~.schemas.ALERTS` and one line of the outbox."""

    alert_id: str
    rule: str
    brand: str
    group: str | None
    period_start: datetime
    period_end: datetime
    observed: float
    expected: float | None
    p_value: float | None
    mentions: int | None
    negative_share: float | None
    threads: list[dict] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    message: str = ""
    fired_at: datetime | None = None
    channels: list[str] = field(default_factory=list)
    delivered: bool | None = None
    kind: str | None = KIND_BRAND  # KIND_HEALTH: a crawl health alarm (brand "", source and reason set)
    platform: str | None = None
    board: str | None = None
    reason: str | None = None

    @property
    def day(self) -> str:
        return taipei_today(self.period_start)

    @property
    def title(self) -> str:
        if self.kind == KIND_HEALTH:
            return f"[koubei] crawl health: {self.platform}/{self.board} on {self.day}: {self.reason}"
        what = {
            RULE_DAILY: f"negative spike on {self.day}",
            RULE_HOURLY: f"negative spike at {_taipei_hour(self.period_start)}",
            RULE_VIRAL: "a negative thread is going viral",
        }[self.rule]
        expected = f" (expected {self.expected:.1f})" if self.expected is not None else ""
        if self.rule == RULE_VIRAL:
            hours = max((self.period_end - self.period_start).total_seconds() / 3600, 1e-9)
            return (
                f"[koubei] {self.brand}: {what}: {self.observed:g} new comments and reactions in "
                f"{hours:.3g} h ({self.observed / hours:.1f}/h)"
            )
        return f"[koubei] {self.brand}: {what}: {self.observed:g} negative mentions{expected}"

    def to_json(self) -> dict:
        out = asdict(self)
        for k in ("period_start", "period_end", "fired_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> Alert:
        data = dict(data)
        for k in ("period_start", "period_end", "fired_at"):
            data[k] = datetime.fromisoformat(data[k]) if data.get(k) else None
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


def _taipei_hour(ts: datetime) -> str:
    from .trends import TAIPEI

    return ts.astimezone(TAIPEI).strftime("%Y-%m-%d %H:00")


def render_message(alert: Alert) -> str:
    """The alert as plain text: observed vs expected, the threads behind it, the terms."""
    lines = [alert.title]
    if alert.rule != RULE_VIRAL and alert.expected:
        p = f", p = {alert.p_value:.1g}" if alert.p_value is not None else ""
        lines.append(
            f"Observed {alert.observed:g} vs expected {alert.expected:.1f} (x{alert.observed / alert.expected:.1f}{p})."
        )
    if alert.mentions:
        share = f"{alert.negative_share:.0%} negative of " if alert.negative_share is not None else ""
        lines.append(f"{share}{alert.mentions} mentions of {alert.brand} in the period.")
    if alert.threads:
        lines.append("Top threads:")
        for i, t in enumerate(alert.threads, 1):
            counts = f"{t['negative']} negative, {t['comments']} comments"
            if t.get("pushes") is not None or t.get("boos") is not None:
                counts += f", 推 {t.get('pushes') or 0} / 噓 {t.get('boos') or 0}"
            lines.append(f"{i}. {t['title'] or '(no title)'} ({t['platform']}/{t['board']}): {counts}")
            if t.get("url"):
                lines.append(f"   {t['url']}")
            if t.get("snippet"):
                lines.append(f"   「{t['snippet']}」")
    if alert.terms:
        lines.append("Top terms: " + ", ".join(alert.terms))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- explanation


def _snippet(row: Mapping, width: int = 40) -> str:
    """The words around the unit's first mention; for a mention in a title, the body's opening."""
    text = row.get("text") or ""
    if row.get("first_field") == "title" or not text:
        start, end = 0, 0
        text = text or row.get("title") or ""
    else:
        start, end = row.get("first_start") or 0, row.get("first_end") or 0
    lo, hi = max(0, start - width), min(len(text), end + width)
    snippet = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(text) else "")


def top_threads(
    rows: Sequence[Mapping],
    units: Sequence[Mapping],
    posts: Mapping[tuple[str, str], Mapping],
    n: int,
    *,
    count_key: str = "negative",
) -> list[dict]:
    """The threads with the most ``rows`` (brand units, e.g. the negative ones; their number goes
    under ``count_key``), with their comment counts in ``units`` (the period's units), engagement
    and link from the raw posts."""
    by_thread: dict[tuple[str, str], list[Mapping]] = {}
    for r in sorted(rows, key=lambda r: (r["created_at"], r["seq"])):
        by_thread.setdefault((r["platform"], r["post_id"]), []).append(r)
    comments: dict[tuple[str, str], int] = {}
    for u in units:
        if u["kind"] == "comment":
            comments[(u["platform"], u["post_id"])] = comments.get((u["platform"], u["post_id"]), 0) + 1
    ranked = sorted(by_thread.items(), key=lambda kv: (-len(kv[1]), -comments.get(kv[0], 0), kv[0]))
    out = []
    for key, negative in ranked[:n]:
        post = posts.get(key, {})
        first = negative[0]
        out.append(
            {
                "platform": key[0],
                "board": first["board"],
                "post_id": key[1],
                "title": post.get("title") or first.get("title"),
                "url": post.get("url"),
                "snippet": _snippet(first),
                count_key: len(negative),
                "comments": comments.get(key, 0),
                "pushes": post.get("push_count"),
                "boos": post.get("boo_count"),
            }
        )
    return out


@dataclass
class _Period:
    """The data of one look-back: enriched units, their brand rows, raw posts by key."""

    units: pa.Table
    bu: pa.Table
    posts: dict[tuple[str, str], dict]

    def rows(self, brand: str, start: datetime, end: datetime, *, negative: bool = False) -> pa.Table:
        ts = self.bu["created_at"]
        mask = pc.and_(
            pc.and_(pc.equal(self.bu["brand"], brand), pc.greater_equal(ts, pa.scalar(start, ts.type))),
            pc.less(ts, pa.scalar(end, ts.type)),
        )
        if negative:
            mask = pc.and_(mask, pc.equal(self.bu["sentiment"], "negative"))
        return self.bu.filter(mask)

    def units_between(self, start: datetime, end: datetime) -> pa.Table:
        ts = self.units["created_at"]
        return self.units.filter(
            pc.and_(pc.greater_equal(ts, pa.scalar(start, ts.type)), pc.less(ts, pa.scalar(end, ts.type)))
        )


def _load_period(root: str, first_day: str, last_day: str, brands, lookback_days: int) -> _Period:
    units = read_units(root, first_day, last_day, lookback_days=lookback_days)
    bu = brand_units(units, brands)
    posts = read_posts(root, shift_day(first_day, -lookback_days), last_day)
    by_key = {(p["platform"], p["post_id"]): p for p in posts.to_pylist()}
    return _Period(units, bu, by_key)


def explain(
    period: _Period, brand: str, start: datetime, end: datetime, brands, config: AlertConfig
) -> tuple[list[dict], list[str]]:
    """The top negative threads and terms of a brand between ``start`` and ``end``."""
    negative = period.rows(brand, start, end, negative=True)
    units = period.units_between(start, end)
    threads = top_threads(negative.to_pylist(), units.to_pylist(), period.posts, config.top_threads)
    background = [
        "\n".join(x for x in (d["title"], d["text"]) if x)
        for d in units.select(["title", "text"]).to_pylist()
    ]
    terms = (
        top_terms(negative, background, brands, top=config.top_terms, by=("brand",))
        if config.top_terms
        else {}
    )
    return threads, terms.get((brand,), [])


# ---------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Check:
    """One rule evaluated for one brand (what ``koubei alerts`` prints)."""

    brand: str
    rule: str
    period_start: datetime
    test: SpikeTest
    mentions: int
    negative_share: float | None
    verdict: str  # "alert", "continues <alert id>", or why not


def daily_series(
    trends: pa.Table, days: Sequence[str], excluded: set[str]
) -> dict[str, tuple[list[float | None], list[int]]]:
    """Brand -> (negative per day, mentions per day) over ``days``; ``None`` where excluded."""
    totals: dict[tuple[str, str], list[int]] = {}
    for r in trends.select(["date", "brand", "negative", "mentions"]).to_pylist():
        acc = totals.setdefault((r["brand"], r["date"]), [0, 0])
        acc[0] += r["negative"]
        acc[1] += r["mentions"]
    brands = sorted({b for b, _ in totals})
    out = {}
    for brand in brands:
        neg = [None if d in excluded else float(totals.get((brand, d), [0, 0])[0]) for d in days]
        ment = [totals.get((brand, d), [0, 0])[1] for d in days]
        out[brand] = (neg, ment)
    return out


def hourly_series(
    trends: pa.Table, hours: Sequence[datetime], stored: set[str], excluded: set[str]
) -> dict[str, tuple[list[float | None], list[int]]]:
    """Brand -> (negative per hour, mentions per hour); hours of days not computed are ``None``."""
    totals: dict[tuple[str, datetime], list[int]] = {}
    for r in trends.select(["hour", "brand", "negative", "mentions"]).to_pylist():
        acc = totals.setdefault((r["brand"], r["hour"]), [0, 0])
        acc[0] += r["negative"]
        acc[1] += r["mentions"]
    out = {}
    for brand in sorted({b for b, _ in totals}):
        neg, ment = [], []
        for h in hours:
            d = taipei_today(h)
            usable = d in stored and d not in excluded
            neg.append(float(totals.get((brand, h), [0, 0])[0]) if usable else None)
            ment.append(totals.get((brand, h), [0, 0])[1])
        out[brand] = (neg, ment)
    return out


NOT_COVERED = ("partial", "blocked", "failed")  # trends' coverage that keeps a day out of baselines
NO_VERDICT = "crawl coverage partial/blocked that day: no verdict"


def partial_days(trends: pa.Table) -> set[str]:
    """Days on which some source's crawl coverage was partial, blocked or failed (the trends'
    ``coverage`` column, from crawl health): the brand totals of such a day are too low to be a
    baseline, or a quiet day."""
    if "coverage" not in trends.column_names:
        return set()
    marked = trends.filter(pc.fill_null(pc.is_in(trends["coverage"], pa.array(NOT_COVERED)), False))
    return set(marked["date"].to_pylist())


@dataclass
class AlertRun:
    """What :func:`run_alerts` did: every check, the alerts it sent, and where they went."""

    day: str
    now: datetime
    checks: list[Check] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)  # redacted

    def line(self) -> str:
        sent = ", ".join(f"{a.brand} ({a.rule})" for a in self.alerts) or "none"
        return (
            f"alerts {self.day}: {len(self.checks)} checks, {len(self.alerts)} new alerts: {sent}; "
            f"channels: {', '.join(self.channels) or 'outbox only'}"
        )


def run_alerts(
    root: str,
    watch: Watch,
    *,
    day: str | None = None,
    now: datetime | None = None,
    config: AlertConfig | None = None,
    send: bool = True,
    env: Mapping[str, str] | None = None,
    excluded_days: Callable[[str], bool] | None = None,
) -> AlertRun:
    """Evaluate every rule for every watched brand and send the alerts of new episodes.

    Reads ``trends`` / ``trends_hourly`` (run :func:`~koubei.pipelines.trends.run_trends` first)
    and, for an alert's explanation and the viral rule, the enriched units and raw posts.
    ``day``: the Taipei day of the daily rule (default: today at ``now``); ``now``: the clock
    (default: the end of ``day`` when given, else the real time), which places the last complete
    hour and the viral window. An incomplete day is compared with the share of its expectation
    elapsed. ``send=False`` records alerts in the outbox without delivering them.
    ``excluded_days``: a hook for crawl health (a day it returns True for is left out of baselines).
    """
    real_now = datetime.now(UTC)
    if now is None:
        now = min(day_bounds(day)[1], real_now) if day else real_now
    day = day or taipei_today(now)
    brands = watch_brands(watch)
    if config is None:
        config = load_alert_config(watch) if isinstance(watch, str | Path) else AlertConfig()
    run = AlertRun(day, now)
    store = RawStore(root)
    episodes = Episodes(_read_json(store, EPISODES) or {})
    candidates: list[tuple[int, Alert, str] | None] = []

    first = shift_day(day, -7 * config.weeks)
    trends = read_trends(root, first, day)
    excluded = partial_days(trends) | {d for d in _days(first, day) if excluded_days and excluded_days(d)}
    stored = set(stored_days(root, TRENDS))
    groups = {b: i.group for b, i in (brands or {}).items()}
    period = None  # enriched units of the last week: loaded once, when first needed

    def period_data() -> _Period:
        nonlocal period
        if period is None:
            period = _load_period(root, shift_day(day, -7), day, brands, lookback_days=7)
        return period

    if day in stored:
        days = _days(first, day)
        series = daily_series(trends, days, excluded | {d for d in days if d not in stored})
        start, end = day_bounds(day)
        scale = min(max((now - start) / (end - start), 1 / 24), 1.0)
        for brand, (neg, ment) in series.items():
            if brands is None or brand in brands:
                test = config.daily_test(neg[:-1], neg[-1] or 0.0, scale)
                if day in excluded:  # a blind day is neither a spike nor a quiet day
                    test = replace(test, spike=False, reason=NO_VERDICT)
                candidates.append(
                    _candidate(run, RULE_DAILY, brand, groups, start, end, test, ment[-1], config)
                )
    else:
        logger.warning("alerts: no trends for %s (run `koubei trends` first); daily rule skipped", day)

    if config.hourly:
        candidates += _hourly_candidates(root, run, brands, groups, excluded, config)

    for index, alert, key in (c for c in candidates if c is not None):
        alert_id = episodes.observe(key, alert.period_start, timedelta(hours=config.cooldown_hours))
        if alert_id is None:
            run.checks[index] = replace(
                run.checks[index], verdict=f"continues {episodes.state[key]['alert_id']}"
            )
            continue
        alert.alert_id = alert_id
        alert.threads, alert.terms = explain(
            period_data(), alert.brand, alert.period_start, alert.period_end, brands, config
        )
        run.alerts.append(alert)

    snapshots = read_snapshots(
        root, created_since=shift_day(day, -14), crawled_since=now - timedelta(days=8), crawled_until=now
    ).to_pylist()
    for alert in viral_alerts(period_data(), now, brands, groups, config, snapshots):
        thread = alert.threads[0]
        key = f"{alert.brand}|{RULE_VIRAL}|{thread['platform']}:{thread['post_id']}"
        alert_id = episodes.observe(key, alert.period_start, timedelta(hours=config.viral_cooldown_hours))
        if alert_id is not None:
            alert.alert_id = alert_id
            run.alerts.append(alert)

    urls = notify_urls(config, env)
    run.channels = [_scheme(u) for u in urls]
    for alert in run.alerts:
        alert.fired_at = real_now
        alert.message = render_message(alert)
        alert.channels = run.channels
        alert.delivered = deliver(alert, urls) if send else False
    if run.alerts:
        append_outbox(store, run.alerts)
        write_alert_days(store, {a.day for a in run.alerts})
    _write_json(store, EPISODES, episodes.state)
    logger.info(run.line())
    return run


def _days(first: str, last: str) -> list[str]:
    from .trends import days_between

    return days_between(first, last)


def _candidate(
    run: AlertRun,
    rule: str,
    brand: str,
    groups: Mapping[str, str | None],
    start: datetime,
    end: datetime,
    test: SpikeTest,
    mentions: int,
    config: AlertConfig,
) -> tuple[int, Alert, str] | None:
    """Record the check; the alert to send (with its episode key) when every condition holds."""
    share = test.observed / mentions if mentions else None
    verdict = "alert" if test.spike else test.reason
    if test.spike and (share or 0.0) < config.min_negative_share:
        verdict = f"negative share {share or 0:.2f} < {config.min_negative_share:g}"
    run.checks.append(Check(brand, rule, start, test, mentions, share, verdict))
    if verdict != "alert":
        return None
    alert = Alert(
        alert_id="",
        rule=rule,
        brand=brand,
        group=groups.get(brand),
        period_start=start,
        period_end=end,
        observed=test.observed,
        expected=test.expected,
        p_value=test.p_value,
        mentions=mentions,
        negative_share=share,
    )
    # The daily and hourly rules share the episode: whichever fires first sends, the other continues it.
    return len(run.checks) - 1, alert, f"{brand}|negative_spike"


def _hourly_candidates(root, run: AlertRun, brands, groups, excluded: set[str], config: AlertConfig) -> list:
    """The last complete hour of ``run.now`` against the same hour of the trailing days."""
    hour_end = run.now.replace(minute=0, second=0, microsecond=0)
    hour_start = hour_end - timedelta(hours=1)
    stored = set(stored_days(root, TRENDS_HOURLY))
    if taipei_today(hour_start) not in stored:
        return []
    hours = [hour_start - timedelta(hours=k) for k in range(24 * config.hourly_days, -1, -1)]
    table = read_trends(root, taipei_today(hours[0]), taipei_today(hour_start), hourly=True)
    out = []
    for brand, (neg, ment) in hourly_series(table, hours, stored, excluded).items():
        if brands is None or brand in brands:
            test = config.hourly_test(neg[:-1], neg[-1] or 0.0)
            if taipei_today(hour_start) in excluded:
                test = replace(test, spike=False, reason=NO_VERDICT)
            out.append(
                _candidate(run, RULE_HOURLY, brand, groups, hour_start, hour_end, test, ment[-1], config)
            )
    return out


@dataclass(frozen=True)
class _Burst:
    """How fast one thread grew, and over which period (snapshots, or comment times in the window)."""

    start: datetime
    end: datetime
    gained: int  # comments (plus likes, from snapshots) gained in the period
    boos: int
    growth: Growth | None  # None: measured from comment timestamps (fewer than two snapshots)


def _bursts(
    window_units: Sequence[Mapping],
    snapshots: Sequence[Mapping],
    now: datetime,
    config: AlertConfig,
) -> dict[tuple[str, str], _Burst]:
    """Threads growing fast enough to be viral, by ``(platform, post_id)``."""
    hours = config.viral_window_hours
    start = now - timedelta(hours=hours)
    measured = growth_by_post(snapshots, at=now, span_hours=hours)
    fast = {
        key: _Burst(g.start, g.end, g.interactions, g.boos, g)
        for key, g in measured.items()
        if g.end >= start
        and (
            g.per_hour * hours >= config.viral_min_comments
            or g.boos_per_hour * hours >= config.viral_min_boos
        )
    }
    counts: dict[tuple[str, str], list[int]] = {}
    for u in window_units:
        key = (u["platform"], u["post_id"])
        if u["kind"] == "comment" and key not in measured:
            acc = counts.setdefault(key, [0, 0])
            acc[0] += 1
            acc[1] += u["tag"] == "boo"
    for key, (n, boos) in counts.items():
        if n >= config.viral_min_comments or boos >= config.viral_min_boos:
            fast[key] = _Burst(start, now, n, boos, None)
    return fast


def viral_alerts(
    period: _Period,
    now: datetime,
    brands,
    groups: Mapping[str, str | None],
    config: AlertConfig,
    snapshots: Sequence[Mapping] = (),
) -> list[Alert]:
    """Threads about a brand, negative about it, gaining comments or boos fast.

    Fast, from the engagement ``snapshots`` (``post_snapshots``) of a thread with two of them at
    least half an hour apart: its latest snapshot is at most ``viral_window_hours`` old, and since
    the latest snapshot ``viral_window_hours`` older than that (else its oldest) it gained per hour
    at least ``viral_min_comments`` / ``viral_window_hours`` comments (plus likes) or
    ``viral_min_boos`` / ``viral_window_hours`` boos. A thread with fewer snapshots falls back to
    the comments whose timestamps lie in the last ``viral_window_hours``: at least
    ``viral_min_comments`` of them or ``viral_min_boos`` boos.

    Negative: the post's sentiment about the brand is negative; or at least 3 of the brand's
    mentions in comments of the growth period are and they make ``viral_min_negative_share`` of
    them; or (the post itself naming the brand) boos make ``viral_min_negative_share`` of the
    new 推 and 噓. The alert's period is the growth period; the run's episodes keep it to one alert
    per thread however often the thread is measured again.
    """
    start = now - timedelta(hours=config.viral_window_hours)
    window = period.units_between(start, now).to_pylist()
    fast = _bursts(window, snapshots, now, config)
    if not fast:
        return []
    about: dict[tuple[str, str, str], dict] = {}
    for r in period.bu.to_pylist():
        key = (r["platform"], r["post_id"])
        if key not in fast:
            continue
        entry = about.setdefault((r["brand"], *key), {"post": None, "window": []})
        burst = fast[key]
        if r["kind"] == "post":
            entry["post"] = r
        elif burst.start <= r["created_at"] < burst.end or (
            burst.growth is not None and r["created_at"] == burst.end
        ):
            entry["window"].append(r)
    alerts = []
    for (brand, platform, post_id), entry in sorted(about.items()):
        burst = fast[(platform, post_id)]
        labels = [r["sentiment"] for r in entry["window"]]
        negative = labels.count("negative")
        scored = sum(1 for x in labels if x)
        post_negative = entry["post"] is not None and entry["post"]["sentiment"] == "negative"
        window_negative = negative >= 3 and negative >= config.viral_min_negative_share * scored
        booed = (
            entry["post"] is not None
            and burst.growth is not None
            and (burst.growth.boo_share or 0.0) >= config.viral_min_negative_share
        )
        if not (post_negative or window_negative or booed):
            continue
        rows = ([entry["post"]] if post_negative or booed else []) + [
            r for r in entry["window"] if r["sentiment"] == "negative"
        ]
        thread_units = [u for u in window if (u["platform"], u["post_id"]) == (platform, post_id)]
        (thread,) = top_threads(rows, thread_units, period.posts, 1)
        if burst.growth is not None:  # the counts as of the latest snapshot
            latest = burst.growth.latest
            thread["comments"] = burst.growth.comments
            thread["pushes"], thread["boos"] = latest["push_count"], latest["boo_count"]
        elif thread["boos"] is not None:
            thread["boos"] = max(thread["boos"], burst.boos)
        alerts.append(
            Alert(
                alert_id="",
                rule=RULE_VIRAL,
                brand=brand,
                group=groups.get(brand),
                period_start=burst.start,
                period_end=burst.end,
                observed=float(burst.gained),
                expected=None,
                p_value=None,
                mentions=len(entry["window"]) + (entry["post"] is not None),
                negative_share=negative / scored if scored else None,
                threads=[thread],
                terms=[],
            )
        )
    return alerts


# ---------------------------------------------------------------------------------------------- delivery


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() + "://" if "://" in url else "?"


def deliver(alert: Alert, urls: Sequence[str]) -> bool:
    """Send through apprise; True when every channel accepted it (or none is configured).

    URLs carry tokens: logs show their scheme only (apprise's own log lines are redacted too).
    """
    if not urls:
        return True
    import apprise

    for url in urls:
        _REDACT.secrets |= url_secrets(url)
    for name in _CHATTY_LOGGERS:
        if _REDACT not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_REDACT)
    ok = True
    for url in urls:  # one channel at a time, so a broken one is reported by its scheme
        channel = apprise.Apprise()
        if not channel.add(url):
            logger.warning("alerts: %s is not a valid apprise URL; skipped", _scheme(url))
            ok = False
            continue
        sent = channel.notify(
            title=alert.title,
            body=alert.message,
            notify_type=apprise.NotifyType.WARNING,
            body_format=apprise.NotifyFormat.TEXT,
        )
        if not sent:
            logger.warning("alerts: %s did not accept alert %s", _scheme(url), alert.alert_id)
        ok = ok and bool(sent)
    return ok


# ---------------------------------------------------------------------------------------------- storage


def _path(store: RawStore, parts: Sequence[str]) -> str:
    return "/".join([store.base.rstrip("/"), *parts])


def _read_text(store: RawStore, parts: Sequence[str]) -> str | None:
    path = _path(store, parts)
    if store.fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with store.fs.open_input_stream(path) as f:
        return f.read().decode("utf-8")


def _write_text(store: RawStore, parts: Sequence[str], text: str) -> None:
    """Write whole, through a temporary file on local roots (a reader never sees half a file)."""
    path = _path(store, parts)
    parent = path.rsplit("/", 1)[0]
    store.fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.{parts[-1]}.tmp" if store.local else path
    with store.fs.open_output_stream(tmp) as f:
        f.write(text.encode("utf-8"))
    if store.local:
        store.fs.move(tmp, path)


def _read_json(store: RawStore, parts: Sequence[str]):
    text = _read_text(store, parts)
    return json.loads(text) if text else None


def _write_json(store: RawStore, parts: Sequence[str], data) -> None:
    _write_text(store, parts, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))


def read_outbox(root: str) -> list[Alert]:
    """Every alert recorded under ``root``, oldest first."""
    text = _read_text(RawStore(root), OUTBOX) or ""
    return [Alert.from_json(json.loads(line)) for line in text.splitlines() if line.strip()]


def append_outbox(store: RawStore, alerts: Sequence[Alert]) -> None:
    """Append alerts as JSON lines (local roots append in place; object stores rewrite)."""
    lines = "".join(json.dumps(a.to_json(), ensure_ascii=False) + "\n" for a in alerts)
    if store.local:
        path = _path(store, OUTBOX)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(lines)
    else:
        _write_text(store, OUTBOX, (_read_text(store, OUTBOX) or "") + lines)


def write_alert_days(store: RawStore, days: set[str]) -> None:
    """Rewrite ``alerts/date=<day>`` from the outbox for each of ``days``."""
    alerts = read_outbox(store.root)
    for day in sorted(days):
        rows = [
            a.to_json() | {"period_start": a.period_start, "period_end": a.period_end, "fired_at": a.fired_at}
            for a in alerts
            if a.day == day
        ]
        table = pa.Table.from_pylist(
            [{k: r.get(k) for k in ALERTS.file_schema.names} for r in rows], schema=ALERTS.file_schema
        )
        store.write_file(ALERTS.day_file(store.base, day), table)


def read_alerts(root: str, start: str, end: str) -> pa.Table:
    """Stored alerts of ``start``..``end`` (by the Taipei day of their period)."""
    return read_partitions(root, ALERTS, start, end)
