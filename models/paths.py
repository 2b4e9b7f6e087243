"""Where the shipped models live (inside the installed package, loaded from disk, never from a hub)."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
SENTIMENT_DIR = MODELS_DIR / "sentiment"
SPONSORED_DIR = MODELS_DIR / "sponsored"
