"""Converting SLO specs between formats (Sloth, OpenSLO, native), naming every loss.

Each format says what it cannot carry (``lossy``); ``convert`` then reads its own output
back and compares the models, so a field that changes without a named loss is still
reported (as an unexpected loss) instead of being dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sloguard.slo import _sloth_lossy, _spec_native, _spec_openslo
from sloguard.slo._formats import SpecFormat
from sloguard.slo._loss import Loss, differences
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import dump, load_text
from sloguard.slo.model import SLO

__all__ = ["Conversion", "Loss", "convert", "differences", "lossy", "read_back"]

_LOSSY = {
    SpecFormat.SLOTH: _sloth_lossy.lossy,
    SpecFormat.OPENSLO: _spec_openslo.lossy,
    SpecFormat.NATIVE: _spec_native.lossy,
}


@dataclass(frozen=True, slots=True)
class Conversion:
    """The documents in the target format and every loss of the conversion, in SLO order."""

    docs: list[dict[str, Any]]
    losses: list[Loss]
    text: str


def lossy(slo: SLO, fmt: SpecFormat) -> list[Loss]:
    """What ``fmt`` cannot say about ``slo`` (``portable`` losses read back unchanged)."""
    return _LOSSY[fmt](slo)


def read_back(text: str, fmt: SpecFormat) -> tuple[list[SLO], list[str]]:
    slos, problems = load_text(text, f"<converted to {fmt.value}>")
    return slos, [str(p) for p in problems if p.is_error]  # warnings (e.g. a tiny objective) still read back


def _unexpected(slos: list[SLO], fmt: SpecFormat, text: str, named: set[tuple[str, str]]) -> list[Loss]:
    back, problems = read_back(text, fmt)
    out = [Loss("", "", f"the converted {fmt.value} spec does not read back: {p}") for p in problems]
    by_name = {s.name: s for s in back}
    for slo in slos:
        if slo.name not in by_name:
            out.append(Loss(slo.name, "", f"is missing when the {fmt.value} spec is read back"))
            continue
        out.extend(Loss(slo.name, f, f"does not survive conversion to {fmt.value} (reads back differently)")
                   for f in differences(slo, by_name[slo.name]) if (slo.name, f) not in named)
    return out


def convert(slos: list[SLO], fmt: SpecFormat) -> Conversion:
    """``slos`` as ``fmt`` documents, with the losses each format names and any other
    difference found by reading the output back."""
    docs = dump(slos, fmt)
    text = dump_yaml(docs)
    losses = [loss for slo in slos for loss in lossy(slo, fmt)]
    named = {(loss.slo, loss.field) for loss in losses if not loss.portable}
    return Conversion(docs, losses + _unexpected(slos, fmt, text, named), text)
