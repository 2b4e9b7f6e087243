"""A loopback HTTP server that replays saved pages under the sites' real URL layout.

Spiders crawl it exactly as they crawl production (only ``base_url`` differs), so tests exercise
the real Scrapy stack: robots.txt, cookies, redirects, retries, throttling. It can also misbehave
on purpose, per path, to prove the crawler survives what real sites do::

    429        Too Many Requests with Retry-After: 1
    503        Service Unavailable
    403        Forbidden (plain, not a challenge)
    timeout    hold the connection for ``timeout_seconds`` before answering
    cloudflare a Cloudflare "Just a moment..." challenge page (403)
    truncated  half of the body, with a Content-Length that says so (a cut-off page)
    dataloss   half of the body, then the connection closes (Content-Length promised more)

Two layouts are understood: a site tree (``ROOT/bbs/Stock/index.html`` is served at
``/bbs/Stock/index.html``) and the flat names of ``shared/fixtures/ptt`` (``ptt_Stock_index_latest_
2025-05-03.html`` is served at ``/bbs/Stock/index.html``; ``*_404_deleted.html`` answers 404).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

logger = logging.getLogger(__name__)

FAULT_KINDS = ("429", "503", "403", "timeout", "cloudflare", "truncated", "dataloss")
CLOUDFLARE_PAGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    b'<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    b"<noscript>Enable JavaScript and cookies to continue</noscript>"
    b"<script>window._cf_chl_opt={cvId: '3'};</script>"
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></div></body></html>'
)
# Synthetic (written here, in PTT's real form layout): the page PTT shows boards flagged over-18.
OVER18_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>批踢踢實業坊</title></head><body>
<div class="bbs-screen bbs-content"><div class="over18-notice">本網站已依台灣網站內容分級規定處理。
此區域為限制級，未滿十八歲者不得瀏覽。</div><form action="/ask/over18" method="post">
<input type="hidden" name="from" value="{src}"><button class="btn-big" type="submit" name="yes"
value="yes">我同意，我已年滿十八歲<br><small>進入</small></button></form></div></body></html>"""
DEFAULT_ROBOTS = b"User-agent: *\nDisallow:\n"

FLAT_ARTICLE = re.compile(r"^ptt_([A-Za-z0-9_\-]+?)_(M\.\d+\.A\.[0-9A-Fa-f]{3})(_404_deleted)?\.html$")
FLAT_INDEX = re.compile(r"^ptt_([A-Za-z0-9_\-]+?)_index(\d+)\.html$")
FLAT_LATEST = re.compile(r"^ptt_([A-Za-z0-9_\-]+?)_index_latest_(\d{4}-\d{2}-\d{2})\.html$")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gave up (our timeout fault) resets the connection: expected, not news.
        logger.debug("replay: client %s went away", client_address)


@dataclass
class Route:
    path: Path
    status: int = 200


def routes_for(root: Path) -> dict[str, Route]:
    """URL path → file, for a site tree and for the flat fixture names."""
    table: dict[str, Route] = {}
    latest: dict[str, str] = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = "/" + file.relative_to(root).as_posix()
        table[rel] = Route(file)
        name = file.name
        if m := FLAT_ARTICLE.match(name):
            table[f"/bbs/{m.group(1)}/{m.group(2)}.html"] = Route(file, 404 if m.group(3) else 200)
        elif m := FLAT_INDEX.match(name):
            table[f"/bbs/{m.group(1)}/index{m.group(2)}.html"] = Route(file)
        elif m := FLAT_LATEST.match(name):
            board, day = m.groups()
            if day >= latest.get(board, ""):  # several snapshots of one board: the newest is index.html
                latest[board] = day
                table[f"/bbs/{board}/index.html"] = Route(file)
    return table


@dataclass
class FaultPlan:
    """Faults to inject, per URL path, consumed one per request in order."""

    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    timeout_seconds: float = 3.0

    def add(self, path: str, *kinds: str) -> FaultPlan:
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
            self.faults[path].append(kind)
        return self

    def take(self, path: str) -> str | None:
        queue = self.faults.get(path)
        return queue.pop(0) if queue else None

    @classmethod
    def parse(cls, specs: list[str]) -> FaultPlan:
        """``PATH=KIND[,KIND...]``, e.g. ``/bbs/Stock/index.html=429,503``."""
        plan = cls()
        for spec in specs:
            path, _, kinds = spec.partition("=")
            if not path.startswith("/") or not kinds:
                raise ValueError(f"bad fault spec {spec!r}: expected PATH=KIND[,KIND...]")
            plan.add(path, *kinds.split(","))
        return plan


class ReplayServer:
    """Serve a directory on 127.0.0.1 (port 0 = any free port) in a background thread."""

    def __init__(
        self,
        root: Path | str | list[Path | str],
        *,
        port: int = 0,
        over18_boards: tuple[str, ...] = ("Gossiping",),
        faults: FaultPlan | None = None,
    ):
        self.roots = [Path(r) for r in (root if isinstance(root, list) else [root])]
        self.routes: dict[str, Route] = {}
        self.reload()
        self.over18_boards = set(over18_boards)
        self.faults = faults or FaultPlan()
        self.log: list[tuple[str, int]] = []  # (path, status) of every request, for tests
        self._lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    def reload(self) -> None:
        """Re-read the roots (a test changed the site between two crawls)."""
        routes: dict[str, Route] = {}
        for r in self.roots:  # later roots override earlier ones
            routes.update(routes_for(r))
        self.routes = routes

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.log if p == path)

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="koubei-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, path: str, status: int) -> None:
        with self._lock:
            self.log.append((path, status))

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # route through logging, not stderr
                logger.debug("replay: " + fmt, *args)

            def _send(
                self,
                status: int,
                body: bytes,
                ctype: str = "text/html; charset=utf-8",
                headers: dict[str, str] | None = None,
                length: int | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                server._record(urlsplit(self.path).path, status)

            def _over18_cookie(self) -> bool:
                jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
                return jar.get("over18") is not None and jar["over18"].value == "1"

            def do_POST(self):  # the over-18 form
                length = int(self.headers.get("Content-Length", "0") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                src = form.get("from", ["/"])[0]
                if urlsplit(self.path).path == "/ask/over18" and form.get("yes"):
                    self._send(302, b"", headers={"Location": src, "Set-Cookie": "over18=1; Path=/"})
                else:
                    self._send(404, b"404 - Not Found.")

            def do_GET(self):
                path = urlsplit(self.path).path
                fault = server.faults.take(path)
                route = server.routes.get(path)
                if fault == "timeout":
                    time.sleep(server.faults.timeout_seconds)
                elif fault in ("429", "503", "403"):
                    headers = {"Retry-After": "1"} if fault == "429" else {}
                    return self._send(int(fault), f"{fault} fault injected".encode(), headers=headers)
                elif fault == "cloudflare":
                    return self._send(
                        403, CLOUDFLARE_PAGE, headers={"cf-mitigated": "challenge", "Server": "cloudflare"}
                    )
                if path == "/robots.txt" and route is None:
                    return self._send(200, DEFAULT_ROBOTS, "text/plain")
                if path == "/ask/over18":
                    src = parse_qs(urlsplit(self.path).query).get("from", ["/"])[0]
                    return self._send(200, OVER18_PAGE.format(src=src).encode())
                board = path.split("/")[2] if path.startswith("/bbs/") and path.count("/") >= 3 else None
                if board in server.over18_boards and not self._over18_cookie():
                    return self._send(302, b"", headers={"Location": f"/ask/over18?from={quote(path)}"})
                if route is None:
                    return self._send(
                        404,
                        b"<html><head><title>404</title></head><body>"
                        b'<div class="bbs-screen bbs-content">404 - Not Found.</div></body></html>',
                    )
                body = route.path.read_bytes()
                if fault == "truncated":
                    return self._send(route.status, body[: len(body) // 2])
                if fault == "dataloss":
                    self._send(route.status, body[: len(body) // 2], length=len(body))
                    self.close_connection = True
                    return None
                return self._send(route.status, body)

            do_HEAD = do_GET

        return Handler
