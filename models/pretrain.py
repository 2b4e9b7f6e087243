"""Self-pre-training: a small BERT masked-LM on the offline review and forum text.

No pre-trained Chinese weights can be downloaded here, so koubei pre-trains its own encoder on the
~37 M characters of real forum posts, pushes and reviews in ``shared/data`` (minus every text used
for evaluation), then fine-tunes it (``python -m koubei.models.train``). Seeded and resumable::

    python -m koubei.models.pretrain --output_dir runs/mlm --max_steps 3000
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    BertForMaskedLM,
    DataCollatorForLanguageModeling,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from . import corpora
from .architecture import encoder_config
from .tokenizer import build_tokenizer

logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    vocab_size: int = field(
        default=8000, metadata={"help": "WordPiece vocabulary size (CJK characters + Latin subwords)."}
    )
    hidden_size: int = field(
        default=256, metadata={"help": "Hidden size; 256 with 4 layers ≈ 5.4 M parameters."}
    )
    num_layers: int = field(default=4, metadata={"help": "Transformer layers."})
    num_heads: int = field(default=4, metadata={"help": "Attention heads."})
    max_length: int = field(default=128, metadata={"help": "Tokens per packed pre-training sequence."})


@dataclass
class DataArguments:
    max_pushes: int = field(default=150_000, metadata={"help": "PTT pushes sampled into the corpus."})
    max_sequences: int = field(default=200_000, metadata={"help": "Packed sequences kept (a random sample)."})
    tokenizer_texts: int = field(default=150_000, metadata={"help": "Texts the tokenizer is trained on."})


class PackedSequences(torch.utils.data.Dataset):
    """Texts tokenized and packed back to back into fixed-length [CLS] … [SEP] sequences."""

    def __init__(self, ids: list[list[int]]):
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return {"input_ids": self.ids[i]}


def pack(token_ids: list[list[int]], length: int, cls_id: int, sep_id: int) -> list[list[int]]:
    body = length - 2
    out, buf = [], []
    for ids in token_ids:
        buf.extend(ids + [sep_id])
        while len(buf) >= body:
            out.append([cls_id] + buf[:body] + [sep_id])
            buf = buf[body:]
    return out


def evaluation_texts() -> set[str]:
    """Every text we score on: pre-training must never read one."""
    texts = {t for t, _ in corpora.chnsenticorp("test")} | {t for t, _ in corpora.chnsenticorp("dev")}
    texts |= {t for t, _ in corpora.ptt_happy_hate_sad("test")} | {
        t for t, _ in corpora.ptt_happy_hate_sad("validation")
    }
    return texts


def _prepare(out: Path, model_args: ModelArguments, data_args: DataArguments, seed: int):
    """Tokenizer and packed sequences, cached in the output directory so a resumed run starts fast."""
    from transformers import AutoTokenizer

    tok_dir, cache = out / "tokenizer", out / "sequences.pt"
    if (tok_dir / "tokenizer.json").exists() and cache.exists():
        return AutoTokenizer.from_pretrained(tok_dir), torch.load(cache)
    texts = corpora.pretraining_corpus(exclude=evaluation_texts(), max_pushes=data_args.max_pushes)
    rng = random.Random(seed)
    rng.shuffle(texts)
    logger.info("pre-training corpus: %d texts, %d characters", len(texts), sum(map(len, texts)))
    tokenizer = build_tokenizer(texts[: data_args.tokenizer_texts], vocab_size=model_args.vocab_size)
    tokenizer.save_pretrained(tok_dir)
    encoded = tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
    sequences = pack(encoded, model_args.max_length, tokenizer.cls_token_id, tokenizer.sep_token_id)
    rng.shuffle(sequences)
    sequences = sequences[: data_args.max_sequences]
    logger.info("%d packed sequences of %d tokens", len(sequences), model_args.max_length)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(sequences, cache)
    return tokenizer, sequences


def main(argv: list[str] | None = None) -> Path:
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    set_seed(training_args.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(training_args.output_dir)

    tokenizer, sequences = _prepare(out, model_args, data_args, training_args.seed)

    config = encoder_config(
        len(tokenizer),
        tokenizer.pad_token_id,
        hidden=model_args.hidden_size,
        layers=model_args.num_layers,
        heads=model_args.num_heads,
    )
    model = BertForMaskedLM(config)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    trainer = Trainer(
        model=model, args=training_args, train_dataset=PackedSequences(sequences), data_collator=collator
    )
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    trainer.train(resume_from_checkpoint=last)
    final = out / "final"
    trainer.save_model(str(final))
    tokenizer.save_pretrained(final)
    logger.info("saved the pre-trained encoder to %s", final)
    return final


if __name__ == "__main__":
    main()
