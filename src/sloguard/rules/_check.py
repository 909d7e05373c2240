"""``promtool check rules``: validate files and report exactly like promtool 2.42."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sloguard.rules._rulefmt import RuleFile, find_duplicates, parse_rule_text


class Lint(enum.Enum):
    ALL = "all"
    DUPLICATE_RULES = "duplicate-rules"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What checking one file found: ``errors`` are fatal, ``lint`` ones are warnings."""

    path: str
    rule_count: int
    errors: tuple[str, ...]
    lint: tuple[str, ...]


def check_rule_file(path: str, lint: Lint = Lint.DUPLICATE_RULES) -> CheckOutcome:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        return CheckOutcome(path, 0, (f"{path}: {e.strerror or e}",), ())
    rf, errs = parse_rule_text(text, path)
    if errs or rf is None:
        return CheckOutcome(path, 0, tuple(f"{path}: {e}" for e in errs), ())
    lint_msgs = _lint(rf) if lint is not Lint.NONE else ()
    return CheckOutcome(path, rf.rule_count, (), lint_msgs)


def _lint(rf: RuleFile) -> tuple[str, ...]:
    dups = find_duplicates(rf)
    if not dups:
        return ()
    msg = f"lint error {len(dups)} duplicate rule(s) found.\n"
    for d in dups:
        msg += f"Metric: {d.metric}\nLabel(s):\n"
        msg += "".join(f"\t{k}: {v}\n" for k, v in d.labels)
    return (msg + "Might cause inconsistency while recording expressions",)


def check_rules(
    paths: list[str],
    out: Callable[[str], None],
    err: Callable[[str], None],
    lint: Lint = Lint.DUPLICATE_RULES,
    lint_fatal: bool = False,
) -> int:
    """Check each file, print promtool's report, return its exit code (0, 1, or 3 for fatal lint)."""
    failed = has_errors = False
    for p in paths:
        out(f"Checking {p}")
        res = check_rule_file(p, lint)
        problems = res.errors + res.lint
        if problems:
            err("  FAILED:")
            for e in problems:
                err(e)
            failed = True
            has_errors = has_errors or bool(res.errors)
        else:
            out(f"  SUCCESS: {res.rule_count} rules found")
        out("")
    if failed and has_errors:
        return 1
    if failed and lint_fatal:
        return 3
    return 0
