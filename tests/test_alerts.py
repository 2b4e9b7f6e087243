"""Negative-spike alerts: the detector on known series, the seeded backtest thresholds, and a real
alert delivered through apprise to a JSON webhook on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest
from koubei.pipelines.alerts import (
    RULE_DAILY,
    RULE_HOURLY,
    RULE_VIRAL,
    AlertConfig,
    AlertConfigError,
    Episodes,
    detect_spike,
    notify_urls,
    parse_alert_config,
    read_alerts,
    read_outbox,
    redact,
    run_alerts,
)
from koubei.pipelines.trends import run_trends

from . import listening_data as data

ROOT = Path(__file__).resolve().parents[1]
DAY = "2024-02-20"


def nb_series(rng, means, phi=0.1):
    n = 1 / phi
    return rng.negative_binomial(n, n / (n + np.asarray(means, dtype=float))).astype(float).tolist()


# ---------------------------------------------------------------------------------------------- detector


def test_small_brand_does_not_alert_on_five():
    history = [2.0, 1, 3, 2, 2, 1, 2] * 8
    test = detect_spike(history, 5.0)
    assert not test.spike
    assert test.reason.startswith("volume 5 < 10")
    assert test.expected == pytest.approx(2.0, abs=0.6)


def test_clear_spike_alerts_and_noise_does_not():
    rng = np.random.default_rng(3)
    history = nb_series(rng, [40] * 56)
    spike = detect_spike(history, 160.0)
    assert spike.spike and spike.p_value < 1e-4
    assert spike.expected == pytest.approx(40, rel=0.2)
    assert 0.05 <= spike.dispersion <= 0.3  # the series was drawn with phi = 0.1
    assert not detect_spike(history, 55.0).spike


def test_weekday_seasonality():
    """Weekends run three times the weekdays: a Saturday at weekend level is normal, a Tuesday at
    that level is a spike."""
    week = [10, 10, 10, 10, 10, 30, 30]  # Mon..Sun
    rng = np.random.default_rng(5)
    history = nb_series(rng, week * 8, phi=0.02)  # ends on a Sunday: the next day is a Monday
    saturday = history + nb_series(rng, week[:5], phi=0.02)
    assert not detect_spike(saturday, 34.0).spike
    tuesday = history + [10.0]
    assert detect_spike(tuesday, 34.0).spike


def test_excluded_days_and_short_history():
    history = [None] * 50 + [3.0] * 6
    test = detect_spike(history, 40.0)
    assert not test.spike and test.reason == "history 6 < 14 periods"
    blocked = [5.0] * 56
    blocked[-7] = None  # the same weekday last week was not crawled: left out, not read as 0
    assert detect_spike(blocked, 30.0).expected == pytest.approx(5.0)


def test_incomplete_day_is_scaled():
    history = [20.0] * 56
    assert detect_spike(history, 20.0, scale=0.25).expected == pytest.approx(5.0)


def test_episodes_deduplicate_with_cooldown():
    episodes = Episodes()
    cooldown = timedelta(hours=48)
    day = datetime(2024, 2, 20, tzinfo=UTC)
    first = episodes.observe("Apple|d", day, cooldown)
    assert first is not None
    assert episodes.observe("Apple|d", day, cooldown) is None  # a re-run
    assert episodes.observe("Apple|d", day + timedelta(days=2), cooldown) is None  # still firing
    assert episodes.observe("Apple|d", day + timedelta(days=4), cooldown) is None  # 48 h after the last
    later = episodes.observe("Apple|d", day + timedelta(days=7), cooldown)
    assert later not in (None, first)
    assert episodes.observe("Samsung|d", day, cooldown) is not None


def _backtest_module():
    spec = importlib.util.spec_from_file_location(
        "alerts_backtest", ROOT / "benchmarks" / "alerts_backtest.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_backtest_meets_the_acceptance_thresholds():
    """The benchmark's own code on a smaller seeded run (the full run: benchmarks/alerts_backtest.py)."""
    backtest = _backtest_module()
    scores = backtest.backtest(brands=21, months=8, seed=11)
    total = backtest.total(scores)
    assert total.episodes > 100
    assert total.precision >= 0.9
    assert total.recall >= 0.9
    assert total.false_per_brand_month <= 1.0
    assert scores[1].quiet_alerts == 0  # a brand with one negative mention a day never cries wolf


# ---------------------------------------------------------------------------------------------- config


def test_alert_config_and_urls():
    config = parse_alert_config(
        {"brands": [], "alerts": {"notify": ["env:SLACK", "json://example.org/hook"], "min_volume": 20}}
    )
    assert config.min_volume == 20 and config.cooldown_hours == 48
    env = {"SLACK": "slack://T1/B2/C3", "KOUBEI_ALERT_URLS": "mailto://u:p@example.org, tgram://bot/chat"}
    assert notify_urls(config, env) == [
        "slack://T1/B2/C3",
        "json://example.org/hook",
        "mailto://u:p@example.org",
        "tgram://bot/chat",
    ]
    assert notify_urls(AlertConfig(), {}) == []
    with pytest.raises(AlertConfigError, match="min_volum"):
        parse_alert_config({"alerts": {"min_volum": 3}})
    assert (
        redact("sent to slack://T1/B2/C3 and json://1.2.3.4/x?token=s")
        == "sent to slack://*** and json://***"
    )


# ---------------------------------------------------------------------------------------------- end to end


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": self.path, "json": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Receiver.received
    server.shutdown()
    server.server_close()


@pytest.fixture
def spike_store(tmp_path):
    data.build(tmp_path, [*data.THREADS, data.SPIKE])
    data.write_quiet_history(tmp_path, "2024-01-01", "2024-02-18")
    for day in ("2024-02-19", DAY):
        run_trends(str(tmp_path), day, data.WATCH)
    return tmp_path


def test_alert_goes_through_apprise_to_a_json_webhook(spike_store, receiver, caplog):
    server, received = receiver
    url = f"json://127.0.0.1:{server.server_port}/koubei/SECRETPATH?token=SECRET123"
    caplog.set_level(logging.DEBUG)
    run = run_alerts(str(spike_store), data.WATCH, day=DAY, env={"KOUBEI_TEST_ALERT_URL": url})

    assert [(a.brand, a.rule) for a in run.alerts] == [("Apple", RULE_DAILY)]
    alert = run.alerts[0]
    # Apple's negative units of the 20th: 3 in the battery thread, the spike post and its 36 pushes.
    assert alert.observed == 40 and alert.mentions == 43
    assert alert.expected == pytest.approx(1.5, abs=1.0)
    assert alert.delivered is True and alert.channels == ["json://"]

    assert len(received) == 1
    payload = received[0]["json"]
    assert received[0]["path"].startswith("/koubei/SECRETPATH")
    assert payload["type"] == "warning"
    assert payload["title"].startswith("[koubei] Apple: negative spike on 2024-02-20: 40 negative mentions")
    message = payload["message"]
    assert (
        "1. [爆卦] iPhone 15 大量電池膨脹 (ptt/MobileComm): 37 negative, 36 comments, 推 18 / 噓 18"
        in message
    )
    assert "https://www.ptt.cc/bbs/MobileComm/M.1708423200.A.010.html" in message
    assert "「多位網友回報 iPhone 15 電池膨脹，蘋果至今沒有回應。」" in message
    assert "Top terms: 電池, 膨脹" in message
    assert "JSON POST URL: http://***" in caplog.text  # apprise did log the request (DEBUG) ...
    assert "SECRET" not in caplog.text  # ... with the tokens redacted

    outbox = read_outbox(str(spike_store))
    assert [a.alert_id for a in outbox] == [alert.alert_id]
    stored = read_alerts(str(spike_store), DAY, DAY).to_pylist()
    assert [(r["brand"], r["observed"], r["threads"][0]["negative"]) for r in stored] == [("Apple", 40.0, 37)]

    again = run_alerts(str(spike_store), data.WATCH, day=DAY, env={"KOUBEI_TEST_ALERT_URL": url})
    assert again.alerts == [] and len(received) == 1  # same episode: not sent twice
    apple = next(c for c in again.checks if c.brand == "Apple" and c.rule == RULE_DAILY)
    assert apple.verdict == f"continues {alert.alert_id}"
    quiet = next(c for c in again.checks if c.brand == "Samsung")
    assert not quiet.test.spike


def test_viral_thread_and_outbox_without_channels(spike_store, monkeypatch):
    monkeypatch.delenv("KOUBEI_ALERT_URLS", raising=False)
    now = data.at("2024-02-20 20:00")  # the spike thread got 36 pushes (18 噓) since 18:00
    run = run_alerts(str(spike_store), data.WATCH, day=DAY, now=now, env={})
    viral = [a for a in run.alerts if a.rule == RULE_VIRAL]
    assert [(a.brand, a.observed, a.threads[0]["post_id"]) for a in viral] == [
        ("Apple", 36.0, "M.1708423200.A.010")
    ]
    assert viral[0].threads[0]["boos"] == 18
    assert all(a.delivered is True for a in run.alerts)  # nothing to deliver to: outbox only
    assert {a.rule for a in read_outbox(str(spike_store))} == {RULE_DAILY, RULE_VIRAL}
    later = run_alerts(str(spike_store), data.WATCH, day=DAY, now=now + timedelta(minutes=30), env={})
    assert later.alerts == []


def test_partial_days_hook_keeps_them_out_of_the_baseline(spike_store):
    run = run_alerts(
        str(spike_store), data.WATCH, day=DAY, send=False, env={}, excluded_days=lambda d: d < "2024-02-10"
    )
    apple = next(c for c in run.checks if c.brand == "Apple" and c.rule == RULE_DAILY)
    assert apple.test.history == 10  # 2024-02-10 .. 2024-02-19


def test_hourly_rule_shares_the_episode_with_the_daily_one(spike_store):
    """A week of quiet hours (Apple: 0 or 1 negative an hour), then the spike thread's 18:00 hour."""
    import pyarrow as pa
    from koubei.pipelines.schemas import TRENDS_HOURLY
    from koubei.pipelines.store import RawStore

    store = RawStore(str(spike_store))
    zeros = {f.name: 0 for f in TRENDS_HOURLY.file_schema if pa.types.is_integer(f.type)}
    for day in range(13, 20):
        rows = [
            zeros
            | {"hour": data.at(f"2024-02-{day} {h:02d}:00"), "brand": "Apple", "group": "phones"}
            | {"platform": "ptt", "board": "MobileComm", "negative": (h + day) % 2, "mentions": 2}
            for h in range(24)
        ]
        table = pa.Table.from_pylist(rows, schema=TRENDS_HOURLY.file_schema)
        store.write_file(TRENDS_HOURLY.day_file(store.base, f"2024-02-{day}"), table)
    run = run_alerts(
        str(spike_store), data.WATCH, day=DAY, now=data.at("2024-02-20 19:05"), env={}, send=False
    )
    hourly = next(c for c in run.checks if c.brand == "Apple" and c.rule == RULE_HOURLY)
    assert hourly.period_start == data.at("2024-02-20 18:00")
    assert hourly.test.observed == 21  # the spike post and its first 20 pushes
    assert hourly.test.spike
    daily = next(c for c in run.checks if c.brand == "Apple" and c.rule == RULE_DAILY)
    assert daily.verdict == "alert" and hourly.verdict == f"continues {run.alerts[0].alert_id}"
    assert [a.rule for a in run.alerts if a.brand == "Apple" and a.rule != RULE_VIRAL] == [RULE_DAILY]
