"""The streaming loop shared by both engines: endpointing and early decisions.

Both engines sit behind the same endpointer (:class:`EnergyEndpointer`), which decides
the end of an utterance much earlier than the engines' own endpointing: after a short
silence once the partial hypothesis already is a complete command (shorter still for
stop), or after a longer silence otherwise. Only commands come out; everything else
(chatter, reading aloud, noise) is rejected and logged at DEBUG only.

While the companion talks or asks, an utterance is matched only against the commands
listened for then (:mod:`companion.recognition.overlap`).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

import numpy as np

from companion.recognition.commands import Command, CommandSet, Intent
from companion.recognition.endpointing import (
    EndpointerSettings,
    EnergyEndpointer,
    SampleClock,
    frame_db,
)
from companion.recognition.frontend import DEFAULT_FRONTEND, FrontEnd, FrontendSettings
from companion.recognition.input_check import InputCheck, InputProblem
from companion.recognition.overlap import CompanionVoice, latest_voice
from companion.recognition.stop_spotter import StopSpotter
from companion.recognition.stop_watch import StopWatch
from companion.recognition.talk_rescan import TalkRescan, narrowed, steady
from companion.recognition.utterance import FRAME, FRAME_S, SAMPLE_RATE, Utterance
from companion.recognition.utterance_levels import UtteranceLevels, loud_level
from companion.recognition.vad import FULL_SCALE_DB, SileroGate, room_quiet_dbfs

_LOGGER = logging.getLogger(__name__)

class DecodingEngine(Protocol):
    """What the streaming front end needs from a decoder pair."""

    def begin(self) -> None: ...
    def feed(self, pcm: bytes) -> None: ...
    def partial(self) -> str: ...
    def use_grammar(self, voice: CompanionVoice) -> None: ...
    def settled(self, trailing_frames: int) -> str: ...
    def finish(self, speech_frames: int, trailing_frames: int,
               lead_frames: int) -> tuple[str, float] | None: ...
    # ``trailing_frames``: how many of the last fed 20 ms frames are the silence after
    # the speech; ``lead_frames``: how many of the first fed frames to leave out;
    # ``use_grammar``: which commands ``settled`` and ``finish`` match the utterance
    # against (those listened for while the companion voices that).


class StreamingRecognizer:
    """Endpointing and early decisions, shared by both engines."""

    sample_rate = SAMPLE_RATE

    def __init__(self, commands: CommandSet, engine: DecodingEngine,
                 settings: EndpointerSettings = EndpointerSettings(),
                 frontend: FrontendSettings | None = None,
                 spotter: StopSpotter | None = None) -> None:
        self.commands = commands
        self._spotter = spotter
        """Listens for stop and the safewords in every utterance the engine did not take
        as a stop (:mod:`companion.recognition.stop_spotter`)."""
        self._watch = (StopWatch(spotter) if spotter is not None and spotter.settings.rolling
                       else None)
        """...and on the rolling audio at each pause (:mod:`~.stop_watch`)."""
        self.settings = settings
        self.frontend = frontend if frontend is not None else DEFAULT_FRONTEND
        self._engine = engine
        self._stop_frames = max(1, round(settings.stop_hangover / FRAME_S))
        """Silent frames after which the running hypothesis is checked for a stop."""
        self._settle_frames = max(self._stop_frames + 1,
                                  round(settings.command_hangover / FRAME_S))
        """Silent frames after which the utterance so far is decoded whole and checked."""
        self._gate: SileroGate | None = None
        self._input_level = logging.WARNING
        self.reset()

    def reset(self) -> None:
        """Forget everything, including the clock."""
        self._clock = SampleClock()
        self._pending = b""
        self._vad = EnergyEndpointer(self.settings)
        self._input = InputCheck(self._input_level)
        if self._watch is not None:
            self._watch.reset()
        if self.settings.vad == "silero":
            if self._gate is None:
                self._gate = SileroGate()
            self._gate.reset()
        self._front = FrontEnd(self.frontend, self.settings)
        self._preroll: deque[tuple[bytes, float]] = deque(
            maxlen=max(1, round(self.settings.preroll / FRAME_S)) + self.VAD_LAG_FRAMES)
        """The last frames before an utterance, with their energies (dB)."""
        self._utt_levels: list[float] = []
        """Frame energies (dB) of the utterance so far, from its onset."""
        self._onset_floor = 0.0
        """The noise floor (dB) the utterance started against."""
        self._fed_before_onset = 0
        """Preroll frames fed to the engine before the utterance's first loud frame."""
        self._in_utt = False
        self._loud_run = 0
        self._silent_run = 0
        self._start = 0.0
        self._last_speech_end = 0.0
        self._speech_frames = 0
        self._too_long = False
        self._partial_cmd: Command | None = None
        self._quiet_until = 0.0
        self._voice = CompanionVoice.QUIET
        self._voiced_until: dict[CompanionVoice, int] = {}
        """Fed samples up to the last frame fed while the companion voiced each."""
        self._onset_sample = 0
        """Fed samples before the utterance's first loud frame."""
        self._heard: list[bytes] = []
        """The utterance's audio as fed to the engine, for the stop spotter (bound: the
        utterance's length cap, 5 s, 160 KB); ``_lead``: up to 0.5 s before it (a stop's
        start in loud noise), from the last frames heard (``_recent``)."""
        self._lead = b""
        self._recent: deque[bytes] = deque(maxlen=self.LEAD_FRAMES + (self._preroll.maxlen or 1))
        self._rescan = TalkRescan(self.settings.rescan)
        """The last seconds heard, searched again when talk hid a command (4 s, 128 KB)."""

    def accept(self, chunk: bytes) -> list[Utterance]:
        """Feed int16 audio; return finished command utterances."""
        data = self._pending + chunk
        usable = len(data) - len(data) % (2 * FRAME)
        self._pending = data[usable:]
        out: list[Utterance] = []
        for i in range(0, usable, 2 * FRAME):
            utt = self._frame(np.frombuffer(data[i:i + 2 * FRAME], dtype="<i2"))
            if utt is not None:
                out.append(utt)
        return out

    def set_companion_voice(self, voice: CompanionVoice) -> None:
        """See :meth:`Recognizer.set_companion_voice`."""
        self._voice = voice

    @property
    def input_problem(self) -> InputProblem | None:
        """What is wrong with the input now ("too noisy to hear you well"), if anything."""
        return self._input.problem

    def show_input_problems_elsewhere(self) -> None:
        """A status line shows :attr:`input_problem` (``companion listen``): log it at INFO
        from now on, not at WARNING, so that the person reads it once."""
        self._input_level = self._input.level = logging.INFO

    def flush(self) -> list[Utterance]:
        """End of input: decide on a pending utterance."""
        if self._pending:
            pad = self._pending + b"\0" * (2 * FRAME - len(self._pending))
            self._pending = b""
            utt = self._frame(np.frombuffer(pad, dtype="<i2"), learn=False)
            if utt is not None:
                return [utt]
        if self._in_utt:
            utt = self._finish()
            return [utt] if utt is not None else []
        return []

    def _frame(self, raw: np.ndarray, learn: bool = True) -> Utterance | None:
        """One 20 ms frame; ``learn=False`` keeps it out of the noise floor (padding)."""
        if learn:
            self._input.update(raw)
        frame = self._front(raw, learn)
        pcm = frame.astype("<i2").tobytes()
        self._rescan.push(pcm)
        self._recent.append(pcm)
        self._clock.samples += FRAME
        self._voiced_until[self._voice] = self._clock.samples
        level = frame_db(frame)
        speech = self._vad.is_speech(level, self._in_utt, learn)
        quiet_dbfs = room_quiet_dbfs(self._vad.floor_db)
        voiced = True
        if self._gate is not None:
            voiced = self._gate.voiced(raw, quiet_dbfs)
            if self._others_talking():  # their talk under the speaker does not keep it going
                bar = loud_level(self._utt_levels) - self.settings.foreground_db
                speech = speech and level > bar
        if not self._in_utt:
            self._idle(pcm, level, speech, voiced)
            return self._watched(pcm, level, voiced, quiet_dbfs)
        self._utt_levels.append(level)
        utt = self._active(pcm, speech)
        if not self._in_utt and self._watch is not None:
            now = self._clock.now
            self._watch.decided(utt is not None and utt.command is not None
                                and utt.command.intent is Intent.STOP,
                                (utt.start - now, utt.end - now, utt.text)
                                if utt is not None else None)
        return utt if not self._in_utt else self._watched(pcm, level, voiced, quiet_dbfs)

    def _watched(self, pcm: bytes, level: float, voiced: bool,
                 quiet_dbfs: float) -> Utterance | None:
        """A stop the :class:`StopWatch` hears in the rolling audio (it ends an open
        utterance: other people's talk kept it going). ``voiced`` and ``quiet_dbfs``: as
        the Silero gate was given them for this frame."""
        if self._watch is None:
            return None
        found = self._watch.frame(pcm, level, self._clock.now - self._start
                                  if self._in_utt else None, self._silent_run,
                                  quiet_dbfs + FULL_SCALE_DB, voiced)
        cmd = self.commands.parse(found.phrase) if found is not None else None
        now = self._clock.now
        if found is None or cmd is None or now + found.start_s < self._quiet_until:
            return None
        if self._in_utt:
            self._drop("a stop was heard in it")
        self._quiet_until = now + self.settings.after_stop
        _LOGGER.debug("heard %r in the rolling audio, decided %.2f", cmd.text, now)
        return Utterance(start=round(now + found.start_s, 3), end=round(now + found.end_s, 3),
                         text=cmd.text, confidence=1.0, command=cmd, decided=round(now, 3))

    def _idle(self, pcm: bytes, level: float, speech: bool, voiced: bool) -> None:
        self._preroll.append((pcm, level))
        self._loud_run = self._loud_run + 1 if speech else 0
        if self._loud_run >= self.settings.onset_frames and voiced:
            self._begin()
        return None

    def _begin(self) -> None:
        self._in_utt = True
        self._loud_run = min(self._loud_run, self._preroll.maxlen or 1)
        self._start = self._clock.now - self._loud_run * FRAME_S
        self._last_speech_end = self._clock.now
        self._speech_frames = self._loud_run
        self._silent_run = 0
        self._too_long = False
        self._partial_cmd = None
        self._onset_floor = self._vad.speech_floor_db
        keep = max(1, round(self.settings.preroll / FRAME_S)) + self._loud_run
        while len(self._preroll) > keep:  # more than the preroll before the loud run
            self._preroll.popleft()
        self._utt_levels = [level for _, level in self._preroll][-self._loud_run:]
        self._fed_before_onset = max(0, len(self._preroll) - self._loud_run)
        self._onset_sample = self._clock.samples - self._loud_run * FRAME
        self._engine.begin()
        self._heard = []
        for pcm, _ in self._preroll:
            self._feed(pcm)
        fed = len(self._preroll)
        self._lead = b"".join(list(self._recent)[:-fed][-self.LEAD_FRAMES:])
        self._preroll.clear()

    def _feed(self, pcm: bytes) -> None:
        self._engine.feed(pcm)
        self._heard.append(pcm)

    def _active(self, pcm: bytes, speech: bool) -> Utterance | None:
        if not self._too_long:
            self._feed(pcm)
        if speech:
            self._silent_run = 0
            self._speech_frames += 1
            self._last_speech_end = self._clock.now
            self._partial_cmd = None
            if self._clock.now - self._start > self.settings.max_speech:
                if self._gate is not None:
                    # Others keep talking: end here and decode its loud part (a command
                    # said over a television is still found); the next frame starts anew.
                    return self._finish()
                self._too_long = True
            return None
        self._silent_run += 1
        silent = self._silent_run * FRAME_S
        if self._too_long:
            if silent >= self.settings.max_hangover:
                self._drop("too long")
            return None
        if self._silent_run == self._stop_frames:  # a stop already? (running hypothesis)
            cmd = self.commands.parse(self._engine.partial())
            self._partial_cmd = cmd if cmd is not None and cmd.intent is Intent.STOP else None
        elif self._silent_run == self._settle_frames and self._partial_cmd is None:
            self._engine.use_grammar(self._over_voice())
            self._partial_cmd = self.commands.parse(self._engine.settled(self._silent_run))
        hang = self._hangover(self._partial_cmd)
        if silent + 1e-9 >= hang:
            return self._finish()
        return None

    LEAD_FRAMES = 25
    VAD_LAG_FRAMES = 25
    """Silero may say "voice" up to 0.5 s into a loud run: the preroll keeps that much more,
    so the run's start is still decoded."""

    def _others_talking(self) -> bool:
        """Has the utterance run longer than a command would (others talk in the room)?"""
        return self._in_utt and self._clock.now - self._start > self.settings.foreground_after

    def _over_voice(self) -> CompanionVoice:
        """What the companion voiced from the utterance's onset on."""
        return latest_voice(self._voiced_until, self._onset_sample)

    def _hangover(self, cmd: Command | None) -> float:
        if cmd is None:
            return self.settings.max_hangover
        if cmd.intent is Intent.STOP:
            return self.settings.stop_hangover
        return self.settings.command_hangover

    def _drop(self, why: str) -> None:
        _LOGGER.debug("rejected utterance %.2f-%.2f: %s", self._start, self._last_speech_end, why)
        self._in_utt = False
        self._loud_run = 0
        self._engine.begin()
        return None

    def _spotted(self, cmd: Command | None) -> tuple[Command | None, tuple[float, float] | None]:
        """``cmd``, or a stop when the engine took none and the stop spotter hears one (a
        missed stop is worse than a false one: a stop overrides another command), with
        where the spotter placed that stop (seconds from the utterance's first audio)."""
        if self._spotter is None or (cmd is not None and cmd.intent is Intent.STOP):
            return cmd, None
        found = self._spotter.heard_stop(b"".join(self._heard), cmd.text if cmd else "",
                                         cut_off=self._silent_run * FRAME_S < 0.1,
                                         lead=self._lead)
        if found is None:
            return cmd, None
        return self.commands.parse(found.phrase), (found.start_s, found.end_s)

    def _finish(self) -> Utterance | None:
        self._in_utt = False
        self._loud_run = 0
        start, end, now = self._start, self._last_speech_end, self._clock.now
        if end - start < self.settings.min_speech:
            return None
        speech_frames, lead_frames = self._speech_frames, 0
        shape = UtteranceLevels(self._utt_levels, self.settings, self._speech_frames,
                                self._fed_before_onset)
        louder = shape.room_got_louder(self._onset_floor, self._steady)
        loud_part = shape.loud_part() if self._gate is not None else None
        if loud_part is not None:
            speech_frames, lead = loud_part
            lead_frames = max(0, lead - 10)
        if louder is not None:
            # Decode from 0.2 s before the speech: with all the new noise before it, a
            # "stop" also came out as "faster" or "softer".
            speech_frames, lead = louder
            lead_frames = max(0, lead - 10)
        self._engine.use_grammar(self._over_voice())
        result = self._engine.finish(speech_frames, self._silent_run, lead_frames)
        text, confidence = result if result is not None else ("", 1.0)
        engine_cmd = self.commands.parse(text) if text else None
        cmd, stop_span = self._spotted(engine_cmd)
        in_talk = self._rescan.due(start, now)
        if cmd is not None and (cmd is engine_cmd or stop_span is not None):
            # Where its words are: not at the start of an utterance a stop's tail opened.
            start, end = self._placed(start, end, stop_span)
        if cmd is None and in_talk:
            cmd, start, end = self._rescanned(start, end)
        if cmd is None:
            _LOGGER.debug("rejected %.2f-%.2f: %r is no command", start, end, text)
            return None
        if louder is not None and cmd.intent is not Intent.STOP:
            _LOGGER.debug("rejected %r: only a stop is taken as the room gets louder", cmd.text)
            return None
        if self._input.blocks_commands and cmd.intent is not Intent.STOP:
            # A stop still counts: acting on a false one is safe, missing one is not.
            _LOGGER.debug("rejected %r: %s", cmd.text, self._input.problem)
            return None
        if start < self._quiet_until:
            _LOGGER.debug("ignored %r: it follows a stop too closely", cmd.text)
            return None
        if cmd.intent is Intent.STOP:
            # "stop please" can be decided at "stop"; "please" must not start anything,
            # and the tail of the same "stop" is not a second one.
            self._quiet_until = now + self.settings.after_stop
        _LOGGER.debug("heard %r (%.2f) %.2f-%.2f decided %.2f", cmd.text, confidence,
                      start, end, now)
        self._rescan.taken(end)
        return Utterance(start=round(start, 3), end=round(end, 3), text=cmd.text,
                         confidence=confidence, command=cmd, decided=round(now, 3))

    def _placed(self, start: float, end: float,
                span: tuple[float, float] | None = None) -> tuple[float, float]:
        """``start``/``end`` narrowed to ``span`` (seconds from the utterance's first audio),
        by default where the engine placed the command's words."""
        first = (self._onset_sample - self._fed_before_onset * FRAME) / SAMPLE_RATE
        return narrowed(start, end, first, span or getattr(self._engine, "span", None))

    def _rescanned(self, start: float, end: float) -> tuple[Command | None, float, float]:
        """A command found when the last seconds heard are searched again as one stretch
        (:mod:`companion.recognition.talk_rescan`), with where it was said."""
        spot_in = getattr(self._engine, "spot_in", None)
        found = self._rescan.search(spot_in) if self._gate is not None and spot_in else None
        cmd = self.commands.parse(found[0]) if found is not None else None
        return (cmd, found[1], found[2]) if cmd is not None and found else (None, start, end)

    def _steady(self, levels: list[float]) -> bool:
        """Whether ``levels`` are steady noise (a fan switched on), not others' talk: with
        the talk taken for new noise, commands said over it were rejected (only a stop is
        taken as the room gets louder)."""
        return self._gate is None or steady(levels)
