"""Property tests for relabeling invariants."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.ingest.relabel import RelabelConfig, relabel
from sloguard.labels import Labels


def rc(**kw: Any) -> RelabelConfig:
    return RelabelConfig.model_validate(kw)


names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n != "zz")
label_sets = st.dictionaries(names, st.text(min_size=1, max_size=6), max_size=6).map(
    lambda d: Labels(d.items())
)
patterns = st.sampled_from(["a.*", ".*_.*", "[a-m].*", "x|y|z", "", ".+"])


@settings(max_examples=200, deadline=None)
@given(label_sets, patterns)
def test_labelkeep_and_labeldrop_partition_the_labels(lset: Labels, pattern: str) -> None:
    kept = relabel(lset, [rc(action="labelkeep", regex=pattern)])
    dropped = relabel(lset, [rc(action="labeldrop", regex=pattern)])
    assert kept is not None and dropped is not None
    assert sorted([*kept, *dropped]) == list(lset)


@settings(max_examples=200, deadline=None)
@given(label_sets, patterns, st.lists(names, min_size=1, max_size=3))
def test_keep_and_drop_are_complements(lset: Labels, pattern: str, sources: list[str]) -> None:
    keep = relabel(lset, [rc(action="keep", source_labels=sources, regex=pattern)])
    drop = relabel(lset, [rc(action="drop", source_labels=sources, regex=pattern)])
    assert (keep is None) != (drop is None)


@settings(max_examples=200, deadline=None)
@given(label_sets, st.integers(1, 10**6))
def test_hashmod_is_in_range_and_deterministic(lset: Labels, modulus: int) -> None:
    c = rc(action="hashmod", source_labels=["a", "b"], modulus=modulus, target_label="h")
    out = relabel(lset, [c])
    assert out is not None and 0 <= int(out.get("h")) < modulus
    assert relabel(lset, [c]) == out


@settings(max_examples=200, deadline=None)
@given(label_sets)
def test_default_replace_copies_nothing_when_source_is_missing(lset: Labels) -> None:
    # source "zz" is absent -> value "" -> "(.*)" matches -> "$1" is "" -> target deleted
    c = rc(source_labels=["zz"], target_label="copy")
    out = relabel(lset, [c])
    assert out == lset.without("copy")
