"""promtool's text forms: Go ``labels.String()``, ``%E`` floats, indented alert lists."""

from __future__ import annotations

from collections.abc import Iterable

from sloguard.gofmt import go_float_upper_e, go_quote


def go_labels(pairs: Iterable[tuple[str, str]]) -> str:
    """``{a="b", c="d"}`` with ``__name__`` inside the braces, values Go-quoted."""
    return "{" + ", ".join(f"{n}={go_quote(v)}" for n, v in pairs) + "}"


def indent_lines(text: str, indent: str) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:1] + [indent + ln for ln in lines[1:]])


LabelsAndAnnotations = list[tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]]


def alerts_string(la: LabelsAndAnnotations) -> str:
    if not la:
        return "[]"
    parts = []
    for i, (labels, anns) in enumerate(la):
        body = f"Labels:{go_labels(labels)}\nAnnotations:{go_labels(anns)}"
        parts.append(f"{i}:" + indent_lines("\n" + body, "  "))
    return "[\n" + ",\n".join(parts) + "\n]"


def samples_string(samples: list[tuple[tuple[tuple[str, str], ...], float]]) -> str:
    if not samples:
        return "nil"
    return ", ".join(f"{go_labels(ls)} {go_float_upper_e(v)}" for ls, v in samples)
