"""Suite-wide settings.

Under CI (``CI=true``) Hypothesis runs derandomized: the same examples every run, so a
landing is never decided by a lucky draw; locally it explores new examples each run.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
