"""Writing a user's own files (routines) into the private dirs the CLI tests run with."""

from __future__ import annotations

from pathlib import Path


def write_user_routine(companion_env: dict[str, str], name: str, text: str) -> Path:
    """Put ``name.yaml`` in the user routines dir of ``companion_env``; returns its path."""
    folder = Path(companion_env["XDG_DATA_HOME"]) / "quiet-companion" / "routines"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path
