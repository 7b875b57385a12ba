"""Transport: start, stop, pause/resume, skip, repeat, answers, interjections and goodnight.

Each action runs on the render thread between blocks (the player queues it); most fade
the timeline out over 40 ms first, then change what plays.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from companion.audio.sounds import NoiseBed
from companion.routines.model import Ambient, Routine
from companion.routines.script import Listen, Speak, StepRunner, Tone
from companion.routines.timing import play_seconds, stretch_to_minutes
from companion.session.events import Paused, Resumed, RoutineStart
from companion.session.live_controls import LiveControls
from companion.session.player_state import PlayerState
from companion.session.timeline import Cursor, Timeline
from companion.speech.voices import Voice


@dataclass(frozen=True)
class StartRequest:
    """A request to start a routine."""

    routine: Routine
    """What to play."""
    minutes: float | None
    """Stretch to about this long, or None."""
    voice: str | None
    """Voice profile asked for, or None."""
    acknowledge: bool
    """Play a short soft tone first (the request came by voice)."""
    announce: str | None = None
    """Say this before the routine begins, or nothing."""


class Transport:
    """Carries out transport actions on a :class:`Timeline`."""

    def __init__(self, timeline: Timeline, controls: LiveControls,
                 voice_for: Callable[[str | None], Voice], lookup: Callable[[str], Routine],
                 rng: random.Random) -> None:
        self._tl = timeline
        self._controls = controls
        self._voice_for = voice_for
        self._lookup = lookup
        self._rng = rng

    def start(self, request: StartRequest) -> None:
        """Start a routine now if idle, else after fading out what plays."""
        tl = self._tl
        if tl.state is not PlayerState.IDLE:
            tl.fade_then(lambda at: self._begin(request, at))
        else:
            self._begin(request, tl.frames)

    def _begin(self, request: StartRequest, at: int) -> None:
        tl = self._tl
        routine, minutes, voice = request.routine, request.minutes, request.voice
        if tl.routine is not None:
            tl.end_routine("stopped", at)
        tl.reset_routine()
        self._controls.voice = self._voice_for(voice or routine.voice)
        say_seconds = self._controls.say_seconds
        if minutes:
            routine = stretch_to_minutes(routine, minutes, self._lookup, say_seconds)
        tl.routine = routine
        tl.estimate = play_seconds(routine.steps, self._lookup, say_seconds)
        tl.script = StepRunner(self._lookup, tl, self._rng).run(routine.steps)
        if routine.ambient is not Ambient.NONE:
            tl.ambient = NoiseBed(routine.ambient.value, tl.sample_rate)
            tl.ambient_level = 0.0
            tl.ambient_target = 1.0
        if request.acknowledge:
            tl.queue.append(tl.cursor_for(Tone("ack"), announcement=True))
        if request.announce:
            tl.queue.append(tl.cursor_for(Speak(request.announce), announcement=True))
        tl.emit(RoutineStart(tl.seconds(at), routine.name))
        tl.set_state(PlayerState.PLAYING, at)

    def stop(self) -> None:
        """Fade out and end the routine (reason ``stopped``)."""
        tl = self._tl
        if tl.state is PlayerState.IDLE and tl.after_fade is None:
            return
        tl.fade_then(lambda at: tl.end_routine("stopped", at))

    def pause(self) -> None:
        """Fade out and hold (while playing or asking)."""
        if self._tl.state in (PlayerState.PLAYING, PlayerState.ASKING):
            self._tl.fade_then(self._paused)

    def _paused(self, at: int) -> None:
        tl = self._tl
        if tl.cursor is not None:
            tl.cursor = tl.cursor.restarted()
        tl.resume_state = tl.state
        tl.set_state(PlayerState.PAUSED, at)
        tl.emit(Paused(tl.seconds(at)))

    def resume(self) -> None:
        """Continue after a pause, in the state it was paused in."""
        tl = self._tl
        if tl.state is PlayerState.PAUSED:
            tl.set_state(tl.resume_state, tl.frames)
            tl.emit(Resumed(tl.seconds(tl.frames)))

    def skip(self) -> None:
        """Fade out and have the script end its current step."""
        if self._tl.script is not None and self._tl.state is not PlayerState.IDLE:
            self._tl.fade_then(self._skipped)

    def _skipped(self, at: int) -> None:
        tl = self._tl
        if tl.cursor is not None and isinstance(tl.cursor.segment, Listen):
            tl.set_state(PlayerState.PLAYING, at)
        tl.cursor = None
        tl.queue.clear()
        tl.skip_pending = True

    def repeat(self) -> None:
        """Fade out and say the current (or last) sentence again."""
        tl = self._tl
        if tl.state in (PlayerState.PLAYING, PlayerState.ASKING) and tl.last_said:
            tl.fade_then(self._repeated)

    def _repeated(self, at: int) -> None:
        tl = self._tl
        current = tl.cursor
        tl.cursor = None
        if current is not None and isinstance(current.segment, Speak):
            tl.queue.appendleft(current.restarted())
            return
        if current is not None:
            tl.queue.appendleft(current)
        if tl.last_said:
            tl.queue.appendleft(tl.cursor_for(Speak(tl.last_said)))

    def answer(self, answer: str) -> None:
        """Hand ``"yes"`` or ``"no"`` to the question being asked (or about to be)."""
        tl = self._tl
        cursor = tl.cursor
        if cursor is None:
            return
        if isinstance(cursor.segment, Listen):
            tl.early_answer = answer
            cursor.length = cursor.pos
        elif isinstance(cursor.segment, Speak) and cursor.segment.question:
            tl.early_answer = answer

    def say(self, text: str) -> None:
        """Say ``text`` now (fading out what plays), then carry on."""
        tl = self._tl
        announcement = tl.cursor_for(Speak(text), announcement=True)
        if tl.state is PlayerState.IDLE:
            tl.queue.append(announcement)
            tl.set_state(PlayerState.PLAYING, tl.frames)
            return
        tl.fade_then(lambda at: self._interrupt_with(announcement))

    def _interrupt_with(self, announcement: Cursor) -> None:
        tl = self._tl
        if tl.cursor is not None:
            tl.queue.appendleft(tl.cursor.restarted())
            tl.cursor = None
        tl.queue.appendleft(announcement)
        if tl.state is PlayerState.PAUSED:
            tl.set_state(tl.resume_state, tl.frames)

    def goodnight(self) -> None:
        """Say goodnight and end the routine (reason ``goodnight``)."""
        tl = self._tl
        farewell = tl.cursor_for(Speak("Goodnight."), announcement=True)
        if tl.state is PlayerState.IDLE:
            tl.queue.append(farewell)
            tl.set_state(PlayerState.PLAYING, tl.frames)
            return

        def close(at: int) -> None:
            tl.cursor = None
            tl.queue.clear()
            tl.queue.append(farewell)
            tl.script = None
            tl.end_reason = "goodnight"
            if tl.state is PlayerState.PAUSED:
                tl.set_state(PlayerState.PLAYING, at)

        tl.fade_then(close)
