"""Run by test_store: commit one silence, then start a second write and wait to be killed.

argv: state URL. Prints the committed silence's id, then ``MID`` once the second
silence's row is written inside a transaction that is never committed.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from sloguard.state import Silence, SilenceMatcher, open_store
from sloguard.state._schema import silences
from sloguard.state.silences import from_ms


def main(url: str) -> None:
    store = open_store(url)
    now = time.time_ns() // 1_000_000
    start = from_ms(now)
    sid = store.silences.set(Silence((SilenceMatcher("job", "api"),), start, start + timedelta(hours=1)))
    print(sid, flush=True)
    with store._db.transaction() as conn:
        conn.execute(silences.insert().values(
            id="uncommitted", matchers="[]", starts_at=now, ends_at=now, updated_at=now, created_by="", comment="",
        ))
        print("MID", flush=True)
        time.sleep(120)  # killed here, before the commit


if __name__ == "__main__":
    main(sys.argv[1])
