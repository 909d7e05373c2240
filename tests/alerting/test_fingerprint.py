"""Alertmanager's label-set fingerprint: one set at a time and a body's sets at once agree."""

from __future__ import annotations

import random

from sloguard.alerting.model import Alert, fingerprint, fingerprints
from sloguard.labels import Labels

_OFFSET = 14695981039346656037


def _byte_loop(labels: Labels) -> int:
    """FNV-1a 64 over ``name 0xff value 0xff`` in name order, spelled out."""
    h = _OFFSET
    for name, value in labels:
        for byte in name.encode() + b"\xff" + value.encode() + b"\xff":
            h = ((h ^ byte) * 1099511628211) % (1 << 64)
    return h


def _random_sets(rnd: random.Random, n: int) -> list[Labels]:
    chars = "ab_XZ09 é😀\"\\\x00ÿ"
    return [Labels((rnd.choice(["a", "alertname", "instance", "x_1"]) + str(k), "".join(
        rnd.choice(chars) for _ in range(rnd.randint(0, 20)))) for k in range(rnd.randint(0, 6)))
        for _ in range(n)]


def test_a_batch_of_label_sets_gets_the_fingerprints_of_each_set_alone() -> None:
    rnd = random.Random(7)
    for n in (1, 7, 8, 100, 250):
        sets = _random_sets(rnd, n)
        assert fingerprints(sets) == [_byte_loop(s) for s in sets] == [fingerprint(s) for s in sets]


def test_empty_sets_hash_to_the_offset_basis_alone_and_in_a_batch() -> None:
    assert fingerprints([Labels()] * 10) == [_OFFSET] * 10
    assert fingerprint(Labels()) == _OFFSET


def test_an_alert_copied_with_other_times_keeps_its_fingerprint() -> None:
    alert = Alert.of({"alertname": "A", "instance": "h"})
    copy = alert.with_times(1, None, 2, True)
    assert copy.fingerprint == alert.fingerprint == _byte_loop(alert.labels)
    assert alert.fingerprint_hex == f"{_byte_loop(alert.labels):016x}"


def test_a_batch_gives_prometheus_common_known_value() -> None:
    # prometheus/common model/signature_test.go: TestMetricToFingerprint
    labels = Labels.from_dict({"name": "garland, briggs", "fear": "love is not enough"})
    assert fingerprints([labels] * 9) == [5799056148416392346] * 9
