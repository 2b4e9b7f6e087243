"""Crawl health: one row per crawl run x source, so a blind crawl shows up as blind, not as a quiet day.

The spiders and item pipelines count per-source events under ``koubei/source/<board>/<event>``
(requested, retried, responses, succeeded, blocked/<reason>, failed/<reason>, skipped/<reason>,
not_found, listed, items, fields_missing, store/<outcome>); :func:`health_rows` turns one crawl's
stats into rows and :func:`write_health` appends them to ``health/date=<Taipei day>/health.parquet``.

Status rules, first match wins:

* ``failed``: the crawl process exited non-zero or never reported a finish reason (killed, crashed);
* ``blocked``: the source listed no rows where its previous health row had some (``empty_list``),
  or requests were blocked (challenge, over-18 gate, HTTP 403) and no item came back;
* ``partial``: the crawl stopped early (finish reason other than ``finished``), or more than
  :data:`PARTIAL_SHARE` of the requests were blocked, given up or unparseable;
* ``ok``: otherwise.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from .item_pipelines import SOURCE_PREFIX
from .schemas import CRAWL_HEALTH
from .store import RawStore, taipei_day

if TYPE_CHECKING:
    from .crawl import CrawlSummary

logger = logging.getLogger(__name__)
PARTIAL_SHARE = 0.10
BLOCKING_HTTP = ("http_401", "http_403")  # a refusal is a block, not a broken page
STATUS_ORDER = {"failed": 0, "blocked": 1, "partial": 2, "ok": 3}


def source_stats(summary: CrawlSummary, board: str) -> dict[str, int]:
    return summary.by_prefix(f"{SOURCE_PREFIX}{board}/")


def _sum(counts: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in counts.items() if k.startswith(prefix) and v}


def status_of(row: dict) -> str:
    """The module docstring's rules over one health row."""
    if row["returncode"] != 0 or row["finish_reason"] is None:
        return "failed"
    if row["empty_list"] or (row["blocked"] > 0 and row["items"] == 0):
        return "blocked"
    if row["finish_reason"] != "finished" or row["blocked_share"] > PARTIAL_SHARE:
        return "partial"
    return "ok"


def health_rows(
    summary: CrawlSummary,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    *,
    previous: dict[str, dict] | None = None,
) -> list[dict]:
    """One :data:`~koubei.pipelines.schemas.CRAWL_HEALTH` row per source of the crawl.

    ``previous`` maps a source to its last health row (for ``empty_list``). Sources come from the
    crawl's ``koubei/sources`` stat, or the ``sources`` entry the caller adds when the crawl died
    before reporting any.
    """
    sources = summary.stats.get("koubei/sources") or []
    platform = summary.site
    rows = []
    for board in sources:
        counts = source_stats(summary, board)
        failed_all = _sum(counts, "failed/")
        blocked = _sum(counts, "blocked/")
        blocked.update({k: v for k, v in failed_all.items() if k in BLOCKING_HTTP})
        failed = sum(v for k, v in failed_all.items() if k not in BLOCKING_HTTP)
        parse_errors = sum(_sum(counts, "skipped/").values())
        listed = summary.stats.get(f"{SOURCE_PREFIX}{board}/listed")
        last = (previous or {}).get(board)
        empty_list = listed == 0 and last is not None and (last.get("listed") or 0) > 0
        requested = counts.get("requested", 0)
        per_request = sum(blocked.values()) + failed + parse_errors
        if empty_list:
            blocked["empty_list"] = 1
        row = {
            "run_id": run_id,
            "platform": platform,
            "board": board,
            "finish_reason": summary.finish_reason,
            "returncode": summary.returncode,
            "started_at": started_at,
            "finished_at": finished_at,
            "duration_s": round((finished_at - started_at).total_seconds(), 3),
            "requested": requested,
            "succeeded": counts.get("succeeded", 0),
            "retried": counts.get("retried", 0),
            "blocked": sum(blocked.values()),
            "blocked_reasons": dict(sorted(blocked.items())),
            "failed": failed,
            "parse_errors": parse_errors,
            "listed": None if listed is None else int(listed),
            "empty_list": empty_list,
            "items": counts.get("items", 0),
            **{k: counts.get(f"store/{k}", 0) for k in ("new", "updated", "unchanged", "marked_deleted")},
            "fields_missing": counts.get("fields_missing", 0),
            "blocked_share": min(1.0, per_request / requested) if requested else 0.0,
            "error": summary.stats.get("koubei/error") if summary.returncode != 0 else None,
        }
        row["status"] = status_of(row)
        rows.append(row)
    return rows


def worst_first(rows: Iterable[dict]) -> list[dict]:
    """failed, blocked, partial, ok; then the larger blocked share; then the latest run."""
    rows = sorted(rows, key=lambda r: r["started_at"], reverse=True)
    return sorted(rows, key=lambda r: (STATUS_ORDER.get(r["status"], -1), -r["blocked_share"]))


def write_health(root: str, rows: list[dict]) -> list[str]:
    """Append rows to their run's Asia/Taipei day file (atomic rewrite); a replayed row (same
    run and source) replaces itself. Returns the files written."""
    store = RawStore(root)
    by_day: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_day[taipei_day(row["started_at"])].append(row)
    written = []
    for day, fresh in sorted(by_day.items()):
        path = CRAWL_HEALTH.day_file(store.base, day)
        old = store.read_file(path, CRAWL_HEALTH)
        merged = {(r["run_id"], r["platform"], r["board"]): r for r in (old.to_pylist() if old else [])}
        merged.update({(r["run_id"], r["platform"], r["board"]): r for r in fresh})
        ordered = sorted(merged.values(), key=lambda r: (r["started_at"], r["platform"], r["board"]))
        store.write_file(path, pa.Table.from_pylist(ordered, schema=CRAWL_HEALTH.file_schema))
        written.append(path)
    return written


def read_health(root: str, start: str | None = None, end: str | None = None) -> list[dict]:
    """Stored health rows of the Asia/Taipei days ``start``..``end`` (inclusive; None: open)."""
    from .trends import read_partitions  # lazy: the crawl stage need not import the trends stack

    table = read_partitions(root, CRAWL_HEALTH, start or "0000-00-00", end or "9999-99-99")
    rows = table.to_pylist()
    for row in rows:
        row["blocked_reasons"] = dict(row["blocked_reasons"] or [])
    return rows


def last_rows(root: str, platform: str) -> dict[str, dict]:
    """The latest health row of each source of ``platform`` (for ``empty_list``)."""
    latest: dict[str, dict] = {}
    for row in sorted(read_health(root), key=lambda r: r["started_at"]):
        if row["platform"] == platform:
            latest[row["board"]] = row
    return latest
