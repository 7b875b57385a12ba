"""Turns routine steps into a stream of timeline segments (speak, silence, tone, listen).

The player pulls segments one at a time from :func:`run_steps`, a generator. An ``ask``
step yields :class:`Listen` and receives the answer (``"yes"``, ``"no"`` or None) through
``send``. Throwing :class:`SkipStep` into the generator ends the innermost step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Protocol

from companion.routines.model import (
    Ask,
    BreathCue,
    Breathe,
    Chime,
    Include,
    Pause,
    Quiet,
    Repeat,
    Routine,
    Say,
    Step,
)

NO_CHECK_IN_SECONDS = 60.0
"""No check-in falls in the last minute of a quiet stretch (CONTENT-GUIDE)."""
MAX_HOLD_SECONDS = 7.0
"""A held breath is never pushed longer than this, however slow the pace."""


@dataclass(frozen=True)
class Speak:
    """Say ``text``; the segment lasts at least ``min_seconds`` (silence after)."""

    text: str
    """What is said."""
    min_seconds: float = 0.0
    """Pad with silence up to this length (breathing phases)."""
    question: bool = False
    """True for an ask step's question (an early answer counts)."""


@dataclass(frozen=True)
class Silence:
    """Nothing but the ambient bed for ``seconds``."""

    seconds: float
    """Length."""


@dataclass(frozen=True)
class Tone:
    """A generated chime, lasting at least ``min_seconds``."""

    kind: str
    """soft, bell or low."""
    min_seconds: float = 0.0
    """Pad with silence up to this length (breathing phases)."""


@dataclass(frozen=True)
class Listen:
    """Wait up to ``timeout`` seconds for a yes or no."""

    timeout: float
    """Seconds before silence is taken as the answer."""


Segment = Speak | Silence | Tone | Listen
Script = Generator[Segment, "str | None", None]


class SkipStep(Exception):
    """Thrown into a script to end the step it is in."""


class Pacing(Protocol):
    """What the script asks of the player while it runs."""

    def elapsed(self) -> float:
        """Seconds of routine played so far (for ``repeat: {for: ...}``)."""
        ...

    def breath_scale(self) -> float:
        """Factor on breathing phase lengths (above 1 when asked to go slower)."""
        ...

    def prefetch(self, text: str) -> None:
        """Start synthesising ``text`` now, because it is coming soon."""
        ...


class StepRunner:
    """Runs steps as segments; ``any:`` draws without replacement within one play.

    Each pool of texts is a bag: a line comes back only after every other line of its pool
    was said, and never twice in a row (the bag refills without the last line first).
    """

    def __init__(self, lookup: Callable[[str], Routine], pacing: Pacing,
                 rng: random.Random | None = None) -> None:
        self._lookup = lookup
        self._pacing = pacing
        self._rng = rng or random.Random()
        self._bags: dict[tuple[str, ...], list[str]] = {}
        self._last_pick: dict[tuple[str, ...], str] = {}
        self._chosen: dict[int, str] = {}

    def run(self, steps: Iterable[Step]) -> Script:
        """Every step in order; a skipped step ends quietly and the next one starts."""
        steps = tuple(steps)
        for index, step in enumerate(steps):
            if index + 1 < len(steps):
                self._prefetch_first_words(steps[index + 1])
            try:
                yield from self._step(step)
            except SkipStep:
                continue

    def _step(self, step: Step) -> Script:
        if isinstance(step, Say):
            yield Speak(self._text_of(step))
        elif isinstance(step, Pause):
            yield Silence(step.seconds)
        elif isinstance(step, Chime):
            yield Tone(step.kind)
        elif isinstance(step, Breathe):
            yield from self._breathe(step)
        elif isinstance(step, Ask):
            yield from self._ask(step)
        elif isinstance(step, Quiet):
            yield from self._quiet(step)
        elif isinstance(step, Repeat):
            yield from self._repeat(step)
        elif isinstance(step, Include):
            yield from self.run(self._lookup(step.routine).steps)

    def _text_of(self, step: Say) -> str:
        """The sentence for a say step, using a pick made earlier for prefetching."""
        chosen = self._chosen.pop(id(step), None)
        return chosen if chosen is not None else self._pick(step)

    def _pick(self, step: Say) -> str:
        if not step.pick_any or len(step.texts) == 1:
            return step.texts[0]
        bag = self._bags.get(step.texts)
        if not bag:
            last = self._last_pick.get(step.texts)
            bag = self._bags[step.texts] = [t for t in step.texts if t != last]
        choice = bag.pop(self._rng.randrange(len(bag)))
        if not bag and choice in step.texts:  # refill: the last pick waits one draw
            self._bags[step.texts] = [t for t in step.texts if t != choice]
        self._last_pick[step.texts] = choice
        return choice

    def _prefetch_first_words(self, step: Step) -> None:
        """Start synthesising what the next step says first, so no gap opens."""
        text: str | None = None
        if isinstance(step, Say):
            text = self._chosen.setdefault(id(step), self._pick(step))
        elif isinstance(step, Ask):
            text = step.question
        if text is not None:
            self._pacing.prefetch(text)

    def _breathe(self, step: Breathe) -> Script:
        phases = (("Breathe in.", "In.", step.inhale, "soft", False),
                  ("Hold.", "Hold.", step.hold, "low", True),
                  ("And breathe out.", "Out.", step.exhale, "low", False),
                  ("Rest.", "Rest.", step.hold_out, "soft", True))
        for cycle in range(step.cycles):
            for first_words, words, seconds, tone, is_hold in phases:
                if seconds <= 0:
                    continue
                length = seconds * self._pacing.breath_scale()
                if is_hold:
                    length = min(length, max(seconds, MAX_HOLD_SECONDS))
                if step.cue is BreathCue.WORDS:
                    yield Speak(first_words if cycle == 0 else words, min_seconds=length)
                elif step.cue is BreathCue.CHIME:
                    yield Tone(tone, min_seconds=length)
                else:
                    yield Silence(length)

    def _ask(self, step: Ask) -> Script:
        yield Speak(step.question, question=True)
        answer = yield Listen(step.timeout)
        branch = {"yes": step.yes, "no": step.no}.get(answer or "", step.silence)
        yield from self.run(branch)

    def _quiet(self, step: Quiet) -> Script:
        """Silence with soft check-ins every ``check_in_every``, none in the last minute."""
        remaining = step.seconds
        every = step.check_in_every
        phrases = Say(step.check_in_phrases, pick_any=True) if step.check_in_phrases else None
        while every and phrases and remaining - every > NO_CHECK_IN_SECONDS:
            phrase = self._pick(phrases)
            self._pacing.prefetch(phrase)
            yield Silence(every)
            yield Speak(phrase)
            remaining -= every
        yield Silence(max(0.0, remaining))

    def _repeat(self, step: Repeat) -> Script:
        if step.times is not None:
            for _ in range(step.times):
                yield from self.run(step.steps)
            return
        start = round_start = self._pacing.elapsed()
        while round_start - start < (step.seconds or 0.0):
            yield from self.run(step.steps)
            if self._pacing.elapsed() == round_start:
                return  # a round that takes no time would loop forever
            round_start = self._pacing.elapsed()
