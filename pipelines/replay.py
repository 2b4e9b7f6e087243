"""A loopback HTTP server that replays saved pages under the sites' real URL layout.

Spiders crawl it exactly as they crawl production (only ``base_url`` differs), so tests exercise
the real Scrapy stack: robots.txt, cookies, redirects, retries, throttling. It can also misbehave
on purpose, per path, to prove the crawler survives what real sites do::

    429        Too Many Requests with Retry-After: 1
    503        Service Unavailable
    403        Forbidden (plain, not a challenge)
    timeout    hold the connection for ``timeout_seconds`` before answering
    cloudflare a Cloudflare "Just a moment..." challenge page (403, ``cf-mitigated: challenge``)
    cfblock    a Cloudflare "Attention Required!" block page (403, no cf-mitigated header)
    truncated  half of the body, with a Content-Length that says so (a cut-off page; on a JSON
               answer this cuts the JSON mid-value)
    dataloss   half of the body, then the connection closes (Content-Length promised more)

A fault is keyed by a path (``/bbs/Stock/index.html``: any query) or by a path with its query
(``/topiclist.php?f=9001&p=2``: that query only, parameters in any order).

Layouts understood:

- A site tree: ``ROOT/bbs/Stock/index.html`` is served at ``/bbs/Stock/index.html``.
- API resources without an extension: ``ROOT/service/api/v2/posts/123.json`` is also served at
  ``/service/api/v2/posts/123`` (any query), as ``application/json``.
- Query strings in file names: ``NAME@QUERY.EXT`` is served at ``/NAME?QUERY`` (only that query,
  parameters compared sorted; ``NAME@.EXT`` = no query), with EXT's content type. So
  ``forums/makeup/posts@before=235954000&limit=30.json`` answers
  ``/service/api/v2/forums/makeup/posts?limit=30&before=235954000`` and
  ``topicdetail.php@f=9001&t=9000001&p=2.html`` answers ``/topicdetail.php?f=9001&t=9000001&p=2``.
  A request whose query has no file of its own falls back to the path's any-query file.
- The flat names of ``shared/fixtures``: ``ptt_Stock_index_latest_2025-05-03.html`` is served at
  ``/bbs/Stock/index.html`` (``*_404_deleted.html`` answers 404); ``dcard_api_forums_makeup_posts_
  list_2021-05-10.json`` at ``/service/api/v2/forums/makeup/posts`` (2016 files under the old root
  ``/_api``); ``dcard_api_post_{id}_detail_*.json`` at ``…/posts/{id}``;
  ``dcard_api_post_{id}_comments_crawlerwrapped_*.json`` at ``…/posts/{id}/comments``, served
  **unwrapped** (the array the API served, without the crawler's ``{url, fetch_time, posts}``
  envelope); ``dcard_api_forums_list_*`` at ``…/forums``; ``dcard_api_posts_popular_list_*`` at
  ``…/posts``; ``dcard_web_f_forum_home_rendered_*.html`` at ``/f``;
  ``mobile01_hottopics_id1_rendered_*.html`` at ``/hottopics.php?id=1``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

logger = logging.getLogger(__name__)

FAULT_KINDS = ("429", "503", "403", "timeout", "cloudflare", "cfblock", "truncated", "dataloss")
CLOUDFLARE_PAGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    b'<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    b"<noscript>Enable JavaScript and cookies to continue</noscript>"
    b"<script>window._cf_chl_opt={cvId: '3'};</script>"
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></div></body></html>'
)
# Cloudflare's block page as an archive of a Mobile01 topic captured it (2022): the title and the
# wording, not the whole page.
CLOUDFLARE_BLOCK_PAGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Attention Required! | Cloudflare</title></head>'
    b'<body><div id="cf-wrapper"><h1 data-translate="block_headline">Sorry, you have been blocked</h1>'
    b"<p>Please complete the security check to access www.mobile01.com</p></div></body></html>"
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
DCARD_LIST = re.compile(r"^dcard_api_forums_([a-z0-9_]+?)_posts_list(?:_[a-z]+)?_(\d{4})-[\d-]+\.json$")
DCARD_POPULAR = re.compile(r"^dcard_api_posts_popular_list_(\d{4})-[\d-]+\.json$")
DCARD_FORUMS = re.compile(r"^dcard_api_forums_list_(\d{4})-[\d-]+\.json$")
DCARD_DETAIL = re.compile(r"^dcard_api_post_(\d+)_detail_(\d{4})-[\d-]+\.json$")
DCARD_COMMENTS = re.compile(r"^dcard_api_post_(\d+)_comments(_crawlerwrapped)?_(\d{4})-[\d-]+\.json$")
DCARD_WEB_HOME = re.compile(r"^dcard_web_f_forum_home_rendered_[\d-]+\.html$")
MOBILE01_HOT = re.compile(r"^mobile01_hottopics_id(\d+)_rendered_[\d-]+\.html$")
CONTENT_TYPES = {
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def _split(logged: str) -> tuple[str, str]:
    path, _, query = logged.partition("?")
    return path, query


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gave up (our timeout fault) resets the connection: expected, not news.
        logger.debug("replay: client %s went away", client_address)


@dataclass
class Route:
    path: Path
    status: int = 200
    unwrap: str | None = None  # serve this key of the file's JSON object (a crawler's envelope)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.path.suffix, CONTENT_TYPES[".html"])

    def body(self) -> bytes:
        data = self.path.read_bytes()
        if self.unwrap:
            inner = json.loads(data)[self.unwrap]
            data = json.dumps(inner, ensure_ascii=False, indent=2).encode()
        return data


def canonical_query(query: str) -> str:
    """Parameters sorted, so ``?limit=30&before=1`` and ``?before=1&limit=30`` are one key."""
    return "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(query, keep_blank_values=True)))


def route_key(path: str, query: str | None) -> str:
    """Table key: the bare path answers any query; ``path?query`` only that query."""
    return path if query is None else f"{path}?{canonical_query(query)}"


def _dcard_root(year: str) -> str:
    return "/_api" if year < "2019" else "/service/api/v2"  # the API moved in 2019 (sites.md §4)


def _flat_route(name: str, file: Path) -> tuple[str, Route] | None:
    """The real URL of a flat fixture name in shared/fixtures/{dcard,mobile01} (PTT: routes_for)."""
    if m := DCARD_LIST.match(name):
        return f"{_dcard_root(m.group(2))}/forums/{m.group(1)}/posts", Route(file)
    if m := DCARD_POPULAR.match(name):
        return f"{_dcard_root(m.group(1))}/posts", Route(file)
    if m := DCARD_FORUMS.match(name):
        return f"{_dcard_root(m.group(1))}/forums", Route(file)
    if m := DCARD_DETAIL.match(name):
        return f"{_dcard_root(m.group(2))}/posts/{m.group(1)}", Route(file)
    if m := DCARD_COMMENTS.match(name):
        unwrap = "posts" if m.group(2) else None
        return f"{_dcard_root(m.group(3))}/posts/{m.group(1)}/comments", Route(file, unwrap=unwrap)
    if DCARD_WEB_HOME.match(name):
        return "/f", Route(file)
    if m := MOBILE01_HOT.match(name):
        return route_key("/hottopics.php", f"id={m.group(1)}"), Route(file)
    return None


def routes_for(root: Path) -> dict[str, Route]:
    """Route key (see :func:`route_key`) → file, for a site tree and for the flat fixture names."""
    table: dict[str, Route] = {}
    latest: dict[str, str] = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = "/" + file.relative_to(root).as_posix()
        table[rel] = Route(file)
        name = file.name
        if "@" in name:
            stem, _, rest = rel.rpartition("@")
            query = rest[: -len(file.suffix)] if file.suffix else rest
            table[route_key(stem, query)] = Route(file)
        elif file.suffix == ".json":
            table[rel[: -len(".json")]] = Route(file)
        if m := FLAT_ARTICLE.match(name):
            table[f"/bbs/{m.group(1)}/{m.group(2)}.html"] = Route(file, 404 if m.group(3) else 200)
        elif m := FLAT_INDEX.match(name):
            table[f"/bbs/{m.group(1)}/index{m.group(2)}.html"] = Route(file)
        elif m := FLAT_LATEST.match(name):
            board, day = m.groups()
            if day >= latest.get(board, ""):  # several snapshots of one board: the newest is index.html
                latest[board] = day
                table[f"/bbs/{board}/index.html"] = Route(file)
        elif flat := _flat_route(name, file):
            table[flat[0]] = flat[1]
    return table


def lookup(table: dict[str, Route], path: str, query: str) -> Route | None:
    """The file for a request: its exact query first, then the path's any-query file."""
    return table.get(route_key(path, query)) or table.get(path)


@dataclass
class FaultPlan:
    """Faults to inject, per URL path, consumed one per request in order."""

    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    timeout_seconds: float = 3.0

    def add(self, target: str, *kinds: str) -> FaultPlan:
        """Queue faults for a path (any query) or a ``path?query`` (that query only)."""
        path, _, query = target.partition("?")
        key = route_key(path, query if "?" in target else None)
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
            self.faults[key].append(kind)
        return self

    def take(self, path: str, query: str = "") -> str | None:
        for key in (route_key(path, query), path):
            queue = self.faults.get(key)
            if queue:
                return queue.pop(0)
        return None

    @classmethod
    def parse(cls, specs: list[str]) -> FaultPlan:
        """``PATH[?QUERY]=KIND[,KIND...]``, e.g. ``/bbs/Stock/index.html=429,503``."""
        plan = cls()
        for spec in specs:
            path, _, kinds = spec.rpartition("=")
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

    def hits(self, target: str) -> int:
        """Requests for a path (any query), or for ``path?query`` (that query, in any order)."""
        path, _, query = target.partition("?")
        want = route_key(path, query) if "?" in target else None
        with self._lock:
            return sum(
                1
                for p, _ in self.log
                if (route_key(*_split(p)) == want if want else p.partition("?")[0] == path)
            )

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

    def _record(self, path: str, status: int) -> None:  # path with its query, as requested
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
                url = urlsplit(self.path)
                server._record(f"{url.path}?{url.query}" if url.query else url.path, status)

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
                url = urlsplit(self.path)
                path = url.path
                fault = server.faults.take(path, url.query)
                route = lookup(server.routes, path, url.query)
                if fault == "timeout":
                    time.sleep(server.faults.timeout_seconds)
                elif fault in ("429", "503", "403"):
                    headers = {"Retry-After": "1"} if fault == "429" else {}
                    return self._send(int(fault), f"{fault} fault injected".encode(), headers=headers)
                elif fault == "cloudflare":
                    return self._send(
                        403, CLOUDFLARE_PAGE, headers={"cf-mitigated": "challenge", "Server": "cloudflare"}
                    )
                elif fault == "cfblock":
                    return self._send(403, CLOUDFLARE_BLOCK_PAGE, headers={"Server": "cloudflare"})
                if path == "/robots.txt" and route is None:
                    return self._send(200, DEFAULT_ROBOTS, "text/plain")
                if path == "/ask/over18":
                    src = parse_qs(urlsplit(self.path).query).get("from", ["/"])[0]
                    return self._send(200, OVER18_PAGE.format(src=src).encode())
                board = path.split("/")[2] if path.startswith("/bbs/") and path.count("/") >= 3 else None
                if board in server.over18_boards and not self._over18_cookie():
                    return self._send(302, b"", headers={"Location": f"/ask/over18?from={quote(path)}"})
                if route is None and path.startswith(("/service/api/", "/_api/")):
                    return self._send(
                        404, b'{"error":1202,"message":"Not found"}', CONTENT_TYPES[".json"]
                    )  # an error object (its exact shape on Dcard was never saved)
                if route is None:
                    return self._send(
                        404,
                        b"<html><head><title>404</title></head><body>"
                        b'<div class="bbs-screen bbs-content">404 - Not Found.</div></body></html>',
                    )
                body, ctype = route.body(), route.content_type
                if fault == "truncated":
                    return self._send(route.status, body[: len(body) // 2], ctype)
                if fault == "dataloss":
                    self._send(route.status, body[: len(body) // 2], ctype, length=len(body))
                    self.close_connection = True
                    return None
                return self._send(route.status, body, ctype)

            do_HEAD = do_GET

        return Handler
