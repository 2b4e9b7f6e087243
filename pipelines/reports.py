"""Brand reports: one self-contained HTML file (works offline), CSV, Markdown, a terminal summary.

What a brand manager reads for a period: 聲量 by day stacked by sentiment, 好感度 (net sentiment,
P/N), share of voice inside each competitor group, the platform/board split, the top positive and
negative threads, the KOL/KOC who drive the talk (with the ★ coordination signal), sponsored
share, top terms and the alert history. Crawl coverage is in every number: a source-day whose
crawl was partial, blocked or failed (the trends' ``coverage`` column) is shaded and labelled in the
daily chart, listed with its reason, and carried in the CSV, so a blind day never reads as a quiet
one; crawl health alarms are listed apart from brand alerts.

Safety: every string that comes from forum users or the watch file goes through Jinja2
autoescaping (HTML), is HTML-escaped before plotly draws it (plotly reads a subset of HTML in
labels), is quoted against spreadsheet formulas (CSV) and escaped for Markdown. Links are kept
only when they are http(s). plotly.js is inlined (``include_plotlyjs=True`` on the first chart),
and a Content-Security-Policy forbids every network request: the file works offline and fetches
nothing.

:func:`build_report` reads (trends, enriched units, raw posts, alerts; missing trend days are
computed first); :func:`render_html`, :func:`render_csv`, :func:`render_markdown` are pure.
"""

from __future__ import annotations

import csv
import html
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .alerts import KIND_HEALTH, NOT_COVERED, read_alerts, top_threads
from .kol import CoordinationSignal, run_kol
from .schemas import TRENDS
from .store import read_snapshots
from .trends import (
    BrandInfo,
    Watch,
    brand_units,
    day_bounds,
    days_between,
    read_posts,
    read_trends,
    read_units,
    run_trends,
    shift_day,
    stored_days,
    top_terms,
    watch_brands,
)

logger = logging.getLogger(__name__)

FORMATS = ("html", "csv", "md")
COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c", "unscored": "#dddddd"}
LABELS = {
    "negative": "負面 negative",
    "neutral": "中立 neutral",
    "positive": "正面 positive",
    "unscored": "未評分",
}
COUNTS = ("mentions", "posts", "comments", "positive", "neutral", "negative", "unscored", "sponsored")
ENGAGEMENT = ("pushes", "boos", "arrows", "likes", "comments_received")
COVERAGE_RANK = {"failed": 0, "blocked": 1, "partial": 2, "unknown": 3, "ok": 4}  # worst first
COVERAGE_FILL = {"failed": "#555555", "blocked": "#555555", "partial": "#aaaaaa"}
COVERAGE_LEGEND = "partial/blocked crawl (no full data)"


# ---------------------------------------------------------------------------------------------- data


@dataclass
class BrandSummary:
    brand: str
    group: str | None
    mentions: int = 0
    posts: int = 0
    comments: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0
    sponsored: int = 0
    pushes: int = 0
    boos: int = 0
    arrows: int = 0
    likes: int = 0
    comments_received: int = 0
    sov: float | None = None

    @property
    def net_sentiment(self) -> float | None:
        scored = self.positive + self.neutral + self.negative
        return (self.positive - self.negative) / scored if scored else None

    @property
    def pn_ratio(self) -> float | None:
        return self.positive / self.negative if self.negative else None

    @property
    def sponsored_share(self) -> float | None:
        return self.sponsored / self.mentions if self.mentions else None


@dataclass
class ReportData:
    """Everything a report shows; built by :func:`build_report`, rendered by the ``render_*``."""

    start: str
    end: str
    brands: dict[str, BrandInfo]
    summaries: list[BrandSummary]
    daily: list[dict]  # per brand per day: counts (summed over platforms and boards) and sov
    split: list[dict]  # per brand per platform/board: mentions, negative
    threads: dict[str, dict[str, list[dict]]]  # brand -> "positive"/"negative" -> threads
    terms: dict[str, list[str]]
    authors: list[dict]
    signals: list[CoordinationSignal]
    alerts: list[dict]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    coverage: list[dict] = field(
        default_factory=list
    )  # source-days not ok: date, platform, board, status, reason
    health_alarms: list[dict] = field(default_factory=list)  # crawl health alarms of the period
    growth: list[dict] = field(default_factory=list)  # growth curves of viral / top negative threads


def _sum_daily(trends: pa.Table) -> tuple[list[dict], list[dict]]:
    """Per brand per day (with the day's SOV in its group) and per brand per platform/board."""
    days: dict[tuple[str, str], dict] = {}
    split: dict[tuple[str, str, str], dict] = {}
    for r in trends.to_pylist():
        d = days.setdefault(
            (r["brand"], r["date"]),
            {"brand": r["brand"], "group": r["group"], "date": r["date"]}
            | dict.fromkeys(COUNTS + ENGAGEMENT, 0)
            | {"coverage": None, "coverage_reason": None},
        )
        for k in COUNTS + ENGAGEMENT:
            d[k] += r[k]
        _worse(d, r.get("coverage"), r.get("coverage_reason"), f"{r['platform']}/{r['board']}")
        s = split.setdefault(
            (r["brand"], r["platform"], r["board"]),
            {
                "brand": r["brand"],
                "platform": r["platform"],
                "board": r["board"],
                "mentions": 0,
                "negative": 0,
            },
        )
        s["mentions"] += r["mentions"]
        s["negative"] += r["negative"]
    group_day: dict[tuple[str, str], int] = defaultdict(int)
    for d in days.values():
        if d["group"] is not None:
            group_day[(d["group"], d["date"])] += d["mentions"]
    for d in days.values():
        total = group_day.get((d["group"], d["date"])) if d["group"] is not None else None
        d["sov"] = d["mentions"] / total if total else None
        scored = d["positive"] + d["neutral"] + d["negative"]
        d["net_sentiment"] = (d["positive"] - d["negative"]) / scored if scored else None
    return sorted(days.values(), key=lambda d: (d["brand"], d["date"])), sorted(
        split.values(), key=lambda s: (s["brand"], -s["mentions"], s["platform"], s["board"])
    )


def _worse(day: dict, status: str | None, reason: str | None, source: str) -> None:
    """Keep the worst coverage of a brand-day's rows, and every not-ok source with its reason."""
    status = status or "unknown"
    current = day["coverage"]
    if current is None or COVERAGE_RANK.get(status, 3) < COVERAGE_RANK.get(current, 3):
        day["coverage"] = status
    if status in NOT_COVERED:
        why = f"{source} {status}" + (f": {reason}" if reason else "")
        day["coverage_reason"] = "; ".join(x for x in (day["coverage_reason"], why) if x)


def coverage_rows(trends: pa.Table) -> list[dict]:
    """The source-days of ``trends`` whose coverage was not ok, by day and source."""
    if "coverage" not in trends.column_names:
        return []
    seen = {}
    for r in trends.select(["date", "platform", "board", "coverage", "coverage_reason"]).to_pylist():
        if r["coverage"] in NOT_COVERED:
            seen[(r["date"], r["platform"], r["board"])] = r
    out = [
        {"date": d, "platform": p, "board": b, "status": r["coverage"], "reason": r["coverage_reason"]}
        for (d, p, b), r in sorted(seen.items())
    ]
    return out


def _summaries(daily: list[dict], brands: dict[str, BrandInfo]) -> list[BrandSummary]:
    out: dict[str, BrandSummary] = {b: BrandSummary(b, info.group) for b, info in brands.items()}
    for d in daily:
        s = out.setdefault(d["brand"], BrandSummary(d["brand"], d["group"]))
        for k in COUNTS + ENGAGEMENT:
            setattr(s, k, getattr(s, k) + d[k])
    group_total: dict[str, int] = defaultdict(int)
    for s in out.values():
        if s.group is not None:
            group_total[s.group] += s.mentions
    for s in out.values():
        if s.group is not None and group_total[s.group]:
            s.sov = s.mentions / group_total[s.group]
    return sorted(out.values(), key=lambda s: (-s.mentions, s.brand))


def ensure_trends(root: str, start: str, end: str, watch: Watch) -> list[str]:
    """Compute the trend days of ``start``..``end`` that are missing (from the enriched data)."""
    have = set(stored_days(root, TRENDS))
    missing = [d for d in days_between(start, end) if d not in have]
    for day in missing:
        run_trends(root, day, watch)
    return missing


def _watched_trends(
    root: str, watch: Watch, start: str, end: str, update: bool
) -> tuple[dict[str, BrandInfo], pa.Table]:
    """The watched brands and their stored trends of the period (computing missing days first)."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    brands = watch_brands(watch) or {}
    if update:
        ensure_trends(root, start, end, watch)
    trends = read_trends(root, start, end)
    if brands:
        trends = trends.filter(pc.is_in(trends["brand"], pa.array(list(brands), pa.string())))
    return brands, trends


def build_summary(
    root: str, watch: Watch, start: str, end: str, *, update: bool = True
) -> tuple[list[BrandSummary], list[dict]]:
    """Per brand totals and the alerts of ``start``..``end``: the terminal summary's data."""
    brands, trends = _watched_trends(root, watch, start, end, update)
    alerts = [
        a
        for a in read_alerts(root, start, end).to_pylist()
        if a.get("kind") != KIND_HEALTH and (not brands or a["brand"] in brands)
    ]
    return _summaries(_sum_daily(trends)[0], brands), sorted(alerts, key=lambda a: a["period_start"])


def build_report(
    root: str, watch: Watch, start: str, end: str, *, top: int = 5, update: bool = True
) -> ReportData:
    """Gather a report's data for Taipei days ``start``..``end`` under ``root``."""
    brands, trends = _watched_trends(root, watch, start, end, update)
    daily, split = _sum_daily(trends)
    units = read_units(root, start, end)
    bu = brand_units(units, brands or None)
    posts = {
        (p["platform"], p["post_id"]): p for p in read_posts(root, shift_day(start, -31), end).to_pylist()
    }
    unit_rows = units.select(["platform", "post_id", "kind"]).to_pylist()
    threads: dict[str, dict[str, list[dict]]] = {}
    by_brand: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in bu.to_pylist():
        if r["sentiment"] in ("positive", "negative"):
            by_brand[r["brand"]][r["sentiment"]].append(r)
    for brand in sorted(by_brand):
        threads[brand] = {
            label: top_threads(rows, unit_rows, posts, top, count_key="units")
            for label, rows in sorted(by_brand[brand].items())
        }
    background = [
        "\n".join(x for x in (d["title"], d["text"]) if x)
        for d in units.select(["title", "text"]).to_pylist()
    ]
    terms = {k[0]: v for k, v in top_terms(bu, background, brands or None, top=10, by=("brand",)).items()}
    kol = run_kol(root, start, end, brands=brands or None)
    every = read_alerts(root, start, end).to_pylist()
    health = [a for a in every if a.get("kind") == KIND_HEALTH]
    alerts = [a for a in every if a.get("kind") != KIND_HEALTH]
    if brands:
        alerts = [a for a in alerts if a["brand"] in brands]
    snapshots = read_snapshots(root, created_since=shift_day(start, -31), crawled_until=day_bounds(end)[1])
    return ReportData(
        start=start,
        end=end,
        brands=brands or {s["brand"]: BrandInfo(s["group"], (s["brand"],)) for s in daily},
        summaries=_summaries(daily, brands),
        daily=daily,
        split=split,
        threads=threads,
        terms=terms,
        authors=kol.authors,
        signals=kol.signals,
        alerts=sorted(alerts, key=lambda a: a["period_start"]),
        coverage=coverage_rows(trends),
        health_alarms=sorted(health, key=lambda a: (a["period_start"], a["platform"], a["board"])),
        growth=growth_curves(snapshots.to_pylist(), growth_threads(alerts, threads)),
    )


GROWTH_THREADS = 6  # curves drawn at most
GROWTH_SERIES = (
    ("comment_count", "comments 留言"),
    ("push_count", "推"),
    ("boo_count", "噓"),
    ("like_count", "likes"),
)


def growth_threads(alerts: list[dict], threads: dict[str, dict[str, list[dict]]]) -> list[dict]:
    """The threads whose growth the report draws: those of viral alerts first, then each brand's top
    negative threads (one entry per thread, at most :data:`GROWTH_THREADS`)."""
    from .alerts import RULE_VIRAL

    chosen: dict[tuple[str, str], dict] = {}
    candidates = [
        (t, f"{a['brand']}: viral alert")
        for a in alerts
        if a["rule"] == RULE_VIRAL
        for t in a["threads"] or []
    ] + [
        (t, f"{brand}: top negative")
        for brand, by in sorted(threads.items())
        for t in by.get("negative", [])[:3]
    ]
    for thread, why in candidates:
        chosen.setdefault((thread["platform"], thread["post_id"]), {**thread, "why": why})
    return list(chosen.values())[:GROWTH_THREADS]


def growth_curves(snapshots: list[dict], threads: list[dict]) -> list[dict]:
    """Each thread's counts at each of its crawls (``post_snapshots``), cumulative as the site shows
    them: ``times`` and one list per series of :data:`GROWTH_SERIES` (a series never seen is left
    out). Threads with fewer than two snapshots have no curve."""
    by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in sorted(snapshots, key=lambda r: r["crawled_at"]):
        by_key[(r["platform"], r["post_id"])].append(r)
    out = []
    for t in threads:
        rows = by_key.get((t["platform"], t["post_id"]), [])
        if len(rows) < 2:
            continue
        series = {
            col: [r[col] for r in rows] for col, _ in GROWTH_SERIES if any(r[col] is not None for r in rows)
        }
        out.append(
            {
                "platform": t["platform"],
                "board": t["board"],
                "post_id": t["post_id"],
                "title": t.get("title"),
                "why": t["why"],
                "times": [r["crawled_at"] for r in rows],
                "series": series,
            }
        )
    return out


# ---------------------------------------------------------------------------------------------- charts


def _shade_blind_days(fig, brands: list[str], blind: dict[tuple[str, str], str]) -> None:
    """A grey band, labelled with the status, over each brand-day whose crawl was not complete (its
    bars, if any, are a floor, and an empty day is no data): one legend entry for all of them."""
    from datetime import date, timedelta

    first = True
    for i, brand in enumerate(brands, start=1):
        for (b, day), status in sorted(blind.items()):
            if b != brand:
                continue
            middle = datetime.combine(date.fromisoformat(day), datetime.min.time())
            fig.add_vrect(
                x0=(middle - timedelta(hours=12)).isoformat(sep=" "),
                x1=(middle + timedelta(hours=12)).isoformat(sep=" "),
                fillcolor=COVERAGE_FILL[status],
                opacity=0.35,
                line_width=0,
                layer="below",
                row=i,
                col=1,
                annotation_text=status,
                annotation_position="top",
                name=COVERAGE_LEGEND,
                legendgroup="coverage",
                showlegend=first,
            )
            first = False


def _label(text: str | None) -> str:
    """A user string for plotly, which reads a subset of HTML in labels: escaped to show as text."""
    return html.escape(text or "", quote=False)


def _growth_figure(curves: list[dict]):
    """One panel per thread: its comments, 推, 噓 and likes at each crawl, Asia/Taipei time."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from .trends import TAIPEI

    names = dict(GROWTH_SERIES)
    colors = {"comment_count": "#1f77b4", "push_count": COLORS["positive"], "boo_count": COLORS["negative"]}
    fig = make_subplots(
        rows=len(curves),
        cols=1,
        subplot_titles=[
            _label(f"{c['title'] or '(no title)'} ({c['platform']}/{c['board']}; {c['why']})") for c in curves
        ],
        vertical_spacing=min(0.08, 0.3 / len(curves)),
    )
    for i, curve in enumerate(curves, start=1):
        times = [t.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") for t in curve["times"]]
        for col, values in curve["series"].items():
            fig.add_trace(
                go.Scatter(
                    x=times,
                    y=values,
                    name=names[col],
                    mode="lines+markers",
                    line={"color": colors.get(col, "#ff7f0e")},
                    legendgroup=col,
                    showlegend=i == 1,
                ),
                row=i,
                col=1,
            )
    fig.update_layout(height=220 * len(curves) + 80)
    return fig


def _charts(data: ReportData) -> list[tuple[str, str]]:
    """(title, HTML div) of every chart; plotly.js is inlined once, in the first."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figures: list[tuple[str, go.Figure]] = []
    brands = [s.brand for s in data.summaries if s.mentions]
    days = days_between(data.start, data.end)
    by_key = {(d["brand"], d["date"]): d for d in data.daily}
    blind = {(d["brand"], d["date"]): d["coverage"] for d in data.daily if d.get("coverage") in NOT_COVERED}
    drawn = [s.brand for s in data.summaries if s.mentions or any(b == s.brand for b, _ in blind)]
    if drawn:
        fig = make_subplots(
            rows=len(drawn),
            cols=1,
            shared_xaxes=True,
            subplot_titles=[_label(b) for b in drawn],
            vertical_spacing=min(0.08, 0.3 / len(drawn)),
        )
        for i, brand in enumerate(drawn, start=1):
            for label in ("negative", "neutral", "positive", "unscored"):
                fig.add_trace(
                    go.Bar(
                        x=days,
                        y=[by_key.get((brand, d), {}).get(label, 0) for d in days],
                        name=LABELS[label],
                        marker_color=COLORS[label],
                        legendgroup=label,
                        showlegend=i == 1,
                    ),
                    row=i,
                    col=1,
                )
        _shade_blind_days(fig, drawn, blind)
        fig.update_layout(barmode="stack", height=220 * len(drawn) + 80)
        figures.append(("聲量 Mentions by day, by sentiment", fig))

    if brands:
        fig = go.Figure()
        for brand in brands:
            fig.add_trace(
                go.Scatter(
                    x=days,
                    y=[by_key.get((brand, d), {}).get("net_sentiment") for d in days],
                    name=_label(brand),
                    mode="lines+markers",
                )
            )
        fig.update_layout(yaxis={"range": [-1.05, 1.05], "title": "(positive - negative) / scored"})
        figures.append(("好感度 Net sentiment by day", fig))

    groups = sorted({s.group for s in data.summaries if s.group and s.mentions})
    if groups:
        fig = make_subplots(rows=1, cols=len(groups), subplot_titles=[_label(g) for g in groups])
        for col, group in enumerate(groups, start=1):
            for brand in (s.brand for s in data.summaries if s.group == group and s.mentions):
                fig.add_trace(
                    go.Scatter(
                        x=days,
                        y=[by_key.get((brand, d), {}).get("sov") or 0 for d in days],
                        name=_label(brand),
                        stackgroup=f"g{col}",
                        mode="lines",
                    ),
                    row=1,
                    col=col,
                )
        fig.update_yaxes(range=[0, 1], tickformat=".0%")
        figures.append(("Share of voice inside each group, by day", fig))

    if data.split:
        fig = go.Figure()
        places = sorted({(s["platform"], s["board"]) for s in data.split})
        for platform, board in places:
            fig.add_trace(
                go.Bar(
                    y=[_label(b) for b in brands],
                    x=[
                        next(
                            (
                                s["mentions"]
                                for s in data.split
                                if s["brand"] == b and s["board"] == board and s["platform"] == platform
                            ),
                            0,
                        )
                        for b in brands
                    ],
                    name=_label(f"{platform}/{board}"),
                    orientation="h",
                )
            )
        fig.update_layout(barmode="stack", height=120 + 40 * len(brands))
        figures.append(("Mentions by platform and board", fig))

        fig = go.Figure(
            go.Bar(
                x=[_label(s.brand) for s in data.summaries if s.mentions],
                y=[s.sponsored_share or 0 for s in data.summaries if s.mentions],
                marker_color="#ff7f0e",
            )
        )
        fig.update_yaxes(range=[0, 1], tickformat=".0%")
        figures.append(("Sponsored (業配) share of mentions", fig))

    if data.growth:
        figures.append(("討論串成長 Thread growth (counts at each crawl)", _growth_figure(data.growth)))

    out = []
    for i, (title, fig) in enumerate(figures):
        fig.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
        div = fig.to_html(
            full_html=False, include_plotlyjs=i == 0, config={"displaylogo": False, "responsive": True}
        )
        out.append((title, div))
    return out


# ---------------------------------------------------------------------------------------------- html


def safe_url(url: str | None) -> str | None:
    """Links only to http(s) pages: a ``javascript:`` URL in the data never becomes a link."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _fmt(value, kind: str = "int") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{value:.0%}"
    if kind == "float":
        return f"{value:+.2f}"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,}"


def render_html(data: ReportData) -> str:
    """The report as one HTML file; user strings are escaped by Jinja2's autoescape."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("koubei.pipelines", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["safe_url"] = safe_url
    env.filters["taipei"] = lambda ts: _taipei(ts)
    template = env.get_template("report.html.j2")
    top_authors = [a for a in data.authors if a["rank"] <= 5 and a["score"] > 0]
    return template.render(
        data=data,
        charts=[(title, _markup(div)) for title, div in _charts(data)],
        authors=top_authors,
        brands=", ".join(data.brands),
        coverage_legend=COVERAGE_LEGEND,
    )


def _markup(div: str):
    from markupsafe import Markup

    return Markup(div)  # plotly's own output: JSON inside is already escaped (\u003c)


def _taipei(ts: datetime | None) -> str:
    from .trends import TAIPEI

    return ts.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") if ts else "–"


# ---------------------------------------------------------------------------------------------- csv / md


CSV_COLUMNS = (
    "date",
    "brand",
    "group",
    *COUNTS,
    "net_sentiment",
    "sov",
    *ENGAGEMENT,
    "coverage",  # the worst crawl coverage of the brand's sources that day (ok … failed, unknown)
    "coverage_reason",  # each source not ok: "platform/board status: reason"
)


def _cell(value):
    """Quote text a spreadsheet would run as a formula (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def render_csv(data: ReportData) -> str:
    """Per brand per day: volume, sentiment, SOV and engagement (summed over platforms and boards)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in data.daily:
        writer.writerow(
            [_cell(round(d.get(c), 4) if isinstance(d.get(c), float) else d.get(c)) for c in CSV_COLUMNS]
        )
    return out.getvalue()


def md(text) -> str:
    """A user string inside a Markdown table cell: no HTML, no table breaks, no links of its own."""
    text = html.escape(str(text if text is not None else ""), quote=False)
    for ch in "\\|*_`[]#":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def render_markdown(data: ReportData) -> str:
    lines = [f"# koubei report: {md(', '.join(data.brands))} · {data.start} – {data.end}", ""]
    lines += [
        "| brand | group | mentions | posts | comments | positive | neutral | negative | net | P/N | SOV | sponsored |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in data.summaries:
        lines.append(
            f"| {md(s.brand)} | {md(s.group or '–')} | {s.mentions} | {s.posts} | {s.comments} | {s.positive} | "
            f"{s.neutral} | {s.negative} | {_fmt(s.net_sentiment, 'float')} | {_fmt(s.pn_ratio, 'ratio')} | "
            f"{_fmt(s.sov, 'pct')} | {_fmt(s.sponsored_share, 'pct')} |"
        )
    for brand, by_label in data.threads.items():
        for label in ("negative", "positive"):
            if by_label.get(label):
                lines += ["", f"## {md(brand)}: top {label} threads", ""]
                for t in by_label[label]:
                    link = safe_url(t["url"])
                    title = md(t["title"] or "(no title)")
                    lines.append(
                        f"- {f'[{title}](<{link}>)' if link else title} ({md(t['platform'])}/{md(t['board'])}): "
                        f"{t['units']} {label}, {t['comments']} comments"
                    )
    lines += ["", "## Crawl coverage", ""]
    if data.coverage:
        lines += ["| day | source | coverage | reason |", "|---|---|---|---|"]
        lines += [
            f"| {c['date']} | {md(c['platform'])}/{md(c['board'])} | **{md(c['status'])}** | {md(c['reason'] or '–')} |"
            for c in data.coverage
        ]
        lines += ["", "Counts on these source-days are incomplete (no data, not a quiet day)."]
    else:
        lines.append("Every crawled source-day of the period was complete (or has no health record).")
    if data.health_alarms:
        lines += ["", "## Crawl health alarms", ""]
        lines += [
            f"- {_taipei(a['period_start'])[:10]} {md(a['platform'])}/{md(a['board'])}: {md(a['reason'])}"
            for a in data.health_alarms
        ]
    if data.terms:
        lines += ["", "## Top terms", ""]
        lines += [f"- {md(b)}: {md(', '.join(t))}" for b, t in sorted(data.terms.items())]
    if data.alerts:
        lines += ["", "## Alerts", ""]
        lines += [
            f"- {_taipei(a['period_start'])} {md(a['brand'])} {md(a['rule'])}: {a['observed']:g}"
            + (f" vs {a['expected']:.1f} expected" if a["expected"] is not None else "")
            for a in data.alerts
        ]
    return "\n".join(lines) + "\n"


def write_report(data: ReportData, out: Path, fmt: str = "html") -> Path:
    """Render ``data`` as ``fmt`` into ``out`` (written whole, through a temporary file)."""
    render = {"html": render_html, "csv": render_csv, "md": render_markdown}[fmt]
    text = render(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
