"""The one encoder shape koubei trains: a small BERT sized for 2-core CPU inference.

Defined once so pre-training, from-scratch ablations and the test/benchmark models agree.
4 layers × hidden 256 (≈5.4 M parameters with an 8k vocabulary) is what research/nlp.md §5.3
measured at ~90 seq/s @128 on 2 cores; FFN is 4 × hidden as in BERT.
"""

from __future__ import annotations

from transformers import BertConfig


def encoder_config(
    vocab_size: int,
    pad_token_id: int,
    *,
    hidden: int = 256,
    layers: int = 4,
    heads: int = 4,
    max_positions: int = 512,
    **extra,
) -> BertConfig:
    """A ``BertConfig`` of koubei's encoder shape; ``extra`` carries labels (num_labels, id2label…)."""
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=max_positions,
        pad_token_id=pad_token_id,
        **extra,
    )
