"""Go's ``%q`` for error messages, so sloguard's wording matches Prometheus'."""

from __future__ import annotations

import json


def q(value: object) -> str:
    """``"value"`` with Go-style escapes (close to ``fmt.Sprintf("%q", value)``)."""
    return json.dumps(str(value), ensure_ascii=False)
