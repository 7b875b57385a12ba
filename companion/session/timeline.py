"""The timeline the player renders: segments of a routine's script turned into audio blocks.

It holds what plays now and next (the cursor and the queue), the fade that ends a control
action, the ambient bed, and the player's state; it emits say/state/routine_end events.
Only the render thread touches it (control actions run there, between blocks).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from companion.audio.sounds import FADE_SECONDS, NoiseBed, chime, db_to_gain
from companion.recognition.overlap import CompanionVoice
from companion.routines.model import Routine
from companion.routines.script import Listen, Script, Segment, Silence, SkipStep, Speak, Tone
from companion.routines.timing import CLOSING_SECONDS
from companion.session.events import Event, EventHandler, RoutineEnd, SayEnd, SayStart, StateChanged
from companion.session.live_controls import LiveControls
from companion.session.player_state import PlayerState
from companion.speech.synthesis import Synthesizer

SPEECH_HEADROOM = 0.96
"""Speech peaks this far under the cap, leaving room for the ambient bed."""
CHIME_DB = -14.0
"""Chime peaks, re full scale before volume: about -26 LUFS, some 6 LU under speech (which
the synthesizer brings to the voice's loudness, -20 LUFS by default)."""
AMBIENT_DB = -32.0
"""Ambient bed level relative to speech."""
AMBIENT_DUCK_DB = -8.0
"""Extra ambient attenuation while speech plays."""


@dataclass
class Cursor:
    """A segment being played: its sound and how far in we are."""

    segment: Segment
    """What plays."""
    pcm: np.ndarray | None
    """Its sound (speech, tone), or None (silence, listening)."""
    length: int
    """Frames it lasts (at least the sound)."""
    pos: int = 0
    """Frames played so far."""
    started: bool = False
    """Whether its first frame was rendered."""
    announcement: bool = False
    """Said by the player itself (not part of the routine; "repeat" skips it)."""

    def restarted(self) -> Cursor:
        """The same segment from its start (speech) or from here (silence, listening)."""
        if isinstance(self.segment, (Speak, Tone)):
            return Cursor(self.segment, self.pcm, self.length, announcement=self.announcement)
        return self


class Timeline:
    """Renders segments into audio, one block at a time, with fades and the ambient bed."""

    # per-routine state, set by reset_routine
    routine: Routine | None
    script: Script | None
    script_started: bool
    cursor: Cursor | None
    queue: deque[Cursor]
    """Segments played before the script goes on (a command's ack and announcement, a
    sentence to say again). Bound: one or two per command, each played within seconds;
    commands come at speaking pace, and stop or a new routine clears it."""
    send: str | None
    early_answer: str | None
    skip_pending: bool
    after_fade: Callable[[int], None] | None
    fade_left: int
    last_said: str | None
    routine_frames: int
    estimate: float
    ambient: NoiseBed | None
    ambient_level: float
    ambient_target: float
    closing_started: bool
    end_reason: str
    resume_state: PlayerState

    def __init__(self, synth: Synthesizer, controls: LiveControls,
                 on_event: EventHandler) -> None:
        self.sample_rate = synth.sample_rate
        self._synth = synth
        self._controls = controls
        self._on_event = on_event
        self.fade_frames = int(FADE_SECONDS * self.sample_rate)
        self.frames = 0
        """Frames rendered so far (the timeline's clock)."""
        self.state = PlayerState.IDLE
        self.voiced_until: dict[CompanionVoice, int] = {}
        """The frame after the last sentence or tone (and question) rendered."""
        self.reset_routine()

    # ----- Pacing protocol (used by the script) ----------------------------------------
    def elapsed(self) -> float:
        """Seconds of the current routine played so far."""
        return self.routine_frames / self.sample_rate

    def breath_scale(self) -> float:
        """Breathing phases stretch when the user asks for slower."""
        return self._controls.breath_scale()

    def prefetch(self, text: str) -> None:
        """Synthesise ``text`` in the background (it will be said soon)."""
        self._synth.prefetch(text, self._controls.voice, self._controls.rate)

    # ----- rendering ----------------------------------------------------------------
    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples of output (float32, never above the cap)."""
        out = np.zeros(frames, dtype=np.float32)
        pos = 0
        while pos < frames:
            n = frames - pos
            if self.after_fade is not None:
                n = min(n, self.fade_left)
            out[pos:pos + n] = self._content(n, self.frames + pos)
            if self.after_fade is not None:
                start = self.fade_frames - self.fade_left
                ramp = 1.0 - (np.arange(start, start + n) + 1) / self.fade_frames
                out[pos:pos + n] *= np.clip(ramp, 0.0, 1.0)
                self.fade_left -= n
                if self.fade_left <= 0:
                    action, self.after_fade = self.after_fade, None
                    action(self.frames + pos + n)
            pos += n
        self.frames += frames
        cap = self._controls.cap
        np.clip(out, -cap, cap, out=out)
        return out

    def fade_then(self, action: Callable[[int], None]) -> None:
        """Fade everything out over 40 ms, then run ``action`` (at that frame)."""
        if self.after_fade is None:
            self.fade_left = self.fade_frames
        self.after_fade = action

    def _content(self, n: int, at: int) -> np.ndarray:
        """Speech, tones and the ambient bed for ``n`` frames starting at frame ``at``."""
        buf = np.zeros(n, dtype=np.float32)
        speaking = np.zeros(n, dtype=bool)
        if self.state in (PlayerState.PLAYING, PlayerState.ASKING):
            gain = self._controls.gain_ramp(n)
            i = 0
            while i < n:
                cursor = self.cursor or (None if self.after_fade else self._advance(at + i))
                if cursor is None:
                    break
                i += self._play(cursor, buf, speaking, i, n - i, at)
            buf *= gain
            if self.routine is not None:
                self.routine_frames += n
        if self.ambient is not None and self.state is not PlayerState.PAUSED:
            buf += self._ambient_block(n, speaking)
        return buf

    def _play(self, cursor: Cursor, buf: np.ndarray, speaking: np.ndarray, i: int, room: int,
              at: int) -> int:
        """Copy up to ``room`` frames of ``cursor`` into ``buf[i:]``; returns frames used."""
        seg = cursor.segment
        if not cursor.started:
            cursor.started = True
            if isinstance(seg, Speak):
                self.emit(SayStart(self.seconds(at + i), seg.text))
            elif isinstance(seg, Listen):
                self.set_state(PlayerState.ASKING, at + i)
                if self.early_answer is not None:
                    cursor.length = cursor.pos
        take = max(0, min(room, cursor.length - cursor.pos))
        if cursor.pcm is not None and cursor.pos < len(cursor.pcm):
            piece = cursor.pcm[cursor.pos:cursor.pos + take]
            buf[i:i + len(piece)] = piece
            speaking[i:i + len(piece)] = isinstance(seg, Speak)
            asking = isinstance(seg, Speak) and seg.question
            self.voiced_until[CompanionVoice.ASKING if asking else CompanionVoice.TALKING] = \
                at + i + len(piece)
            if isinstance(seg, Speak) and cursor.pos + len(piece) >= len(cursor.pcm):
                self.emit(SayEnd(self.seconds(at + i + len(piece)), seg.text))
        cursor.pos += take
        if cursor.pos >= cursor.length:
            self._finish(cursor, at + i + take)
        return take

    def _finish(self, cursor: Cursor, at: int) -> None:
        """A segment ended: remember speech for "repeat", hand answers to the script."""
        self.cursor = None
        seg = cursor.segment
        if isinstance(seg, Speak) and not cursor.announcement:
            self.last_said = seg.text
        if isinstance(seg, Listen):
            self.send, self.early_answer = self.early_answer, None
            self.set_state(PlayerState.PLAYING, at)

    def _advance(self, at: int) -> Cursor | None:
        """Make the next segment current: queued ones first, then the script."""
        if self.queue:
            self.cursor = self.queue.popleft()
            return self.cursor
        segment = self._next_from_script()
        if segment is None:
            self._closing(at)
            return self.cursor
        self.cursor = self.cursor_for(segment)
        return self.cursor

    def _next_from_script(self) -> Segment | None:
        if self.script is None:
            return None
        try:
            if self.skip_pending:
                self.skip_pending = False
                return self.script.throw(SkipStep())
            send, self.send = self.send, None
            return self.script.send(send) if self.script_started else self._first_segment()
        except StopIteration:
            self.script = None
            return None

    def _first_segment(self) -> Segment:
        assert self.script is not None
        self.script_started = True
        return next(self.script)

    def cursor_for(self, segment: Segment, announcement: bool = False) -> Cursor:
        """Synthesise or generate the sound of ``segment``."""
        rate = self.sample_rate
        pcm: np.ndarray | None = None
        seconds = 0.0
        if isinstance(segment, Speak):
            pcm = self._synth.synthesize(segment.text, self._controls.voice,
                                         self._controls.rate) * SPEECH_HEADROOM
            seconds = segment.min_seconds
        elif isinstance(segment, Tone):
            pcm = chime(segment.kind, rate) * db_to_gain(CHIME_DB)
            seconds = segment.min_seconds
        elif isinstance(segment, (Silence, Listen)):
            seconds = segment.seconds if isinstance(segment, Silence) else segment.timeout
        length = max(len(pcm) if pcm is not None else 0, int(round(seconds * rate)))
        return Cursor(segment, pcm, length, announcement=announcement)

    def _closing(self, at: int) -> None:
        """After the last step (or a goodnight): fade the ambient bed, then end."""
        if self.routine is None:
            self.set_state(PlayerState.IDLE, at)
            return
        if self.closing_started:
            self.end_routine(self.end_reason, at)
            return
        self.closing_started = True
        self.ambient_target = 0.0
        self.cursor = self.cursor_for(Silence(CLOSING_SECONDS))

    def _ambient_block(self, n: int, speaking: np.ndarray) -> np.ndarray:
        """The noise bed, slewing towards its target level and ducked under speech."""
        assert self.ambient is not None
        max_step = n / (0.5 * self.sample_rate)
        change = max(-max_step, min(max_step, self.ambient_target - self.ambient_level))
        level = np.linspace(self.ambient_level, self.ambient_level + change, n)
        self.ambient_level += change
        duck = np.where(speaking, db_to_gain(AMBIENT_DUCK_DB), 1.0)
        gain = self._controls.speech_gain() * db_to_gain(AMBIENT_DB)
        return (self.ambient.render(n) * level * duck * gain).astype(np.float32)

    # ----- routine and state ----------------------------------------------------------
    def reset_routine(self) -> None:
        """Forget the routine: what plays, what is queued, fades, the ambient bed."""
        self.routine = None
        self.script = None
        self.script_started = False
        self.cursor = None
        self.queue = deque()
        self.send = None
        self.early_answer = None
        self.skip_pending = False
        self.after_fade = None
        self.fade_left = 0
        self.last_said = None
        self.routine_frames = 0
        self.estimate = 0.0
        self.ambient = None
        self.ambient_level = 0.0
        self.ambient_target = 0.0
        self.closing_started = False
        self.end_reason = "done"
        self.resume_state = PlayerState.PLAYING

    def end_routine(self, reason: str, at: int) -> None:
        """End the routine at frame ``at`` (emits ``routine_end``) and go idle."""
        routine = self.routine
        self.reset_routine()
        if routine is not None:
            self.emit(RoutineEnd(self.seconds(at), routine.name, reason))
        self.set_state(PlayerState.IDLE, at)

    def set_state(self, state: PlayerState, at: int) -> None:
        """Change state at frame ``at`` (emits ``state`` if it changed)."""
        if state is not self.state:
            self.state = state
            self.emit(StateChanged(self.seconds(at), state.value))

    def emit(self, event: Event) -> None:
        """Hand ``event`` to the event handler."""
        self._on_event(event)

    def seconds(self, frame: int) -> float:
        """Timeline seconds at output frame ``frame``."""
        return frame / self.sample_rate
