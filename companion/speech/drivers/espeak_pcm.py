"""A pyttsx3 driver for espeak-ng that hands PCM back in memory.

pyttsx3's own espeak driver handles a callback's events before it stores that callback's
samples, so the samples that arrive with the terminating event are lost (for a short
sentence: all of them), and it writes a file that may not exist yet when ``runAndWait``
returns. Here every callback's samples are kept first, synthesis is synchronous
(``AUDIO_OUTPUT_RETRIEVAL``), and nothing touches the disk.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

from companion.speech.drivers.base import PcmDriver

SAMPLE_RATE = 22050
"""espeak-ng's native rate."""
_EMBEDDED = "\x01"
"""espeak-ng's embedded-command marker: ``\x01150S`` sets 150 wpm, ``\x0140P`` pitch 40."""
WITHIN_SENTENCE = 1.21
"""espeak-ng's words a minute within a sentence (first to last sound) per unit of its rate
setting, which counts the pauses at commas too: the 113 calm sentences of the shipped
routines came out at 1.21-1.22x at settings 110, 130 and 155 (median). A voice's ``rate``
means words a minute within sentences for every engine, so it is divided by this."""
MIN_RATE = 80
"""espeak-ng's slowest rate setting."""
_LOCK = threading.RLock()
"""espeak-ng is one engine per process with one callback: one synthesis at a time."""
_initialised = False


def buildDriver(proxy: Any) -> EspeakPcmDriver:  # noqa: N802 - pyttsx3's entry point
    """pyttsx3 calls this to make the driver."""
    return EspeakPcmDriver(proxy)


def _espeak() -> Any:
    """pyttsx3's ctypes binding of libespeak-ng, initialised once per process."""
    global _initialised
    from pyttsx3.drivers import _espeak as lib

    with _LOCK:
        if not _initialised:
            other = __import__("sys").modules.get("pyttsx3.drivers.espeak")
            if not (other and getattr(other.EspeakDriver, "_moduleInitialized", False)):
                if lib.Initialize(lib.AUDIO_OUTPUT_RETRIEVAL, 200) == -1:
                    raise RuntimeError("could not initialise espeak-ng")
                if other is not None:
                    other.EspeakDriver._moduleInitialized = True
            _initialised = True
    return lib


def espeak_rate(words_a_minute: int) -> int:
    """espeak-ng's rate setting for ``words_a_minute`` within sentences."""
    return max(MIN_RATE, round(words_a_minute / WITHIN_SENTENCE))


def resolve_voice(name: str) -> str | None:
    """The id espeak-ng's SetVoiceByName accepts for ``name`` (``en-us+f3`` too), or None.

    ``espeak-ng -v`` takes language codes; SetVoiceByName wants voice file names
    (``gmw/en-US+f3``). Switches espeak-ng's current voice: call it under the lock.
    """
    lib = _espeak()
    if lib.SetVoiceByName(name.encode("utf-8")) == 0:
        return name
    language, plus, variant = name.partition("+")
    for voice in lib.ListVoices(None):
        languages = voice.languages[1:].decode("utf-8", errors="ignore") if voice.languages else ""
        if languages.lower() == language.lower():
            candidate = voice.identifier.decode("utf-8") + plus + variant
            if lib.SetVoiceByName(candidate.encode("utf-8")) == 0:
                return candidate
    return None


class EspeakPcmDriver(PcmDriver):
    """espeak-ng rendered synchronously into memory; rate and pitch as embedded commands."""

    sample_rate = SAMPLE_RATE

    def __init__(self, proxy: Any) -> None:
        super().__init__(proxy)
        self._lib = _espeak()
        self.properties.update(voice="en-us", rate=150, pitch=40)
        self._chunks: list[np.ndarray] = []

    def voices(self) -> list[Any]:
        """Every voice espeak-ng has."""
        from pyttsx3.voice import Voice

        return [Voice(id=v.identifier.decode("utf-8"), name=v.name.decode("utf-8"))
                for v in self._lib.ListVoices(None)]

    def check_voice(self, value: Any) -> None:
        """ValueError unless espeak-ng has ``value``."""
        with _LOCK:
            if resolve_voice(str(value)) is None:
                raise ValueError(f"espeak-ng has no voice '{value}'")

    def render(self, text: str) -> np.ndarray:
        """Synthesise ``text``; every callback's samples are kept, events or not."""
        lib = self._lib
        spoken = text.replace(_EMBEDDED, " ")
        rate = espeak_rate(int(self.properties["rate"]))
        pitch = int(self.properties["pitch"])
        command = f"{_EMBEDDED}{rate}S{_EMBEDDED}{pitch}P{spoken}"
        with _LOCK:
            voice = resolve_voice(str(self.properties["voice"]))
            if voice is None:
                raise ValueError(f"espeak-ng has no voice '{self.properties['voice']}'")
            self._chunks = []
            lib.SetSynthCallback(self._on_synth)
            lib.Synth(command.encode("utf-8"), flags=lib.ENDPAUSE | lib.CHARS_UTF8)
            lib.Synchronize()
            chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32) / 32768.0

    def _on_synth(self, wav: Any, numsamples: int, events: Any) -> int:
        """espeak-ng's callback: store the samples (events do not matter here)."""
        if wav and numsamples > 0:
            self._chunks.append(np.ctypeslib.as_array(
                ctypes.cast(wav, ctypes.POINTER(ctypes.c_short)), shape=(numsamples,)).copy())
        return 0
