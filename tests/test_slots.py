"""``fast_init``: the same construction as the dataclass's own ``__init__`` (positional and
keyword arguments, defaults, default factories, ``__post_init__``), the class still frozen
and hashable, and the hot classes of the pipeline built with it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from sloguard._slots import fast_init
from sloguard.alerting.receivers._base import NotifyContext, NotifyResult
from sloguard.alerting.stages import FlushContext
from sloguard.state.nflog import NflogDecide, NflogEntry, NflogReceiver, NflogRecord


def _pair() -> tuple[type, type]:
    def body() -> type:
        @dataclass(frozen=True, slots=True)
        class Item:
            name: str
            size: int
            tags: tuple[str, ...] = ()
            seen: list[int] = field(default_factory=list)
            code: int = field(default=-1, compare=False)

            def __post_init__(self) -> None:
                if self.code < 0:
                    object.__setattr__(self, "code", len(self.name))

        return Item

    return body(), fast_init(body())


@pytest.mark.parametrize("args,kwargs", [
    (("a", 1), {}),
    (("abc", 2, ("x",), [1], 9), {}),
    ((), {"name": "kw", "size": 3, "seen": [2]}),
    (("b",), {"size": 4, "code": 0}),
])
def test_it_builds_what_the_dataclass_init_builds(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    plain, fast = _pair()
    a, b = plain(*args, **kwargs), fast(*args, **kwargs)
    assert [getattr(a, f.name) for f in dataclasses.fields(a)] == [getattr(b, f.name) for f in dataclasses.fields(b)]


def test_a_default_factory_gives_each_instance_its_own_value() -> None:
    _, fast = _pair()
    first, second = fast("a", 1), fast("b", 2)
    first.seen.append(1)
    assert second.seen == []


def test_the_class_stays_frozen_hashable_and_checked() -> None:
    _, fast = _pair()
    item = fast("a", 1, ("t",), [], 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "b"
    with pytest.raises(TypeError, match="size"):
        fast("a")
    with pytest.raises(TypeError):
        fast("a", 1, (), [], 1, "extra")
    assert fast("a", 1) == fast("a", 1, (), [], 99)  # ``code`` is not compared
    assert hash(NflogReceiver("r", "webhook", 0)) == hash(NflogReceiver("r", "webhook", 0))


def test_unsupported_classes_are_refused() -> None:
    @dataclass
    class NoSlots:
        a: int

    with pytest.raises(TypeError, match="slots"):
        fast_init(NoSlots)

    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    with pytest.raises(TypeError, match="keyword-only"):
        fast_init(KeywordOnly)


def test_the_pipeline_classes_use_it_and_build_as_before() -> None:
    for cls in (FlushContext, NotifyContext, NotifyResult, NflogEntry, NflogRecord, NflogDecide, NflogReceiver):
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
        assert "_set_" in " ".join(cls.__init__.__code__.co_names), cls  # the descriptor setters, not setattr
    ctx = FlushContext("k", "id", "r", None, None, 5, deadline_ms=9)  # type: ignore[arg-type]
    assert (ctx.integration, ctx.firing, ctx.flush_id, ctx.deadline_ms) == ("", (), "", 9)
    assert ctx.deduplicated((1,), (), "f").for_integration("i") == FlushContext(
        "k", "id", "r", None, None, 5, "i", (1,), (), "f", 9)  # type: ignore[arg-type]
    assert NotifyResult.failure("e", True) == NotifyResult(False, True, "e", None)
