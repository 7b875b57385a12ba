"""Is the microphone giving something a voice can be heard in?

Watches the raw input frame by frame and names a lasting problem once (logged as a
warning, or at ``level`` where a status line shows it, and kept in
:attr:`InputCheck.problem` for the status line): a room too loud to
hear a voice in, or a clipping input. While either lasts, the streaming loop takes nothing for
a command. Digital silence is not judged here: on a file it is just quiet, and a microphone
that gives only zeros is a lost device (``companion.audio.device_streams``).
"""

from __future__ import annotations

import logging
import math
from enum import Enum

import numpy as np

_LOGGER = logging.getLogger(__name__)


class InputProblem(str, Enum):
    """What is wrong with the input, in the words the user sees."""

    TOO_NOISY = "too noisy to hear you well"
    CLIPPING = "the microphone is overloaded (clipping)"


class InputCheck:
    """Tracks the last few seconds of input levels (20 ms frames)."""

    NOISY_DB = 75.0
    """A room floor above this (dB re 1 LSB², about -15 dBFS: louder than a voice at a
    metre) leaves a voice no room."""
    CLIP_SHARE = 0.01
    """Share of samples at full scale over the window from which the input clips."""
    HYSTERESIS_DB = 6.0
    """Once named, the room must get this much quieter to be fine again."""
    WINDOW_FRAMES = 150
    """3 s of frames: a problem must last this long to be named."""

    def __init__(self, level: int = logging.WARNING) -> None:
        self.level = level
        """Log level of a problem's start (INFO where a status line already says it)."""
        self._levels: list[float] = []
        self._clipped: list[int] = []
        self._samples = 0
        self.problem: InputProblem | None = None
        self._said: set[InputProblem] = set()

    def update(self, frame: np.ndarray) -> InputProblem | None:
        """Add one int16 frame; return the current problem, if any."""
        x = frame.astype(np.float64)
        self._levels.append(10.0 * math.log10(float(np.mean(x * x)) + 1.0))
        self._clipped.append(int(np.count_nonzero(np.abs(x) >= 32767)))
        self._samples = frame.size
        if len(self._levels) > self.WINDOW_FRAMES:
            del self._levels[0], self._clipped[0]
        self._set(self._judge())
        return self.problem

    @property
    def blocks_commands(self) -> bool:
        """True while nothing heard should be taken for a command."""
        return self.problem in (InputProblem.TOO_NOISY, InputProblem.CLIPPING)

    def _judge(self) -> InputProblem | None:
        if len(self._levels) < self.WINDOW_FRAMES:
            return self.problem
        total = self.WINDOW_FRAMES * self._samples
        if sum(self._clipped) > self.CLIP_SHARE * total:
            return InputProblem.CLIPPING
        floor = sorted(self._levels)[len(self._levels) // 10]
        bar = self.NOISY_DB - (self.HYSTERESIS_DB if self.problem else 0.0)
        if floor > bar:
            return InputProblem.TOO_NOISY
        return None

    def _set(self, problem: InputProblem | None) -> None:
        if problem is not None and problem is not self.problem and problem not in self._said:
            _LOGGER.log(self.level, "input: %s", problem.value)
            self._said.add(problem)
        elif problem is None and self.problem is not None:
            _LOGGER.info("input: fine again (%s is over)", self.problem.value)
            self._said.discard(self.problem)
        self.problem = problem
