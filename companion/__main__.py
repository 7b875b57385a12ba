"""Entry point for ``python -m companion``."""

from companion.cli.app import main

raise SystemExit(main())
