"""Where the suite runs: the repo, private user dirs, and how to launch `companion`."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tests.pulse_env import pulse_vars

REPO = Path(__file__).resolve().parent.parent
"""The source tree root."""

_WORK: list[Path] = []


def workdir() -> Path:
    """A scratch folder for this run of the suite (generated audio, outputs), made on first use."""
    if not _WORK:
        _WORK.append(Path(tempfile.mkdtemp(prefix="qc-bench-")))
    return _WORK[0]


def isolate() -> dict[str, str]:
    """Point this process's user config/data/cache dirs at empty private folders.

    So the user's own settings, routines and voices never change a figure. Returns the
    environment for child processes (the same dirs, and the repo on PYTHONPATH).
    """
    _pin_pulse_server()
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        path = workdir() / key.lower()
        path.mkdir(exist_ok=True)
        os.environ[key] = str(path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def companion(*args: object) -> list[str]:
    """The command line that runs ``companion ARGS`` with this interpreter."""
    return [sys.executable, "-m", "companion", *map(str, args)]


def _pin_pulse_server() -> None:
    """Name the running PulseAudio server and cookie explicitly (see tests.pulse_env)."""
    os.environ.update(pulse_vars())
