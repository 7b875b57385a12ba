"""RoutinePlayer: renders a routine onto an audio timeline, controllable from any thread.

The player is pull-based: ``render(frames)`` returns the next block of output audio and
advances the timeline. A real-time driver calls it at the device clock; a file render or
a ``listen --input`` session calls it as fast as it likes. Control calls (stop, pause,
skip, softer, ...) only queue a message; ``render`` applies them at its next block, so
a stop is heard within one block plus a 40 ms fade.
"""

from __future__ import annotations

import logging
import queue
import random
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Callable

import numpy as np

from companion.session.events import (Event, EventHandler, Paused, Resumed, RoutineEnd,
                                      RoutineStart, SayEnd, SayStart, StateChanged)
from companion.recognition.overlap import CompanionVoice, latest_voice
from companion.routines.model import Ambient, Routine
from companion.routines.script import Listen, Script, Segment, SkipStep, Silence, Speak, StepRunner, Tone
from companion.audio.sounds import FADE_SECONDS, NoiseBed, chime, db_to_gain
from companion.speech.synthesis import Synthesizer
from companion.routines.timing import estimate_seconds, stretch_to_minutes
from companion.speech.voices import Voice

log = logging.getLogger(__name__)

VOLUME_STEP_DB = 3.0
"""One "softer" or "louder"."""
MIN_VOLUME_DB = -24.0
"""Softest user volume, relative to the voice's own level under the cap."""
DEFAULT_VOLUME_DB = -6.0
"""Start here, so "louder" has room to go."""
RATE_STEP = 1.15
"""One "faster" multiplies the speaking rate by this; "slower" divides."""
RATE_LIMITS = (0.6, 1.5)
"""Slowest and fastest rate factor."""
SPEECH_HEADROOM = 0.96
"""Speech peaks this far under the cap, leaving room for the ambient bed."""
CHIME_DB = -8.0
"""Chimes sit this far below speech."""
AMBIENT_DB = -32.0
"""Ambient bed level relative to speech."""
AMBIENT_DUCK_DB = -8.0
"""Extra ambient attenuation while speech plays."""
CLOSING_SECONDS = 2.5
"""A quiet tail after the last step, over which the ambient bed fades out."""


class PlayerState(str, Enum):
    """What the player is doing."""

    IDLE = "idle"
    PLAYING = "playing"
    PAUSED = "paused"
    ASKING = "asking"


@dataclass(frozen=True)
class PlayerStatus:
    """A snapshot for status lines and spoken answers."""

    state: PlayerState
    """Current state."""
    routine: str | None
    """Name of the routine playing, if any."""
    saying: str | None
    """Sentence being spoken, if any."""
    seconds_left: float
    """Estimated seconds until the routine ends (0 when idle)."""


@dataclass(frozen=True)
class _Start:
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


@dataclass
class _Cursor:
    """A segment being played: its sound and how far in we are."""

    segment: Segment
    pcm: np.ndarray | None
    length: int
    pos: int = 0
    started: bool = False
    announcement: bool = False

    def restarted(self) -> "_Cursor":
        """The same segment from its start (speech) or from here (silence, listening)."""
        if isinstance(self.segment, (Speak, Tone)):
            return _Cursor(self.segment, self.pcm, self.length, announcement=self.announcement)
        return self


class RoutinePlayer:
    """Plays routines; every control method is safe to call from any thread."""

    # per-routine state, set by _reset_routine
    _routine: Routine | None
    _script: Script | None
    _script_started: bool
    _cursor: _Cursor | None
    _queue: deque[_Cursor]
    _send: str | None
    _early_answer: str | None
    _skip_pending: bool
    _after_fade: Callable[[int], None] | None
    _fade_left: int
    _last_said: str | None
    _routine_frames: int
    _estimate: float
    _ambient: NoiseBed | None
    _ambient_level: float
    _ambient_target: float
    _closing_started: bool
    _end_reason: str
    _resume_state: PlayerState

    def __init__(self, synth: Synthesizer, voice_for: Callable[[str | None], Voice],
                 lookup: Callable[[str], Routine], cap_db: float = -6.0,
                 on_event: EventHandler | None = None, rng: random.Random | None = None) -> None:
        self.sample_rate = synth.sample_rate
        self._synth = synth
        self._voice_for = voice_for
        self._lookup = lookup
        self._cap = db_to_gain(cap_db)
        self._on_event = on_event or (lambda event: None)
        self._rng = rng or random.Random()
        self._controls: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._fade_frames = int(FADE_SECONDS * self.sample_rate)
        self.frames = 0
        self.state = PlayerState.IDLE
        self._voiced_until: dict[CompanionVoice, int] = {}
        """The frame after the last sentence or tone (and question) rendered."""
        self._voice = voice_for(None)
        self._volume_db = DEFAULT_VOLUME_DB
        self._applied_gain = self._speech_gain()
        self._rate = 1.0
        self._reset_routine()

    # ----- control API (any thread) -------------------------------------------------
    def start(self, routine: Routine, minutes: float | None = None,
              voice: str | None = None, acknowledge: bool = False,
              announce: str | None = None) -> None:
        """Start ``routine`` (stopping whatever plays), stretched to ``minutes`` if given.

        With ``acknowledge`` a short soft tone comes first, so a person who asked by voice
        hears at once that they were heard, even if the routine opens with a pause.
        ``announce`` is said before the routine's first step.
        """
        self._controls.put(("start", _Start(routine, minutes, voice, acknowledge, announce)))

    def stop(self) -> None:
        """Fade out within 40 ms and end the routine (reason ``stopped``)."""
        self._controls.put(("stop", None))

    def pause(self) -> None:
        """Fade out and hold; ``resume`` restarts the interrupted sentence."""
        self._controls.put(("pause", None))

    def resume(self) -> None:
        """Continue after ``pause``."""
        self._controls.put(("resume", None))

    def skip(self) -> None:
        """End the current step and go on with the next."""
        self._controls.put(("skip", None))

    def repeat(self) -> None:
        """Say the current (or last) sentence again."""
        self._controls.put(("repeat", None))

    def slower(self) -> None:
        """Speak and breathe more slowly from the next sentence on."""
        self._controls.put(("rate", 1 / RATE_STEP))

    def faster(self) -> None:
        """Speak and breathe a little faster from the next sentence on."""
        self._controls.put(("rate", RATE_STEP))

    def softer(self) -> None:
        """Lower the volume one step."""
        self._controls.put(("volume", -VOLUME_STEP_DB))

    def louder(self) -> None:
        """Raise the volume one step (never above the cap)."""
        self._controls.put(("volume", VOLUME_STEP_DB))

    def answer(self, yes: bool) -> None:
        """Answer the question being asked (ignored when nothing is asked)."""
        self._controls.put(("answer", "yes" if yes else "no"))

    def say(self, text: str) -> None:
        """Speak ``text`` now, then carry on with the routine (restarting its sentence)."""
        self._controls.put(("say", text))

    def goodnight(self) -> None:
        """Say goodnight, fade out and end (reason ``goodnight``)."""
        self._controls.put(("goodnight", None))

    def status(self) -> PlayerStatus:
        """What is happening now (a snapshot)."""
        cursor = self._cursor
        saying = cursor.segment.text if cursor and isinstance(cursor.segment, Speak) else None
        left = 0.0
        if self._routine is not None:
            left = max(0.0, self._estimate - self._routine_frames / self.sample_rate)
        return PlayerStatus(self.state, self._routine.name if self._routine else None, saying,
                            left)

    def voicing(self, within_s: float) -> CompanionVoice:
        """What it rendered in its last ``within_s`` of output: a question, else any
        sentence or tone, else nothing (the ambient bed does not count)."""
        return latest_voice(self._voiced_until, self.frames - within_s * self.sample_rate)

    @property
    def busy(self) -> bool:
        """True while anything is playing, paused or queued."""
        return self.state is not PlayerState.IDLE or not self._controls.empty()

    # ----- Pacing protocol (used by the script) ----------------------------------------
    def elapsed(self) -> float:
        """Seconds of the current routine played so far."""
        return self._routine_frames / self.sample_rate

    def breath_scale(self) -> float:
        """Breathing phases stretch when the user asks for slower."""
        return 1.0 / self._rate

    def prefetch(self, text: str) -> None:
        """Synthesise ``text`` in the background (it will be said soon)."""
        self._synth.prefetch(text, self._voice, self._rate)

    # ----- rendering ----------------------------------------------------------------
    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples of output (float32, never above the cap)."""
        self._drain_controls()
        out = np.zeros(frames, dtype=np.float32)
        pos = 0
        while pos < frames:
            n = frames - pos
            if self._after_fade is not None:
                n = min(n, self._fade_left)
            out[pos:pos + n] = self._content(n, self.frames + pos)
            if self._after_fade is not None:
                start = self._fade_frames - self._fade_left
                ramp = 1.0 - (np.arange(start, start + n) + 1) / self._fade_frames
                out[pos:pos + n] *= np.clip(ramp, 0.0, 1.0)
                self._fade_left -= n
                if self._fade_left <= 0:
                    action, self._after_fade = self._after_fade, None
                    action(self.frames + pos + n)
            pos += n
        self.frames += frames
        np.clip(out, -self._cap, self._cap, out=out)
        return out

    def _content(self, n: int, at: int) -> np.ndarray:
        """Speech, tones and the ambient bed for ``n`` frames starting at frame ``at``."""
        buf = np.zeros(n, dtype=np.float32)
        speaking = np.zeros(n, dtype=bool)
        if self.state in (PlayerState.PLAYING, PlayerState.ASKING):
            gain = self._gain_ramp(n)
            i = 0
            while i < n:
                cursor = self._cursor or (None if self._after_fade else self._advance(at + i))
                if cursor is None:
                    break
                i += self._play(cursor, buf, speaking, i, n - i, at)
            buf *= gain
            if self._routine is not None:
                self._routine_frames += n
        if self._ambient is not None and self.state is not PlayerState.PAUSED:
            buf += self._ambient_block(n, speaking)
        return buf

    def _play(self, cursor: _Cursor, buf: np.ndarray, speaking: np.ndarray, i: int, room: int,
              at: int) -> int:
        """Copy up to ``room`` frames of ``cursor`` into ``buf[i:]``; returns frames used."""
        seg = cursor.segment
        if not cursor.started:
            cursor.started = True
            if isinstance(seg, Speak):
                self._emit(SayStart(self._seconds(at + i), seg.text))
            elif isinstance(seg, Listen):
                self._set_state(PlayerState.ASKING, at + i)
                if self._early_answer is not None:
                    cursor.length = cursor.pos
        take = max(0, min(room, cursor.length - cursor.pos))
        if cursor.pcm is not None and cursor.pos < len(cursor.pcm):
            piece = cursor.pcm[cursor.pos:cursor.pos + take]
            buf[i:i + len(piece)] = piece
            speaking[i:i + len(piece)] = isinstance(seg, Speak)
            asking = isinstance(seg, Speak) and seg.question
            self._voiced_until[CompanionVoice.ASKING if asking else CompanionVoice.TALKING] = \
                at + i + len(piece)
            if isinstance(seg, Speak) and cursor.pos + len(piece) >= len(cursor.pcm):
                self._emit(SayEnd(self._seconds(at + i + len(piece)), seg.text))
        cursor.pos += take
        if cursor.pos >= cursor.length:
            self._finish(cursor, at + i + take)
        return take

    def _finish(self, cursor: _Cursor, at: int) -> None:
        """A segment ended: remember speech for "repeat", hand answers to the script."""
        self._cursor = None
        seg = cursor.segment
        if isinstance(seg, Speak) and not cursor.announcement:
            self._last_said = seg.text
        if isinstance(seg, Listen):
            self._send, self._early_answer = self._early_answer, None
            self._set_state(PlayerState.PLAYING, at)

    def _advance(self, at: int) -> _Cursor | None:
        """Make the next segment current: queued ones first, then the script."""
        if self._queue:
            self._cursor = self._queue.popleft()
            return self._cursor
        segment = self._next_from_script()
        if segment is None:
            self._closing(at)
            return self._cursor
        self._cursor = self._cursor_for(segment)
        return self._cursor

    def _next_from_script(self) -> Segment | None:
        if self._script is None:
            return None
        try:
            if self._skip_pending:
                self._skip_pending = False
                return self._script.throw(SkipStep())
            send, self._send = self._send, None
            return self._script.send(send) if self._script_started else self._first_segment()
        except StopIteration:
            self._script = None
            return None

    def _first_segment(self) -> Segment:
        assert self._script is not None
        self._script_started = True
        return next(self._script)

    def _cursor_for(self, segment: Segment, announcement: bool = False) -> _Cursor:
        """Synthesise or generate the sound of ``segment``."""
        rate = self.sample_rate
        pcm: np.ndarray | None = None
        seconds = 0.0
        if isinstance(segment, Speak):
            pcm = self._synth.synthesize(segment.text, self._voice, self._rate) * SPEECH_HEADROOM
            seconds = segment.min_seconds
        elif isinstance(segment, Tone):
            pcm = chime(segment.kind, rate) * db_to_gain(CHIME_DB)
            seconds = segment.min_seconds
        elif isinstance(segment, (Silence, Listen)):
            seconds = segment.seconds if isinstance(segment, Silence) else segment.timeout
        length = max(len(pcm) if pcm is not None else 0, int(round(seconds * rate)))
        return _Cursor(segment, pcm, length, announcement=announcement)

    def _closing(self, at: int) -> None:
        """After the last step (or a goodnight): fade the ambient bed, then end."""
        if self._routine is None:
            self._set_state(PlayerState.IDLE, at)
            return
        if self._closing_started:
            self._end_routine(self._end_reason, at)
            return
        self._closing_started = True
        self._ambient_target = 0.0
        self._cursor = self._cursor_for(Silence(CLOSING_SECONDS))

    # ----- controls -----------------------------------------------------------------
    def _drain_controls(self) -> None:
        while True:
            try:
                name, arg = self._controls.get_nowait()
            except queue.Empty:
                return
            getattr(self, f"_on_{name}")(arg)

    def _fade_then(self, action: Callable[[int], None]) -> None:
        """Fade everything out over 40 ms, then run ``action`` (at that frame)."""
        if self._after_fade is None:
            self._fade_left = self._fade_frames
        self._after_fade = action

    def _on_start(self, arg: object) -> None:
        if self.state is not PlayerState.IDLE:
            self._fade_then(lambda at: self._begin(arg, at))
        else:
            self._begin(arg, self.frames)

    def _begin(self, request: object, at: int) -> None:
        assert isinstance(request, _Start)
        routine, minutes, voice = request.routine, request.minutes, request.voice
        if self._routine is not None:
            self._end_routine("stopped", at)
        self._reset_routine()
        self._voice = self._voice_for(voice or routine.voice)
        if minutes:
            routine = stretch_to_minutes(routine, minutes, self._lookup, self._say_seconds)
        self._routine = routine
        self._estimate = estimate_seconds(routine.steps, self._lookup, self._say_seconds)
        self._script = StepRunner(self._lookup, self, self._rng).run(routine.steps)
        if routine.ambient is not Ambient.NONE:
            self._ambient = NoiseBed(routine.ambient.value, self.sample_rate)
            self._ambient_level = 0.0
            self._ambient_target = 1.0
        if request.acknowledge:
            self._queue.append(self._cursor_for(Tone("ack"), announcement=True))
        if request.announce:
            self._queue.append(self._cursor_for(Speak(request.announce), announcement=True))
        self._emit(RoutineStart(self._seconds(at), routine.name))
        self._set_state(PlayerState.PLAYING, at)

    def _on_stop(self, _: object) -> None:
        if self.state is PlayerState.IDLE and self._after_fade is None:
            return
        self._fade_then(lambda at: self._end_routine("stopped", at))

    def _on_pause(self, _: object) -> None:
        if self.state in (PlayerState.PLAYING, PlayerState.ASKING):
            self._fade_then(self._paused)

    def _paused(self, at: int) -> None:
        if self._cursor is not None:
            self._cursor = self._cursor.restarted()
        self._resume_state = self.state
        self._set_state(PlayerState.PAUSED, at)
        self._emit(Paused(self._seconds(at)))

    def _on_resume(self, _: object) -> None:
        if self.state is PlayerState.PAUSED:
            self._set_state(self._resume_state, self.frames)
            self._emit(Resumed(self._seconds(self.frames)))

    def _on_skip(self, _: object) -> None:
        if self._script is not None and self.state is not PlayerState.IDLE:
            self._fade_then(self._skipped)

    def _skipped(self, at: int) -> None:
        if self._cursor is not None and isinstance(self._cursor.segment, Listen):
            self._set_state(PlayerState.PLAYING, at)
        self._cursor = None
        self._queue.clear()
        self._skip_pending = True

    def _on_repeat(self, _: object) -> None:
        if self.state in (PlayerState.PLAYING, PlayerState.ASKING) and self._last_said:
            self._fade_then(self._repeated)

    def _repeated(self, at: int) -> None:
        current = self._cursor
        self._cursor = None
        if current is not None and isinstance(current.segment, Speak):
            self._queue.appendleft(current.restarted())
            return
        if current is not None:
            self._queue.appendleft(current)
        if self._last_said:
            self._queue.appendleft(self._cursor_for(Speak(self._last_said)))

    def _on_rate(self, factor: object) -> None:
        low, high = RATE_LIMITS
        self._rate = min(high, max(low, self._rate * float(factor)))  # type: ignore[arg-type]

    def _on_volume(self, step: object) -> None:
        self._volume_db = min(0.0, max(MIN_VOLUME_DB, self._volume_db + float(step)))  # type: ignore[arg-type]

    def _on_answer(self, answer: object) -> None:
        cursor = self._cursor
        if cursor is None:
            return
        if isinstance(cursor.segment, Listen):
            self._early_answer = str(answer)
            cursor.length = cursor.pos
        elif isinstance(cursor.segment, Speak) and cursor.segment.question:
            self._early_answer = str(answer)

    def _on_say(self, text: object) -> None:
        announcement = self._cursor_for(Speak(str(text)), announcement=True)
        if self.state is PlayerState.IDLE:
            self._queue.append(announcement)
            self._set_state(PlayerState.PLAYING, self.frames)
            return
        self._fade_then(lambda at: self._interrupt_with(announcement))

    def _interrupt_with(self, announcement: _Cursor) -> None:
        if self._cursor is not None:
            self._queue.appendleft(self._cursor.restarted())
            self._cursor = None
        self._queue.appendleft(announcement)
        if self.state is PlayerState.PAUSED:
            self._set_state(self._resume_state, self.frames)

    def _on_goodnight(self, _: object) -> None:
        farewell = self._cursor_for(Speak("Goodnight."), announcement=True)
        if self.state is PlayerState.IDLE:
            self._queue.append(farewell)
            self._set_state(PlayerState.PLAYING, self.frames)
            return

        def close(at: int) -> None:
            self._cursor = None
            self._queue.clear()
            self._queue.append(farewell)
            self._script = None
            self._end_reason = "goodnight"
            if self.state is PlayerState.PAUSED:
                self._set_state(PlayerState.PLAYING, at)

        self._fade_then(close)

    # ----- helpers ------------------------------------------------------------------
    def _reset_routine(self) -> None:
        """Forget the routine: what plays, what is queued, fades, the ambient bed."""
        self._routine = None
        self._script = None
        self._script_started = False
        self._cursor = None
        self._queue = deque()
        self._send = None
        self._early_answer = None
        self._skip_pending = False
        self._after_fade = None
        self._fade_left = 0
        self._last_said = None
        self._routine_frames = 0
        self._estimate = 0.0
        self._ambient = None
        self._ambient_level = 0.0
        self._ambient_target = 0.0
        self._closing_started = False
        self._end_reason = "done"
        self._resume_state = PlayerState.PLAYING

    def _end_routine(self, reason: str, at: int) -> None:
        routine = self._routine
        self._reset_routine()
        if routine is not None:
            self._emit(RoutineEnd(self._seconds(at), routine.name, reason))
        self._set_state(PlayerState.IDLE, at)

    def _set_state(self, state: PlayerState, at: int) -> None:
        if state is not self.state:
            self.state = state
            self._emit(StateChanged(self._seconds(at), state.value))

    def _emit(self, event: Event) -> None:
        self._on_event(event)

    def _seconds(self, frame: int) -> float:
        """Timeline seconds at output frame ``frame``."""
        return frame / self.sample_rate

    def _speech_gain(self) -> float:
        return self._cap * self._voice.volume * db_to_gain(self._volume_db)

    def _gain_ramp(self, n: int) -> np.ndarray:
        """Speech gain for the next ``n`` frames, gliding to a new volume (no clicks)."""
        target = self._speech_gain()
        ramp = np.linspace(self._applied_gain, target, n, dtype=np.float32)
        self._applied_gain = target
        return ramp

    def _ambient_block(self, n: int, speaking: np.ndarray) -> np.ndarray:
        """The noise bed, slewing towards its target level and ducked under speech."""
        assert self._ambient is not None
        max_step = n / (0.5 * self.sample_rate)
        change = max(-max_step, min(max_step, self._ambient_target - self._ambient_level))
        level = np.linspace(self._ambient_level, self._ambient_level + change, n)
        self._ambient_level += change
        duck = np.where(speaking, db_to_gain(AMBIENT_DUCK_DB), 1.0)
        gain = self._speech_gain() * db_to_gain(AMBIENT_DB)
        return (self._ambient.render(n) * level * duck * gain).astype(np.float32)

    def _say_seconds(self, text: str) -> float:
        """A quick estimate of how long ``text`` takes to say (for planning only)."""
        words = max(1, len(text.split()))
        return words * 60.0 / (self._voice.rate * self._rate) + 0.4
