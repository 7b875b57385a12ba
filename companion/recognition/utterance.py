"""What a recogniser hands on: the heard command (:class:`Utterance`), the
:class:`Recognizer` protocol both engines follow, and the audio format they take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from companion.recognition.intents import Command
from companion.recognition.overlap import CompanionVoice

SAMPLE_RATE = 16000
FRAME = 320
"""Endpointer frame: 20 ms at 16 kHz."""
FRAME_S = FRAME / SAMPLE_RATE


@dataclass(frozen=True)
class Utterance:
    """A command heard in the input."""

    start: float
    """Start of speech, seconds on the fed-audio clock (counted from fed samples)."""
    end: float
    """End of speech, seconds on the same clock."""
    text: str
    """The words, normalised (a command phrase)."""
    confidence: float
    """0..1; higher is surer."""
    command: Command
    """What the words mean, parsed once by the recogniser (its ``text`` is ``text``)."""
    decided: float = -1.0
    """When the recogniser decided (>= ``end``); defaults to ``end``."""

    def __post_init__(self) -> None:
        if self.decided < 0:
            object.__setattr__(self, "decided", self.end)


class Recognizer(Protocol):
    """Streaming recogniser of spoken commands (int16 mono 16 kHz little-endian)."""

    sample_rate: int
    """Always 16000."""

    def accept(self, chunk: bytes) -> list[Utterance]:
        """Feed audio (normally 20 ms); return the utterances that finished."""
        ...

    def flush(self) -> list[Utterance]:
        """End of input: finish a pending utterance."""
        ...

    def reset(self) -> None:
        """Forget any partial utterance and the audio clock."""
        ...

    def set_companion_voice(self, voice: CompanionVoice) -> None:
        """What the companion voices in the chunks fed from now on (including its echo
        tail). An utterance whose speech starts while it voices something is only matched
        against the commands :data:`~companion.overlap.LISTENED_FOR` then."""
        ...
