"""Where the project's shared material lives: ``shared/`` beside the repository (CI puts
it there), or ``$SLOGUARD_SHARED``. Tests that need it skip with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SLOGUARD_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
PROMTOOL_CONFORMANCE = SHARED / "conformance" / "promtool"


def needs(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not path.is_dir(), reason=f"shared material not found at {path} (set SLOGUARD_SHARED)")
