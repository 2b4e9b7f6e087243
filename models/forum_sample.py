"""Draw the forum3 annotation sample (issue 10) from ../shared: a fixed seed, a documented procedure.

    python -m koubei.models.forum_sample ids  > models/annotations/forum3_ids.csv
    python -m koubei.models.forum_sample batches --out DIR --annotators 8

Procedure (also in ``models/ANNOTATION.md``):

- **Comments** (``COMMENT_QUOTAS``, 5,251 drawn: small sources run out under the thread cap): every push/reply of a source whose text passes
  :func:`keep_comment` and is not in the issue-4 set (``tests/fixtures/sentiment3``), shuffled with
  ``random.Random(f"{SEED}:{source}")``, taken in that order with at most ``MAX_PER_THREAD`` per
  thread and no exact repeat of a text of ≥ 6 characters (pasted spam, slogans).
- **Titles and bodies** (``TITLE_QUOTAS`` + ``BODY_QUOTAS``, 1,040): titles de-duplicated after a
  ``Re:``/``Fw:`` prefix; bodies only when 15–400 characters (a short post is labelled whole).
- **Split** by thread: ``sha1(thread) % 10`` → 0–1 test, 2 dev, 3–9 train.
- **Extension rounds** (``extend``, ``EXTRA_QUOTAS``): more comments for training only — drawn the
  same way from threads whose split is ``train``, skipping every id already labelled.
- **Batches**: items shuffled, dealt round-robin to the annotators; a random ``SECOND_PASS_SHARE``
  also goes, blind and mixed in, to the next annotator for the agreement measurement.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from . import labeled as L

SEED = 20261124
COMMENT_QUOTAS = {
    L.STOCK_2016: 1750,
    L.GOSSIPING_2018: 400,
    L.GOSSIPING_YEEYAN: 700,
    L.OPTION_2021: 200,
    L.DCARD_COMMENTS: 2050,
    L.MOBILE01_296: 250,
    L.MOBILE01_QUESTION: 250,
}
TITLE_QUOTAS = {
    L.MULTIBOARD_2021: 250,
    **{source: 30 for source in L.CHIANG_FILES},  # 7 files → 210
    L.TECHJOB_2023: 80,
    L.PTT_YOUTUBER: 120,
    L.DCARD_POSTS: 150,
    L.DCARD_YOUTUBER: 100,
    L.MOBILE01_296: 15,
    L.MOBILE01_QUESTION: 15,
}
BODY_QUOTAS = {L.DCARD_POSTS: 80, L.DCARD_YOUTUBER: 20}
EXTRA_QUOTAS = {
    L.STOCK_2016: 3000,
    L.DCARD_COMMENTS: 2900,
    L.GOSSIPING_YEEYAN: 500,
    L.GOSSIPING_2018: 250,
    L.OPTION_2021: 100,
    L.MOBILE01_296: 150,
    L.MOBILE01_QUESTION: 150,
}
MAX_PER_THREAD = 3
BODY_CHARS = (15, 400)
SECOND_PASS_SHARE = 0.10
ID_COLUMNS = ("source", "record", "comment", "field", "push_tag", "split")
SHOWN_CHARS = 500
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:Re|Fw|RE|FW)\s*:\s*)+")
_URL_ONLY = re.compile(r"^\s*https?://\S+\s*$")


def keep_comment(text: str) -> bool:
    """Drop empty text, lone punctuation and bare links; keep every real word, however short."""
    return bool(text) and not (len(text) == 1 and not text.isalnum()) and not _URL_ONLY.match(text)


def split_of(thread: str) -> str:
    bucket = int(hashlib.sha1(thread.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if bucket < 2 else "dev" if bucket == 2 else "train"


def _issue4_ids() -> set[tuple]:
    path = L.LABELS_CSV
    return {L.item_key(row) for row in L.read_label_rows(path)} if path.is_file() else set()


def _comments(source: str, root: Path | None) -> Iterator[dict]:
    field = "push" if source in L.PUSH_SOURCES else "reply"
    for record, article in L.read_articles(source, root):
        thread = L.thread_of(source, record, article)
        for comment, push in enumerate(article.pushes):
            if field == "push" and push.tag not in L.PUSH_TAGS:
                continue
            if source == L.MOBILE01_QUESTION and comment == 0 and push.text == article.body:
                continue  # question.json repeats the opening post as reply 0
            yield {
                "source": source,
                "record": record,
                "comment": comment,
                "field": field,
                "push_tag": push.tag,
                "text": push.text,
                "thread": thread,
                "board": article.board,
            }


def _take(candidates: list[dict], quota: int, rng: random.Random, skip: set[tuple]) -> list[dict]:
    rng.shuffle(candidates)
    per_thread: Counter[str] = Counter()
    seen_texts: set[str] = set()
    picked = []
    for item in candidates:
        key = (
            item["source"],
            item["record"],
            item["comment"] if item["comment"] != "" else None,
            item["field"],
        )
        text = item["text"]
        if key in skip or per_thread[item["thread"]] >= MAX_PER_THREAD:
            continue
        if len(text) >= 6 and text in seen_texts:
            continue
        per_thread[item["thread"]] += 1
        seen_texts.add(text)
        picked.append(item)
        if len(picked) == quota:
            break
    return picked


def _records(source: str, field: str, root: Path | None) -> Iterator[dict]:
    for record, article in L.read_articles(source, root):
        text = article.title if field == "title" else article.body
        if field == "title":
            text = text.strip()
        yield {
            "source": source,
            "record": record,
            "comment": "",
            "field": field,
            "push_tag": "",
            "text": text,
            "thread": L.thread_of(source, record, article),
            "board": article.board,
        }


def sample(root: Path | None = None) -> list[dict]:
    """The whole sample with text, board, thread and split."""
    skip = _issue4_ids()
    items: list[dict] = []
    for source, quota in COMMENT_QUOTAS.items():
        candidates = [c for c in _comments(source, root) if keep_comment(c["text"])]
        items += _take(candidates, quota, random.Random(f"{SEED}:{source}"), skip)
    seen_titles = {_REPLY_PREFIX.sub("", t["text"]).strip() for t in items if t["field"] == "title"}
    for source, quota in TITLE_QUOTAS.items():
        candidates = []
        for item in _records(source, "title", root):
            key = _REPLY_PREFIX.sub("", item["text"]).strip()
            if len(key) >= 2 and key not in seen_titles:
                seen_titles.add(key)
                candidates.append(item)
        items += _take(candidates, quota, random.Random(f"{SEED}:{source}:title"), skip)
    for source, quota in BODY_QUOTAS.items():
        lo, hi = BODY_CHARS
        candidates = [b for b in _records(source, "body", root) if lo <= len(b["text"]) <= hi]
        items += _take(candidates, quota, random.Random(f"{SEED}:{source}:body"), skip)
    for item in items:
        item["split"] = split_of(item["thread"])
    return items


def labelled_ids(paths: list[Path]) -> set[tuple]:
    """Ids already in a labels CSV (issue 4's set, forum3): never drawn again."""
    out = _issue4_ids()
    for path in paths:
        if path.is_file():
            out |= {L.item_key(row) for row in L.read_label_rows(path)}
    return out


def train_comments(source: str, root: Path | None = None) -> list[dict]:
    """Every usable comment of a source whose thread is on the train side."""
    return [
        c for c in _comments(source, root) if keep_comment(c["text"]) and split_of(c["thread"]) == "train"
    ]


def extend(round_no: int, skip: set[tuple], root: Path | None = None) -> list[dict]:
    """A training-only extension: comments from ``train`` threads, none labelled before."""
    items: list[dict] = []
    for source, quota in EXTRA_QUOTAS.items():
        items += _take(
            train_comments(source, root), quota, random.Random(f"{SEED}:r{round_no}:{source}"), skip
        )
    for item in items:
        item["split"] = "train"
    return items


def _shown(text: str) -> str:
    text = " ⏎ ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    text = text.replace("\t", " ")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + " …[截斷]"


def batches(items: list[dict], annotators: int) -> list[list[tuple[dict, str]]]:
    """Per annotator: (item, pass) pairs in a shuffled order; pass is ``first`` or ``second``."""
    rng = random.Random(SEED)
    order = list(range(len(items)))
    rng.shuffle(order)
    dealt: list[list[tuple[dict, str]]] = [[] for _ in range(annotators)]
    first_of = {}
    for n, i in enumerate(order):
        dealt[n % annotators].append((items[i], "first"))
        first_of[i] = n % annotators
    for i in rng.sample(range(len(items)), round(SECOND_PASS_SHARE * len(items))):
        dealt[(first_of[i] + 1) % annotators].append((items[i], "second"))
    for batch in dealt:
        rng.shuffle(batch)
    return dealt


def write_batches(items: list[dict], out: Path, annotators: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for k, batch in enumerate(batches(items, annotators)):
        with (
            (out / f"batch_{k}.tsv").open("w", encoding="utf-8") as shown,
            (out / f"map_{k}.csv").open("w", encoding="utf-8", newline="") as mapping,
        ):
            writer = csv.writer(mapping)
            writer.writerow(["n", *ID_COLUMNS, "pass"])
            shown.write("n\twhere\tkind\ttext\n")
            for n, (item, which) in enumerate(batch, 1):
                site = item["source"].split("/")[-1].split("_")[0]
                kind = {"push": "PTT推文", "reply": "回覆", "title": "標題", "body": "內文"}[item["field"]]
                shown.write(f"{n}\t{site}/{item['board']}\t{kind}\t{_shown(item['text'])}\n")
                writer.writerow([n, *(item[c] for c in ID_COLUMNS), which])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["ids", "batches", "extend", "stats"])
    parser.add_argument("--round", type=int, default=2, help="extension round (seeds the draw)")
    parser.add_argument(
        "--labelled", type=Path, nargs="*", default=[], help="label CSVs whose ids are skipped"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--annotators", type=int, default=8)
    args = parser.parse_args(argv)
    items = extend(args.round, labelled_ids(args.labelled)) if args.what == "extend" else sample()
    if args.what == "ids":
        writer = csv.DictWriter(sys.stdout, fieldnames=ID_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(items)
    elif args.what in ("batches", "extend"):
        write_batches(items, args.out, args.annotators)
    print(
        Counter((i["source"].split("/")[-1], i["field"]) for i in items),
        Counter(i["split"] for i in items),
        len(items),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
