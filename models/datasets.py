"""Named training recipes: which labeled rows train, tune and score each model.

Every recipe deduplicates across sets and removes every evaluation text from training, because
the offline sets overlap (5,573 online-shopping hotel rows are ChnSentiCorp rows; 331 ChnSentiCorp
test texts are also in its train split — those stay, as in the published split, but never in the
extra data we add).
"""

from __future__ import annotations

import random

from . import corpora

Split = list[tuple[str, str]]


def chnsenticorp() -> dict[str, Split]:
    """The canonical split exactly as the published anchors train and score it: train.tsv only."""
    return {s: corpora.chnsenticorp(s) for s in ("train", "dev", "test")}


def ptt_happy_hate_sad() -> dict[str, Split]:
    return {
        "train": corpora.ptt_happy_hate_sad("train"),
        "dev": corpora.ptt_happy_hate_sad("validation"),
        "test": corpora.ptt_happy_hate_sad("test"),
    }


def koubei_sentiment(max_reviews: int = 10_000, max_neutral: int = 6_000, seed: int = 42) -> dict[str, Split]:
    """The shipped 3-class model: reviews + PTT Happy/Hate/sad + weak-neutral objective titles.

    10k extra reviews (of 76k) keep one epoch inside a 2-core CPU session; the shipped model starts
    from the ChnSentiCorp fine-tune, so review sentiment is already in its encoder.

    Held out: ChnSentiCorp dev/test and PTT Happy/Hate/sad validation/test (never trained on).
    """
    held_out = {t for s in ("dev", "test") for t, _ in corpora.chnsenticorp(s)}
    held_out |= {t for s in ("validation", "test") for t, _ in corpora.ptt_happy_hate_sad(s)}
    rng = random.Random(seed)
    reviews = [r for r in corpora.sophonplus_reviews() if r[0] not in held_out]
    rng.shuffle(reviews)
    train: dict[str, str] = {}
    for text, label in (
        reviews[:max_reviews]
        + corpora.chnsenticorp("train")
        + corpora.ptt_happy_hate_sad("train")
        + [(t, "neutral") for t in corpora.objective_titles(max_neutral, seed)]
    ):
        if text not in held_out:
            train.setdefault(text, label)
    rows = list(train.items())
    rng.shuffle(rows)
    dev = corpora.ptt_happy_hate_sad("validation")
    return {"train": rows, "dev": dev, "test": corpora.ptt_happy_hate_sad("test")}


RECIPES = {
    "chnsenticorp": chnsenticorp,
    "ptt_happy_hate_sad": ptt_happy_hate_sad,
    "koubei_sentiment": koubei_sentiment,
}
