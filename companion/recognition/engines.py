"""Speech → command utterances: the Recognizer protocol, pocketsphinx and Vosk engines.

Both engines sit behind the same endpointer (:class:`EnergyEndpointer`), which decides
the end of an utterance much earlier than the engines' own endpointing: after a short
silence once the partial hypothesis already is a complete command (shorter still for
stop), or after a longer silence otherwise. Only commands come out; everything else
(chatter, reading aloud, noise) is rejected and logged at DEBUG only.

While the companion talks or asks, an utterance is matched only against the commands
listened for then (:mod:`companion.recognition.overlap`).

Rejection in pocketsphinx: the grammar has a garbage path (a loop of everyday words) that
competes with the commands, the command's words must cover the speech the endpointer heard
(:class:`RejectionSettings`), and long stretches of speech are never commands.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from companion.recognition.commands import Command, CommandSet, Intent
from companion.errors import ModelError
from companion.recognition.overlap import LISTENED_FOR, CompanionVoice, latest_voice

_LOGGER = logging.getLogger(__name__)

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


# ---------------------------------------------------------------- endpointing

@dataclass(frozen=True)
class EndpointerSettings:
    """Tuning of the energy endpointer (seconds and dB)."""

    onset_db: float = 9.0
    """Frame energy above the noise floor that starts speech."""
    continue_db: float = 5.0
    """Frame energy above the noise floor that keeps speech going."""
    onset_frames: int = 3
    """Consecutive loud frames that start an utterance."""
    preroll: float = 0.3
    """Audio before the onset that is also decoded."""
    stop_hangover: float = 0.08
    """Silence after a complete stop command before deciding."""
    command_hangover: float = 0.14
    """Silence after any other complete command before deciding."""
    max_hangover: float = 0.35
    """Silence that ends an utterance whatever the partial hypothesis."""
    max_speech: float = 5.0
    """Longer stretches of speech are never commands (rejected unheard)."""
    min_speech: float = 0.12
    """Shorter blips are ignored."""
    after_stop: float = 0.5
    """Speech starting this soon after a stop decision is the rest of that stop
    (live, one "stop" was once heard twice)."""


class _Clock:
    """Counts fed samples."""

    def __init__(self) -> None:
        self.samples = 0

    @property
    def now(self) -> float:
        return self.samples / SAMPLE_RATE


class EnergyEndpointer:
    """Frame energy against a noise floor, with hysteresis.

    The floor is a low percentile (not the minimum) of the last 1.5 s of frames: a few
    quiet frames (a 100 ms dropout, a level step down) must not pull it under the room's
    real noise, or that noise then counts as speech until they age out. Measured: one
    zero-padded frame made 1.5 s of a 34 dB floor "speech" and cost a third of the short
    commands. A 3 s window recovered too slowly from a step up in noise (3 stops of 36 fewer).
    """

    WINDOW_FRAMES = 75
    """1.5 s of 20 ms frames."""
    LOW_RANK = 6
    """The floor is the ``LOW_RANK``-th lowest energy in the window (about 8%)."""

    def __init__(self, settings: EndpointerSettings = EndpointerSettings()) -> None:
        self.settings = settings
        self._recent: deque[float] = deque(maxlen=self.WINDOW_FRAMES)
        self._floor = 0.0

    @property
    def floor_db(self) -> float:
        """Current noise floor estimate (dB re 1 LSB²)."""
        return self._floor

    @property
    def speech_floor_db(self) -> float:
        """The level speech is measured against: the floor, but never below 20 dB."""
        return max(self._floor, 20.0)

    def is_speech(self, energy_db: float, in_speech: bool, learn: bool = True) -> bool:
        """Classify one frame; ``learn`` adds it to the floor estimate."""
        if learn:
            self._recent.append(energy_db)
            rank = min(self.LOW_RANK, len(self._recent)) - 1
            self._floor = sorted(self._recent)[rank]
        margin = self.settings.continue_db if in_speech else self.settings.onset_db
        return energy_db > self.speech_floor_db + margin


def frame_db(frame: np.ndarray) -> float:
    """Frame energy in dB re 1 LSB²."""
    x = frame.astype(np.float64)
    return 10.0 * math.log10(float(np.mean(x * x)) + 1.0)


class _Dither:
    """Adds a faint noise floor (σ≈50 LSB) when the input is digitally clean."""

    def __init__(self, sigma: float = 50.0, clean_rms: float = 12.0) -> None:
        self._rng = np.random.default_rng(1234)
        self._sigma = sigma
        self._clean_rms = clean_rms
        self._quiet_frames = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        rms = math.sqrt(float(np.mean(frame.astype(np.float64) ** 2)))
        # A digitally clean frame switches the floor on for the next 10 s of input.
        self._quiet_frames = 500 if rms < self._clean_rms else max(self._quiet_frames - 1, 0)
        if self._quiet_frames == 0:
            return frame
        noisy = frame.astype(np.float64) + self._rng.normal(0.0, self._sigma, frame.size)
        return np.clip(np.round(noisy), -32768, 32767).astype(np.int16)


class _Engine(Protocol):
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


class _Streamer:
    """Endpointing and early decisions, shared by both engines."""

    sample_rate = SAMPLE_RATE

    def __init__(self, commands: CommandSet, engine: _Engine,
                 settings: EndpointerSettings = EndpointerSettings()) -> None:
        self.commands = commands
        self.settings = settings
        self._engine = engine
        self._stop_frames = max(1, round(settings.stop_hangover / FRAME_S))
        """Silent frames after which the running hypothesis is checked for a stop."""
        self._settle_frames = max(self._stop_frames + 1,
                                  round(settings.command_hangover / FRAME_S))
        """Silent frames after which the utterance so far is decoded whole and checked."""
        self.reset()

    def reset(self) -> None:
        """Forget everything, including the clock."""
        self._clock = _Clock()
        self._pending = b""
        self._vad = EnergyEndpointer(self.settings)
        self._dither = _Dither()
        self._preroll: deque[tuple[bytes, float]] = deque(
            maxlen=max(1, round(self.settings.preroll / FRAME_S)))
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
        frame = self._dither(raw)
        pcm = frame.astype("<i2").tobytes()
        self._clock.samples += FRAME
        self._voiced_until[self._voice] = self._clock.samples
        level = frame_db(frame)
        speech = self._vad.is_speech(level, self._in_utt, learn)
        if not self._in_utt:
            self._idle(pcm, level, speech)
            return None
        self._utt_levels.append(level)
        return self._active(pcm, speech)

    def _idle(self, pcm: bytes, level: float, speech: bool) -> None:
        self._preroll.append((pcm, level))
        self._loud_run = self._loud_run + 1 if speech else 0
        if self._loud_run >= self.settings.onset_frames:
            self._begin()
        return None

    def _begin(self) -> None:
        self._in_utt = True
        self._start = self._clock.now - self._loud_run * FRAME_S
        self._last_speech_end = self._clock.now
        self._speech_frames = self._loud_run
        self._silent_run = 0
        self._too_long = False
        self._partial_cmd = None
        self._onset_floor = self._vad.speech_floor_db
        self._utt_levels = [level for _, level in self._preroll][-self._loud_run:]
        self._fed_before_onset = len(self._preroll) - self._loud_run
        self._onset_sample = self._clock.samples - self._loud_run * FRAME
        self._engine.begin()
        for pcm, _ in self._preroll:
            self._engine.feed(pcm)
        self._preroll.clear()

    def _active(self, pcm: bytes, speech: bool) -> Utterance | None:
        if not self._too_long:
            self._engine.feed(pcm)
        if speech:
            self._silent_run = 0
            self._speech_frames += 1
            self._last_speech_end = self._clock.now
            self._partial_cmd = None
            if self._clock.now - self._start > self.settings.max_speech:
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

    ROOM_STEP_FRAMES = 12
    """Frames of steady new noise (0.24 s) that must come before the speech for a step up in
    room noise to be assumed. Without it, long commands said without a pause (their quietest
    tenth well above the floor) were taken for one and rejected (3 of 141 clean commands)."""

    def _room_got_louder(self) -> tuple[int, int] | None:
        """(speech frames, frames fed before them) if the room's noise stepped up during
        the utterance, else None.

        The floor takes up to 1.5 s to follow a step up in room noise (a fan switched
        on); meanwhile the new noise counts as speech, and a "stop" said then covered too
        little of it (measured: 0.32 of 1.42 s, missed). When even the quietest tenth of
        the utterance is ``onset_db`` above the floor it started against, that tenth is
        the room now, and only frames well above it are speech.
        """
        levels = self._utt_levels
        if not levels:
            return None
        room = sorted(levels)[len(levels) // 10]
        if room <= self._onset_floor + self.settings.onset_db:
            return None
        run = self.settings.onset_frames
        onset = next((i for i in range(len(levels) - run + 1)
                      if min(levels[i:i + run]) > room + self.settings.onset_db), None)
        if onset is None or onset < self.ROOM_STEP_FRAMES:
            return None  # speech from the start: a phrase without pauses, not new noise
        speech = sum(1 for level in levels[onset:] if level > room + self.settings.continue_db)
        return min(self._speech_frames, speech), self._fed_before_onset + onset

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

    def _finish(self) -> Utterance | None:
        self._in_utt = False
        self._loud_run = 0
        start, end, now = self._start, self._last_speech_end, self._clock.now
        if end - start < self.settings.min_speech:
            return None
        speech_frames, lead_frames = self._speech_frames, 0
        louder = self._room_got_louder()
        if louder is not None:
            # Decode from 0.2 s before the speech: with all the new noise before it, a
            # "stop" also came out as "faster" or "softer".
            speech_frames, lead = louder
            lead_frames = max(0, lead - 10)
        self._engine.use_grammar(self._over_voice())
        result = self._engine.finish(speech_frames, self._silent_run, lead_frames)
        if result is None:
            return None
        text, confidence = result
        cmd = self.commands.parse(text)
        if cmd is None:
            _LOGGER.debug("rejected %.2f-%.2f: %r is no command", start, end, text)
            return None
        if louder is not None and cmd.intent is not Intent.STOP:
            _LOGGER.debug("rejected %r: only a stop is taken as the room gets louder", cmd.text)
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
        return Utterance(start=round(start, 3), end=round(end, 3), text=cmd.text,
                         confidence=confidence, decided=round(now, 3))


# ---------------------------------------------------------------- pocketsphinx

_CMNINIT = "47,2,-2.2,11,-3.2,-2.2,-3.6,-7.6,-1,-3.6,1.5,-4.4,0.1"
"""Live CMN start values (typical speech): the model's default (40,3,-1) mangles the first
utterance after start-up; CMN keeps adapting from here."""
_FILLER_PREFIXES = ("<", "[", "+")

_PS_FRAME_S = 0.01
"""pocketsphinx's feature frame."""
_MIN_CMN_FRAMES = 10
"""Fewest 20 ms frames an utterance's cepstral mean is taken from."""

GARBAGE_WORDS = tuple("""
the be of and a in that have i for not on with he as you at this but his by from they we
her she or an will my one all would there their what so up out if about who get which go me
when make can time just him know take people year your good some could see other than then
now look only its over think also back after use how our work first well way even new want
because any these give day most us is are was were been has had did said went made thing
things much many very more here where down should really mean maybe little big last long
great right left place home house school water night morning evening friday tomorrow
yesterday car shop hours favourite sister brother mother father friend friends dinner movie
book read okay oh hmm sure thanks feel felt tired happy sad nice late early week weekend
money call phone ask asked
""".split())
"""Everyday words for the garbage path: speech that is not a command is decoded as a run
of these instead of being forced into the nearest command (FIELD-NOTES: 72% of chatter came
out as a command with a plain grammar). Words that sound like command words are left out:
"old", "tell", "do", "still", "off", "them", "love", "why", "into", "got" and "minutes"
took real commands ("hold on" -> "got old on", "help" -> "do old", "stop" -> "tell");
measured on the benchmark's clips, leaving them out gave 2 more right of 141 clean and of 141
noisy, 1 more stop of 36, and no more false commands. So did "to", "too", "two", "it",
"like", "come", "talked" and "told" ("help" -> "too", "next" -> "it", "good night" -> "told
like", "after a hard talk" -> "talked on told"): without them, 2 more right of 141 clean,
none fewer noisy, no more false commands."""


@dataclass(frozen=True)
class RejectionSettings:
    """What tells a command from other speech (pocketsphinx)."""

    garbage_word_prob: float = 1e-3
    """Grammar probability of each word on the garbage path (higher: more goes to garbage).
    Measured (120 commands x 2 conditions, 192 s of chatter and recordings): 1e-5 kept 16
    false commands, 1e-3 kept 3 (all with low coverage), 4e-3 cost 10 points of noisy
    accuracy because garbage words took real commands ("hold on" -> "got old on")."""
    min_coverage: float = 0.7
    """Least share of the utterance's speech that the command's words must cover. Speech the
    grammar can only explain with fillers ("stop [by the shop tomorrow]") is not a command.
    Measured: 0.5 let "breathe with me for seventy seven minutes" through from chatter;
    0.7 gave 0 false commands; 0.85 cost 3 points of noisy accuracy."""
    stop_min_coverage: float = 0.35
    """The same for a stop phrase: a missed stop is worse than a false one. Measured: real
    stops as low as 0.42 when the recogniser ran on without a reset; chatter's "stop [by
    the shop tomorrow]" 0.24-0.26."""
    minutes_min_coverage: float = 0.8
    """The same for "... for N minutes": long hypotheses are where chatter slipped through
    ("the breathing exercise was nice yesterday" -> breathing for 21 minutes). Measured: real
    ones 0.82 and up (5 phrasings x 6 voices, clean and noisy)."""
    phrase_min_coverage: float = 0.93
    """The same for any command of three words or more: its words should account for
    nearly all of the speech. Measured (141 commands x 2 conditions): real ones 0.96 and
    up (0.97 and up, 218 on held-out voices), while a person reading "ten of clubs" came
    out as "what can i say" at 0.86 and chatter's "please don't slow down the car so
    suddenly" as breathing for 112 minutes at 0.90."""
    phrase_words: int = 3
    """Words from which ``phrase_min_coverage`` applies."""
    stop_rescue_min_s: float = 0.25
    """...and at least this long: live, a 120 ms blip of the start tone's echo was once
    rescued as "stop" (a spoken "stop" is 0.3 s or more)."""
    stop_rescue_max_s: float = 1.5
    """Utterances up to this long that the garbage path took are checked for a stop."""
    stop_rescue_min_coverage: float = 0.9
    """Least coverage for a stop found by that check (0.5 let one card reading through)."""


def pronounce(word: str, lookup: Callable[[str], str | None]) -> str | None:
    """Phones of a word; an unknown compound ("aftercare") is split into known words."""
    parts = pronounce_parts(word, lookup)
    return " ".join(parts) if parts else None


def pronounce_parts(word: str, lookup: Callable[[str], str | None]) -> list[str] | None:
    """Phones of a word as a list of dictionary words' phones (one unless a compound)."""
    found = lookup(word)
    if found:
        return [found]
    for cut in range(2, len(word) - 1):
        head = lookup(word[:cut])
        if head:
            tail = pronounce_parts(word[cut:], lookup) if len(word) - cut >= 2 else None
            if tail:
                return [head, *tail]
    return None


_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
_BATH_WORDS = frozenset({"faster"})
"""Command words said with the long British BATH vowel (AA, not AE). Measured: en-gb
"faster" was heard as "softer" without it. "after" is left out: with AA it made chatter's
"stop by the shop tomorrow" "start after a hard talk"."""


def british_pronunciation(word: str, parts: list[str]) -> str:
    """US (cmudict) phones of ``word``'s parts with British, non-rhotic endings.

    In each part (a compound's words: "after" and "care" in "aftercare") a final ER
    becomes AH ("slower", "louder") and a final R after a vowel goes ("care", "for");
    :data:`_BATH_WORDS` get AA for AE as well. Measured on the benchmark: en-gb "slower"
    was missed and en-gb+f2 "aftercare" heard as "calm down" with US phones alone. ER
    inside a word stays: "words" as W AH D Z made a card reading "kind words".
    """
    out: list[str] = []
    for part in parts:
        seq = part.split()
        if seq and seq[-1] == "ER":
            seq[-1] = "AH"
        elif len(seq) > 1 and seq[-1] == "R" and seq[-2] in _VOWELS:
            seq.pop()
        out += seq
    if word in _BATH_WORDS:
        out = ["AA" if phone == "AE" else phone for phone in out]
    return " ".join(out)


def listened_for(commands: CommandSet, voice: CompanionVoice) -> CommandSet:
    """The commands listened for while the companion voices ``voice`` (all of them where
    the user's commands file has none of those)."""
    intents = LISTENED_FOR[voice]
    if intents is None:
        return commands
    some = commands.only(intents)
    return some if some.intents else commands


def with_garbage_path(fsg_text: str, words: Iterable[str], word_prob: float) -> str:
    """Add a garbage loop to an FSG: start → (any of ``words``)+ → final."""
    lines = [line for line in fsg_text.strip().splitlines() if line.strip() != "FSG_END"]
    header = {line.split()[0]: line.split()[1] for line in lines[:4] if len(line.split()) == 2}
    states = int(header["NUM_STATES"])
    start, final = header["START_STATE"], header["FINAL_STATE"]
    lines = [f"NUM_STATES {states + 1}" if line.startswith("NUM_STATES") else line
             for line in lines]
    garbage = states
    lines += [f"TRANSITION {start} {garbage} 1.0"]
    lines += [f"TRANSITION {garbage} {garbage} {word_prob} {word}" for word in words]
    lines += [f"TRANSITION {garbage} {final} 1.0", "FSG_END"]
    return "\n".join(lines) + "\n"


class _PsDecoder:
    """The grammar decoder: commands plus a garbage path, then a coverage check.

    There is a grammar for each :class:`CompanionVoice` (the commands listened for then),
    each with the garbage path and without it (``-only``).
    """

    def __init__(self, commands: CommandSet, rejection: RejectionSettings) -> None:
        import pocketsphinx

        model = Path(pocketsphinx.get_model_path())
        self.rejection = rejection
        self._commands = commands
        # bestpath off: with it, a final result may end on a non-final grammar state
        # ("play after care for"); measured 91% → 94% on clean commands without it.
        self.decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL", cmninit=_CMNINIT,
                                            bestpath=False)
        self._add_words(commands, model)
        try:
            self._load_grammar(commands)
        except Exception as exc:  # noqa: BLE001 - any failure is the grammar's
            raise ModelError(f"pocketsphinx rejected the command grammar: {exc}") from None
        self._audio: list[bytes] = []
        self._heard_speech = False
        """Whether an utterance has been finished (the cepstral mean then carries on)."""
        self._streaming = False
        self._grammar = CompanionVoice.QUIET.value
        """The search ``settled`` and ``finish`` use (its ``-only`` twin: no garbage)."""

    def _load_grammar(self, commands: CommandSet) -> None:
        for voice in CompanionVoice:
            self._add_grammar(voice.value, listened_for(commands, voice))
        self.decoder.activate_search(CompanionVoice.QUIET.value)

    def _add_grammar(self, name: str, commands: CommandSet) -> None:
        """Searches ``name`` (commands or garbage) and ``name-only`` (commands alone)."""
        import tempfile

        words = [w for w in GARBAGE_WORDS if self.decoder.lookup_word(w)]
        fsg = self.decoder.parse_jsgf(commands.jsgf())
        with tempfile.TemporaryDirectory(prefix="quiet-companion-") as folder:
            plain = Path(folder) / "commands.fsg"
            fsg.writefile(str(plain))
            full = Path(folder) / "with-garbage.fsg"
            full.write_text(with_garbage_path(plain.read_text(encoding="utf-8"), words,
                                              self.rejection.garbage_word_prob),
                            encoding="utf-8")
            grammar = self.decoder.read_fsg(str(full))
        self.decoder.add_fsg(name, grammar)
        self.decoder.add_fsg(f"{name}-only", fsg)

    def use_grammar(self, voice: CompanionVoice) -> None:
        self._grammar = voice.value

    def _add_words(self, commands: CommandSet, model: Path) -> None:
        lookup = self.decoder.lookup_word
        missing: list[str] = []
        compounds: dict[str, list[str]] = {}
        for word, origin in commands.words().items():
            if lookup(word):
                continue
            parts = pronounce_parts(word, lookup)
            if parts is None:
                missing.append(f"{word!r} ({origin})")
                continue
            phones = " ".join(parts)
            compounds[word] = parts
            _LOGGER.info("pocketsphinx: %r is not in the dictionary, using %s", word, phones)
            self.decoder.add_word(word, phones, True)
        self._add_british_variants(commands, compounds)
        if missing:
            raise ModelError("words missing from the pocketsphinx dictionary "
                             f"{model / 'cmudict-en-us.dict'}: " + ", ".join(missing)
                             + "; rephrase them or add them to a user commands file")

    def _add_british_variants(self, commands: CommandSet,
                              compounds: dict[str, list[str]]) -> None:
        """Give grammar words British variants (the model is American).

        First every word with the US vowel AA gets a variant with AO: British voices say
        "stop" and "not" with a rounded vowel (espeak-ng en-gb: st'0p) that the model hears
        closer to AO. Measured: en-gb "stop" under 12 dB noise was missed until this
        variant existed. Then words that sound different in a British accent get
        :func:`british_pronunciation` as well (``compounds``: the parts of words that
        are not in the dictionary).
        """
        for word in commands.words():
            phones = self.decoder.lookup_word(word)
            if not phones:
                continue
            variants = [" ".join("AO" if p == "AA" else p for p in phones.split()),
                        british_pronunciation(word, compounds.get(word, [phones]))]
            known = {phones}
            for variant in variants:
                if variant not in known:
                    self._add_variant(word, variant)
                    known.add(variant)

    def _add_variant(self, word: str, phones: str) -> None:
        """Add ``phones`` as the next free alternative pronunciation ``word(N)``."""
        n = 2
        while existing := self.decoder.lookup_word(f"{word}({n})"):
            if existing == phones:
                return
            n += 1
        self.decoder.add_word(f"{word}({n})", phones, True)

    def begin(self) -> None:
        self._end_stream()
        self.decoder.activate_search(CompanionVoice.QUIET.value)  # running: every command
        self.decoder.start_utt()
        self._streaming = True
        self._audio = []

    def feed(self, pcm: bytes) -> None:
        self._audio.append(pcm)
        if self._streaming:
            self.decoder.process_raw(pcm, False, False)

    def partial(self) -> str:
        """The running hypothesis (cheap; good enough to spot a short stop)."""
        hyp = self.decoder.hyp() if self._streaming else None
        return hyp.hypstr if hyp is not None else ""

    def settled(self, trailing_frames: int) -> str:
        """What the utterance so far decodes to, decoded whole (asked once, at a pause).

        Decoding as we go with the running normalisation often gives garbage words for
        commands that decode fine whole ("play breathing" → "feel any really"), so
        early decisions for longer commands need this.
        """
        self._end_stream()
        self._decode_whole(self._grammar, trailing_frames)
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def _end_stream(self) -> None:
        if self._streaming:
            self.decoder.end_utt()
            self._streaming = False

    def finish(self, speech_frames: int, trailing_frames: int,
               lead_frames: int) -> tuple[str, float] | None:
        self._end_stream()
        self._audio = self._audio[lead_frames:]
        speech = speech_frames * FRAME_S
        self._decode_whole(self._grammar, trailing_frames)
        text = self._accepted(speech)
        if text is None or self._commands.parse(text) is None:
            rescued = self._stop_rescue(speech, trailing_frames)
            text = rescued or text
        self._heard_speech = True
        if text is None:
            return None
        return text, 1.0

    def _decode_whole(self, search: str, trailing_frames: int) -> None:
        """Decode the buffered utterance in one go with ``search``; the last
        ``trailing_frames`` 20 ms frames are the silence after its speech.

        Normalised over the whole utterance (not the running estimate used while
        streaming). Measured: without this pass, 3 chatter clips became commands.
        Finishing decodes again even when ``settled`` just decoded the same audio: the
        decoder's state differs on the second pass, and caching the first result cost 3
        of 120 clean commands.
        """
        audio = b"".join(self._audio)
        self.decoder.activate_search(search)
        if not self._heard_speech:
            self._learn_mean(audio, trailing_frames)
        self.decoder.start_utt()
        self.decoder.process_raw(audio, False, True)
        self.decoder.end_utt()

    def _learn_mean(self, audio: bytes, trailing_frames: int) -> None:
        """Set the cepstral mean to this utterance's speech (a pass without search).

        Done for the first utterance only: until then the decoder has nothing but a preset
        mean, and the first command after start-up failed in noise. Measured on held-out
        voices at 12 dB, each clip the first a decoder heard: 35 of 60 commands and 11 of
        15 stops with the preset, 52 and 14 with the utterance's own mean. Later utterances
        carry the mean on from the one before, as live CMN does: a fresh mean for every
        utterance gained nothing there (the benchmark, which runs its clips back to back,
        heard 1 clean command of 141 fewer). The silence after the speech is left out of
        the mean (with it: 5 fewer of the 60).
        """
        speech = audio[:len(audio) - 2 * FRAME * trailing_frames]
        if len(speech) < 2 * FRAME * _MIN_CMN_FRAMES:
            speech = audio
        self.decoder.start_utt()
        self.decoder.process_raw(speech, True, True)
        self.decoder.end_utt()

    def _accepted(self, speech_seconds: float, min_coverage: float | None = None) -> str | None:
        """The hypothesis of the search just run, if its words cover enough speech."""
        hyp = self.decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return None
        coverage = self._coverage(speech_seconds)
        if min_coverage is None:
            min_coverage = self._min_coverage(hyp.hypstr)
        ok = coverage >= min_coverage
        _LOGGER.debug("pocketsphinx %r coverage=%.2f %s", hyp.hypstr, coverage,
                      "accepted" if ok else "rejected")
        return hyp.hypstr if ok else None

    def _min_coverage(self, text: str) -> float:
        """How much of the speech ``text`` must cover: less for stop, more for long phrases."""
        command = self._commands.parse(text)
        if command is not None and command.intent is Intent.STOP:
            return self.rejection.stop_min_coverage
        least = self.rejection.min_coverage
        if command is not None and "minutes" in command.slots:
            least = self.rejection.minutes_min_coverage
        if len(text.split()) >= self.rejection.phrase_words:
            least = max(least, self.rejection.phrase_min_coverage)
        return least

    def _stop_rescue(self, speech_seconds: float, trailing_frames: int) -> str | None:
        """A short utterance the garbage path took: is it a stop after all?

        Stop is the one command that must never be missed, and acting on a false one is
        safe. The same audio is decoded again with the commands alone (no garbage path);
        only a stop phrase that covers the speech is taken. Measured: en-gb "that's
        enough" went to garbage ("off see off") and was heard by this pass.
        """
        if not self.rejection.stop_rescue_min_s <= speech_seconds <= self.rejection.stop_rescue_max_s:
            return None
        self._decode_whole(f"{self._grammar}-only", trailing_frames)
        text = self._accepted(speech_seconds, self.rejection.stop_rescue_min_coverage)
        if text is not None and self._commands.is_stop(text):
            _LOGGER.debug("pocketsphinx: stop rescued from the garbage path")
            return text
        return None

    def _coverage(self, speech_seconds: float) -> float:
        """Seconds of the hypothesis's words over seconds of speech heard."""
        frames = sum(s.end_frame - s.start_frame + 1 for s in (self.decoder.seg() or ())
                     if not s.word.startswith(_FILLER_PREFIXES))
        return frames * _PS_FRAME_S / max(speech_seconds, FRAME_S)


class PocketsphinxRecognizer(_Streamer):
    """pocketsphinx with the wheel's en-us model, the command grammar and a garbage path."""

    def __init__(self, commands: CommandSet,
                 endpointer: EndpointerSettings = EndpointerSettings(),
                 rejection: RejectionSettings = RejectionSettings()) -> None:
        super().__init__(commands, _PsDecoder(commands, rejection), endpointer)


# ---------------------------------------------------------------- vosk

_MODEL_DIRS = ("~/.cache/vosk", "/usr/share/vosk", "/usr/local/share/vosk",
               "~/.local/share/vosk")


def looks_like_vosk_model(path: Path) -> bool:
    """A folder with ``am/final.mdl`` or ``conf/model.conf``."""
    return (path / "am" / "final.mdl").is_file() or (path / "conf" / "model.conf").is_file()


def find_vosk_model(explicit: Path | None, configured: Path | None) -> Path | None:
    """The first Vosk model: explicit, configured, $VOSK_MODEL_PATH, then usual folders.

    An explicit path is returned even when it does not look like a model, so that
    loading it reports what is wrong with it.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("VOSK_MODEL_PATH")
    for candidate in (configured, Path(env) if env else None):
        if candidate is not None and looks_like_vosk_model(Path(candidate).expanduser()):
            return Path(candidate).expanduser()
    for folder in _MODEL_DIRS:
        base = Path(folder).expanduser()
        if looks_like_vosk_model(base):
            return base
        if base.is_dir():
            for sub in sorted(p for p in base.iterdir() if p.is_dir()):
                if looks_like_vosk_model(sub):
                    return sub
    return None


def _load_vosk_model(path: Path):
    import vosk

    vosk.SetLogLevel(-1)
    if not path.is_dir():
        raise ModelError(f"{path}: no Vosk model there; unpack a model from "
                         "https://alphacephei.com/vosk/models into that folder or pass --model DIR")
    if not looks_like_vosk_model(path):
        raise ModelError(f"{path}: not a Vosk model (no am/final.mdl or conf/model.conf); "
                         "point --model at the unpacked model folder")
    try:
        return vosk.Model(model_path=str(path))
    except Exception as exc:
        raise ModelError(f"{path}: Vosk could not load this model ({exc}); "
                         "download it again or choose another with --model") from None


class _VoskEngine:
    """Grammar-mode KaldiRecognizers fed by the shared endpointer, one for each
    :class:`CompanionVoice` (Vosk decodes as it is fed, so each hears every utterance and
    ``finish`` asks the one that applies)."""

    def __init__(self, commands: CommandSet, model_path: Path, strict: bool) -> None:
        import vosk

        self.model = _load_vosk_model(model_path)
        sentences = self._checked_sentences(commands, model_path, strict)
        has_unk = self.model.vosk_model_find_word("[unk]") >= 0
        if not has_unk:
            _LOGGER.info("vosk model %s has no [unk]: no out-of-grammar rejection", model_path)
        by_grammar: dict[str, vosk.KaldiRecognizer] = {}
        self._recs: dict[CompanionVoice, vosk.KaldiRecognizer] = {}
        for voice in CompanionVoice:
            heard = listened_for(commands, voice)
            some = [s for s in sentences if heard.parse(s) is not None]
            grammar = json.dumps(some + (["[unk]"] if has_unk else []), ensure_ascii=False)
            if grammar not in by_grammar:
                by_grammar[grammar] = vosk.KaldiRecognizer(self.model, SAMPLE_RATE, grammar)
                by_grammar[grammar].SetWords(True)
            self._recs[voice] = by_grammar[grammar]
        self._distinct = list(by_grammar.values())
        self._all = self._recs[CompanionVoice.QUIET]
        self._rec = self._all
        """The recogniser ``settled`` and ``finish`` ask."""

    def _checked_sentences(self, commands: CommandSet, path: Path, strict: bool) -> list[str]:
        words = commands.words()
        missing = {w: o for w, o in words.items() if self.model.vosk_model_find_word(w) < 0}
        names = ", ".join(f"{w!r} ({o})" for w, o in missing.items())
        msg = f"{path}: the Vosk model lacks these command words: {names}"
        if missing and strict:
            raise ModelError(msg + "; use a model with these words or rephrase them")
        sentences = [s for s in commands.sentences() if not set(s.split()) & missing.keys()]
        if not any(commands.is_stop(s) for s in sentences):
            raise ModelError((msg + "; so " if missing else f"{path}: ")
                             + "no stop phrase can be said with this model: add stop phrases "
                             "in its language to a user commands file")
        if missing:
            _LOGGER.warning("%s; phrases with them are left out", msg)
        return sentences

    def begin(self) -> None:
        for rec in self._distinct:
            # Finished first: a recogniser left unfinished after its own endpoint fired
            # carried its words into the next utterance, even across Reset().
            rec.FinalResult()
            rec.Reset()

    def feed(self, pcm: bytes) -> None:
        for rec in self._distinct:
            rec.AcceptWaveform(pcm)

    def partial(self) -> str:
        return str(json.loads(self._all.PartialResult()).get("partial", ""))

    def use_grammar(self, voice: CompanionVoice) -> None:
        self._rec = self._recs[voice]

    def settled(self, trailing_frames: int) -> str:
        """Vosk's running hypothesis is already good at a pause."""
        return str(json.loads(self._rec.PartialResult()).get("partial", ""))

    def finish(self, speech_frames: int, trailing_frames: int,
               lead_frames: int) -> tuple[str, float] | None:
        """The final result (Vosk decodes as it is fed: ``lead_frames`` cannot be unfed)."""
        result = json.loads(self._rec.FinalResult())
        text = str(result.get("text", ""))
        if not text or "[unk]" in text:
            return None
        confs = [float(w.get("conf", 1.0)) for w in result.get("result", [])]
        return text, round(sum(confs) / len(confs), 3) if confs else 1.0


class VoskRecognizer(_Streamer):
    """Vosk in grammar mode, loaded only from a model folder."""

    def __init__(self, commands: CommandSet, model_path: Path, strict: bool = False,
                 endpointer: EndpointerSettings = EndpointerSettings()) -> None:
        super().__init__(commands, _VoskEngine(commands, Path(model_path), strict), endpointer)


def make_recognizer(engine: str, commands: CommandSet, model: Path | None) -> Recognizer:
    """"auto" (Vosk when a model is found, else pocketsphinx), "pocketsphinx" or "vosk"."""
    if engine == "pocketsphinx":
        return PocketsphinxRecognizer(commands)
    found = find_vosk_model(model, None)
    if engine == "vosk":
        if found is None:
            raise ModelError("no Vosk model found (searched $VOSK_MODEL_PATH, "
                             + ", ".join(_MODEL_DIRS) + "); pass --model DIR")
        return VoskRecognizer(commands, found)
    if engine == "auto":
        return VoskRecognizer(commands, found) if found else PocketsphinxRecognizer(commands)
    raise ValueError(f"unknown engine {engine!r} (auto, pocketsphinx, vosk)")
