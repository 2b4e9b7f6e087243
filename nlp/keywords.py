"""Trend terms: TF-IDF keywords with IDF learned from our own forum corpus.

jieba ships an IDF table learned from Simplified news; forum words (業配, 踩雷, 全聯) are missing or
mis-weighted there. :class:`IdfModel` learns IDF from the crawled posts, saves it in jieba's
``idf.txt`` format (``word idf`` per line) and ranks keywords with ``jieba.analyse``'s own TF-IDF
code, so results match ``jieba.analyse.extract_tags`` given the same IDF file and tokenizer.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

from .segment import Segmenter, default_segmenter, stopwords


class IdfModel:
    """Inverse document frequency over segmented documents, scikit-learn style.

    ``idf(w) = ln(N / df(w))`` (the definition behind jieba's ``idf.txt``), kept for words in at
    least ``min_df`` documents. Words holding whitespace (an alias like "iPhone 15 Pro") are left
    out because the file format cannot hold them; they get the median IDF, as unknown words do.
    Feed cleaned text (:func:`koubei.nlp.clean.clean_text`), author's own words only.
    """

    def __init__(self, segmenter: Segmenter | None = None, *, min_df: int = 1):
        self.segmenter = segmenter
        self.min_df = min_df

    def fit(self, docs: Iterable[str]) -> IdfModel:
        segmenter = self.segmenter or default_segmenter()
        df: Counter[str] = Counter()
        n_docs = 0
        for doc in docs:
            n_docs += 1
            df.update({w for w in segmenter.words(doc) if not any(c.isspace() for c in w)})
        if not n_docs:
            raise ValueError("IdfModel.fit needs at least one document")
        self.n_docs_ = n_docs
        self.idf_ = {w: math.log(n_docs / n) for w, n in df.items() if n >= self.min_df}
        return self

    @property
    def median_idf_(self) -> float:
        """The IDF unknown words get: jieba's (upper) median."""
        values = sorted(self.idf_.values())
        return values[len(values) // 2] if values else 0.0

    def save(self, path: str | Path) -> None:
        """Write ``word idf`` lines (jieba's ``idf.txt``), most specific words first."""
        lines = (f"{w} {v:.6f}\n" for w, v in sorted(self.idf_.items(), key=lambda kv: (-kv[1], kv[0])))
        Path(path).write_text("".join(lines), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, segmenter: Segmenter | None = None) -> IdfModel:
        """Read an ``idf.txt`` (ours or jieba's)."""
        model = cls(segmenter)
        model.idf_ = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                word, value = line.strip().split(" ")
                model.idf_[word] = float(value)
        return model

    def extract_tags(self, text: str, topK: int | None = 20, withWeight: bool = False):  # noqa: N803 (jieba's names)
        """Top keywords of ``text`` by TF-IDF, as ``jieba.analyse.extract_tags`` returns them."""
        return self._tfidf().extract_tags(text, topK=topK, withWeight=withWeight)

    def _tfidf(self):
        import jieba.analyse

        tfidf = jieba.analyse.TFIDF.__new__(jieba.analyse.TFIDF)  # skip loading jieba's own idf.txt
        # jieba.analyse calls tokenizer.cut(); ours drops URLs, punctuation and stopwords first.
        tfidf.tokenizer = SimpleNamespace(cut=(self.segmenter or default_segmenter()).words)
        tfidf.stop_words = set(jieba.analyse.TFIDF.STOP_WORDS) | stopwords()
        tfidf.idf_freq, tfidf.median_idf = self.idf_, self.median_idf_
        return tfidf
