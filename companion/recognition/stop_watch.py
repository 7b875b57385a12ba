"""Stop and the safewords, listened for on the rolling audio: not only when an utterance ends.

Other people's talk (a television, people in the room) keeps an utterance open for
seconds, and a stop said into it was decided only when the utterance ended: too late, or
never (measured on the dev split, talk at 6 dB under the speaker: 5 of 24 stops heard, the
utterances 3-5 s long). And in loud steady noise a "stop" that never lifted the endpointer
to an utterance was not scored at all. So the :class:`StopWatch` keeps the last
``window_s`` of what the engine hears and, each time a loud part (``loud_s`` or more) is
followed by ``after_s`` of something at least ``dip_db`` quieter (the pause after a
stop, under other talk), the :class:`~companion.recognition.stop_spotter.StopSpotter`
scores that window. A stop it takes is heard there and then. A room's own steady noise
swings by 5 dB too, and each check is a hama run (~90 ms): so a loud part no louder than
the room's quiet (:func:`~companion.recognition.vad.room_quiet_dbfs`), or with no voice in
it (Silero's), is never checked. Listening to a quiet room (pink noise at -60 dBFS) it was
checked every 2.5 s, ~3.6% of a core; to a fan (-40 dBFS), about as often, ~5%.

Inside an utterance it checks only when the endpointer has not heard the whole pause as
silence (other people's talk went on in it): a pause it hears too ends the utterance
soon, and it is scored whole then (no second hama run before a command is decided).
Audio of an utterance already decided is never scored again.

A stop found at a pause is taken only once ``confirm_s`` has passed without the speaker
going on at the stop's own loudness: one's own "stop by the shop tomorrow" dips after
"stop" too (clean, it gave "stop it" there), but "by the shop" follows at once, as loud;
after a real stop only the others' quieter talk goes on. Some voices go on quieter than
that bar: "start breathing" with its "breathing" 5-6 dB under its "start", which "stop"
fits. So when the stop began what was said and something went on after it (even under
the bar), a command that begins where the stop was placed, is longer, fits about as well
and goes on about as loud is what was said
(:meth:`~companion.recognition.stop_spotter.StopSpotter.begun_command`); and a command
the endpointer takes over the stop's place, long enough to hold it, ends the wait.
Dev split of ``benchmarks.hearing_stops`` (24 stops and 24 other commands per room), other
commands taken for a stop: clean 1 -> 0, pink 12 dB 1 -> 0, brown 12 1 -> 0, brown 6 1 ->
0 ("start breathing", in each), stops heard unchanged in every room.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from companion.recognition.stop_spotter import Spotted, StopSpotter
from companion.recognition.utterance import FRAME_S

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchSettings:
    """When the rolling audio is scored for a stop (seconds and dB)."""

    enabled: bool = True
    window_s: float = 1.6
    """Audio scored: the longest stop phrase and the talk around it."""
    loud_s: float = 0.2
    """Least length of the loud part before a pause."""
    after_s: float = 0.12
    """Length of the quieter part after it that triggers a check."""
    dip_db: float = 5.0
    """How much quieter (dB) than the loud part's loudest tenth that part must be."""
    min_utterance_s: float = 0.4
    """Inside an utterance, checks start once it has run this long."""
    confirm_s: float = 0.3
    """How long after a stop is found the speaker must not go on (see the module)."""
    resume_s: float = 0.06
    """Sound this long at the stop's own loudness (above the dip's bar) in ``confirm_s``
    is the speaker going on: the stop was a word of their sentence."""


class StopWatch:
    """Scores the rolling audio for a stop at each pause after a loud part."""

    def __init__(self, spotter: StopSpotter, settings: WatchSettings = WatchSettings()) -> None:
        self.settings = settings
        self._spotter = spotter
        self._window = max(1, round(settings.window_s / FRAME_S))
        self._after = max(1, round(settings.after_s / FRAME_S))
        self._loud = max(1, round(settings.loud_s / FRAME_S))
        self._confirm = max(1, round(settings.confirm_s / FRAME_S))
        self._resume = max(1, round(settings.resume_s / FRAME_S))
        self.reset()

    def reset(self) -> None:
        """Forget the audio heard so far (an utterance was decided on it)."""
        self._pcm: deque[bytes] = deque(maxlen=self._window)
        self._levels: deque[float] = deque(maxlen=self._window)
        self._voiced: deque[bool] = deque(maxlen=self._window)
        self._armed = False
        self._pending: _Pending | None = None

    def decided(self, stop: bool, taken: tuple[float, float, str] | None = None) -> None:
        """An utterance was decided on the audio so far: that audio is not scored again.
        A stop found in it and waiting for ``confirm_s`` still stands (the others' talk
        ended the utterance in the meantime), unless the utterance was itself a stop, or the
        command ``taken`` (its start and end in seconds before now, its text) was said
        where the stop was placed and is longer (:meth:`StopSpotter.holds`): "stop" placed
        on the "start" of "start breathing". A shorter one ("no" for the "nana" of
        "banana") leaves the stop standing."""
        pending = None if stop else self._pending
        if pending is not None and taken is not None:
            found = pending.placed()
            if (taken[0] < found.end_s and found.start_s < taken[1]
                    and self._spotter.holds(taken[2], found)):
                _LOGGER.debug("stop watch: %r was in the command taken there, %r",
                              found.phrase, taken[2])
                pending = None
        self.reset()
        self._pending = pending

    def frame(self, pcm: bytes, level: float, utterance_s: float | None,
              paused: int = 0, quiet_db: float = -np.inf, voiced: bool = True
              ) -> Spotted | None:
        """One 20 ms frame as the engine hears it and its level (dB); ``utterance_s``: how
        long the open utterance has run (None: none is open); ``paused``: for how many frames
        the endpointer has heard a pause (all of this one: the utterance ends soon and is
        scored whole then, so no check here); ``quiet_db``: a loud part under this level is
        the room's own quiet (a quiet room's noise swings by 5 dB too), never checked;
        ``voiced``: whether the voice detector heard voice (a loud part with none in it is
        the room's noise, never checked).
        A stop taken here, with its placement in seconds before now (negative ``start_s``
        and ``end_s``)."""
        self._pcm.append(pcm)
        self._levels.append(level)
        self._voiced.append(voiced)
        if self._pending is not None:
            return self._confirmed(level)
        if not self.settings.enabled or not self._due(quiet_db):
            return None
        if utterance_s is not None and (paused >= self._after
                                        or utterance_s < self.settings.min_utterance_s):
            return None
        audio = b"".join(self._pcm)
        found = self._spotter.spotted(audio, cut_off=False, rolling=True)
        if found is None:
            return None
        span = len(self._pcm) * FRAME_S
        _LOGGER.debug("stop watch: %r in the rolling audio, if the speaker stops", found.phrase)
        opened = utterance_s is None or utterance_s + found.start_s - span <= self.OPENED_S
        self._pending = _Pending(found.shifted(-span), self._own_bar(found), opened)
        return None

    OPENED_S = 0.3
    """A stop placed this soon after the open utterance began (or with none open) began
    what the speaker said: only then may it be a longer command's first word."""

    def _own_bar(self, found: Spotted) -> float:
        """``dip_db`` under the loudest tenth of the phrase where it was placed: the
        speaker's own level (the pause that triggered the check may be one in the others'
        talk, long after the phrase)."""
        levels = np.fromiter(self._levels, dtype=np.float64)
        first = min(levels.size - 1, max(0, int(found.start_s / FRAME_S)))
        last = max(first + 1, min(levels.size, int(np.ceil(found.end_s / FRAME_S))))
        return float(np.percentile(levels[first:last], 90)) - self.settings.dip_db

    def _confirmed(self, level: float) -> Spotted | None:
        """One more frame after a stop was found: the stop, once ``confirm_s`` passed
        without the speaker going on (placed before now); None until then, or for good."""
        pending = self._pending
        assert pending is not None
        pending.waited += 1
        pending.resumed += level > pending.bar
        if pending.resumed >= self._resume:
            _LOGGER.debug("stop watch: %r was a word of a sentence that went on",
                          pending.found.phrase)
            self._pending = None
            return None
        pending.sounded += level > pending.bar - self.settings.dip_db
        if pending.waited < self._confirm:
            return None
        self._pending = None
        found = pending.placed()
        went_on = pending.opened and pending.sounded >= self._resume
        begun = self._begun_command(found) if went_on else None
        self.reset()
        if begun is not None:
            _LOGGER.debug("stop watch: %r was the start of %r", found.phrase, begun)
            return None
        return found

    def _begun_command(self, found: Spotted) -> str | None:
        """The longer command ``found`` (placed before now) began, if the speaker went on
        into one (:meth:`StopSpotter.begun_command`): "breathing" after the "start" of
        "start breathing" can be 5 dB quieter than "start", under the bar that tells the
        speaker going on from the others' quieter talk."""
        span = len(self._pcm) * FRAME_S
        if span + found.start_s < 0:
            return None
        return self._spotter.begun_command(b"".join(self._pcm), found.shifted(span))

    LOOK_BACK_S = 0.6
    """The stretch before the quieter part whose loudest tenth is the loud level."""

    def _due(self, quiet_db: float) -> bool:
        """Whether a loud part (above ``quiet_db``) has just been followed by ``after_s`` of
        sound ``dip_db`` quieter (once per loud part: any louder frame re-arms it)."""
        levels = np.fromiter(self._levels, dtype=np.float64)
        n = levels.size
        if n < self._after + self._loud:
            return False
        before = levels[max(0, n - self._after - round(self.LOOK_BACK_S / FRAME_S)):
                        n - self._after]
        loud = float(np.percentile(before, 90))
        if loud < quiet_db:
            return False
        bar = loud - self.settings.dip_db
        if levels[-1] > bar:
            self._armed = True
            return False
        if not self._armed or float(levels[-self._after:].max()) > bar:
            return False
        if int(np.sum(before > bar)) < self._loud:
            return False
        self._armed = False
        return any(list(self._voiced)[-(before.size + self._after):])


@dataclass
class _Pending:
    """A stop found at a pause, waiting for ``confirm_s`` to pass."""

    found: Spotted
    """Placed relative to the frame it was found at."""
    bar: float
    """``dip_db`` under the phrase's own level: the speaker going on goes above it."""
    opened: bool
    """Whether the phrase began what was said (see :attr:`StopWatch.OPENED_S`): a stop
    into others' talk that kept an utterance open is not scored again for a longer command
    (a second hama run, ~0.1 s later to act)."""
    waited: int = 0
    """Frames since it was found."""
    resumed: int = 0
    """Of those, frames above ``bar``."""
    sounded: int = 0
    """Of those, frames less than ``dip_db`` under ``bar``: something went on after it,
    quieter (the speaker's own next word, or the others' talk)."""

    def placed(self) -> Spotted:
        """:attr:`found` placed relative to now (``waited`` frames after it was found)."""
        return self.found.shifted(-self.waited * FRAME_S)
