"""Go's ``fmt`` output for the values templates print (floats, maps, ``printf`` verbs)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sloguard.gofmt import go_float, go_quote


@dataclass(frozen=True, slots=True)
class GoTime:
    """A ``time.Time`` (UTC, ns precision) as templates see it; prints like Go's ``t.String()``."""

    ns: int

    def __str__(self) -> str:
        secs, frac = divmod(self.ns, 1_000_000_000)
        dt = datetime.fromtimestamp(secs, tz=UTC)
        s = dt.strftime("%Y-%m-%d %H:%M:%S")
        if frac:
            s += "." + f"{frac:09d}".rstrip("0")
        return s + " +0000 UTC"


def go_float_fmt(f: float, verb: str, prec: int | None) -> str:
    if math.isnan(f) or math.isinf(f):
        return go_float(f)  # NaN, +Inf, -Inf whatever the verb
    if verb in "gG" and prec is None:
        s = go_float(f)
        return s.upper() if verb == "G" else s
    p = 6 if prec is None else prec
    return format(f, f".{p}{verb}")


def go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]string"
    if isinstance(v, list):
        return "template.queryResult"
    if isinstance(v, GoTime):
        return "time.Time"
    return str(getattr(v, "GO_TYPE", type(v).__name__))


def go_sprint(v: Any) -> str:
    """``fmt.Sprint`` of one value as text/template prints it."""
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_inner(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_inner(x) for x in v) + "]"
    if hasattr(v, "Labels") and hasattr(v, "Value"):  # *template.sample at top level
        return f"&{{{go_sprint(v.Labels)} {go_sprint(v.Value)}}}"
    return str(v)


def go_print_value(v: Any) -> str:
    """text/template's ``printValue``: like ``fmt.Sprint`` but pointers are dereferenced
    first (an action printing a query sample shows ``{map[...] 2}``, not ``&{...}``)."""
    s = go_sprint(v)
    if hasattr(v, "Labels") and hasattr(v, "Value") and s.startswith("&"):
        return s[1:]
    return s


def _inner(v: Any) -> str:
    return "<nil>" if v is None else go_sprint(v)


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])")


def go_sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` for the verbs rule templates use (v s d f e g q x t %), Go's error forms."""
    out: list[str] = []
    pos = 0
    ai = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec_s, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if ai >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        prec = int(prec_s) if prec_s not in (None, "") else (0 if prec_s == "" else None)
        out.append(_format_arg(args[ai], verb, prec, flags, width))
        ai += 1
    out.append(fmt[pos:])
    if ai < len(args):
        extra = ", ".join(f"{go_type(a)}={go_sprint(a)}" for a in args[ai:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_arg(a: Any, verb: str, prec: int | None, flags: str, width: str | None) -> str:
    """One operand; maps and samples get the verb applied element-wise, as Go does."""
    if verb not in "vT":
        if isinstance(a, dict):
            inner = " ".join(
                f"{_format_arg(k, verb, prec, flags, width)}:{_format_arg(a[k], verb, prec, flags, width)}"
                for k in sorted(a)
            )
            return f"map[{inner}]"
        if hasattr(a, "Labels") and hasattr(a, "Value"):
            return (f"&{{{_format_arg(a.Labels, verb, prec, flags, width)} "
                    f"{_format_arg(a.Value, verb, prec, flags, width)}}}")
    s = _format_one(a, verb, prec, flags)
    if s.startswith("%!"):
        return _bad_verb(a, verb, prec, flags, width)
    return _pad(s, flags, width)


def _pad(s: str, flags: str, width: str | None) -> str:
    if not width:
        return s
    w = int(width)
    if "-" in flags:
        return s.ljust(w)
    if "0" in flags and s[:1] in "+-0123456789":
        sign = s[0] if s[0] in "+-" else ""
        return sign + s[len(sign):].rjust(w - len(sign), "0")
    return s.rjust(w)


def _bad_verb(a: Any, verb: str, prec: int | None, flags: str = "", width: str | None = None) -> str:
    """Go's ``%!verb(type=value)``; the value is printed with %v and the verb's precision."""
    v = go_sprint(a)
    if prec is not None and isinstance(a, str):
        v = a[:prec]
    elif prec is not None and isinstance(a, int) and not isinstance(a, bool):
        v = ("-" if a < 0 else "") + str(abs(a)).rjust(prec, "0")
    if width:
        w = int(width)
        zero = "0" in flags and not (isinstance(a, int) and not isinstance(a, bool) and prec is not None)
        v = v.ljust(w) if "-" in flags else v.rjust(w, "0" if zero else " ")
    return f"%!{verb}({go_type(a)}={v})"


def _format_one(a: Any, verb: str, prec: int | None, flags: str) -> str:
    bad = _bad_verb(a, verb, prec)
    if verb == "v":
        return go_sprint(a)
    if verb == "t":
        return go_sprint(a) if isinstance(a, bool) else bad
    if verb == "q" and isinstance(a, int) and not isinstance(a, bool):
        return _quote_rune(a)
    if verb in "sq":
        if isinstance(a, (str, GoTime)) or (verb == "s" and isinstance(a, (dict, list))):
            s = go_sprint(a) if verb == "s" or not isinstance(a, str) else go_quote(a)
            return s[:prec] if (prec is not None and verb == "s") else s
        return bad
    if isinstance(a, bool) or a is None:
        return bad
    if verb in "dxXob":
        if isinstance(a, int):
            return format(a, {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
        if isinstance(a, str) and verb in "xX":
            return a.encode().hex() if verb == "x" else a.encode().hex().upper()
        if isinstance(a, float) and verb in "xX" and math.isfinite(a):
            h = _go_hex_float(a)
            return h if verb == "x" else h.upper().replace("0X", "0X")
        return bad
    if verb in "feEgG":
        if isinstance(a, float):
            s = go_float_fmt(a, verb, prec)
            return ("+" + s) if "+" in flags and not s.startswith(("-", "+")) else s
        return bad
    return f"%!{verb}({go_type(a)}={go_sprint(a)})"


_RUNE_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 39: "\\'", 92: "\\\\"}


def _quote_rune(n: int) -> str:
    """``strconv.QuoteRune``: printable as is, control characters escaped, invalid as U+FFFD."""
    if n < 0 or n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
        return "'\ufffd'"
    if n in _RUNE_ESCAPES:
        return f"'{_RUNE_ESCAPES[n]}'"
    c = chr(n)
    if c.isprintable():
        return f"'{c}'"
    if n < 0x80:
        return f"'\\x{n:02x}'"
    return f"'\\u{n:04x}'" if n <= 0xFFFF else f"'\\U{n:08x}'"


def _go_hex_float(f: float) -> str:
    """Go's ``%x`` for floats: shortest mantissa, exponent with at least two digits."""
    if f == 0:
        return ("-" if math.copysign(1, f) < 0 else "") + "0x0p+00"
    h = f.hex()  # e.g. -0x1.0000000000000p-1
    sign = "-" if h.startswith("-") else ""
    mant, _, exp = h.lstrip("-")[2:].partition("p")
    mant = mant.rstrip("0").rstrip(".")
    e = int(exp)
    return f"{sign}0x{mant}p{'-' if e < 0 else '+'}{abs(e):02d}"
