"""Where the speech is in an utterance, from its frame levels: a step up in room noise, or
someone speaking up over other people's talk (the loud part starts well after the onset)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from companion.recognition.endpointing import EndpointerSettings
from companion.recognition.utterance import FRAME_S

ROOM_STEP_FRAMES = 12
"""Frames of steady new noise (0.24 s) that must come before the speech for a step up in
room noise to be assumed. Without it, long commands said without a pause (their quietest
tenth well above the floor) were taken for one and rejected (3 of 141 clean commands)."""


def loud_level(levels: list[float]) -> float:
    """The level (dB) of an utterance's loudest part so far (its third-loudest frame: the
    loudest tenth was other people's talk when they had talked for seconds)."""
    return sorted(levels)[-3] if len(levels) >= 3 else max(levels, default=0.0)


@dataclass(frozen=True)
class UtteranceLevels:
    """An utterance's frame levels (dB) from its onset, and how it was fed to the engine."""

    levels: list[float]
    settings: EndpointerSettings
    speech_frames: int
    """Frames the endpointer counted as speech."""
    fed_before_onset: int
    """Preroll frames fed to the engine before the first loud frame."""

    def room_got_louder(self, onset_floor: float, steady: Callable[[list[float]], bool]
                        ) -> tuple[int, int] | None:
        """(speech frames, frames fed before them) if the room's noise stepped up during
        the utterance, else None.

        The floor takes up to 1.5 s to follow a step up in room noise (a fan switched
        on); meanwhile the new noise counts as speech, and a "stop" said then covered too
        little of it (measured: 0.32 of 1.42 s, missed). When even the quietest tenth of
        the utterance is ``onset_db`` above the floor (``onset_floor``) it started
        against, that tenth is the room now, and only frames well above it are speech;
        ``steady`` says whether what came before the speech was steady noise.
        """
        levels, settings = self.levels, self.settings
        if not levels:
            return None
        room = sorted(levels)[len(levels) // 10]
        if room <= onset_floor + settings.onset_db:
            return None
        onset = self._onset(room + settings.onset_db)
        if onset is None or not steady(levels[:onset]):
            return None  # (no onset: speech from the start, a phrase without pauses)
        speech = sum(1 for level in levels[onset:] if level > room + settings.continue_db)
        return min(self.speech_frames, speech), self.fed_before_onset + onset

    def loud_part(self) -> tuple[int, int] | None:
        """(speech frames, frames fed before them) when the utterance's loud part starts
        well after its onset (someone spoke up over other talk), else None."""
        if len(self.levels) * FRAME_S <= self.settings.foreground_after:
            return None
        bar = loud_level(self.levels) - self.settings.foreground_db
        onset = self._onset(bar)
        if onset is None:
            return None
        speech = sum(1 for level in self.levels[onset:] if level > bar)
        return min(self.speech_frames, speech), self.fed_before_onset + onset

    def _onset(self, bar: float) -> int | None:
        """The first frame of ``onset_frames`` in a row above ``bar``, if it comes at
        least ``ROOM_STEP_FRAMES`` in."""
        run, levels = self.settings.onset_frames, self.levels
        onset = next((i for i in range(len(levels) - run + 1)
                      if min(levels[i:i + run]) > bar), None)
        return onset if onset is not None and onset >= ROOM_STEP_FRAMES else None
