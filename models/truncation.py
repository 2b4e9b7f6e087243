"""Head + tail truncation: a long review or post keeps its opening and its verdict.

30% of ChnSentiCorp reviews exceed 128 tokens and the verdict (「總之…」「不會再來」) sits at the end;
cutting the tail throws it away. Keeping ~1/4 head and ~3/4 tail is the best of the truncation
schemes compared by Sun et al. (2019, "How to Fine-Tune BERT for Text Classification"). Training and
inference must truncate the same way, so both call :func:`encode`.
"""

from __future__ import annotations

from collections.abc import Sequence

HEAD_SHARE = 0.25
# Characters kept from each end before tokenizing: bounds the tokenizer's work on a huge post while
# leaving far more text than ``max_length`` tokens can hold (a token is at least one character).
_CLIP_FACTOR = 4


def head_tail(ids: list[int], max_length: int, head_share: float = HEAD_SHARE) -> list[int]:
    """``ids`` (with [CLS] … [SEP]) cut to ``max_length``: the first ``head`` and the last tokens."""
    if len(ids) <= max_length:
        return ids
    head = max(1, int(max_length * head_share))
    return ids[:head] + ids[len(ids) - (max_length - head) :]


def clip_chars(text: str, max_length: int) -> str:
    keep = _CLIP_FACTOR * max_length
    return text if len(text) <= 2 * keep else text[:keep] + text[-keep:]


def encode(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, head + tail truncated to ``max_length`` (special tokens included)."""
    enc = tokenizer([clip_chars(t, max_length) for t in texts], truncation=False, verbose=False)["input_ids"]
    return [head_tail(ids, max_length) for ids in enc]
