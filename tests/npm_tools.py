"""Where the npm tools the interop tests drive live: the CI install under .ci/npm, or PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def snarkjs_command() -> list[str] | None:
    """How to run snarkjs here: $ZKMARGIN_SNARKJS, the CI install, or one on PATH."""
    candidates = [os.environ.get("ZKMARGIN_SNARKJS"), str(REPO / ".ci" / "npm" / "node_modules" / ".bin" / "snarkjs")]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and shutil.which("node"):
            return [candidate]
    found = shutil.which("snarkjs")
    return [found] if found else None
