"""The spec formats sloguard reads and writes (a module of its own, so the command line
can offer them as choices without loading the readers)."""

from __future__ import annotations

import enum


class SpecFormat(enum.Enum):
    SLOTH = "sloth"
    OPENSLO = "openslo"
    NATIVE = "native"
    PYRRA = "pyrra"
