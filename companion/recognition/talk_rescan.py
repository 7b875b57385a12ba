"""A command cut in two by other people's talk: the last seconds heard, searched again.

While others talk, the endpointer's utterances are stretches of their talk: one often ends
inside the command (its cap, or the talk under it falling away) and the next begins with
the command's rest, so neither holds it whole and both are rejected. Here the last few
seconds the recogniser heard are kept, whatever the utterances were, and when an utterance
in such a stretch is rejected they are searched again as one window (hama places every
command phrase in it; see :meth:`PhraseSpotter.find
<companion.recognition.phrase_spotter.PhraseSpotter.find>`), from the end of the last
command taken on. A command found so carries where it was said.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.recognition.utterance import FRAME, FRAME_S, SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class RescanSettings:
    """When and how far back a rejected utterance is searched again (seconds)."""

    enabled: bool = True
    window: float = 4.0
    """How much of what was heard last is searched."""
    talk_after: float = 2.0
    """An utterance that ran this long was other people's talk (a command is shorter)."""
    chain_gap: float = 1.0
    """An utterance that starts this soon after such a one continues the same talk."""


class TalkRescan:
    """The last ``window`` seconds fed to the engine, and when to search them again."""

    def __init__(self, settings: RescanSettings = RescanSettings()) -> None:
        self.settings = settings
        self._frames: deque[bytes] = deque(maxlen=max(1, round(settings.window / FRAME_S)))
        self._samples = 0
        self._talk_end = -1e9
        """When the last long utterance (others' talk) ended."""
        self._taken_until = 0.0
        """Where the last command taken ends: nothing before it is searched again."""

    @property
    def now(self) -> float:
        return self._samples / SAMPLE_RATE

    def push(self, pcm: bytes) -> None:
        """One 20 ms frame as the engine hears it."""
        self._frames.append(pcm)
        self._samples += FRAME

    def due(self, start: float, end: float) -> bool:
        """Whether a rejected utterance from ``start`` to ``end`` (seconds, same clock) is
        in others' talk: long itself, or soon after a long one. Notes a long one."""
        if not self.settings.enabled:
            return False
        long = end - start >= self.settings.talk_after
        chained = start - self._talk_end <= self.settings.chain_gap
        if long:
            self._talk_end = end
        return long or chained

    def window(self) -> tuple[bytes, float]:
        """The audio to search (int16 bytes) and the time its first sample was heard."""
        first = max(self.now - len(self._frames) * FRAME_S, self._taken_until)
        skip = max(0, round((first - (self.now - len(self._frames) * FRAME_S)) / FRAME_S))
        frames = list(self._frames)[skip:]
        return b"".join(frames), self.now - len(frames) * FRAME_S

    def taken(self, end: float) -> None:
        """A command that ends at ``end`` was taken: its audio is not searched again."""
        self._taken_until = max(self._taken_until, end)

    def search(self, spot_in: Callable[[bytes], Any]) -> tuple[str, float, float] | None:
        """What ``spot_in`` (the engine's spotter: a found phrase with ``phrase``,
        ``start_s`` and ``end_s``, or None) finds in the window: the phrase and where it
        was said (seconds on the stream's clock)."""
        pcm, first = self.window()
        found = spot_in(pcm)
        if found is None:
            return None
        _LOGGER.debug("rescan of %.2f-%.2f found %r at %.2f-%.2f", first, self.now,
                      found.phrase, first + found.start_s, first + found.end_s)
        return found.phrase, first + found.start_s, first + found.end_s


def narrowed(start: float, end: float, first: float,
             span: tuple[float, float] | None) -> tuple[float, float]:
    """``start``/``end`` narrowed to ``span`` (where the engine placed the command's words,
    seconds from ``first``, the utterance's first audio): an utterance that other people's
    talk opened starts well before the command."""
    if span is None:
        return start, end
    placed = max(start, first + span[0]), min(end, first + span[1])
    return placed if placed[1] > placed[0] else (start, end)


STEADY_DB = 3.0
"""Spread (dB, standard deviation of frame levels) under which a stretch is steady noise
(pink or brown: about 1 dB) rather than other people talking (babble: 5 dB and more)."""


def steady(levels: list[float]) -> bool:
    """Whether frame ``levels`` (dB) are steady noise, not others' talk."""
    return float(np.std(levels)) < STEADY_DB
