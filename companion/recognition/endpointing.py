"""Where speech starts and stops: frame energy against a tracked noise floor.

The streaming loop (:mod:`companion.recognition.streaming`) uses this to decide the end of
an utterance much earlier than the engines' own endpointing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from companion.recognition.talk_rescan import RescanSettings
from companion.recognition.utterance import SAMPLE_RATE


@dataclass(frozen=True)
class EndpointerSettings:
    """Tuning of the energy endpointer (seconds and dB)."""

    onset_db: float = 9.0
    """Frame energy above the noise floor that starts speech."""
    continue_db: float = 5.0
    """Frame energy above the noise floor that keeps speech going."""
    onset_frames: int = 3
    """Consecutive loud frames that start an utterance."""
    preroll: float = 0.3
    """Audio before the onset that is also decoded."""
    stop_hangover: float = 0.08
    """Silence after a complete stop command before deciding."""
    command_hangover: float = 0.14
    """Silence after any other complete command before deciding."""
    max_hangover: float = 0.35
    """Silence that ends an utterance whatever the partial hypothesis."""
    max_speech: float = 5.0
    """Longer stretches of speech are never commands (rejected unheard)."""
    min_speech: float = 0.12
    """Shorter blips are ignored."""
    after_stop: float = 0.5
    """Speech starting this soon after a stop decision is the rest of that stop
    (live, one "stop" was once heard twice)."""
    vad: str = "silero"
    """Who decides what is speech: ``"silero"`` (Silero VAD and the energy above the
    floor must both say so; steady noise never opens an utterance) or ``"energy"`` (the
    energy against the floor alone, the endpointer before Silero)."""
    foreground_db: float = 10.0
    """With Silero: once an utterance runs, frames this far under its loudest part are
    someone else (a television, people further away) and do not keep it going; the
    utterance is decoded from where its loud part starts."""
    foreground_after: float = 2.0
    """...but only once an utterance has run this long: within a command, its weaker
    words are that far under its stressed ones ("yes please" was cut at "yes")."""
    rescan: RescanSettings = RescanSettings()
    """With Silero: a rejected utterance in others' talk has the last seconds heard searched
    again (:mod:`companion.recognition.talk_rescan`)."""


class SampleClock:
    """Counts fed samples."""

    def __init__(self) -> None:
        self.samples = 0

    @property
    def now(self) -> float:
        return self.samples / SAMPLE_RATE


class EnergyEndpointer:
    """Frame energy against a noise floor, with hysteresis.

    The floor is a low percentile (not the minimum) of the last 1.5 s of frames: a few
    quiet frames (a 100 ms dropout, a level step down) must not pull it under the room's
    real noise, or that noise then counts as speech until they age out. Measured: one
    zero-padded frame made 1.5 s of a 34 dB floor "speech" and cost a third of the short
    commands. A 3 s window recovered too slowly from a step up in noise (3 stops of 36 fewer).
    """

    WINDOW_FRAMES = 75
    """1.5 s of 20 ms frames."""
    LOW_RANK = 6
    """The floor is the ``LOW_RANK``-th lowest energy in the window (about 8%)."""

    def __init__(self, settings: EndpointerSettings = EndpointerSettings()) -> None:
        self.settings = settings
        self._recent: deque[float] = deque(maxlen=self.WINDOW_FRAMES)
        self._floor = 0.0

    @property
    def floor_db(self) -> float:
        """Current noise floor estimate (dB re 1 LSB²)."""
        return self._floor

    @property
    def speech_floor_db(self) -> float:
        """The level speech is measured against: the floor, but never below 20 dB."""
        return max(self._floor, 20.0)

    def is_speech(self, energy_db: float, in_speech: bool, learn: bool = True) -> bool:
        """Classify one frame; ``learn`` adds it to the floor estimate."""
        if learn:
            self._recent.append(energy_db)
            rank = min(self.LOW_RANK, len(self._recent)) - 1
            self._floor = sorted(self._recent)[rank]
        margin = self.settings.continue_db if in_speech else self.settings.onset_db
        return energy_db > self.speech_floor_db + margin


def frame_db(frame: np.ndarray) -> float:
    """Frame energy in dB re 1 LSB²."""
    x = frame.astype(np.float64)
    return 10.0 * math.log10(float(np.mean(x * x)) + 1.0)
