"""The part every PCM driver shares: pyttsx3's driver protocol, rendering to memory.

A driver never plays audio (pyttsx3's own playback blocks and cannot be cut). ``say(text)``
renders the text and notifies the topic ``pcm`` with ``pcm`` (float32 mono) and
``sample_rate``; errors go to pyttsx3's ``error`` topic. Synthesis is synchronous, so
``runAndWait`` returns only after every queued utterance was handed back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import wave
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PCM_TOPIC = "pcm"
"""The pyttsx3 topic our drivers notify with the rendered audio."""
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)
_MALLOC_TRIM = getattr(_LIBC, "malloc_trim", None)
"""glibc's ``malloc_trim`` (None with another C library)."""
_MALLOPT = getattr(_LIBC, "mallopt", None)
_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold."""
LARGE_BLOCK_BYTES = 4 * 2**20
"""Blocks this big or bigger get their own mapping, handed back to the system when freed.
Lower costs more CPU (mapping and zeroing each one): hibari's CPU per second of speech was
0.025 s with glibc's own threshold, 0.029 s at 4 MB, 0.031 s at 1 MB, 0.043 s at 128 KB;
the soak kept growing at none of them."""
SENTENCE_PAUSE = 0.6
"""Seconds of quiet between two sentences of one utterance (neural engines)."""


def join_sentences(parts: list[np.ndarray], sample_rate: int,
                   pause: float = SENTENCE_PAUSE, threshold: float = 0.005) -> np.ndarray:
    """Sentences with their own edge silence trimmed, joined by ``pause`` seconds of quiet.

    Slowed neural voices stretch the silence they end a sentence with to more than a
    second; this keeps the pause between sentences the same at every rate.
    """
    keep = int(0.02 * sample_rate)
    trimmed = []
    for part in parts:
        loud = np.flatnonzero(np.abs(part) > threshold)
        if loud.size:
            trimmed.append(part[max(0, loud[0] - keep): loud[-1] + keep + 1])
    if not trimmed:
        return np.zeros(0, dtype=np.float32)
    gap = np.zeros(int(pause * sample_rate), dtype=np.float32)
    out: list[np.ndarray] = []
    for i, part in enumerate(trimmed):
        out.extend([gap, part] if i else [part])
    return np.concatenate(out).astype(np.float32)


def release_freed_memory() -> None:
    """Hand memory freed since the last call back to the system (glibc keeps it otherwise).

    A long sentence's spectra, resampling and loudness buffers are tens of MB of short-lived
    arrays; without this the process stayed that much bigger for the rest of its life.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def hand_back_large_blocks() -> None:
    """Have glibc serve every block of :data:`LARGE_BLOCK_BYTES` or more from its own
    mapping, returned to the system as soon as it is freed (for the whole process).

    glibc starts at 128 KB and raises its threshold each time such a block is freed (up to
    32 MB); after that, speech's short-lived arrays (hibari's spectra, resampling, loudness)
    came from the heap and stayed there, ``malloc_trim`` or not. The soak (``python -m
    benchmarks.soak``, 6 minutes measured after a 200 s warm-up): RSS 172 -> 204 MB,
    213 MB/h; with the threshold fixed at 4 MB, 169 -> 172 MB (11 MB/h beside the speech
    cache, which grew 6.8 -> 8.3 MB; the last 3 minutes +0.3 MB).
    """
    if _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)


class PcmDriver:
    """pyttsx3 driver protocol on top of :meth:`render` (subclasses implement it)."""

    sample_rate: int = 22050
    """Native rate of the engine's PCM."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy
        self._looping = False
        self.properties: dict[str, Any] = {"rate": 200, "volume": 1.0, "pitch": 50,
                                           "voice": None}

    # ----- what subclasses provide -------------------------------------------------------
    def render(self, text: str) -> np.ndarray:
        """``text`` as float32 mono PCM at :attr:`sample_rate`."""
        raise NotImplementedError

    def voices(self) -> list[Any]:
        """pyttsx3 ``Voice`` objects this engine can speak with."""
        return []

    def check_voice(self, value: Any) -> None:
        """Raise ValueError if ``value`` is not a voice this engine has (no download)."""

    # ----- pyttsx3's driver protocol -------------------------------------------------
    def destroy(self) -> None:
        """Nothing to release beyond what garbage collection does."""

    def say(self, text: str) -> None:
        """Render ``text`` and hand it back on the ``pcm`` topic."""
        self._proxy.setBusy(True)
        self._proxy.notify("started-utterance")
        try:
            pcm = np.asarray(self.render(str(text)), dtype=np.float32).ravel()
        except Exception as exc:  # noqa: BLE001 - reported through pyttsx3's error topic
            log.debug("synthesis failed: %s", exc)
            self._proxy.notify("error", exception=exc)
            self._proxy.notify("finished-utterance", completed=False)
        else:
            self._proxy.notify(PCM_TOPIC, pcm=pcm, sample_rate=self.sample_rate)
            self._proxy.notify("finished-utterance", completed=True)
        self._proxy.setBusy(False)

    def save_to_file(self, text: str, filename: str) -> None:
        """Render ``text`` into a 16-bit mono WAV file (pyttsx3's file API)."""
        self._proxy.setBusy(True)
        try:
            pcm = np.clip(self.render(str(text)), -1.0, 1.0)
            with wave.open(str(filename), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(self.sample_rate)
                w.writeframes((pcm * 32767.0).astype("<i2").tobytes())
        except Exception as exc:  # noqa: BLE001 - reported through pyttsx3's error topic
            self._proxy.notify("error", exception=exc)
        self._proxy.setBusy(False)

    def stop(self) -> None:
        """Synthesis is synchronous: there is nothing in flight to cut."""

    def startLoop(self) -> None:  # noqa: N802 - pyttsx3's name
        """Run every queued command (each one synchronous), then return."""
        self._looping = True
        self._proxy.setBusy(False)
        self._looping = False

    def endLoop(self) -> None:  # noqa: N802 - pyttsx3's name
        """The loop ends when the queue is empty."""
        self._looping = False

    def iterate(self) -> Any:
        """External run loops: the queue is pumped as commands arrive."""
        self._proxy.setBusy(False)
        yield

    def getProperty(self, name: str) -> Any:  # noqa: N802 - pyttsx3's name
        """``voices``, ``voice``, ``rate``, ``volume`` or ``pitch``."""
        if name == "voices":
            return self.voices()
        if name in self.properties:
            return self.properties[name]
        raise KeyError(f"unknown property {name}")

    def setProperty(self, name: str, value: Any) -> None:  # noqa: N802 - pyttsx3's name
        """Set ``voice`` (checked, never downloaded), ``rate`` (wpm), ``volume``, ``pitch``."""
        if name not in self.properties:
            raise KeyError(f"unknown property {name}")
        if name == "voice":
            self.check_voice(value)
        self.properties[name] = value
