"""koubei's Chinese tokenizer, built from our own corpora (no hub download).

BERT's basic tokenizer splits every CJK character into its own token, so Chinese is read per
character (which the small models handle best, and which survives slang the dictionaries miss);
WordPiece learns subwords for the Latin words mixed in (iPhone, CP, GG). The result is a plain
``BertTokenizerFast`` that ``AutoTokenizer.from_pretrained(DIR)`` loads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from tokenizers import BertWordPieceTokenizer
from transformers import BertTokenizerFast

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 3
) -> BertTokenizerFast:
    wordpiece = BertWordPieceTokenizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
    )
    wordpiece.train_from_iterator(
        texts,
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL,
        limit_alphabet=6000,
        show_progress=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        wordpiece.save_model(tmp)
        return BertTokenizerFast(
            vocab=str(Path(tmp) / "vocab.txt"),
            do_lower_case=True,
            tokenize_chinese_chars=True,
            strip_accents=False,
            model_max_length=512,
        )
