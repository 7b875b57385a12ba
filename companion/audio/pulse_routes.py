"""Whether the PulseAudio device a stream was sent to is still there.

With ``PULSE_SINK``/``PULSE_SOURCE`` naming a device, PulseAudio moves our stream to
another device when that one goes away and does not move it back when it returns; through
PortAudio nothing of this shows. So the supervisor asks the sound server (``pactl``, over
its local socket) whether the named device exists: gone means lost, and back means reopen
(a new stream goes to the named device again). Without those variables, or without
``pactl``, it answers "not gone" and the other checks apply.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

log = logging.getLogger(__name__)

_VARIABLE = {"output": "PULSE_SINK", "input": "PULSE_SOURCE"}
_LIST = {"output": "sinks", "input": "sources"}


class PulseRoute:
    """The PulseAudio device named for one direction (``input`` or ``output``), if any."""

    timeout_s = 2.0

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = os.environ.get(_VARIABLE[kind]) or None
        self._pactl = shutil.which("pactl") if self.name else None

    def gone(self) -> bool:
        """True when the named device is known to be missing (False when unsure)."""
        if self._pactl is None:
            return False
        try:
            out = subprocess.run([self._pactl, "list", "short", _LIST[self.kind]],
                                 capture_output=True, text=True, timeout=self.timeout_s,
                                 check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log.debug("pactl failed: %s", exc)
            return False
        if out.returncode != 0:  # no sound server: the stream checks will say so
            return False
        names = {line.split("\t")[1] for line in out.stdout.splitlines() if "\t" in line}
        return self.name not in names
