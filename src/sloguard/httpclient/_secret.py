"""Secrets of a configuration (passwords, tokens, webhook URLs with tokens, routing keys)."""

from __future__ import annotations

from dataclasses import dataclass, field

SECRET_TOKEN = "<secret>"


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that is never shown: ``str()``, ``repr()`` and ``format()`` give ``<secret>``,
    as Alertmanager's ``config show``. Only ``reveal()`` returns the value, for the one place
    that sends it (a receiver's HTTP request or SMTP login)."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return SECRET_TOKEN

    def __repr__(self) -> str:
        return f"Secret({SECRET_TOKEN!r})"

    def __format__(self, spec: str) -> str:
        return SECRET_TOKEN

    def __bool__(self) -> bool:
        return bool(self._value)
