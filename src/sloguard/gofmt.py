"""Go's text spellings that Prometheus' messages and outputs use, shared by every package:
``%q`` strings (``strconv.Quote``) and ``strconv.FormatFloat`` forms (``%v``/``%g``, ``'e'``, ``'E'``).
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring

__all__ = ["go_float", "go_float_e", "go_float_upper_e", "go_quote", "shortest_digits"]


def go_quote(value: object) -> str:
    """``"value"`` with Go-style escapes (close to ``fmt.Sprintf("%q", value)``): what
    ``json.dumps(str(value), ensure_ascii=False)`` gives, from its string encoder directly
    (a group key quotes every group label value; ``json.dumps`` costs several times more)."""
    return encode_basestring(value if type(value) is str else str(value))


def _special(f: float) -> str | None:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return None


def shortest_digits(f: float) -> tuple[bool, str, int]:
    """(negative, significant digits, decimal point position) of the shortest repr of ``f``."""
    r = repr(abs(f))
    mant, _, exp_s = r.partition("e")
    intpart, _, fracpart = mant.partition(".")
    raw = intpart + fracpart
    stripped = raw.lstrip("0")
    dp = len(intpart) - (len(raw) - len(stripped)) + (int(exp_s) if exp_s else 0)
    return math.copysign(1, f) < 0, stripped.rstrip("0") or "0", dp


def go_float(f: float) -> str:
    """``fmt.Sprint(float64)`` / ``%v`` / ``%g``: shortest digits, exponent when exp < -4 or >= 6."""
    sp = _special(f)
    if sp is not None:
        return sp
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    neg, digits, dp = shortest_digits(f)
    x = dp - 1
    if x < -4 or x >= 6:
        out = _exponent_form(digits, x, "e")
    elif dp <= 0:
        out = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        out = digits + "0" * (dp - len(digits))
    else:
        out = digits[:dp] + "." + digits[dp:]
    return "-" + out if neg else out


def go_float_e(f: float) -> str:
    """``strconv.FormatFloat(f, 'e', -1, 64)``: ``1.5e+00``, ``2e+00``, ``NaN``, ``+Inf``."""
    return _format_exp(f, "e")


def go_float_upper_e(f: float) -> str:
    """``strconv.FormatFloat(f, 'E', -1, 64)``: ``1E+00``, ``6.1E+01``, ``5E-01``."""
    return _format_exp(f, "E")


def _format_exp(f: float, e: str) -> str:
    sp = _special(f)
    if sp is not None:
        return sp
    if f == 0:
        return ("-" if math.copysign(1, f) < 0 else "") + f"0{e}+00"
    neg, digits, dp = shortest_digits(f)
    return ("-" if neg else "") + _exponent_form(digits, dp - 1, e)


def _exponent_form(digits: str, x: int, e: str) -> str:
    """``d.ddd`` + ``e`` + sign + at least two exponent digits."""
    m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{m}{e}{'-' if x < 0 else '+'}{abs(x):02d}"
