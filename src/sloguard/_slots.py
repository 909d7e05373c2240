"""A faster ``__init__`` for the frozen slots dataclasses made on hot paths.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``
(a global lookup, an attribute lookup and a call per field), since its own ``__setattr__``
refuses. Every notification makes several (the flush context three times over, the
notification log's operations and entries, the notifier's context and result): about
2 µs each. :func:`fast_init` gives such a class an ``__init__`` with the same signature,
defaults and ``__post_init__`` call that sets each slot through its member descriptor
(what ``object.__setattr__`` ends up calling), half the cost. The class stays frozen:
assigning to a field still raises ``FrozenInstanceError``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of ``cls``, a ``@dataclass(frozen=True, slots=True)`` class
    (apply this decorator above ``@dataclass``). Fields that are keyword-only, left out of
    ``__init__``, or init-only variables are not supported (``TypeError``)."""
    if not (dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__):
        raise TypeError(f"fast_init: {cls.__name__} is not a slots dataclass")
    names: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    params: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type,unused-ignore]  # a dataclass type
        if not f.init or f.kw_only:
            raise TypeError(f"fast_init: field {cls.__name__}.{f.name} is keyword-only or not in __init__")
        names[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f" if {f.name} is _MISSING: {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
        body.append(f" _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append(" self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or [" pass"]) + "\n"
    exec(source, names)  # noqa: S102 - source made above from the class's own field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
