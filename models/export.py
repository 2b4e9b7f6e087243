"""ONNX export of a saved classifier, int8 quantization, and the check that they agree with PyTorch.

optimum's exporter does not work with transformers 5.x, so the model goes through
``torch.onnx.export`` (legacy TorchScript exporter: one self-contained file, ~1 s) and
``onnxruntime.quantization.quantize_dynamic`` (int8 weights, ~1.4x faster on CPU, research/nlp.md
§5.3). int8 is only worth shipping where it keeps accuracy, which :func:`agreement` measures on
real text before a backend is chosen::

    python -m koubei.models.export MODEL_DIR [--check dev.csv]

The files land beside the weights under the names :class:`koubei.models.classifier.TextClassifier`
loads: ``model.onnx`` and ``model.int8.onnx``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .classifier import ONNX_FILES, TextClassifier

OPSET = 17
SENTIMENT3 = ("negative", "neutral", "positive")


def export_onnx(model_dir: str | Path, *, int8: bool = True, reduce_range: bool = False) -> dict[str, Path]:
    """Write ``model.onnx`` (fp32) and, with ``int8``, ``model.int8.onnx`` into ``model_dir``.

    Dynamic batch and sequence axes, inputs ``input_ids``/``attention_mask`` (int64), output
    ``logits``. Returns ``{"onnx": path, "onnx-int8": path}`` (the backend names).
    ``reduce_range`` quantizes weights to 7 bits: slower here, but the cure ONNX Runtime documents
    for int8 overflow on CPUs without VNNI (AVX2 only, like this project's CI machines) should
    :func:`agreement` show int8 losing accuracy.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model_dir = Path(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    fp32 = model_dir / ONNX_FILES["onnx"]
    # Two texts of different lengths, so the trace sees real padding in the attention mask.
    sample = AutoTokenizer.from_pretrained(model_dir)(
        ["今天天氣很好", "好"], padding=True, return_tensors="pt"
    )
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        torch.onnx.export(
            _logits_only(model),
            (sample["input_ids"], sample["attention_mask"]),
            str(fp32),
            dynamo=False,
            opset_version=OPSET,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch"},
            },
            do_constant_folding=True,
        )
    paths = {"onnx": fp32}
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        paths["onnx-int8"] = model_dir / ONNX_FILES["onnx-int8"]
        quantize_dynamic(fp32, paths["onnx-int8"], weight_type=QuantType.QInt8, reduce_range=reduce_range)
    return paths


def _logits_only(model):
    """The model as a module whose traced graph returns the logits tensor alone."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return LogitsOnly().eval()


def agreement(
    model_dir: str | Path,
    texts: Sequence[str],
    labels: Sequence[str] | None = None,
    *,
    backends: Iterable[str] = ("onnx", "onnx-int8"),
    batch_size: int = 64,
    threads: int | None = None,
) -> dict:
    """How far each ONNX backend is from PyTorch on ``texts``.

    Per backend: ``max_abs_dprob`` (largest probability difference on any text and class),
    ``label_agreement`` (share of texts with the same argmax label) and, with gold ``labels``,
    ``accuracy`` next to PyTorch's. Missing ONNX files are exported first.
    """
    model_dir = Path(model_dir)
    backends = list(backends)
    if any(not (model_dir / ONNX_FILES[b]).is_file() for b in backends):
        export_onnx(model_dir, int8="onnx-int8" in backends)
    ref = TextClassifier(model_dir, backend="torch", batch_size=batch_size, threads=threads)
    ref_proba = ref.predict_proba(texts)
    ref_labels = np.argmax(ref_proba, axis=1)
    report: dict = {"n": len(texts), "labels": ref.labels}
    if labels is not None:
        report["torch"] = {"accuracy": _accuracy(ref.labels, ref_labels, labels)}
    for backend in backends:
        clf = TextClassifier(model_dir, backend=backend, batch_size=batch_size, threads=threads)
        proba = clf.predict_proba(texts)
        picks = np.argmax(proba, axis=1)
        row = {
            "max_abs_dprob": float(np.abs(proba - ref_proba).max()) if len(texts) else 0.0,
            "label_agreement": float(np.mean(picks == ref_labels)) if len(texts) else 1.0,
            "file_mb": round((model_dir / ONNX_FILES[backend]).stat().st_size / 1e6, 2),
        }
        if labels is not None:
            row["accuracy"] = _accuracy(clf.labels, picks, labels)
        report[backend] = row
    return report


def _accuracy(names: Sequence[str], picks: np.ndarray, gold: Sequence[str]) -> float:
    return float(np.mean([names[i] == g for i, g in zip(picks, gold, strict=True)])) if len(gold) else 0.0


def random_model(
    out_dir: str | Path,
    texts: Iterable[str],
    *,
    layers: int = 4,
    hidden: int = 256,
    heads: int = 4,
    labels: Sequence[str] = SENTIMENT3,
    vocab_size: int = 8000,
    init_std: float = 0.02,
    seed: int = 0,
) -> Path:
    """A random-init classifier with a real tokenizer trained on ``texts``, saved to ``out_dir``.

    For tests and benchmarks: speed depends on the shape (default: the shipped 4-layer/256 shape),
    not on the weights, and the export path does not care whether weights were trained.
    """
    import torch
    from transformers import BertForSequenceClassification

    from .architecture import encoder_config
    from .tokenizer import build_tokenizer

    out_dir = Path(out_dir)
    tokenizer = build_tokenizer(texts, vocab_size=vocab_size, min_frequency=1)
    config = encoder_config(
        len(tokenizer),
        tokenizer.pad_token_id,
        hidden=hidden,
        layers=layers,
        heads=heads,
        initializer_range=init_std,  # larger: outputs that vary more with the text (sharper tests)
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Export MODEL_DIR to ONNX (fp32 + int8) and print how far each is from PyTorch."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--check", type=Path, help="a text,label CSV to measure agreement and accuracy on")
    parser.add_argument("--no-int8", action="store_true", help="export fp32 only")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    paths = export_onnx(args.model_dir, int8=not args.no_int8)
    for backend, path in paths.items():
        print(f"{backend}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.check:
        from .evaluate import read_labeled_csv

        rows = read_labeled_csv(args.check)
        report = agreement(
            args.model_dir,
            [t for t, _ in rows],
            [label for _, label in rows],
            backends=list(paths),
            threads=args.threads,
        )
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
