"""Shared test fixtures.

Real material (saved pages, corpora) is read from ../shared through one path. Tests that need it
skip with a reason when it is absent, and fail under CI=true, where it must be present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

# Airflow reads its configuration on first import: keep it out of the user's home.
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))


def _shared_root() -> Path:
    return Path(os.environ.get("KOUBEI_SHARED", ROOT.parent / "shared")).expanduser().resolve()


def require_shared(*parts: str) -> Path:
    """Path under the shared root, or skip (fail under CI=true) when it is missing."""
    path = _shared_root().joinpath(*parts)
    if not path.exists():
        reason = f"shared material missing: {path} (set KOUBEI_SHARED)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared material root (../shared or $KOUBEI_SHARED)."""
    return require_shared()


@pytest.fixture(scope="session", autouse=True)
def _shared_env() -> None:
    # Library code reads the same root through koubei.pipelines.paths.shared_root().
    os.environ.setdefault("KOUBEI_SHARED", str(_shared_root()))
