"""pyttsx3 drivers that hand PCM back in memory (espeak-ng, hibari, Piper).

pyttsx3 2.99 loads a driver as ``pyttsx3.drivers.<name>``; :func:`engine_for` registers
our module under that name and builds a pyttsx3 ``Engine`` on it, so pyttsx3 stays the
speech API.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

DRIVERS = {
    "espeak": "companion.speech.drivers.espeak_pcm",
    "hibari": "companion.speech.drivers.hibari_driver",
    "piper": "companion.speech.drivers.piper_driver",
}
"""Engine name in a voice file -> the module holding its ``buildDriver``."""
_PREFIX = "qc_"
"""Our drivers live at ``pyttsx3.drivers.qc_<engine>`` (never clashing with pyttsx3's)."""


def engine_for(name: str) -> Any:
    """A pyttsx3 engine driven by our driver for engine ``name`` (KeyError if unknown).

    Raises whatever the driver raises when its engine cannot load (ImportError, OSError...).
    """
    module = importlib.import_module(DRIVERS[name])
    import pyttsx3.drivers  # noqa: F401 - the package our module is registered under
    from pyttsx3.engine import Engine

    driver_name = _PREFIX + name
    sys.modules.setdefault(f"pyttsx3.drivers.{driver_name}", module)
    # A new Engine, not pyttsx3.init(): init() hands every caller the same engine, and two
    # synthesis threads sharing one would receive each other's audio.
    return Engine(driver_name)
