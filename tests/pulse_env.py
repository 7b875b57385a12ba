"""Find the running PulseAudio server, so child processes with other XDG dirs still reach it.

A PulseAudio client finds a daemon started without XDG_RUNTIME_DIR through a link in
``$XDG_CONFIG_HOME/pulse``; tests and benchmarks move XDG_CONFIG_HOME to private folders,
which would hide the null sink. Naming the server and cookie explicitly avoids that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def pulse_vars() -> dict[str, str]:
    """PULSE_SERVER and PULSE_COOKIE for the running server (empty if none is found)."""
    found: dict[str, str] = {}
    for key in ("PULSE_SERVER", "PULSE_COOKIE"):
        if key in os.environ:
            found[key] = os.environ[key]
    if "PULSE_SERVER" in found or shutil.which("pactl") is None:
        return found
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True,
                          check=False).stdout
    for line in info.splitlines():
        if line.startswith("Server String:"):
            server = line.split(":", 1)[1].strip()
            found["PULSE_SERVER"] = server if ":" in server else f"unix:{server}"
    config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    cookie = config / "pulse" / "cookie"
    if cookie.is_file():
        found.setdefault("PULSE_COOKIE", str(cookie))
    return found
