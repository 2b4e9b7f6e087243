"""Mention-level (target) input: which entity the classifier should read the sentence for.

「iPhone 比三星好用多了」 is positive for iPhone and negative for Samsung, so the classifier reads a
pair, ``alias [SEP] window``: the entity as written, then the text around it. A BERT tokenizer keeps
``[SEP]`` as its special token, so the pair goes through the same single-text path (and the same
ONNX graph) as every other input. Training (``datasets``), evaluation (``koubei eval mentions``) and
the enrich stage all build the input here, so they cannot drift apart.
"""

from __future__ import annotations

TARGET_SEP = "[SEP]"
TARGET_WINDOW = 30  # characters either side, the brand matcher's default window
FORMAT = "alias[SEP]window"  # declared in a model's metrics.json as ``mention_input``


def window(text: str, start: int, end: int, width: int = TARGET_WINDOW) -> str:
    """The text ``width`` characters either side of ``text[start:end]``."""
    return text[max(0, start - width) : end + width]


def target_input(alias: str, context: str) -> str:
    """The classifier input for one mention: the entity as written, then its context."""
    return f"{alias}{TARGET_SEP}{context}"


def sentence_target(sentence: str, start: int, end: int, width: int = TARGET_WINDOW) -> str:
    return target_input(sentence[start:end], window(sentence, start, end, width))
