"""Command line: `python -m core demo|report|import ...` (see README)."""
from core.cli import main

raise SystemExit(main())
