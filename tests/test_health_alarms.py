"""Crawl health alarms and coverage: real replay crawls of blind days end in an alarm naming the
reason, and the source-day is marked (not a zero) in trends and in the report; a normal day raises none."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from koubei.pipelines.alerts import KIND_HEALTH, RULE_HEALTH, partial_days, read_alerts, read_outbox
from koubei.pipelines.cli import main
from koubei.pipelines.health import (
    CrawlHealthError,
    HealthConfig,
    coverage_by_source_day,
    health_alarms,
    raise_for_health,
    read_health,
    row_reasons,
    run_health_alarms,
)
from koubei.pipelines.replay import FaultPlan, ReplayServer
from koubei.pipelines.reports import build_report, render_csv, render_html, render_markdown
from koubei.pipelines.schemas import TRENDS
from koubei.pipelines.sitegen import write_board
from koubei.pipelines.sitegen_dcard import write_forum
from koubei.pipelines.store import taipei_day
from koubei.pipelines.trends import read_trends, run_trends, with_coverage

from . import crawl_helpers
from .test_crawl_dcard import PAGING, make_posts
from .test_health import site_with

NOON = datetime(2024, 3, 1, 4, tzinfo=UTC)  # 12:00 Taipei
WATCH_YAML = "brands:\n  - name: Apple\n    aliases: [蘋果, iPhone]\n    group: phones\n"


def row(board="B", status="ok", hours=0.0, **over) -> dict:
    """A health row as :func:`health_rows` writes it (a clean run of 20 requests, 10 posts)."""
    base = {
        "run_id": f"r{hours}",
        "platform": "ptt",
        "board": board,
        "status": status,
        "finish_reason": "finished",
        "returncode": 0,
        "started_at": NOON + timedelta(hours=hours),
        "requested": 20,
        "succeeded": 20,
        "blocked": 0,
        "blocked_reasons": {},
        "failed": 0,
        "parse_errors": 0,
        "listed": 10,
        "items": 10,
        "blocked_share": 0.0,
        "error": None,
        "dropped": 0,
        "incomplete": 0,
        "excerpt_only": 0,
        "unknown_fields": [],
    }
    return base | over


BLIND = {"status": "blocked", "blocked": 1, "items": 0, "listed": 0, "requested": 1, "succeeded": 0}


# ---------------------------------------------------------------------------------------------- pure


def test_reasons_name_the_cause_most_telling_first():
    cf = row(**BLIND, blocked_reasons={"cloudflare": 1}, blocked_share=1.0)
    assert row_reasons(cf) == ["cloudflare", "blocked_share"]
    two = row(**BLIND | {"blocked": 3}, blocked_reasons={"http_403": 1, "over18": 2}, blocked_share=1.0)
    assert row_reasons(two) == ["over18", "http_403", "blocked_share"]  # by count, then BLOCK_ORDER
    assert row_reasons(row(status="failed", returncode=-9, finish_reason=None)) == ["crawl_failed"]
    assert row_reasons(row(status="partial", finish_reason="closespider_timeout")) == ["stopped_early"]
    assert row_reasons(row(status="partial", failed=3, blocked_share=0.15)) == ["blocked_share"]
    assert (
        row_reasons(
            row(status="partial", failed=3, blocked_share=0.15), config=HealthConfig(blocked_share=0.2)
        )
        == []
    )
    excerpt = row(status="partial", excerpt_only=10, incomplete=10)
    assert row_reasons(excerpt) == ["excerpt_only", "schema_drift"]
    assert row_reasons(row(incomplete=1)) == []  # 1 of 10 posts: not drift
    assert row_reasons(row(status="partial", incomplete=2, dropped=1)) == ["schema_drift"]  # 3 of 11


def test_zero_items_and_unknown_fields_need_the_trailing_runs():
    history = [row(hours=-24 * d, items=n) for d, n in ((1, 12), (2, 0), (3, 9))]
    quiet = row(items=0, listed=4)
    assert row_reasons(quiet) == []  # no history: no baseline
    assert row_reasons(quiet, history) == ["zero_items_vs_baseline"]  # median of 12, 0, 9 = 9
    assert row_reasons(quiet, history, HealthConfig(baseline_days=1)) == ["zero_items_vs_baseline"]
    old = [row(hours=-24 * 9, items=12)]  # outside the 7 trailing days
    assert row_reasons(quiet, old) == []
    new_key = row(unknown_fields=["newShinyField", "tags2"])
    assert row_reasons(new_key) == ["unknown_fields"]
    seen = [row(hours=-24, unknown_fields=["newShinyField", "tags2"])]
    assert row_reasons(new_key, seen) == []  # logged once: the first day it appears


def test_coverage_of_a_source_day_combines_its_runs():
    cf = row(**BLIND, blocked_reasons={"cloudflare": 1}, blocked_share=1.0)
    ok = row(hours=6)
    cov = coverage_by_source_day([cf, ok])  # a clean re-run later that day re-crawled the window
    assert cov == {("ptt", "B", "2024-03-01"): ("ok", None)}
    cov = coverage_by_source_day([row(), row(**BLIND | {"blocked_reasons": {"empty_list": 1}}, hours=6)])
    assert cov == {("ptt", "B", "2024-03-01"): ("partial", "empty_list")}  # blind after data came in
    cov = coverage_by_source_day([cf, row(**BLIND, hours=6, blocked_reasons={"http_403": 1})])
    assert cov == {("ptt", "B", "2024-03-01"): ("blocked", "cloudflare, blocked_share, http_403")}
    history = [row(hours=-24, items=12)]
    quiet = row(items=0, hours=1)
    assert coverage_by_source_day([quiet], history) == {
        ("ptt", "B", "2024-03-01"): ("partial", "zero_items_vs_baseline")
    }


def test_raise_for_health_names_source_status_and_reason():
    cf = row("Stock", **BLIND, blocked_reasons={"cloudflare": 1}, blocked_share=1.0)
    excerpt = row("makeup", status="partial", excerpt_only=10, incomplete=10) | {"platform": "dcard"}
    raise_for_health([row("Fine"), excerpt])  # default fail_on: blocked, failed
    with pytest.raises(CrawlHealthError) as err:
        raise_for_health([row("Fine"), cf, excerpt])
    assert str(err.value) == "crawl health: ptt/Stock blocked: cloudflare, blocked_share"
    with pytest.raises(CrawlHealthError) as err:
        raise_for_health([excerpt], fail_on=["excerpt_only"])  # a reason code works too
    assert str(err.value) == "crawl health: dcard/makeup partial: excerpt_only, schema_drift"
    died = row("Dead", status="failed", returncode=-9, finish_reason=None, error="Killed")
    with pytest.raises(CrawlHealthError, match=r"ptt/Dead failed: crawl_failed \(Killed\)"):
        raise_for_health([died], config=HealthConfig(fail_on=("failed",)))
    raise_for_health([cf], fail_on=[])


def test_alarms_one_per_source_reason_and_day():
    cf = row("Stock", **BLIND, blocked_reasons={"cloudflare": 1}, blocked_share=1.0)
    again = cf | {"run_id": "later", "started_at": cf["started_at"] + timedelta(hours=2)}
    alarms = health_alarms([cf, again, row("Fine")])
    assert [(a.kind, a.rule, a.brand, a.platform, a.board, a.reason, a.observed) for a in alarms] == [
        (KIND_HEALTH, RULE_HEALTH, "", "ptt", "Stock", "cloudflare", 1.0)
    ]
    assert alarms[0].title == "[koubei] crawl health: ptt/Stock on 2024-03-01: cloudflare"
    assert (
        alarms[0].message.splitlines()[0].startswith("ptt/Stock: blocked crawl (cloudflare, blocked_share)")
    )
    history = [row("Quiet", hours=-24, items=8)]
    [zero] = health_alarms([row("Quiet", items=0)], history)
    assert (zero.reason, zero.observed, zero.expected) == ("zero_items_vs_baseline", 0.0, 8.0)


def test_blind_source_day_gets_zero_rows_and_partial_days_reads_them():
    schema = TRENDS.file_schema
    counted = {f.name: 0 for f in schema if pa.types.is_integer(f.type) and not f.nullable}
    daily = pa.Table.from_pylist(
        [counted | {"brand": "Apple", "group": "phones", "platform": "dcard", "board": "3c", "mentions": 3}],
        schema=schema,
    )
    coverage = {("dcard", "3c"): ("partial", "excerpt_only"), ("ptt", "Stock"): ("blocked", "cloudflare")}
    out = with_coverage(daily, coverage, {"Apple": "phones", "Samsung": "phones"}).to_pylist()
    got = [
        (r["brand"], r["platform"], r["board"], r["mentions"], r["coverage"], r["coverage_reason"])
        for r in out
    ]
    assert got == [
        ("Apple", "dcard", "3c", 3, "partial", "excerpt_only"),
        ("Apple", "ptt", "Stock", 0, "blocked", "cloudflare"),
        ("Samsung", "dcard", "3c", 0, "partial", "excerpt_only"),
        ("Samsung", "ptt", "Stock", 0, "blocked", "cloudflare"),
    ]
    unknown = with_coverage(daily, {}, {"Apple": "phones"}).to_pylist()
    assert [(r["coverage"], r["coverage_reason"]) for r in unknown] == [("unknown", None)]
    dated = pa.table(
        {"date": ["2024-03-01", "2024-03-02", "2024-03-03"], "coverage": ["ok", "blocked", None]}
    )
    assert partial_days(dated) == {"2024-03-02"}


# ---------------------------------------------------------------------------------------------- replay


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Receiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class LoopingOver18(ReplayServer):
    """PTT's age gate that never lets go: the over18 cookie is ignored, so every board page
    redirects to /ask/over18 again (what a changed cookie name or a geo-block looks like)."""

    def _handler(self):
        base = super()._handler()

        class Handler(base):
            def _over18_cookie(self) -> bool:
                return False

        return Handler


def _after_crawl(out: Path, tmp_path: Path) -> dict:
    """Trends, alarms (sent to a local JSON webhook) and the report of the crawl's Taipei day."""
    [*_, last] = sorted(read_health(str(out)), key=lambda r: r["started_at"])
    day = taipei_day(last["started_at"])
    watch = tmp_path / "watch.yaml"
    watch.write_text(WATCH_YAML, encoding="utf-8")
    run_trends(str(out), day, watch)
    trends = read_trends(str(out), day, day).to_pylist()
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"KOUBEI_ALERT_URLS": f"json://127.0.0.1:{server.server_port}/health"}
        alarms = run_health_alarms(str(out), day, env=env)
        repeat = run_health_alarms(str(out), day, env=env)
    finally:
        server.shutdown()
        server.server_close()
    report = build_report(str(out), watch, day, day)
    return {
        "day": day,
        "row": last,
        "trends": [
            (r["brand"], r["platform"], r["board"], r["mentions"], r["coverage"], r["coverage_reason"])
            for r in trends
        ],
        "excluded": partial_days(read_trends(str(out), day, day)),
        "alarms": [(a.platform, a.board, a.reason) for a in alarms.alarms],
        "repeats": (len(alarms.repeats), len(repeat.alarms), len(repeat.repeats)),
        "received": list(_Receiver.received),
        "report": report,
        "html": render_html(report),
    }


def _ptt(tmp_path: Path, faults: FaultPlan | None = None, server_cls=ReplayServer) -> dict:
    site = site_with(tmp_path, Alpha=5)
    out = tmp_path / "store"
    with server_cls(site, faults=faults or FaultPlan(), over18_boards=("Alpha",)) as server:
        summary = crawl_helpers.crawl("ptt", server, out, ["Alpha"])
    assert summary.ok, summary.line()  # Scrapy finished cleanly: only health knows the crawl was blind
    return _after_crawl(out, tmp_path)


def _assert_blind(got: dict, status: str, reason: str, coverage_reason: str, source=("ptt", "Alpha")) -> None:
    platform, board = source
    assert got["alarms"] == [(platform, board, reason)]
    assert got["repeats"] == (0, 0, 1)  # the second run found it sent: once per source, reason and day
    [payload] = got["received"]
    assert payload["title"] == f"[koubei] crawl health: {platform}/{board} on {got['day']}: {reason}"
    assert got["excluded"] == {got["day"]}
    assert got["report"].coverage == [
        {
            "date": got["day"],
            "platform": platform,
            "board": board,
            "status": status,
            "reason": coverage_reason,
        }
    ]
    html = got["html"]
    assert f'<span class="cov-{status}">{status}</span></td><td>{coverage_reason}</td>' in html
    assert "partial/blocked crawl (no full data)" in html  # the shaded band's legend in the daily chart
    assert f"<td>{platform}/{board}</td><td>{reason}</td>" in html  # the alarm, apart from brand alerts
    zero_day = f"{got['day']},Apple,phones,0,0,0,0,0,0,0,0,,,0,0,0,0,0"
    assert render_csv(got["report"]).splitlines()[1:] == [
        f'{zero_day},{status},"{platform}/{board} {status}: {coverage_reason}"'
    ]
    assert f"| {got['day']} | {platform}/{board} | **{status}** |" in render_markdown(got["report"])


@pytest.mark.slow
def test_normal_day_raises_no_alarm_and_is_ok(tmp_path):
    got = _ptt(tmp_path)  # behind the age gate, passed with the cookie as in production
    assert got["row"]["status"] == "ok" and row_reasons(got["row"]) == []
    assert got["alarms"] == [] and got["repeats"] == (0, 0, 0) and got["received"] == []
    assert got["trends"] == []  # no brand mention, source ok: no row, and nothing marked
    assert got["excluded"] == set() and got["report"].coverage == []
    assert "Every crawled source-day of the period was complete" in got["html"]
    raise_for_health([got["row"]])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "server_cls", "reason"),
    [
        ("cloudflare", ReplayServer, "cloudflare"),
        ("403", ReplayServer, "http_403"),
        (None, LoopingOver18, "over18"),
    ],
    ids=["cloudflare_day", "403_day", "over18_redirect_loop"],
)
def test_blocked_index_day(tmp_path, fault, server_cls, reason):
    faults = FaultPlan().add("/bbs/Alpha/index.html", fault) if fault else None
    got = _ptt(tmp_path, faults, server_cls)
    assert got["row"]["blocked_reasons"] == {reason: 1}
    assert got["trends"] == [("Apple", "ptt", "Alpha", 0, "blocked", f"{reason}, blocked_share")]
    _assert_blind(got, "blocked", reason, f"{reason}, blocked_share")
    with pytest.raises(
        CrawlHealthError, match=rf"^crawl health: ptt/Alpha blocked: {reason}, blocked_share$"
    ):
        raise_for_health([got["row"]])


@pytest.mark.slow
def test_empty_list_day(tmp_path):
    site = site_with(tmp_path, Alpha=5)
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        assert crawl_helpers.crawl("ptt", server, out, ["Alpha"]).ok
        write_board(site, "Alpha", [])  # the board's index now lists nothing
        server.reload()
        assert crawl_helpers.crawl("ptt", server, out, ["Alpha"]).ok
    got = _after_crawl(out, tmp_path)
    assert (got["row"]["status"], got["row"]["listed"], got["row"]["empty_list"]) == ("blocked", 0, True)
    # The day's first run stored 5 posts, the second saw an empty list: partial, never a zero day.
    assert got["trends"] == [("Apple", "ptt", "Alpha", 0, "partial", "empty_list, zero_items_vs_baseline")]
    _assert_blind(got, "partial", "empty_list", "empty_list, zero_items_vs_baseline")


@pytest.mark.slow
def test_excerpt_only_dcard_list(tmp_path):
    site = tmp_path / "site"
    write_forum(site, "makeup", make_posts(6), limit=20, comments_limit=5)
    for detail in (site / "service/api/v2/posts").glob("*.json"):  # the API sends the excerpt only
        obj = json.loads(detail.read_text(encoding="utf-8"))
        del obj["content"]
        obj["newShinyField"] = 1
        detail.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "store"
    with ReplayServer(site) as server:
        summary = crawl_helpers.crawl("dcard", server, out, ["makeup"], spider_args=PAGING)
    assert summary.ok, summary.line()
    got = _after_crawl(out, tmp_path)
    r = got["row"]
    assert (r["status"], r["items"], r["excerpt_only"], r["incomplete"]) == ("partial", 6, 6, 6)
    assert r["unknown_fields"] == ["newShinyField"]
    assert row_reasons(r) == ["excerpt_only", "schema_drift", "unknown_fields"]
    assert got["trends"] == [("Apple", "dcard", "makeup", 0, "partial", "excerpt_only, schema_drift")]
    _assert_blind(got, "partial", "excerpt_only", "excerpt_only, schema_drift", ("dcard", "makeup"))


@pytest.mark.slow
def test_health_alarm_command(tmp_path):
    site = site_with(tmp_path, Alpha=5)
    out = tmp_path / "store"
    with ReplayServer(site, faults=FaultPlan().add("/bbs/Alpha/index.html", "cloudflare")) as server:
        assert crawl_helpers.crawl("ptt", server, out, ["Alpha"]).ok
    day = taipei_day(read_health(str(out))[0]["started_at"])
    runner = CliRunner()
    args = ["health", "--out", str(out), "--alarm", "--day", day, "--dry-run"]
    first = runner.invoke(main, args, env={"KOUBEI_ALERT_URLS": ""})
    assert first.exit_code == 0, first.output
    assert f"crawl health: ptt/Alpha on {day}: cloudflare (not delivered)" in first.output
    second = runner.invoke(main, args, env={"KOUBEI_ALERT_URLS": ""})
    assert "0 new alarms" in second.output and "1 already sent" in second.output
    [stored] = read_outbox(str(out))
    assert (stored.kind, stored.reason, stored.board) == (KIND_HEALTH, "cloudflare", "Alpha")
    [alerted] = read_alerts(str(out), day, day).to_pylist()
    assert (alerted["kind"], alerted["platform"], alerted["reason"], alerted["brand"]) == (
        "health",
        "ptt",
        "cloudflare",
        "",
    )


def _stored_row(board: str, platform: str, when: str, **over) -> dict:
    """A whole CRAWL_HEALTH row (what write_health stores) from :func:`row`."""
    from . import listening_data as data

    started = data.at(when)
    full = row(board, **over) | {"platform": platform, "run_id": f"{platform}-{board}-{when}"}
    return full | {
        "started_at": started,
        "finished_at": started + timedelta(minutes=1),
        "duration_s": 60.0,
        "retried": 0,
        "empty_list": False,
        **dict.fromkeys(("new", "updated", "unchanged", "marked_deleted", "fields_missing"), 0),
    }


def test_partial_day_is_out_of_the_baseline_and_never_alerts(tmp_path):
    from koubei.pipelines.alerts import NO_VERDICT, RULE_DAILY, run_alerts
    from koubei.pipelines.health import write_health

    from . import listening_data as data

    data.build(tmp_path, [*data.THREADS, data.SPIKE])
    data.write_quiet_history(tmp_path, "2024-01-01", "2024-02-18")
    blocked = {**BLIND, "blocked_reasons": {"cloudflare": 1}, "blocked_share": 1.0}
    write_health(
        str(tmp_path),
        [
            _stored_row("Gossiping", "ptt", "2024-02-19 02:00", **blocked),
            _stored_row("3c", "dcard", "2024-02-20 02:00", **blocked),
            _stored_row("MobileComm", "ptt", "2024-02-20 02:00"),
        ],
    )
    for day in ("2024-02-19", "2024-02-20"):
        run_trends(str(tmp_path), day, data.WATCH)
    day = {
        (r["brand"], r["platform"], r["board"]): r
        for r in read_trends(str(tmp_path), "2024-02-20", "2024-02-20").to_pylist()
    }
    assert (
        day[("Apple", "ptt", "MobileComm")]["mentions"],
        day[("Apple", "ptt", "MobileComm")]["coverage"],
    ) == (
        41,  # the battery thread's 4 and the spike thread's 37
        "ok",
    )
    assert (day[("Apple", "dcard", "3c")]["coverage"], day[("Apple", "dcard", "3c")]["coverage_reason"]) == (
        "blocked",
        "cloudflare, blocked_share",
    )  # the brand's Dcard mentions of that day are a floor
    assert day[("Apple", "ptt", "Lifeismoney")]["coverage"] == "unknown"  # no health row for it
    zero = day[("全聯", "dcard", "3c")]  # no mention there: a row of zeros marked blocked, not nothing
    assert (zero["mentions"], zero["coverage"], zero["sponsored_share"]) == (0, "blocked", 0.0)
    run = run_alerts(str(tmp_path), data.WATCH, day="2024-02-20", send=False, env={})
    apple = next(c for c in run.checks if c.brand == "Apple" and c.rule == RULE_DAILY)
    assert apple.verdict == NO_VERDICT and apple.test.history == 49  # 01-01 .. 02-18: the 19th is out
    assert not [a for a in run.alerts if a.rule == RULE_DAILY]  # the spike day was blind on Dcard
