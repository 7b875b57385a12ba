"""Live controls: the voice, its volume (softer/louder) and its pace (slower/faster)."""

from __future__ import annotations

import numpy as np

from companion.audio.sounds import db_to_gain, gain_to_db
from companion.speech.loudness import PEAK_CEILING
from companion.speech.voices import Voice

VOLUME_STEP_DB = 3.0
"""One "softer" or "louder"."""
MIN_VOLUME_DB = -24.0
"""Softest user volume, relative to the voice's own loudness."""
DEFAULT_VOLUME_DB = 0.0
"""Start at the top: speech at the voice's loudness target (-20 LUFS under the default cap),
every sentence at the same loudness; "softer" steps down from there. The last releases
started 9 dB under it (-29 LUFS). At 0 dB the companion's voice comes back to the
microphone as loud as the person (the live null-sink loop of ``benchmarks/room.py``): a
"stop" said over it was heard in 4 of 8 runs, and five minutes of a routine with nobody
speaking heard 1-7 commands in each of three runs. The echo gate now finds a person's voice
band by band, attenuates its own voice 60 dB instead of 30, and trusts the canceller's
output only while it removes echo. Live at 0 dB since: 7 of 8 stops heard (the miss, a
stop said before the echo's delay was known), and nothing in five minutes with nobody
speaking."""
RATE_STEP = 1.15
"""One "faster" multiplies the speaking rate by this; "slower" divides."""
RATE_LIMITS = (0.6, 1.5)
"""Slowest and fastest rate factor."""


class LiveControls:
    """Volume and pace as the listener set them, and the gain they give (render thread)."""

    def __init__(self, cap: float, voice: Voice) -> None:
        self.cap = cap
        """Linear sample level never to exceed (a ceiling, not a gain)."""
        self.voice = voice
        """The voice profile speaking now."""
        self.volume_db = DEFAULT_VOLUME_DB
        """User volume relative to the voice's level under the cap."""
        self.rate = 1.0
        """Speaking-rate factor (1 = the voice's own rate)."""
        self._applied_gain = self.speech_gain()

    def change_rate(self, factor: float) -> None:
        """Multiply the rate by ``factor``, within :data:`RATE_LIMITS`."""
        low, high = RATE_LIMITS
        self.rate = min(high, max(low, self.rate * float(factor)))

    def change_volume(self, step_db: float) -> None:
        """Move the volume by ``step_db``, from :data:`MIN_VOLUME_DB` up to where speech's
        peaks meet the cap."""
        top = max(0.0, gain_to_db(self.cap / PEAK_CEILING))
        self.volume_db = min(top, max(MIN_VOLUME_DB, self.volume_db + float(step_db)))

    def speech_gain(self) -> float:
        """Linear gain for speech at the current voice and volume: speech arrives at its
        loudness target at volume 0 dB, and its peaks (:data:`PEAK_CEILING`) never pass the cap."""
        gain = self.voice.volume * db_to_gain(self.volume_db)
        return min(gain, self.cap / PEAK_CEILING)

    def gain_ramp(self, n: int) -> np.ndarray:
        """Speech gain for the next ``n`` frames, gliding to a new volume (no clicks)."""
        target = self.speech_gain()
        ramp = np.linspace(self._applied_gain, target, n, dtype=np.float32)
        self._applied_gain = target
        return ramp

    def breath_scale(self) -> float:
        """Breathing phases stretch when the user asks for slower."""
        return 1.0 / self.rate

    def say_seconds(self, text: str) -> float:
        """A quick estimate of how long ``text`` takes to say (for planning only)."""
        words = max(1, len(text.split()))
        return words * 60.0 / (self.voice.rate * self.rate) + 0.4
