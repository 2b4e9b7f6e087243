"""Where koubei finds the shared real material (saved pages, corpora) it reads but never copies."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_ENV = "KOUBEI_SHARED"


def shared_root() -> Path:
    """The shared material folder: ``$KOUBEI_SHARED``, else ``../shared`` beside the working directory.

    One configurable path for tests, training and the demo; nothing is downloaded.
    """
    return Path(os.environ.get(SHARED_ENV, "../shared")).expanduser().resolve()
