"""Entry point for ``python -m essaybook``."""

from essaybook.cli import main

main()
