"""CI smoke test of the model path: pre-trained encoder → fine-tune → save → load → eval CLI.

The real training run is documented in the model card and not run in CI (hours on 2 cores); this
trains a tiny model on a few hundred real ChnSentiCorp rows for a few steps and checks the whole
path works and learns (the loss falls).
"""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from koubei.models import corpora, train
from koubei.models.architecture import encoder_config
from koubei.models.tokenizer import build_tokenizer
from koubei.pipelines.cli import main
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertForMaskedLM

from .conftest import require_shared


def write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    require_shared("data", "chnsenticorp_benchmark")
    rows = corpora.chnsenticorp("train")[:400]
    out = tmp_path_factory.mktemp("encoder")
    tokenizer = build_tokenizer([t for t, _ in rows], vocab_size=1500, min_frequency=1)
    config = encoder_config(
        len(tokenizer), tokenizer.pad_token_id, hidden=64, layers=2, heads=2, max_positions=160
    )
    BertForMaskedLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out, rows


@pytest.mark.shared
def test_fine_tune_save_load_and_eval(tiny_encoder, tmp_path):
    encoder, rows = tiny_encoder
    write_csv(tmp_path / "train.csv", rows[:300])
    write_csv(tmp_path / "dev.csv", rows[300:])
    final = train.main(
        [
            "--init",
            str(encoder),
            "--train_file",
            str(tmp_path / "train.csv"),
            "--validation_file",
            str(tmp_path / "dev.csv"),
            "--output_dir",
            str(tmp_path / "run"),
            "--num_train_epochs",
            "4",
            "--per_device_train_batch_size",
            "16",
            "--learning_rate",
            "3e-3",
            "--max_length",
            "64",
            "--report_to",
            "none",
            "--save_strategy",
            "no",
            "--eval_strategy",
            "epoch",
            "--logging_steps",
            "5",
            "--seed",
            "7",
            "--disable_tqdm",
            "True",
        ]
    )
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["rows"] == {"train": 300, "dev": 100} and metrics["init"] == str(encoder)
    model = AutoModelForSequenceClassification.from_pretrained(final)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert AutoTokenizer.from_pretrained(final).tokenize("酒店很好")[:2] == ["酒", "店"]
    losses = [h["loss"] for h in json.loads((final / "trainer_log.json").read_text()) if "loss" in h]
    assert losses[-1] < losses[0]

    result = CliRunner().invoke(
        main, ["eval", "sentiment", "--data", str(tmp_path / "dev.csv"), "--model", str(final), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["results"]) == {"koubei", "tfidf_lr", "majority"} and report["rows"] == 100
    for system in report["results"].values():
        assert system["labels"] == ["negative", "positive"] and sum(map(sum, system["confusion"])) == 100


def test_eval_rejects_bad_files(tmp_path):
    runner = CliRunner()
    (tmp_path / "bad.csv").write_text("text,label\n好,good\n", encoding="utf-8")
    (tmp_path / "cols.csv").write_text("sentence,y\n好,positive\n", encoding="utf-8")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    for name, message in (
        ("bad.csv", "is not one of"),
        ("cols.csv", "no column 'text'"),
        ("bin.csv", "not UTF-8"),
        ("missing.csv", "no such file"),
    ):
        result = runner.invoke(main, ["eval", "sentiment", "--data", str(tmp_path / name)])
        assert result.exit_code == 1 and message in result.output, result.output
        assert "Traceback" not in result.output
    ok = runner.invoke(
        main,
        [
            "eval",
            "sentiment",
            "--data",
            str(tmp_path / "cols.csv"),
            "--text-col",
            "sentence",
            "--label-col",
            "y",
            "--model",
            str(tmp_path),
        ],
    )
    assert ok.exit_code == 1 and "no model in" in ok.output
