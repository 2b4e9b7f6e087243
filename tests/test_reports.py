"""Reports: the numbers in CSV/Markdown, escaping, and the HTML drawn by headless Chromium (charts
drew, no console error, no network request, a <script> title shown as text)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from koubei.pipelines.alerts import run_alerts
from koubei.pipelines.cli_report import report, summary
from koubei.pipelines.reports import build_report, md, render_csv, render_html, render_markdown, safe_url
from koubei.pipelines.trends import run_trends

from . import listening_data as data

START, END = "2024-02-14", "2024-02-21"
XSS = "<script>alert(1)</script> iPhone 爛"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    data.build(root, [*data.THREADS, data.SPIKE])
    data.write_quiet_history(root, "2024-01-01", "2024-02-18")
    for day in ("2024-02-19", "2024-02-20"):
        run_trends(str(root), day, data.WATCH)
    run_alerts(str(root), data.WATCH, day="2024-02-20", env={})
    return root


@pytest.fixture(scope="module")
def report_data(store):
    return build_report(str(store), data.WATCH, START, END)  # computes the missing 2024-02-21


def test_summary_numbers(report_data):
    by_brand = {s.brand: s for s in report_data.summaries}
    apple = by_brand["Apple"]
    # 5 quiet days x 10 + the 19th (1) + the 20th (43: 4 + 1 + 1 + the spike's 37) + the 21st (1)
    assert (apple.mentions, apple.negative) == (95, 49)
    samsung = by_brand["Samsung"]
    assert (samsung.mentions, samsung.positive, samsung.sponsored) == (6, 5, 1)
    assert apple.sov == pytest.approx(95 / 101) and samsung.sov == pytest.approx(6 / 101)
    assert by_brand["全聯"].sov is None
    negative = report_data.threads["Apple"]["negative"]
    assert [(t["post_id"], t["units"]) for t in negative] == [
        ("M.1708423200.A.010", 37),
        ("M.1708390800.A.001", 3),
        ("M.1708300000.A.004", 1),
    ]
    assert report_data.terms["Apple"][:2] == ["電池", "膨脹"]
    assert [a["brand"] for a in report_data.alerts] == ["Apple"]


def test_csv_and_markdown(report_data):
    rows = render_csv(report_data).splitlines()
    assert rows[0].startswith("date,brand,group,mentions,posts,comments,positive,neutral,negative")
    # no crawl health rows in this store: coverage unknown, no reason
    assert "2024-02-20,Apple,phones,43,3,40,0,3,40,0,0,-0.9302,0.8776,28,21,2,12,42,unknown," in rows
    text = render_markdown(report_data)
    assert "| Apple | phones | 95 | 4 | 41 | 0 | 46 | 49 | -0.52 | 0.00 | 94% | 0% |" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text


def test_escaping_helpers():
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://www.ptt.cc/bbs/x.html") == "https://www.ptt.cc/bbs/x.html"
    assert md("a|b [x](y) <b>") == "a\\|b \\[x\\](y) &lt;b&gt;"


def test_html_escapes_user_strings(report_data):
    page = render_html(report_data)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; iPhone 爛" in page
    assert "<script>alert(1)" not in page
    assert "&lt;b&gt;不要買&lt;/b&gt;" in page  # the snippet of the same post
    assert "<script src" not in page and 'src="http' not in page  # plotly.js is inline
    assert page.count("Plotly.newPlot") == 5


def test_cli_report_formats_and_summary(store, tmp_path):
    runner = CliRunner()
    for fmt in ("csv", "md"):
        out = tmp_path / f"r.{fmt}"
        args = ["--root", str(store), "--watch", str(data.WATCH), "--from", START, "--to", END]
        result = runner.invoke(report, [*args, "--out", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "Apple" in out.read_text(encoding="utf-8")
    result = runner.invoke(
        summary, ["--root", str(store), "--watch", str(data.WATCH), "--from", START, "--to", END]
    )
    assert result.exit_code == 0, result.output
    assert "Apple" in result.output and "95" in result.output
    bad = runner.invoke(
        report, ["--root", str(store), "--watch", str(data.WATCH), "--from", END, "--to", START]
    )
    assert bad.exit_code != 0 and "before" in bad.output


# ---------------------------------------------------------------------------------------------- chromium


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


class DevTools:
    """A minimal Chrome DevTools Protocol client over one websocket (flattened sessions)."""

    def __init__(self, ws):
        self.ws = ws
        self.events: list[dict] = []
        self.next_id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def evaluate(self, expression: str, session: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result["result"].get("value")


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit RGB/RGBA PNG (no Pillow needed)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color = (
                int.from_bytes(body[:4], "big"),
                int.from_bytes(body[4:8], "big"),
                body[8],
                body[9],
            )
            assert depth == 8 and color in (2, 6)
        elif kind == b"IDAT":
            idat += body
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, bpp)]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--window-size=1200,2000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("chromium did not start its DevTools endpoint")
        time.sleep(0.1)
    port, path = port_file.read_text().splitlines()[:2]
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30) as ws:
        devtools = DevTools(ws)
        yield devtools
        with contextlib.suppress(Exception):  # the browser may be gone already
            devtools.send("Browser.close", timeout=10)
    process.terminate()
    process.wait(timeout=20)


def test_report_renders_in_headless_chromium(store, tmp_path, browser):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        report,
        ["--root", str(store), "--watch", str(data.WATCH), "--from", START, "--to", END, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output

    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1200, "height": 2000, "deviceScaleFactor": 1, "mobile": False},
        session,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": out.as_uri()}, session)
    browser.wait_event("Page.loadEventFired", timeout=120)
    deadline = time.monotonic() + 60
    while browser.evaluate("document.querySelectorAll('.js-plotly-plot .main-svg').length", session) < 5:
        assert time.monotonic() < deadline, "the charts did not draw"
        time.sleep(0.2)
    drawn = browser.evaluate(
        "({plots: document.querySelectorAll('.js-plotly-plot').length,"
        " bars: document.querySelectorAll('.js-plotly-plot .bars path').length,"
        " lines: document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line').length,"
        " titles: [...document.querySelectorAll('td a')].map(a => a.textContent)})",
        session,
    )
    assert drawn["plots"] == 5 and drawn["bars"] > 10 and drawn["lines"] >= 2
    assert XSS in drawn["titles"]  # the title is text on the page, not a script

    shot = browser.send(
        "Page.captureScreenshot",
        {"format": "png", "clip": {"x": 0, "y": 0, "width": 1200, "height": 2000, "scale": 0.25}},
        session,
    )
    width, height, pixels = png_pixels(base64.b64decode(shot["data"]))
    assert (width, height) == (300, 500)
    colours = set(pixels)
    assert len(colours) > 50  # not a blank page
    assert sum(p == bytes.fromhex("d62728") for p in pixels) > 50  # negative bars drew

    methods = [e.get("method") for e in browser.events]
    errors = [
        e["params"]
        for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == []
    requests = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests == [out.as_uri()]  # the page itself, nothing else
    assert "Page.javascriptDialogOpening" not in methods  # no alert(1) ran
    browser.send("Target.closeTarget", {"targetId": target})
