"""Character-level normalization shared by cleaning, segmentation and brand matching.

Forum text mixes full- and half-width forms, zero-width joiners pasted from apps, and Simplified
text quoted from China. Every later stage wants one canonical form, but brand matching must also
map spans back to the original string, so the folding used for matching keeps one output
character per input character.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Zero-width and bidi marks that apps paste into posts; they split words invisibly.
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\u00ad]")
# C0/C1 control characters except tab and newline (PTT pages keep ANSI art as text).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII (Ａ-Ｚ, ０-９, ！…) and the ideographic space to their ASCII forms.

    One character in, one character out, so spans stay aligned. CJK punctuation (，。「」) has no
    ASCII twin and is kept.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def strip_invisible(text: str) -> str:
    """Drop zero-width, bidi and control characters; keep tabs, newlines and emoji."""
    return _CONTROL.sub("", _INVISIBLE.sub("", text))


@lru_cache(maxsize=4)
def _converter(config: str):
    import opencc  # imported lazily: the converter loads dictionaries on first use

    return opencc.OpenCC(config)


def to_traditional(text: str, config: str = "s2twp") -> str:
    """Convert Simplified text to Taiwan Traditional with OpenCC (``s2twp``: Taiwan phrases too).

    Already-Traditional text passes through unchanged in practice; ``s2twp`` may rewrite phrases
    (软件 → 軟體), so lengths can change. Use :func:`fold` when spans must survive.
    """
    if not text:
        return text
    return _converter(config).convert(text)


def normalize(text: str) -> str:
    """The canonical form stored and fed to models: NFC, invisible characters stripped,
    full-width ASCII folded, Simplified converted to Taiwan Traditional."""
    text = unicodedata.normalize("NFC", text)
    return to_traditional(to_halfwidth(strip_invisible(text)))


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    half = to_halfwidth(ch).lower()
    conv = to_traditional(half, "s2t")
    return conv if len(conv) == 1 else half


def fold(text: str) -> str:
    """Case-, width- and 簡繁-insensitive key for matching, one character per input character.

    Folded character by character (cached), never as a phrase: OpenCC's phrase tables make a
    whole-text conversion depend on the neighbours (台積電 alone becomes 臺積電, but not after 今天,
    because 天台 is a word), so an alias folded alone would miss itself in running text.
    """
    return "".join(map(_fold_char, text))
