"""Run a few lines of Python in a fresh interpreter (what a new `companion` process loads)."""

from __future__ import annotations

import subprocess
import sys


def printed_by(code: str) -> list[str]:
    """The words ``code`` prints when run by a new interpreter of this environment."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()
