"""Scoring, the same way for every model: the transformer, the TF-IDF baseline and the majority class.

``koubei eval sentiment --data FILE.csv`` reads any CSV with a text and a label column
(``negative|neutral|positive``; binary sets ``negative|positive`` are scored on those two) and
prints accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix for each, all on
the same rows.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

VALID = ("negative", "neutral", "positive")


class BadDataFile(ValueError):
    """The evaluation file cannot be used; the message says why."""


def read_labeled_csv(
    path: str | Path, text_col: str = "text", label_col: str = "label", valid: Sequence[str] | None = VALID
) -> list[tuple[str, str]]:
    """(text, label) rows; ``valid=None`` accepts any non-empty label (training files of other tasks)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in (text_col, label_col) if c not in header]
            if missing:
                raise BadDataFile(
                    f"{path}: no column {', '.join(map(repr, missing))} (columns: {', '.join(header) or 'none'})"
                )
            rows = []
            for n, row in enumerate(reader, start=2):
                label = (row[label_col] or "").strip().lower()
                if valid is not None and label not in valid:
                    raise BadDataFile(
                        f"{path}:{n}: label {row[label_col]!r} is not one of {', '.join(valid)}"
                    )
                if not label:
                    raise BadDataFile(f"{path}:{n}: empty label")
                rows.append((row[text_col] or "", label))
    except FileNotFoundError:
        raise BadDataFile(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BadDataFile(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise BadDataFile(f"{path}: not a readable CSV ({exc})") from None
    if not rows:
        raise BadDataFile(f"{path}: no rows")
    return rows


def scores(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    p, r, f, n = precision_recall_fscore_support(gold, pred, labels=list(labels), zero_division=0)
    return {
        "rows": len(gold),
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, labels=list(labels), average="macro", zero_division=0)),
        "per_class": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(n[i])}
            for i, lab in enumerate(labels)
        },
        "labels": list(labels),
        "confusion": confusion_matrix(gold, pred, labels=list(labels)).tolist(),
    }


def majority(train_labels: Sequence[str], n: int) -> list[str]:
    return [Counter(train_labels).most_common(1)[0][0]] * n
