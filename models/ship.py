"""Copy a trained run into the package as a shipped model: small enough for git, loadable offline.

    python -m koubei.models.ship RUN/final models/sentiment [--check dev.csv]

Writes the tokenizer, ``config.json`` (dtype float32, so ``from_pretrained`` upcasts), the weights
as fp16 safetensors (half the bytes; fp16 rounding moves no argmax on the check set, which is
printed), ``model.int8.onnx`` exported from the fp32 weights (the enrich stage's default backend),
and the run's ``metrics.json``/``trainer_log.json``. The fp32 ``model.onnx`` is not kept (21 MB):
``python -m koubei.models.export DIR`` recreates it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from .classifier import ONNX_FILES
from .export import agreement, export_onnx

RUN_FILES = ("metrics.json", "trainer_log.json")


def ship(run_dir: str | Path, dest: str | Path) -> dict[str, int]:
    """Write the shipped files of ``run_dir`` into ``dest``; returns file name → bytes."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run_dir, dest = Path(run_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*"):
        if old.is_file() and old.name not in ("MODEL_CARD.md", "README.md"):
            old.unlink()
    model = AutoModelForSequenceClassification.from_pretrained(run_dir, dtype=torch.float32).eval()
    AutoTokenizer.from_pretrained(run_dir).save_pretrained(dest)
    model.save_pretrained(dest)
    export_onnx(dest, int8=True)
    (dest / ONNX_FILES["onnx"]).unlink()
    model.half().save_pretrained(dest)
    config = json.loads((dest / "config.json").read_text())
    config["dtype"] = "float32"
    (dest / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    for name in RUN_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, dest / name)
    return {p.name: p.stat().st_size for p in sorted(dest.iterdir()) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--check", type=Path, help="a text,label CSV: fp16 torch vs run fp32 vs int8 ONNX")
    args = parser.parse_args(argv)
    for name, size in ship(args.run_dir, args.dest).items():
        print(f"{name}: {size / 1e6:.2f} MB")
    if args.check:
        from .classifier import TextClassifier
        from .evaluate import read_labeled_csv

        rows = read_labeled_csv(args.check, valid=None)
        texts, gold = [t for t, _ in rows], [label for _, label in rows]
        run = TextClassifier(args.run_dir).predict(texts)
        shipped = TextClassifier(args.dest).predict(texts)
        print(
            f"fp16 vs fp32 run: label agreement {sum(a == b for a, b in zip(run, shipped, strict=True)) / len(texts):.4f}"
        )
        print(json.dumps(agreement(args.dest, texts, gold, backends=("onnx-int8",)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
