"""Draw misclassified test examples for the model card's error analysis (issue 10 item 5).

    python -m koubei.models.error_analysis --model models/sentiment --data forum3-test.csv \\
        --out runs/errors.tsv [--n 50]

Writes ``n`` misclassified rows, drawn with a fixed seed in proportion to the confusion cells
(so the sample shows the errors the model actually makes most), as ``gold, predicted, p, text``.
The causes (sarcasm, slang, target, negation, question, neutral news, …) are assigned by a person
reading each row — that reading is the analysis; this script only picks the rows fairly.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from pathlib import Path

from .classifier import TextClassifier
from .evaluate import read_labeled_csv


def misclassified(model_dir: Path, data: Path) -> list[dict]:
    rows = read_labeled_csv(data)
    clf = TextClassifier(model_dir)
    proba = clf.predict_proba([t for t, _ in rows])
    out = []
    for (text, gold), p in zip(rows, proba, strict=True):
        pred = clf.labels[int(p.argmax())]
        if pred != gold:
            out.append({"gold": gold, "predicted": pred, "p": f"{p.max():.2f}", "text": text})
    return out


def sample(errors: list[dict], n: int, seed: int = 20261123) -> list[dict]:
    """``n`` errors, each confusion cell represented in proportion to its size."""
    rng = random.Random(seed)
    cells: dict[tuple[str, str], list[dict]] = {}
    for e in errors:
        cells.setdefault((e["gold"], e["predicted"]), []).append(e)
    total = len(errors)
    picked = []
    for cell in sorted(cells, key=lambda c: -len(cells[c])):
        k = max(1, round(n * len(cells[cell]) / total))
        picked += rng.sample(cells[cell], min(k, len(cells[cell])))
    return picked[:n]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args(argv)
    errors = misclassified(args.model, args.data)
    picked = sample(errors, args.n)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["gold", "predicted", "p", "text"], delimiter="\t")
        writer.writeheader()
        writer.writerows({**e, "text": e["text"].replace("\t", " ").replace("\n", " ⏎ ")} for e in picked)
    print(f"{len(errors)} errors; cells {dict(Counter((e['gold'], e['predicted']) for e in errors))}")
    print(f"{len(picked)} drawn → {args.out}")


if __name__ == "__main__":
    main()
