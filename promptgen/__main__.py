"""`python -m promptgen ...`: see promptgen/cli.py."""

from promptgen.cli import main

raise SystemExit(main())
