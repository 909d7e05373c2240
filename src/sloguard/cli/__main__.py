"""``python -m sloguard.cli``."""

from sloguard.cli import main

main()
