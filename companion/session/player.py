"""RoutinePlayer: renders a routine onto an audio timeline, controllable from any thread.

The player is pull-based: ``render(frames)`` returns the next block of output audio and
advances the timeline. A real-time driver calls it at the device clock; a file render or
a ``listen --input`` session calls it as fast as it likes. Control calls (stop, pause,
skip, softer, ...) only queue a message; ``render`` applies them at its next block, so
a stop is heard within one block plus a 40 ms fade.

The work is split by concern: :mod:`~companion.session.timeline` renders segments into
audio, :mod:`~companion.session.transport` carries out start/stop/pause/skip/..., and
:mod:`~companion.session.live_controls` holds volume and pace. This module composes them.
"""

from __future__ import annotations

import logging
import queue
import random
from collections.abc import Callable
from functools import partial

import numpy as np

from companion.audio.sounds import db_to_gain
from companion.recognition.overlap import CompanionVoice, latest_voice
from companion.routines.model import Routine
from companion.routines.script import Speak
from companion.session.events import EventHandler
from companion.session.live_controls import (
    DEFAULT_VOLUME_DB,
    MIN_VOLUME_DB,
    RATE_LIMITS,
    RATE_STEP,
    VOLUME_STEP_DB,
    LiveControls,
)
from companion.session.player_state import PlayerState, PlayerStatus
from companion.session.timeline import (
    AMBIENT_DB,
    AMBIENT_DUCK_DB,
    CHIME_DB,
    CLOSING_SECONDS,
    SPEECH_HEADROOM,
    Timeline,
)
from companion.session.transport import StartRequest, Transport
from companion.speech.synthesis import Synthesizer
from companion.speech.voices import Voice

__all__ = ["AMBIENT_DB", "AMBIENT_DUCK_DB", "CHIME_DB", "CLOSING_SECONDS", "DEFAULT_VOLUME_DB",
           "MIN_VOLUME_DB", "RATE_LIMITS", "RATE_STEP", "SPEECH_HEADROOM", "VOLUME_STEP_DB",
           "PlayerState", "PlayerStatus", "RoutinePlayer"]

log = logging.getLogger(__name__)


class RoutinePlayer:
    """Plays routines; every control method is safe to call from any thread."""

    def __init__(self, synth: Synthesizer, voice_for: Callable[[str | None], Voice],
                 lookup: Callable[[str], Routine], cap_db: float = -6.0,
                 on_event: EventHandler | None = None, rng: random.Random | None = None) -> None:
        self.sample_rate = synth.sample_rate
        self._controls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        """Actions queued by control calls, run by ``render`` before its next block. Bound:
        the calls made between two rendered blocks (~10 ms apart, up to 2 s while a failing
        output is retried) and commands come at speaking pace, so a few at most."""
        self._live = LiveControls(db_to_gain(cap_db), voice_for(None))
        self._timeline = Timeline(synth, self._live, on_event or (lambda event: None))
        self._status = PlayerStatus(PlayerState.IDLE, None, None, 0.0)
        """What ``status`` hands out: replaced whole after each rendered block."""
        """Taken by ``render`` on its thread; read by ``status`` on any other."""
        self._transport = Transport(self._timeline, self._live, voice_for, lookup,
                                    rng or random.Random())

    # ----- control API (any thread) -------------------------------------------------
    def start(self, routine: Routine, minutes: float | None = None,
              voice: str | None = None, acknowledge: bool = False,
              announce: str | None = None) -> None:
        """Start ``routine`` (stopping whatever plays), stretched to ``minutes`` if given.

        With ``acknowledge`` a short soft tone comes first, so a person who asked by voice
        hears at once that they were heard, even if the routine opens with a pause.
        ``announce`` is said before the routine's first step.
        """
        self._controls.put(partial(self._transport.start,
                                   StartRequest(routine, minutes, voice, acknowledge, announce)))

    def stop(self) -> None:
        """Fade out within 40 ms and end the routine (reason ``stopped``)."""
        self._controls.put(self._transport.stop)

    def pause(self) -> None:
        """Fade out and hold; ``resume`` restarts the interrupted sentence."""
        self._controls.put(self._transport.pause)

    def resume(self) -> None:
        """Continue after ``pause``."""
        self._controls.put(self._transport.resume)

    def skip(self) -> None:
        """End the current step and go on with the next."""
        self._controls.put(self._transport.skip)

    def repeat(self) -> None:
        """Say the current (or last) sentence again."""
        self._controls.put(self._transport.repeat)

    def slower(self) -> None:
        """Speak and breathe more slowly from the next sentence on."""
        self._controls.put(partial(self._live.change_rate, 1 / RATE_STEP))

    def faster(self) -> None:
        """Speak and breathe a little faster from the next sentence on."""
        self._controls.put(partial(self._live.change_rate, RATE_STEP))

    def softer(self) -> None:
        """Lower the volume one step."""
        self._controls.put(partial(self._live.change_volume, -VOLUME_STEP_DB))

    def louder(self) -> None:
        """Raise the volume one step (never above the cap)."""
        self._controls.put(partial(self._live.change_volume, VOLUME_STEP_DB))

    def answer(self, yes: bool) -> None:
        """Answer the question being asked (ignored when nothing is asked)."""
        self._controls.put(partial(self._transport.answer, "yes" if yes else "no"))

    def say(self, text: str) -> None:
        """Speak ``text`` now, then carry on with the routine (restarting its sentence)."""
        self._controls.put(partial(self._transport.say, text))

    def goodnight(self) -> None:
        """Say goodnight, fade out and end (reason ``goodnight``)."""
        self._controls.put(self._transport.goodnight)

    def status(self) -> PlayerStatus:
        """What is happening now: the snapshot taken after the last rendered block (at most
        one block old), so a thread reading it never sees one routine's name with another's
        time left while the output thread renders. Before the first block it is idle: read
        live then, it caught a starting routine half set up (idle, with its name)."""
        return self._status

    def _snapshot(self) -> PlayerStatus:
        tl = self._timeline
        cursor, routine = tl.cursor, tl.routine
        saying = cursor.segment.text if cursor and isinstance(cursor.segment, Speak) else None
        left = 0.0
        if routine is not None:
            left = max(0.0, tl.estimate - tl.routine_frames / self.sample_rate)
        return PlayerStatus(tl.state, routine.name if routine else None, saying, left)

    def voicing(self, within_s: float) -> CompanionVoice:
        """What it rendered in its last ``within_s`` of output: a question, else any
        sentence or tone, else nothing (the ambient bed does not count)."""
        tl = self._timeline
        return latest_voice(tl.voiced_until, tl.frames - within_s * self.sample_rate)

    @property
    def state(self) -> PlayerState:
        """What the player is doing now."""
        return self._timeline.state

    @property
    def frames(self) -> int:
        """Output frames rendered so far."""
        return self._timeline.frames

    @property
    def busy(self) -> bool:
        """True while anything is playing, paused or queued."""
        return self.state is not PlayerState.IDLE or not self._controls.empty()

    # ----- Pacing protocol (used by the script) ----------------------------------------
    def elapsed(self) -> float:
        """Seconds of the current routine played so far."""
        return self._timeline.elapsed()

    def breath_scale(self) -> float:
        """Breathing phases stretch when the user asks for slower."""
        return self._timeline.breath_scale()

    def prefetch(self, text: str) -> None:
        """Synthesise ``text`` in the background (it will be said soon)."""
        self._timeline.prefetch(text)

    # ----- rendering ----------------------------------------------------------------
    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples of output (float32, never above the cap)."""
        self._drain_controls()
        block = self._timeline.render(frames)
        self._status = self._snapshot()
        return block

    def _drain_controls(self) -> None:
        while True:
            try:
                action = self._controls.get_nowait()
            except queue.Empty:
                return
            action()
