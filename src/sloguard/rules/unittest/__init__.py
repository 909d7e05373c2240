"""``sloguard test rules``: promtool-compatible rule unit tests."""

from sloguard.rules.unittest._file import UnitTestFileError, parse_unit_test_file
from sloguard.rules.unittest._runner import run_rule_tests

__all__ = ["UnitTestFileError", "parse_unit_test_file", "run_rule_tests"]
