"""Why a page could not be parsed, as one family of exceptions every site parser raises.

A spider only needs the ``reason`` (a short stats key: ``koubei/skipped/<reason>``) and whether a
second download may help (:class:`TruncatedError`). ``koubei parse`` prints the message. A
Cloudflare challenge is recognised here too, so a saved challenge page is called what it is
instead of "not a Dcard page"; in a crawl the block middleware drops it before any parser runs.
"""

from __future__ import annotations

# Markers of Cloudflare's interstitials ("Just a moment...", "Attention Required!"). PTT's normal
# pages load Cloudflare's analytics beacon, so the beacon alone must not count.
CHALLENGE_MARKERS = (
    b"<title>Just a moment...</title>",
    b"Attention Required! | Cloudflare",
    b"/cdn-cgi/challenge-platform/",
    b"cf-browser-verification",
    b"cf_chl_opt",
)


class PageError(ValueError):
    """The page is not what the parser expects; ``reason`` is a short stats key."""

    reason = "parse_error"


class NotFoundError(PageError):
    reason = "not_found"


class TruncatedError(PageError):
    """The download was cut off: worth one more try."""

    reason = "truncated"


class WrongPageError(PageError):
    """A real page, but not the kind this parser reads (another site, another page type)."""

    reason = "wrong_page"


class ChallengePage(PageError):
    """A Cloudflare challenge/block page: no content at all, the crawl was blind here."""

    reason = "blocked_cloudflare"


def is_challenge_body(body: bytes | str) -> bool:
    head = body[:20000]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    return any(marker in head for marker in CHALLENGE_MARKERS)


def check_not_challenge(body: bytes | str) -> None:
    if is_challenge_body(body):
        raise ChallengePage("a Cloudflare challenge page, not content (see README: Cloudflare)")
