"""Differential: ``dump_config`` against the real Alertmanager 0.25's ``config.original``
(``GET /api/v2/status``, what ``amtool config show`` prints), byte for byte.

Each config (the valid ones of ``../shared/conformance/alertmanager`` and the cases in
``dump_cases/``: every receiver kind sloguard sends to, every ``http_config`` form, time
intervals, inhibit rules, templates, strings that need quoting) is loaded by Alertmanager
and by sloguard from the same file in the same directory (relative files resolve alike);
the TLS files the configs name are made by ``tests/_certs.py``. Webhook URLs are compared
with ``show_webhook_urls=True``: 0.25 prints them, sloguard hides them by default.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from sloguard.alerting._dump import dump_config
from sloguard.alerting.config import load_config
from tests._certs import make_pki
from tests.alerting._am_peer import alertmanager, needs_alertmanager
from tests.shared_paths import SHARED, needs

pytestmark = [pytest.mark.peer, pytest.mark.slow, needs_alertmanager]

CASES = Path(__file__).parent / "dump_cases"
CONFORMANCE = SHARED / "conformance" / "alertmanager"
SHARED_CONFIGS = ["route_tree_match.alertmanager.yml", "route_tree_matchers.alertmanager.yml",
                  "route_tree_mixed.alertmanager.yml", "config-validation-v0.25/TestGroupByAllNotMarshaled.yml"]


def _files_for(tmp: Path) -> None:
    """The files the cases name relative to their directory."""
    pki = make_pki(tmp / "pki")
    for src, name in ((pki.ca, "ca.pem"), (pki.client_cert, "cert.pem"), (pki.client_key, "key.pem")):
        shutil.copy(src, tmp / name)
    (tmp / "pwfile").write_text("pw\n")


def _compare(tmp: Path, text: str) -> None:
    _files_for(tmp)
    with alertmanager(tmp, text) as am:  # writes tmp/am.yml
        theirs = am.get("/api/v2/status").json()["config"]["original"]
    ours = dump_config(load_config(tmp / "am.yml"), show_webhook_urls=True)
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.glob("*.yml")))
def test_config_show_is_alertmanagers_byte_for_byte(tmp_path: Path, name: str) -> None:
    _compare(tmp_path, (CASES / name).read_text())


@needs(CONFORMANCE)
@pytest.mark.parametrize("name", SHARED_CONFIGS)
def test_shared_conformance_configs_show_as_alertmanager_shows_them(tmp_path: Path, name: str) -> None:
    _compare(tmp_path, (CONFORMANCE / name).read_text())


_ALPHABET = "abcXYZ019 :#-?{}[],&*!|>'\"%@`\t\né✓日.~_/\\=+<\u00a0\u0085\u2028\U0001F600"
_LOOKALIKES = ("true", "1.5", "0x10", "2020-01-02", "12:30", " ", "- a", "a: b", "null", "~", "on", "1e3", "-1",
               "+.inf", ".5", "0o7", "1_000", "0b11", "...", "---", "<<", "=")


def _random_text(rng: random.Random) -> str:
    n = rng.choice([0, 1, 2, 3, 5, 8, 13, 40, 90, 130])
    text = "".join(rng.choice(_ALPHABET) if rng.random() < 0.5 else rng.choice("abcdefgh ") for _ in range(n))
    return rng.choice(_LOOKALIKES) + (text if rng.random() < 0.3 else "") if rng.random() < 0.2 else text


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar both readers read as ``text`` (escapes for breaks,
    controls and characters outside the BMP)."""
    def one(ch: str) -> str:
        if ch in '"\\':
            return "\\" + ch
        o = ord(ch)
        return f"\\U{o:08X}" if o < 0x20 or 0x7F <= o <= 0x9F or o > 0xFFFF or ch in "\u2028\u2029" else ch
    return '"' + "".join(one(c) for c in text) + '"'


def test_random_strings_are_quoted_and_folded_as_yaml_v2_does(tmp_path: Path) -> None:
    """300 strings from a fixed seed (every kind of character, lengths past the 80-column
    fold, look-alikes of other YAML types) as PagerDuty details, written JSON-quoted so both
    readers read the same text."""
    rng = random.Random(20261203)
    lines = ["route: {receiver: a}", "receivers:", "  - name: a", "    pagerduty_configs:",
             "      - routing_key: k", "        details:"]
    lines += [f"          k{i:03d}: {_quoted(_random_text(rng))}" for i in range(300)]
    _compare(tmp_path, "\n".join(lines) + "\n")
