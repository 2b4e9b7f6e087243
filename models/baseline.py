"""The baseline every koubei model is scored beside: character 1–3-gram TF-IDF + logistic regression.

The same recipe as the published reference point in ``research/nlp.md`` (≤300k features,
sublinear tf, C=4), trained on the same rows as the model it is compared with.
"""

from __future__ import annotations

from collections.abc import Sequence

from koubei.nlp.normalize import normalize
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


def _preprocess(text: str) -> str:
    return normalize(text or "").lower()


def tfidf_logreg(max_features: int = 300_000, c: float = 4.0) -> Pipeline:
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(1, 3),
                    max_features=max_features,
                    sublinear_tf=True,
                    preprocessor=_preprocess,
                ),
            ),
            ("lr", LogisticRegression(C=c, max_iter=2000)),
        ]
    )


def predict_restricted(
    model: Pipeline, texts: Sequence[str], restrict_to: Sequence[str] | None = None
) -> list[str]:
    """Like ``predict``, but a binary set is scored on its two labels only."""
    if not restrict_to:
        return list(model.predict(texts))
    classes = list(model.classes_)
    allowed = [classes.index(label) for label in restrict_to if label in classes]
    proba = model.predict_proba(texts)[:, allowed]
    return [classes[allowed[i]] for i in proba.argmax(axis=1)]
