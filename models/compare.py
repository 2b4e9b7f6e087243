"""The comparison systems scored beside a model: the TF-IDF + LR baseline and the majority class,
both trained on the model's own recipe so all three see the same training data."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import joblib

from .baseline import predict_restricted, tfidf_logreg
from .datasets import RECIPES
from .evaluate import majority, read_labeled_csv


def _cache_dir() -> Path:
    path = Path(os.environ.get("KOUBEI_CACHE", Path.home() / ".cache" / "koubei"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def recipe_train(recipe: str) -> list[tuple[str, str]]:
    """The training rows of a named recipe, or of a training CSV (models trained with --train_file)."""
    if recipe in RECIPES:
        return RECIPES[recipe]()["train"]
    if Path(recipe).is_file():
        return read_labeled_csv(recipe)
    raise ValueError(f"unknown recipe {recipe!r}: neither a named recipe nor a CSV file")


def fitted_baseline(recipe: str):
    """The baseline for a recipe, fitted once and cached (it takes about a minute on 2 cores)."""
    stamp = Path(recipe).stat().st_mtime_ns if Path(recipe).is_file() else 0
    key = hashlib.sha256(f"tfidf-lr-v1:{recipe}:{stamp}".encode()).hexdigest()[:16]
    path = _cache_dir() / f"baseline-{Path(recipe).stem}-{key}.joblib"
    if path.exists():
        return joblib.load(path)
    rows = recipe_train(recipe)
    model = tfidf_logreg().fit([t for t, _ in rows], [label for _, label in rows])
    joblib.dump(model, path)
    return model


def baseline_predictions(recipe: str, texts: Sequence[str], restrict_to: Sequence[str] | None) -> list[str]:
    return predict_restricted(fitted_baseline(recipe), texts, restrict_to)


def majority_predictions(recipe: str, n: int, labels: Sequence[str]) -> list[str]:
    train = [label for _, label in recipe_train(recipe) if label in labels]
    return majority(train, n)
