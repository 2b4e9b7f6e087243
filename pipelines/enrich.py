"""The enrich stage: raw posts and comments → one enriched row per unit (a post or a comment).

Each unit gets the author's own text (quotes, signatures and footers split off with
:mod:`koubei.nlp.clean`, then cleaned), its sentiment (the classifier on that text), its brand
mentions with spans (:class:`koubei.nlp.brands.BrandMatcher`) and each mention's sentiment (the
classifier on ``alias [SEP] window`` when the model was trained for targets — see
:mod:`koubei.models.targets` — else on the window alone, so 「A 很爛 B 很好」 scores A and B apart), and a sponsored flag
with its reasons. The layout is the raw store's: ``enriched/platform=…/date=…/{board}.parquet``,
one file per raw partition, so a post and its comments stay together.

Bounded memory: one raw partition (a board-day, which the raw store itself holds whole when it
writes) is read, enriched and written at a time. Idempotent: the enriched file records, in its
Parquet metadata, the sha256 of the raw files it was made from and everything else its content
depends on (model, watch list, sponsored rules, :data:`ENRICH_VERSION`); a partition whose record
matches is skipped, and a rewrite of the same inputs at the same ``now`` is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from koubei.models.targets import FORMAT as TARGET_FORMAT
from koubei.models.targets import target_input
from koubei.nlp.brands import BrandMatcher, Mention, load_watch
from koubei.nlp.clean import URL, clean_text, split_ptt_body, split_quoted
from koubei.nlp.sponsored import NOT_SPONSORED, RULES, SponsoredItem, SponsoredRules

from .schemas import COMMENTS, ENRICHED, POSTS
from .store import RawStore

logger = logging.getLogger(__name__)

# Bump when this module's output changes for the same inputs (cleaning, matching, row layout):
# every partition is then re-enriched on the next run.
ENRICH_VERSION = 1
META_KEY = b"koubei.enrich"
SENTIMENT_LABELS = ("negative", "neutral", "positive")
BACKENDS = ("onnx-int8", "onnx", "torch")
_WEIGHT_FILES = {"torch": ("model.safetensors", "pytorch_model.bin")}
_WORD = re.compile(r"[^\W_]")


# ---------------------------------------------------------------------------------------------- sponsored


class SponsoredDetector(Protocol):
    """Anything that explains why units are sponsored: one list of reasons per item (empty: not).

    ``version`` names what the answers depend on, so a change re-enriches the partitions.
    """

    version: str

    def reasons(self, items: Sequence[SponsoredItem]) -> list[list[str]]: ...


class RuleDetector:
    """:class:`koubei.nlp.sponsored.SponsoredRules` as a detector; reasons read ``rule:<name>: <text>``."""

    def __init__(self, rules: SponsoredRules | None = None):
        self.rules = rules or SponsoredRules()

    @property
    def version(self) -> str:
        rules = self.rules.rules if self.rules.rules is not None else RULES
        veto = self.rules.not_sponsored if self.rules.not_sponsored is not None else NOT_SPONSORED
        spec = [(r.name, r.field, r.pattern.pattern, sorted(r.kinds), r.vetoable) for r in rules]
        return "rules@" + _sha256_bytes(json.dumps([spec, veto.pattern], ensure_ascii=False).encode())[:12]

    def reasons(self, items: Sequence[SponsoredItem]) -> list[list[str]]:
        return [[f"rule:{reason}" for reason in self.rules.explain(item)] for item in items]


class ModelDetector:
    """The sponsored-post model as a detector: catches disclosures the rules miss.

    A unit is flagged when the model's ``sponsored`` probability reaches ``threshold``; the high
    default keeps precision first (its job is to add recall to the rules, never noise), and the
    reason carries the probability so a reader can judge it. Reasons read ``model: p=0.97``.
    Only posts are scored: every sponsored unit of the hand-checked set is a post (a disclosure
    is written by the poster), and skipping comments keeps enrich at its comment throughput.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        threshold: float = 0.9,
        backend: str = "onnx-int8",
        threads: int | None = None,
    ):
        from koubei.models.paths import SPONSORED_DIR

        self.model_dir = Path(model_dir) if model_dir else SPONSORED_DIR
        self.threshold = threshold
        self.backend = backend
        self.threads = threads
        self._classifier = None
        self.version = f"{model_version(self.model_dir, backend)}:t={threshold}"

    def scores(self, items: Sequence[SponsoredItem]) -> np.ndarray:
        """P(sponsored) per item, on the text the model was trained on (title + body ends)."""
        from koubei.models.sponsored_data import as_text

        if self._classifier is None:
            from koubei.models.classifier import TextClassifier

            self._classifier = TextClassifier(self.model_dir, backend=self.backend, threads=self.threads)
        if not items:
            return np.zeros(0, dtype=np.float32)
        proba = self._classifier.predict_proba([as_text(i) for i in items])
        return proba[:, self._classifier.labels.index("sponsored")]

    def reasons(self, items: Sequence[SponsoredItem]) -> list[list[str]]:
        posts = [i for i, item in enumerate(items) if item.kind == "post"]
        out: list[list[str]] = [[] for _ in items]
        for i, p in zip(posts, self.scores([items[i] for i in posts]), strict=True):
            if p >= self.threshold:
                out[i] = [f"model: p={p:.2f}"]
        return out


def default_detectors(backend: str = "onnx-int8", threads: int | None = None) -> list[SponsoredDetector]:
    """The rules, OR-ed with the shipped sponsored model when it is installed."""
    from koubei.models.paths import SPONSORED_DIR

    detectors: list[SponsoredDetector] = [RuleDetector()]
    if (SPONSORED_DIR / "config.json").is_file():
        detectors.append(
            ModelDetector(SPONSORED_DIR, backend=_available(SPONSORED_DIR, backend), threads=threads)
        )
    return detectors


def _available(model_dir: Path, backend: str) -> str:
    """``backend`` if its file is in ``model_dir``, else the shipped int8 ONNX, else PyTorch."""
    from koubei.models.classifier import ONNX_FILES

    for candidate in (backend, "onnx-int8"):
        if candidate == "torch" or (model_dir / ONNX_FILES[candidate]).is_file():
            return candidate
    return "torch"


# ---------------------------------------------------------------------------------------------- stats


@dataclass
class EnrichStats:
    """What a run did. ``skipped``: units not written this run, by reason (``unchanged``: their
    partition was already enriched from the same inputs; ``orphan_comment``: no post in the
    partition). ``not_scored``: units written without sentiment (``empty_text``, ``no_words``)."""

    partitions: int = 0
    written: int = 0
    unchanged: int = 0
    posts: int = 0
    comments: int = 0
    rows: int = 0
    mentions: int = 0
    sponsored: int = 0
    skipped: Counter = field(default_factory=Counter)
    not_scored: Counter = field(default_factory=Counter)
    model_version: str = ""
    load_seconds: float = 0.0
    seconds: float = 0.0

    def line(self) -> str:
        def counts(c: Counter) -> str:
            return ", ".join(f"{k} {v:,}" for k, v in sorted(c.items()) if v) or "none"

        rate = f" ({self.rows / self.seconds:,.0f} rows/s)" if self.seconds and self.rows else ""
        return (
            f"enrich: {self.partitions} partitions ({self.written} written, {self.unchanged} unchanged), "
            f"{self.posts:,} posts + {self.comments:,} comments -> {self.rows:,} rows, "
            f"{self.mentions:,} mentions, {self.sponsored:,} sponsored; not scored: {counts(self.not_scored)}; "
            f"skipped: {counts(self.skipped)}; model {self.model_version}; {self.seconds:.1f} s{rate}"
        )


# ---------------------------------------------------------------------------------------------- stage


def run_enrich(
    root: str,
    *,
    day: str | None = None,
    platform: str | None = None,
    watch: Path | None = None,
    model_dir: str | Path | None = None,
    backend: str = "onnx-int8",
    batch_size: int = 64,
    threads: int | None = None,
    force: bool = False,
    classifier=None,
    sponsored: Sequence[SponsoredDetector] | None = None,
    now: datetime | None = None,
) -> EnrichStats:
    """Enrich every raw partition under ``root`` (or those of ``day``/``platform``).

    ``model_dir`` defaults to the shipped sentiment model; ``backend`` picks PyTorch or ONNX
    Runtime (``onnx-int8`` needs ``model.int8.onnx``, see :mod:`koubei.models.export`).
    ``classifier``: an already loaded :class:`~koubei.models.classifier.TextClassifier` (reused
    across calls; overrides model_dir/backend). ``watch``: a watch YAML; without one, no mentions
    (the column is null). ``sponsored``: detectors whose reasons are OR-ed (default: the rules
    and, when shipped, the sponsored model).
    ``force`` re-enriches unchanged partitions; ``now`` stamps ``enriched_at`` (default: the clock).
    """
    started = time.perf_counter()
    store = RawStore(root)
    stats = EnrichStats()
    enricher = _Enricher(
        matcher=BrandMatcher(load_watch(watch)) if watch else None,
        detectors=list(sponsored) if sponsored is not None else default_detectors(backend, threads),
        classifier=classifier,
        model_dir=Path(model_dir) if model_dir else None,
        backend=backend,
        batch_size=batch_size,
        threads=threads,
    )
    stats.model_version = enricher.model_version
    enriched_at = now or datetime.now(UTC)
    for part in store.partitions(POSTS, platform=platform, day=day):
        stats.partitions += 1
        _enrich_partition(store, part, enricher, stats, enriched_at, force)
    stats.load_seconds = enricher.load_seconds
    stats.seconds = time.perf_counter() - started
    return stats


def _enrich_partition(
    store: RawStore,
    part: tuple[str, str, str],
    enricher: _Enricher,
    stats: EnrichStats,
    enriched_at: datetime,
    force: bool,
) -> None:
    platform, day, board = part
    posts_path = store.partition_file(POSTS, *part)
    comments_path = store.partition_file(COMMENTS, *part)
    out_path = store.partition_file(ENRICHED, *part)
    fingerprint = {
        **enricher.fingerprint,
        "raw": {
            "posts": _sha256_file(store.fs, posts_path),
            "comments": _sha256_file(store.fs, comments_path),
        },
    }
    record = json.dumps(fingerprint, sort_keys=True).encode()
    if not force and (done := _recorded(store.fs, out_path)) is not None and done[0] == record:
        stats.unchanged += 1
        stats.skipped["unchanged"] += done[1]
        logger.info("enrich %s/%s/%s: unchanged, skipped", platform, day, board)
        return
    posts = store.read_file(posts_path, POSTS)
    if posts is None:  # removed since it was listed
        return
    comments = store.read_file(comments_path, COMMENTS)
    table = enricher.enrich(platform, board, posts, comments, stats, enriched_at)
    metadata = {**(ENRICHED.file_schema.metadata or {}), META_KEY: record}
    store.write_file(out_path, table.replace_schema_metadata(metadata))
    stats.written += 1
    stats.rows += table.num_rows
    logger.info("enrich %s/%s/%s: %d rows written", platform, day, board, table.num_rows)


def _recorded(fs: pafs.FileSystem, path: str) -> tuple[bytes, int] | None:
    """The fingerprint and row count an enriched file was written with (its footer only)."""
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    meta = pq.read_metadata(path, filesystem=fs)
    return (meta.metadata or {}).get(META_KEY, b""), meta.num_rows


def _sha256_file(fs: pafs.FileSystem, path: str) -> str | None:
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------- units


def own_text(text: str | None, platform: str, kind: str) -> str:
    """The author's own words of a unit, cleaned: what sentiment and brand matching read.

    PTT posts lose quotes, signature and footer (:func:`~koubei.nlp.clean.split_ptt_body`); PTT
    pushes are their own words already; Dcard/Mobile01 units lose floor references and quotes.
    """
    if not text:
        return ""
    if platform in ("dcard", "mobile01"):
        text = split_quoted(text, platform).own
    elif kind == "post":
        text = split_ptt_body(text).own
    return clean_text(text)


def _unscored_reason(text: str) -> str | None:
    if not text.strip():
        return "empty_text"
    if not _WORD.search(URL.sub("", text)):
        return "no_words"  # only links, numbers' punctuation, emoticons: nothing to read
    return None


@dataclass
class _Unit:
    post_id: str
    seq: int
    kind: str
    text: str
    sponsored_item: SponsoredItem
    author_id: str | None = None
    created_at: datetime | None = None
    tag: str | None = None
    like_count: int | None = None
    comment_count: int | None = None
    title: str | None = None
    mentions: list[Mention] | None = None  # None: no watch list given


class _Enricher:
    """The per-run state: matcher, detectors, and the classifier (loaded on first use)."""

    def __init__(self, *, matcher, detectors, classifier, model_dir, backend, batch_size, threads):
        if classifier is None and backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
        self.matcher = matcher
        self.detectors = detectors
        self._classifier = classifier
        self.batch_size = batch_size
        self.threads = threads
        self.load_seconds = 0.0
        if classifier is not None:
            model_dir, backend = Path(classifier.model_dir), classifier.backend
        elif model_dir is None:
            from koubei.models.paths import SENTIMENT_DIR

            model_dir = SENTIMENT_DIR
        if not (Path(model_dir) / "config.json").is_file():
            raise FileNotFoundError(f"no sentiment model in {model_dir} (give a model directory)")
        self.model_dir, self.backend = Path(model_dir), backend
        self.model_version = model_version(self.model_dir, backend)
        self.mention_input = _mention_input(self.model_dir)
        watch = [e.model_dump(mode="json") for e in matcher.entries] if matcher else None
        self.fingerprint = {
            "enrich_version": ENRICH_VERSION,
            "model": self.model_version,
            "max_length": classifier.max_length if classifier is not None else 128,
            "watch": _sha256_bytes(json.dumps(watch, ensure_ascii=False).encode())[:16] if watch else None,
            "sponsored": [d.version for d in detectors],
        }

    @property
    def classifier(self):
        if self._classifier is None:
            from koubei.models.classifier import TextClassifier

            started = time.perf_counter()
            self._classifier = TextClassifier(
                self.model_dir, backend=self.backend, batch_size=self.batch_size, threads=self.threads
            )
            self.load_seconds = time.perf_counter() - started
            unknown = set(self._classifier.labels) - set(SENTIMENT_LABELS)
            if unknown:
                raise ValueError(f"{self.model_dir} is not a sentiment model: labels {sorted(unknown)}")
        return self._classifier

    # -- one partition

    def enrich(
        self,
        platform: str,
        board: str,
        posts: pa.Table,
        comments: pa.Table | None,
        stats: EnrichStats,
        enriched_at: datetime,
    ) -> pa.Table:
        units = self._units(platform, posts, comments, stats)
        scored = self._score(units, stats)
        reasons = self._sponsored([u.sponsored_item for u in units])
        stats.sponsored += sum(1 for r in reasons if r)
        cols = _columns(board, units, scored, reasons, self.model_version, enriched_at)
        return pa.Table.from_pydict(cols, schema=ENRICHED.file_schema)

    def _units(
        self, platform: str, posts: pa.Table, comments: pa.Table | None, stats: EnrichStats
    ) -> list[_Unit]:
        by_post: dict[str, list[dict]] = defaultdict(list)
        if comments is not None:
            for c in comments.select(
                ["post_id", "seq", "author_id", "created_at", "tag", "content", "like_count"]
            ).to_pylist():
                by_post[c["post_id"]].append(c)
        rows = posts.select(
            ["post_id", "author_id", "created_at", "title", "content", "like_count", "comment_count"]
        ).to_pylist()
        known = {p["post_id"] for p in rows}
        if orphans := sum(len(v) for k, v in by_post.items() if k not in known):
            stats.skipped["orphan_comment"] += orphans
        units: list[_Unit] = []
        for p in sorted(rows, key=lambda r: r["post_id"]):
            thread = sorted(by_post.get(p["post_id"], ()), key=lambda c: c["seq"])
            stats.posts += 1
            stats.comments += len(thread)
            post = _Unit(
                post_id=p["post_id"],
                seq=0,
                kind="post",
                author_id=p["author_id"],
                created_at=p["created_at"],
                like_count=p["like_count"],
                comment_count=p["comment_count"],
                title=clean_text(p["title"] or ""),
                text=own_text(p["content"], platform, "post"),
                sponsored_item=SponsoredItem(p["title"] or "", p["content"] or "", "post", platform),
            )
            replies = [
                _Unit(
                    post_id=c["post_id"],
                    seq=c["seq"],
                    kind="comment",
                    author_id=c["author_id"],
                    created_at=c["created_at"],
                    tag=c["tag"],
                    like_count=c["like_count"],
                    text=own_text(c["content"], platform, "comment"),
                    sponsored_item=SponsoredItem("", c["content"] or "", "comment", platform),
                )
                for c in thread
            ]
            if self.matcher is not None:
                _attach_mentions(self.matcher, post, replies)
            units.append(post)
            units.extend(replies)
        return units

    def _score(self, units: list[_Unit], stats: EnrichStats) -> _Scores:
        """Classify every unit text and mention window once; identical texts share one row."""
        wanted: dict[str, int] = {}
        unit_rows: list[int | None] = []
        for u in units:
            text = f"{u.title}\n{u.text}".strip() if u.kind == "post" else u.text
            reason = _unscored_reason(text)
            if reason:
                stats.not_scored[reason] += 1
                unit_rows.append(None)
            else:
                unit_rows.append(wanted.setdefault(text, len(wanted)))
        mention_rows = [
            [wanted.setdefault(self._mention_text(m), len(wanted)) for m in u.mentions]
            if u.mentions is not None
            else None
            for u in units
        ]
        stats.mentions += sum(len(m) for m in mention_rows if m)
        if wanted:
            proba = self.classifier.predict_proba(list(wanted))
            labels = self.classifier.labels
        else:
            proba, labels = np.zeros((0, len(SENTIMENT_LABELS)), dtype=np.float32), list(SENTIMENT_LABELS)
        return _Scores(proba, labels, unit_rows, mention_rows)

    def _mention_text(self, m: Mention) -> str:
        """A target-trained model reads ``alias [SEP] window``; an older one the window alone."""
        return target_input(m.text, m.context) if self.mention_input == TARGET_FORMAT else m.context

    def _sponsored(self, items: list[SponsoredItem]) -> list[list[str]]:
        merged: list[list[str]] = [[] for _ in items]
        for detector in self.detectors:
            for mine, theirs in zip(merged, detector.reasons(items), strict=True):
                mine.extend(theirs)
        return merged


def _mention_input(model_dir: Path) -> str | None:
    """The mention input format a model was trained for (``metrics.json`` ``mention_input``)."""
    path = model_dir / "metrics.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("mention_input") if path.is_file() else None
    except (OSError, ValueError) as exc:
        logger.warning("%s unreadable (%s): mentions read as the window alone", path, exc)
        return None


def _attach_mentions(matcher: BrandMatcher, post: _Unit, replies: list[_Unit]) -> None:
    """Brand mentions of a thread: title + text form the post's unit, each comment its own."""
    post.mentions = []
    for r in replies:
        r.mentions = []
    for m in matcher.match_item(post.title, post.text, (r.text for r in replies)):
        if m.field == "comment":
            replies[m.comment].mentions.append(m)
        else:
            post.mentions.append(m)


@dataclass
class _Scores:
    proba: np.ndarray
    labels: list[str]
    unit_rows: list[int | None]
    mention_rows: list[list[int] | None]


def _columns(
    board: str,
    units: list[_Unit],
    scores: _Scores,
    reasons: list[list[str]],
    version: str,
    enriched_at: datetime,
) -> dict[str, list]:
    label_of = (
        np.asarray(scores.labels, dtype=object)[np.argmax(scores.proba, axis=1)] if len(scores.proba) else []
    )
    index = {label: scores.labels.index(label) for label in SENTIMENT_LABELS if label in scores.labels}

    def prob(row: int | None, label: str) -> float | None:
        return None if row is None or label not in index else float(scores.proba[row, index[label]])

    def mention(m: Mention, row: int) -> dict:
        field_name = "title" if m.field == "title" else "text"
        label = label_of[row]
        return {
            "brand": m.brand,
            "group": m.group,
            "field": field_name,
            "start": m.start,
            "end": m.end,
            "sentiment": label,
            "score": float(scores.proba[row, scores.labels.index(label)]),
        }

    n = len(units)
    return {
        "board": [board] * n,
        "post_id": [u.post_id for u in units],
        "seq": [u.seq for u in units],
        "kind": [u.kind for u in units],
        "author_id": [u.author_id for u in units],
        "created_at": [u.created_at for u in units],
        "tag": [u.tag for u in units],
        "like_count": [u.like_count for u in units],
        "comment_count": [u.comment_count for u in units],
        "title": [u.title for u in units],
        "text": [u.text for u in units],
        "sentiment": [None if r is None else label_of[r] for r in scores.unit_rows],
        "p_negative": [prob(r, "negative") for r in scores.unit_rows],
        "p_neutral": [prob(r, "neutral") for r in scores.unit_rows],
        "p_positive": [prob(r, "positive") for r in scores.unit_rows],
        "sponsored": [bool(r) for r in reasons],
        "sponsored_reasons": reasons,
        "mentions": [
            None if rows is None else [mention(m, r) for m, r in zip(u.mentions, rows, strict=True)]
            for u, rows in zip(units, scores.mention_rows, strict=True)
        ],
        "model_version": [version] * n,
        "enriched_at": [enriched_at] * n,
    }


def model_version(model_dir: Path, backend: str) -> str:
    """``<dir name>@<sha256[:12] of the weights the backend reads>/<backend>``: changes with the weights."""
    from koubei.models.classifier import ONNX_FILES

    names = _WEIGHT_FILES["torch"] if backend == "torch" else (ONNX_FILES[backend],)
    path = next((model_dir / n for n in names if (model_dir / n).is_file()), None)
    if path is None:
        hint = "" if backend == "torch" else f": export it with `python -m koubei.models.export {model_dir}`"
        raise FileNotFoundError(f"no {' or '.join(names)} in {model_dir}{hint}")
    digest = _sha256_file(pafs.LocalFileSystem(), str(path.resolve()))
    return f"{model_dir.name}@{digest[:12]}/{backend}"
