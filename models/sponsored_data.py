"""Weak labels for the sponsored-post model, from the disclosure rules run over real forum text.

Positives: units the rules flag (real disclosures; the rules score precision 1.0 on the
hand-checked set). Hard negatives: units that use the vocabulary of sponsorship (業配, 廣告, 合作,
邀約, 公關, 贊助, 工商, 試用, 開箱 …) and are *not* flagged — accusations, complaints, news, other
senses. Random negatives: other units. Every unit of the hand-checked evaluation set is removed,
so the model is never scored on text it was trained on.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from pathlib import Path

from koubei.nlp.sponsored import SponsoredItem, SponsoredRules, iter_units

SOURCES = (
    "data/forum_text/ptt_articles_chiang0601/Food.csv.gz",
    "data/forum_text/ptt_articles_chiang0601/1_Lifeismoney.csv.gz",
    "data/forum_text/ptt_articles_chiang0601/1_C_chat.csv.gz",
    "data/forum_text/ptt_articles_chiang0601/1_Gossiping.csv.gz",
    "data/forum_text/ptt_articles_chiang0601/Tech_Job.csv.gz",
    "data/forum_text/ptt_articles_chiang0601/movie.csv.gz",
    "data/forum_text/ptt_articles_chiang0601/NBA.csv.gz",
    "data/forum_text/ptt_multiboard_2021_chenhsihsien_ptt.csv.gz",
    "data/forum_text/dcard_2021_youtuber_topics_bobolu.jsonl.gz",
    "data/forum_text/dcard_2020-12_fishkuo_posts.jsonl.gz",
    "data/forum_text/ptt_2021_youtuber_topics_bobolu.jsonl.gz",
    "data/forum_text/ptt_gossiping_2018-2019_yeeyanchen_ptt.csv.gz",
    "data/ptt_happy_hate_sad/train.csv.gz",
)
VOCABULARY = re.compile(
    "業配|廣告|廣宣|合作|邀約|邀請|公關|贊助|工商|試用|開箱|體驗|折扣碼|優惠碼|推薦碼|分潤|團購"
)


def as_text(item: SponsoredItem, head: int = 160, tail: int = 100) -> str:
    """Title + the start and the end of the body: disclosures sit at either end of a post."""
    body = item.text or ""
    if len(body) > head + tail:
        body = f"{body[:head]} … {body[-tail:]}"
    return f"{item.title} {body}".strip()


def eval_keys(eval_csv: Path) -> set[tuple[str, str, str]]:
    with eval_csv.open(encoding="utf-8", newline="") as f:
        return {(r["source"], r["record"], r["field"]) for r in csv.DictReader(f)}


def build(
    shared_root: Path, eval_csv: Path, *, n_hard: int = 3000, n_random: int = 3000, seed: int = 13
) -> dict[str, list[tuple[str, str]]]:
    """train/dev rows of (text, "sponsored"|"organic"), split 85/15 by a hash of the unit key."""
    rules, skip, rng = SponsoredRules(), eval_keys(eval_csv), random.Random(seed)
    positives, hard, others = [], [], []
    for source in SOURCES:
        for record, field, item in iter_units(shared_root, source):
            if (source, record, field) in skip or not (item.title or item.text or "").strip():
                continue
            key = f"{source}|{record}|{field}"
            if rules.predict([item])[0]:
                positives.append((key, item))
            elif VOCABULARY.search(f"{item.title} {item.text}"):
                hard.append((key, item))
            elif item.kind == "post" and rng.random() < 0.05:
                others.append((key, item))
    rng.shuffle(hard)
    rng.shuffle(others)
    rows = [(k, as_text(i), "sponsored") for k, i in positives]
    rows += [(k, as_text(i), "organic") for k, i in hard[:n_hard] + others[:n_random]]
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "dev": []}
    for key, text, label in rows:
        bucket = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 100
        splits["dev" if bucket < 15 else "train"].append((text, label))
    for rows_ in splits.values():
        rng.shuffle(rows_)
    return splits


def write_csvs(
    splits: dict[str, list[tuple[str, str]]], out_dir: Path, *, oversample: int = 1
) -> dict[str, Path]:
    """``train.csv`` / ``dev.csv`` (text,label); positives repeated ``oversample`` times in train only.

    The weak positives are ~1.4% of the rows; repeating them is the simplest class weighting that
    the stock Trainer honours, and dev keeps the real ratio so its scores stay honest.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in splits.items():
        if name == "train" and oversample > 1:
            rows = rows + [r for r in rows if r[1] == "sponsored"] * (oversample - 1)
            random.Random(7).shuffle(rows)
        paths[name] = out_dir / f"{name}.csv"
        with paths[name].open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    return paths


def main(argv: list[str] | None = None) -> None:
    """``python -m koubei.models.sponsored_data --out DIR``: the weak-label CSVs the model trains on."""
    import argparse

    from koubei.pipelines.paths import shared_root

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=None, help="shared root (default: $KOUBEI_SHARED)")
    parser.add_argument(
        "--eval-set",
        type=Path,
        default=Path("tests/fixtures/sponsored/eval_set.csv"),
        help="units to exclude",
    )
    parser.add_argument("--oversample", type=int, default=8, help="repeat train positives N times")
    args = parser.parse_args(argv)
    splits = build(args.shared or shared_root(), args.eval_set)
    for name, path in write_csvs(splits, args.out, oversample=args.oversample).items():
        print(
            f"{name}: {path} ({sum(1 for r in splits[name] if r[1] == 'sponsored')} sponsored / {len(splits[name])})"
        )


if __name__ == "__main__":
    main()
