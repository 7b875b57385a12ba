"""A quiet lead-in before a file's first sample, so speech right at its start is heard.

The recogniser learns the room's noise floor from what it hears; a file that starts with
speech would teach it that the speech is the floor, and the first words went unheard
("play aftercare" from sample 0 came out as "aftercare"). A microphone always has some
room before anyone speaks; a file gets half a second of noise at the level of its own
quietest frames (digital silence would teach the opposite mistake: a file that starts in a
noisy room would have its noise taken for speech until the floor caught up), and the times
of what is heard are moved back so they stay on the file's own clock.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from companion.recognition.utterance import FRAME, SAMPLE_RATE, Utterance

LEAD_IN_S = 0.5
"""Quiet fed before the file (a whole number of 20 ms frames)."""
LOOK_S = 2.0
"""How much of the file's start its noise level is taken from."""
QUIET_PERCENTILE = 10
"""The lead-in's level: this percentile of the frame levels in the first :data:`LOOK_S`."""


def lead_in_for(path: Path, seconds: float = LEAD_IN_S) -> bytes:
    """``seconds`` of int16 noise at the level of the quiet parts of ``path``'s start."""
    from companion.audio.wav import WavSource

    source = WavSource(path)
    chunks: list[bytes] = []
    try:
        while len(chunks) * FRAME < LOOK_S * SAMPLE_RATE and (chunk := source.read()):
            chunks.append(chunk)
    finally:
        source.close()
    frames = max(1, round(seconds * SAMPLE_RATE / FRAME))
    audio = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float64)
    usable = len(audio) - len(audio) % FRAME
    if usable == 0:
        return b"\0" * (2 * FRAME * frames)
    rms = np.sqrt(np.mean(audio[:usable].reshape(-1, FRAME) ** 2, axis=1))
    level = float(np.percentile(rms, QUIET_PERCENTILE))
    noise = np.random.default_rng(0).standard_normal(frames * FRAME) * level
    return np.clip(np.round(noise), -32768, 32767).astype("<i2").tobytes()


class LeadInRecognizer:
    """Wraps a recogniser: feeds ``lead_in`` (int16 bytes) first, reports file times."""

    def __init__(self, recognizer: Any, lead_in: bytes) -> None:
        self._inner = recognizer
        self._lead = lead_in[:len(lead_in) - len(lead_in) % (2 * FRAME)]
        self._shift = len(self._lead) / 2 / SAMPLE_RATE
        self._started = False

    def accept(self, chunk: bytes) -> list[Utterance]:
        """Feed audio (the lead-in first, once); times are on the file's clock."""
        out: list[Utterance] = []
        if not self._started:
            self._started = True
            out += self._inner.accept(self._lead)
        out += self._inner.accept(chunk)
        return [self._moved(u) for u in out]

    def flush(self) -> list[Utterance]:
        """End of input: finish a pending utterance."""
        return [self._moved(u) for u in self._inner.flush()]

    def reset(self) -> None:
        """Forget everything; the next chunk gets a lead-in again."""
        self._inner.reset()
        self._started = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _moved(self, u: Utterance) -> Utterance:
        return dataclasses.replace(u, start=max(0.0, u.start - self._shift),
                                   end=max(0.0, u.end - self._shift),
                                   decided=max(0.0, u.decided - self._shift))
