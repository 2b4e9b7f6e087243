"""Fine-tune a koubei classifier (sentiment or sponsored) from the self-pre-trained encoder.

In the style of transformers' ``run_classification`` example: dataclass arguments, a fixed seed,
named train/dev/test splits, ``label2id`` saved in the config, metrics JSON beside the weights.
CPU or CUDA, resumable from the last checkpoint, progress bars from the Trainer::

    python -m koubei.models.train --recipe chnsenticorp --init runs/mlm/final --output_dir runs/csc
    python -m koubei.models.train --recipe koubei_sentiment --init runs/mlm/final --output_dir runs/sent
    python -m koubei.models.train --train_file my.csv --init runs/mlm/final --output_dir runs/mine
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from koubei.nlp.normalize import normalize
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from .architecture import encoder_config
from .datasets import RECIPES, Split
from .evaluate import read_labeled_csv, scores
from .truncation import encode

logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    init: str = field(
        metadata={
            "help": "Pre-trained encoder directory (from koubei.models.pretrain), or a "
            "tokenizer directory with --from_scratch."
        }
    )
    from_scratch: bool = field(
        default=False, metadata={"help": "Random-init encoder (ablation: no pre-training)."}
    )
    max_length: int = field(default=128, metadata={"help": "Tokens per text; longer texts keep head + tail."})


@dataclass
class DataArguments:
    recipe: str | None = field(default=None, metadata={"help": f"A named data recipe: {', '.join(RECIPES)}."})
    train_file: str | None = field(default=None, metadata={"help": "A CSV with text,label columns instead."})
    validation_file: str | None = field(default=None, metadata={"help": "CSV for model selection."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training rows."})

    def __post_init__(self):
        if bool(self.recipe) == bool(self.train_file):
            raise ValueError("give exactly one of --recipe or --train_file")
        if self.recipe and self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; one of {', '.join(RECIPES)}")


class Encoded(torch.utils.data.Dataset):
    def __init__(self, rows: Split, tokenizer, label2id: dict[str, int], max_length: int):
        enc = encode(tokenizer, [normalize(t) for t, _ in rows], max_length)
        self.items = [
            {"input_ids": ids, "labels": label2id[label]} for ids, (_, label) in zip(enc, rows, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def load_splits(data_args: DataArguments) -> dict[str, Split]:
    if data_args.recipe:
        splits = RECIPES[data_args.recipe]()
    else:
        splits = {"train": read_labeled_csv(data_args.train_file, valid=None)}
        if data_args.validation_file:
            splits["dev"] = read_labeled_csv(data_args.validation_file, valid=None)
    if data_args.max_train_samples:
        splits["train"] = splits["train"][: data_args.max_train_samples]
    return splits


def main(argv: list[str] | None = None) -> Path:
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    set_seed(training_args.seed)
    splits = load_splits(data_args)
    labels = sorted({label for rows in splits.values() for _, label in rows})
    label2id = {label: i for i, label in enumerate(labels)}
    logger.info("labels %s; %s", labels, {k: len(v) for k, v in splits.items()})

    tokenizer = AutoTokenizer.from_pretrained(model_args.init)
    common = {"num_labels": len(labels), "id2label": dict(enumerate(labels)), "label2id": label2id}
    if model_args.from_scratch:
        config = encoder_config(len(tokenizer), tokenizer.pad_token_id, **common)
        model = BertForSequenceClassification(config)
    else:
        # A fine-tuned init (e.g. the binary ChnSentiCorp model under the 3-class one) brings a head
        # of another size: keep its encoder, start the head fresh.
        model = BertForSequenceClassification.from_pretrained(
            model_args.init, ignore_mismatched_sizes=True, **common
        )

    train = Encoded(splits["train"], tokenizer, label2id, model_args.max_length)
    dev = Encoded(splits["dev"], tokenizer, label2id, model_args.max_length) if "dev" in splits else None

    def compute_metrics(pred) -> dict:
        gold = [labels[i] for i in pred.label_ids]
        guess = [labels[i] for i in np.argmax(pred.predictions, axis=-1)]
        s = scores(gold, guess, labels)
        return {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"]}

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=dev,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
    )
    out = Path(training_args.output_dir)
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    result = trainer.train(resume_from_checkpoint=last)
    final = out / "final"
    trainer.save_model(str(final))
    tokenizer.save_pretrained(final)
    metrics = {
        "train": result.metrics,
        "recipe": data_args.recipe or data_args.train_file,
        "init": "scratch" if model_args.from_scratch else model_args.init,
        "rows": {k: len(v) for k, v in splits.items()},
        "max_length": model_args.max_length,
    }
    if "test" in splits:  # scored once, after training; never used for selection
        from .classifier import TextClassifier

        clf = TextClassifier(final, max_length=model_args.max_length)
        texts, gold = zip(*splits["test"], strict=True)
        binary = set(gold) <= {"negative", "positive"}
        metrics["test"] = scores(
            list(gold),
            clf.predict(list(texts), restrict_to=sorted(set(gold)) if binary else None),
            sorted(set(gold)),
        )
    (final / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False, default=str))
    (final / "trainer_log.json").write_text(json.dumps(trainer.state.log_history, indent=1, default=str))
    logger.info(
        "saved %s; test %s", final, {k: metrics.get("test", {}).get(k) for k in ("accuracy", "macro_f1")}
    )
    return final


if __name__ == "__main__":
    main()
