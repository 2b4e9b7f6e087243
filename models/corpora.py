"""Loaders for the offline corpora in ``shared/data``: labeled sentiment sets and unlabeled forum text.

Every loader returns plain Python lists and converts Simplified text to Taiwan Traditional with
OpenCC ``s2twp``, because the models read Traditional forum text. Nothing is downloaded; the path
is :func:`koubei.pipelines.paths.shared_root`. Labels use koubei's names: ``negative``,
``neutral``, ``positive``.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

from koubei.nlp.normalize import normalize
from koubei.pipelines.paths import shared_root

LABELS3 = ("negative", "neutral", "positive")
BINARY = {"0": "negative", "1": "positive"}
HHS = {"happy": "positive", "hate": "negative", "sad": "negative"}

csv.field_size_limit(1 << 26)


def data_dir() -> Path:
    path = shared_root() / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"shared corpora not found at {path} (set KOUBEI_SHARED)")
    return path


def _read_text(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8-sig", errors="replace") as f:
        return f.read()


def _csv_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    # The TSV benchmark files use no quoting; csv's default quote handling would merge the rows
    # around a stray '"' (454 of ChnSentiCorp's 9,600 train rows disappeared that way).
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    return list(csv.DictReader(io.StringIO(_read_text(path)), delimiter=delimiter, quoting=quoting))


def _jsonl(path: Path) -> Iterator[dict]:
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _clean(text: str | None) -> str:
    return " ".join(normalize(text or "").split())


def chnsenticorp(split: str) -> list[tuple[str, str]]:
    """The canonical ChnSentiCorp split (train/dev/test), as the published anchors use it."""
    rows = _csv_rows(data_dir() / "chnsenticorp_benchmark" / f"{split}.tsv.gz", delimiter="\t")
    return [(_clean(r["text_a"]), BINARY[r["label"].strip()]) for r in rows if r.get("text_a")]


def ptt_happy_hate_sad(split: str) -> list[tuple[str, str]]:
    """Real PTT posts labeled by board: happy → positive, hate and sad → negative (weak labels)."""
    rows = _csv_rows(data_dir() / "ptt_happy_hate_sad" / f"{split}.csv.gz")
    return [(_clean(r["content"]), HHS[r["board"].strip()]) for r in rows if (r.get("content") or "").strip()]


def sophonplus_reviews() -> list[tuple[str, str]]:
    """The three SophonPlus review sets, deduplicated on text (they overlap)."""
    seen: dict[str, str] = {}
    for name in ("ChnSentiCorp_htl_all", "waimai_10k", "online_shopping_10_cats"):
        for r in _csv_rows(data_dir() / "sophonplus" / f"{name}.csv.gz"):
            text = _clean(r.get("review"))
            if text and text not in seen:
                seen[text] = BINARY[r["label"].strip()]
    return list(seen.items())


# ---------------------------------------------------------------------------------------------- unlabeled


def forum_texts(max_pushes: int = 150_000, seed: int = 0) -> Iterator[str]:
    """Real forum text for masked-LM pre-training: PTT articles and pushes, Dcard posts/comments,
    Mobile01 threads. Pushes are sampled (the Stock board alone has 727k)."""
    ft = data_dir() / "forum_text"
    rng = random.Random(seed)
    pushes: list[str] = []
    for rec in _jsonl(ft / "ptt_stock_2016-2019_deternan.jsonl.gz"):
        yield f"{rec.get('article_title', '')} {rec.get('content', '')}"
        pushes.extend(m.get("push_content", "").lstrip(": ") for m in rec.get("messages") or [])
    for rec in _csv_rows(ft / "ptt_gossiping_2018-2019_yeeyanchen_ptt.csv.gz"):
        yield f"{rec.get('artTitle', '')} {rec.get('artContent', '')}"
        try:
            comments = ast.literal_eval(rec.get("artComments") or "[]")
        except (ValueError, SyntaxError):
            comments = []
        pushes.extend(c.get("cmtContent", "").lstrip(":") for c in comments)
    for path in sorted((ft / "ptt_articles_chiang0601").glob("*.csv.gz")):
        for rec in _csv_rows(path):
            yield f"{rec.get('標題', '')} {rec.get('內文', '')}"
    for rec in _csv_rows(ft / "ptt_multiboard_2021_chenhsihsien_ptt.csv.gz"):
        yield f"{rec.get('標題', '')} {rec.get('內容', '')}"
    for name in (
        "ptt_techjob_2023_chiaweiwu.jsonl.gz",
        "ptt_stock_2023_chiaweiwu.jsonl.gz",
        "ptt_gossiping_2022-01_githubjacky.jsonl.gz",
    ):
        for rec in _jsonl(ft / name):
            yield f"{rec.get('title', '')} {rec.get('content', '')}"
    for rec in _jsonl(ft / "ptt_2021_youtuber_topics_bobolu.jsonl.gz"):
        yield f"{rec.get('Title', '')} {rec.get('Text', '')}"
    for rec in _jsonl(ft / "dcard_2020-12_fishkuo_posts.jsonl.gz"):
        yield f"{rec.get('title', '')} {rec.get('content', '')}"
    for rec in _jsonl(ft / "dcard_2020-12_fishkuo_comments.jsonl.gz"):
        yield rec.get("content") or ""
    for rec in _jsonl(ft / "dcard_2021_youtuber_topics_bobolu.jsonl.gz"):
        yield f"{rec.get('Title', '')} {rec.get('Text', '') or rec.get('Summary', '')}"
    for name in ("mobile01_destroymayor_output_296.json.gz", "mobile01_destroymayor_question.json.gz"):
        for thread in json.loads(_read_text(ft / name)):
            yield f"{thread.get('title', '')} {thread.get('content', '')}"
            yield from (r for r in thread.get("reply") or [] if isinstance(r, str))
    rng.shuffle(pushes)
    yield from pushes[:max_pushes]


def pretraining_corpus(exclude: set[str], max_pushes: int = 150_000) -> list[str]:
    """Unlabeled text for self-pre-training: forum text plus every review text, minus ``exclude``
    (the evaluation texts, so pre-training never reads a test sentence)."""
    texts: list[str] = []
    seen: set[str] = set(exclude)
    sources = [
        (t for t, _ in sophonplus_reviews()),
        (t for t, _ in chnsenticorp("train")),
        (t for t, _ in ptt_happy_hate_sad("train")),
        (_clean(t) for t in forum_texts(max_pushes)),
    ]
    for source in sources:
        for text in source:
            if len(text) >= 2 and text not in seen:
                seen.add(text)
                texts.append(text)
    return texts


# Title tags whose articles report or ask rather than judge: the weak "neutral" signal.
OBJECTIVE_TAGS = (
    "[新聞]",
    "[公告]",
    "[情報]",
    "[標的]",
    "[請益]",
    "[問題]",
    "[徵求]",
    "[協尋]",
    "[討論]",
    "[轉錄]",
)


def objective_titles(max_n: int = 8000, seed: int = 0) -> list[str]:
    """Real PTT titles tagged as news, announcements, information or questions (weak neutral labels).

    The tag is the writer's own statement of intent; the headline after it is usually reported
    speech. Noisy (a [新聞] headline can be loaded), which is why the 3-class model is also checked
    against hand labels.
    """
    ft = data_dir() / "forum_text"
    titles: list[str] = []
    for rec in _csv_rows(ft / "ptt_multiboard_2021_chenhsihsien_ptt.csv.gz"):
        titles.append(rec.get("標題", ""))
    for path in sorted((ft / "ptt_articles_chiang0601").glob("*.csv.gz")):
        titles.extend(rec.get("標題", "") for rec in _csv_rows(path))
    for name in ("ptt_techjob_2023_chiaweiwu.jsonl.gz", "ptt_gossiping_2022-01_githubjacky.jsonl.gz"):
        titles.extend(rec.get("title", "") for rec in _jsonl(ft / name))
    for rec in _jsonl(ft / "ptt_stock_2016-2019_deternan.jsonl.gz"):
        titles.append(rec.get("article_title", ""))
    picked = sorted({_clean(t) for t in titles if t and t.strip().startswith(OBJECTIVE_TAGS)})
    random.Random(seed).shuffle(picked)
    return picked[:max_n]
