"""Binary metrics for the 業配 rules (confusion counts the reports print) and Cohen's κ.

Multiclass scoring of models lives in :mod:`koubei.models.evaluate` (scikit-learn). Zero-division
cases return 0.0, scikit-learn's ``zero_division=0`` convention, so reports never crash on an
empty class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BinaryReport:
    """Counts and scores for the positive class of a binary task."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def support(self) -> int:
        """Number of gold positives."""
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def accuracy(self) -> float:
        return _ratio(self.tp + self.tn, self.tp + self.fp + self.fn + self.tn)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "support": self.support,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "accuracy": self.accuracy,
        }


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def binary_report(y_true: Iterable[bool | int], y_pred: Iterable[bool | int]) -> BinaryReport:
    """Confusion counts for a binary task; truthy values are the positive class."""
    counts = Counter((bool(t), bool(p)) for t, p in _paired(y_true, y_pred))
    return BinaryReport(
        tp=counts[(True, True)],
        fp=counts[(False, True)],
        fn=counts[(True, False)],
        tn=counts[(False, False)],
    )


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's κ between two labelings of the same items (1.0 = perfect, 0.0 = chance level)."""
    from sklearn.metrics import cohen_kappa_score

    a, b = [str(x) for x in a], [str(x) for x in b]
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} vs {len(b)} labels")
    if not a:
        return 0.0
    return 1.0 if a == b else float(cohen_kappa_score(a, b))


def _paired(a: Iterable, b: Iterable) -> Iterable[tuple]:
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} gold vs {len(b)} predicted")
    return zip(a, b, strict=True)
