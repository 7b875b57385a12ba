"""The audio stream protocols and formats every source and sink shares.

Audio in is 20 ms chunks of int16 mono bytes at ``INPUT_RATE``; audio out is float32 mono
numpy in [-1, 1] at the sink's rate. Files are in ``companion.audio.wav``, sound devices in
``companion.audio.device_streams``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

INPUT_RATE = 16000
"""Sample rate of everything a recogniser hears."""
CHUNK_SAMPLES = 320
"""Samples in one 20 ms input chunk."""
CHUNK_BYTES = CHUNK_SAMPLES * 2
"""Bytes in one int16 input chunk."""
OUTPUT_RATE = 22050
"""espeak-ng's native rate; the default rate of sinks."""


@runtime_checkable
class AudioSource(Protocol):
    """Where 20 ms chunks of int16 mono 16 kHz audio come from."""

    sample_rate: int
    overflows: int

    def read(self, timeout: float | None = None) -> bytes | None:
        """Next chunk (640 bytes); None at end or after close; b"" on a live timeout."""
        ...

    def close(self) -> None:
        """Release the source; later reads return None."""
        ...


@runtime_checkable
class AudioSink(Protocol):
    """Where float32 mono audio goes; ``frames_written`` is the timeline position."""

    sample_rate: int
    frames_written: int

    def write(self, block: np.ndarray) -> None:
        """Queue ``block``; a device blocks while its queue is full."""
        ...

    def cut(self) -> None:
        """Drop what is queued and fade what is playing to silence (~30 ms)."""
        ...

    def close(self) -> None:
        """Finish and release the sink."""
        ...
