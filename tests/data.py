"""Where the tests find the verified raw files (#13: tests that run anywhere).

`RNN_DATA_MIRROR` first, when it names a directory (any checkout, any layout), then
`../shared/datasets` beside the project (the CI layout). The download stage reads the
same variable; a mirror given as a URL is for the stage, so the tests fall back here.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mirror() -> Path:
    """The folder of verified raw files the tests read."""
    value = os.environ.get("RNN_DATA_MIRROR", "")
    if value and Path(value).is_dir():
        return Path(value).resolve()
    return ROOT.parent / "shared" / "datasets"


MIRROR = mirror()
