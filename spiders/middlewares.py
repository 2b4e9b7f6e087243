"""Downloader middlewares: back off politely on 429/5xx, and tell a block from a broken page.

A Cloudflare challenge or PTT's over-18 question is not content and not a parse error: it means
the crawl is blind for that page. Both are counted under ``koubei/blocked/<reason>`` and the
request is dropped, so a blocked day shows up in the stats instead of as a quiet day.
"""

from __future__ import annotations

import email.utils
import logging
import time

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.response import response_status_message

from .parsers.errors import is_challenge_body

logger = logging.getLogger(__name__)


class BlockedError(IgnoreRequest):
    """The site answered with a block page instead of content."""

    def __init__(self, reason: str, url: str):
        super().__init__(f"blocked ({reason}): {url}")
        self.reason = reason


def is_challenge(status: int, headers: dict[bytes, list[bytes]] | None, body: bytes) -> bool:
    """True for a Cloudflare challenge/block page, whatever its status code."""
    if headers and any(v.lower() == b"challenge" for v in headers.get(b"cf-mitigated", [])):
        return True
    return is_challenge_body(body)


class BlockDetectionMiddleware:
    """Count challenge and age-gate pages as blocked and drop them before anything parses them."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BlockDetectionMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        reason = None
        if is_challenge(response.status, dict(response.headers), response.body):
            reason = "cloudflare"
        elif "/ask/over18" in response.url or b"/ask/over18" in response.headers.get(b"Location", b""):
            reason = "over18"  # PTT redirects to its age question when the over18 cookie is missing
        if reason is None:
            return response
        stats = self.crawler.stats
        stats.inc_value(f"koubei/blocked/{reason}")
        logger.error(
            "blocked (%s) on %s (status %s): skipped, not parsed", reason, request.url, response.status
        )
        raise BlockedError(reason, request.url)


def retry_after_seconds(value: bytes | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting before each retry: Retry-After if the site sent one,
    else ``RETRY_BACKOFF_BASE * 2**attempt``, never more than ``RETRY_BACKOFF_MAX`` seconds."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 120.0)

    def backoff(self, request: Request, response: Response | None = None) -> float:
        hinted = retry_after_seconds(response.headers.get(b"Retry-After")) if response is not None else None
        if hinted is not None:
            return min(hinted, self.backoff_max)
        attempt = request.meta.get("retry_times", 0)
        return min(self.backoff_base * (2**attempt), self.backoff_max)

    async def _retry_later(self, request: Request, reason, response: Response | None) -> Request | None:
        retry = self._retry(request, reason)
        if retry is None:
            self.crawler.stats.inc_value("koubei/retry/gave_up")
            return None
        delay = self.backoff(request, response)
        self.crawler.stats.inc_value("koubei/retry/backoff_seconds", delay)
        logger.info("retrying %s in %.1fs (%s)", request.url, delay, reason)
        if delay > 0:
            await sleep(delay)
        return retry

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = await self._retry_later(request, response_status_message(response.status), response)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        return await self._retry_later(request, exception, None)


IMPERSONATE_HANDLER = "scrapy_impersonate.ImpersonateDownloadHandler"


def enable_impersonation(settings) -> None:
    """Route downloads through ``scrapy-impersonate`` when ``KOUBEI_IMPERSONATE`` names a browser.

    Called from a spider's ``update_settings`` (before the settings freeze), so a plain
    ``-s KOUBEI_IMPERSONATE=chrome`` is all a user sets. Without the setting nothing changes:
    the default crawl stays plain Scrapy.
    """
    if not settings.get("KOUBEI_IMPERSONATE"):
        return
    try:
        import scrapy_impersonate  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "KOUBEI_IMPERSONATE is set but scrapy-impersonate is not installed: "
            "pip install scrapy-impersonate==1.10.0 (see README, Cloudflare)"
        ) from exc
    settings.set("DOWNLOAD_HANDLERS", {"http": IMPERSONATE_HANDLER, "https": IMPERSONATE_HANDLER}, "spider")


class ImpersonateMiddleware:
    """Ask the impersonating handler for a browser's TLS/HTTP2 fingerprint on every request.

    Only the handshake looks like the browser: the User-Agent header stays koubei's own unless the
    user overrides ``USER_AGENT`` too.
    """

    def __init__(self, browser: str):
        self.browser = browser

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ImpersonateMiddleware:
        from scrapy.exceptions import NotConfigured

        browser = crawler.settings.get("KOUBEI_IMPERSONATE")
        if not browser:
            raise NotConfigured
        return cls(browser)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("impersonate", self.browser)
