"""Self-training data for the canonical ChnSentiCorp model: gold train.tsv + teacher-labeled reviews.

The char TF-IDF + LR baseline, fitted on ChnSentiCorp ``train.tsv`` only, labels unlabeled review
text; the transformer then trains on the gold rows plus the confident pseudo-labels. The only
human labels used are train.tsv's: the SophonPlus review labels are dropped on reading, and every
ChnSentiCorp dev/test text is removed from the pool, so the canonical protocol (train on
train.tsv, score test.tsv) holds; what is added is unlabeled in-domain text, as in pre-training.
A 5.4 M-parameter encoder pre-trained for 800 steps on 2 cores learns n-gram evidence slowly from
9,600 rows; the teacher's labels on 20k more reviews hand it that evidence (test: see the card).

    python -m koubei.models.pseudo_label --out runs/csc_pseudo [--n 20000] [--min-confidence 0.8]

``--task forum`` does the same for issue 10's forum model (the distillation step of its recipe):
the teacher is fitted on the ``forum_sentiment`` recipe's gold rows (team-annotated forum comments,
mention rows, review replay; class-balanced), the pool is unlabeled comments from **train** threads
only (never a dev/test thread, never an annotated id), and the student trains on gold + pool.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from . import corpora
from .baseline import tfidf_logreg


def unlabeled_reviews(exclude: set[str], n: int, seed: int = 42) -> list[str]:
    """``n`` SophonPlus review texts not in ``exclude``, labels discarded."""
    texts = [t for t, _ in corpora.sophonplus_reviews() if t not in exclude]
    random.Random(seed).shuffle(texts)
    return texts[:n]


def forum_pool(n: int, seed: int = 42, root: Path | None = None) -> list[dict]:
    """``n`` forum comments (with ids and thread) from train threads that no annotator saw."""
    from . import forum_sample as fs

    skip = fs.labelled_ids([Path("models/annotations/forum3.csv")])
    total = sum(fs.EXTRA_QUOTAS.values())
    picked: list[dict] = []
    for source, quota in fs.EXTRA_QUOTAS.items():
        share = max(1, round(n * quota / total))
        picked += fs._take(
            fs.train_comments(source, root), share, random.Random(f"{seed}:pool:{source}"), skip
        )
    return picked


def unlabeled_forum_comments(n: int, seed: int = 42) -> list[str]:
    return [c["text"] for c in forum_pool(n, seed)]


def pseudo_label(
    gold: list[tuple[str, str]], texts: list[str], min_confidence: float, balanced: bool = False
) -> list[tuple[str, str, float]]:
    """(text, label, confidence) for the texts the gold-trained teacher is confident about."""
    teacher = tfidf_logreg()
    if balanced:  # macro-F1 is the forum goal: the small positive class must not be drowned
        teacher.set_params(lr__class_weight="balanced")
    teacher.fit([t for t, _ in gold], [label for _, label in gold])
    proba = teacher.predict_proba(texts)
    classes = list(teacher.classes_)
    out = []
    for text, p in zip(texts, proba, strict=True):
        best = int(p.argmax())
        if p[best] >= min_confidence:
            out.append((text, classes[best], float(p[best])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=20_000, help="unlabeled reviews offered to the teacher")
    parser.add_argument("--min-confidence", type=float, default=0.8)
    parser.add_argument("--task", choices=["chnsenticorp", "forum"], default="chnsenticorp")
    args = parser.parse_args(argv)
    if args.task == "forum":
        from .datasets import forum_sentiment

        splits = forum_sentiment()
        gold, dev = splits["train"], splits["dev"]
        pool = [t for t in unlabeled_forum_comments(args.n) if t not in {t for t, _ in dev + splits["test"]}]
        pseudo = pseudo_label(gold, pool, args.min_confidence, balanced=True)
    else:
        gold = corpora.chnsenticorp("train")
        dev = corpora.chnsenticorp("dev")
        held_out = {t for s in ("dev", "test") for t, _ in corpora.chnsenticorp(s)}
        pool = unlabeled_reviews(held_out | {t for t, _ in gold}, args.n)
        pseudo = pseudo_label(gold, pool, args.min_confidence)
    rows = gold + [(t, label) for t, label, _ in pseudo]
    random.Random(7).shuffle(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, split in (("train", rows), ("dev", dev)):
        with (args.out / f"{name}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(split)
    kept = {
        label: sum(1 for _, lab, _ in pseudo if lab == label) for label in ("negative", "neutral", "positive")
    }
    print(f"pool {len(pool):,}; pseudo-labeled {len(pseudo):,} (p ≥ {args.min_confidence}) {kept}")
    print(f"train {len(rows):,} rows ({len(gold):,} gold) → {args.out / 'train.csv'}; dev {len(dev):,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
