"""What a routine is: the Step kinds, Routine, their enums, and walking nested steps.

Loading files is in ``loading``; the library of loaded routines is in ``library``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class BreathCue(str, Enum):
    """How a breathing phase is announced."""

    WORDS = "words"
    CHIME = "chime"
    SILENT = "silent"


class Ambient(str, Enum):
    """A very low background sound under the whole routine."""

    NONE = "none"
    BROWN_NOISE = "brown-noise"
    PINK_NOISE = "pink-noise"


@dataclass(frozen=True)
class Say:
    """Speak one sentence; with ``pick_any`` pick one of ``texts`` (never the last pick twice)."""

    texts: tuple[str, ...]
    """The sentence, or the sentences to pick from."""
    pick_any: bool = False
    """True for ``say: {any: [...]}``."""


@dataclass(frozen=True)
class Pause:
    """Silence for a fixed time (not stretched by ``--minutes``)."""

    seconds: float
    """Length of the silence."""


@dataclass(frozen=True)
class Breathe:
    """Paced breathing: in, hold, out, hold, repeated ``cycles`` times."""

    inhale: float = 4.0
    """Seconds breathing in."""
    hold: float = 0.0
    """Seconds holding after breathing in."""
    exhale: float = 6.0
    """Seconds breathing out."""
    hold_out: float = 0.0
    """Seconds resting after breathing out."""
    cycles: int = 4
    """How many breaths."""
    cue: BreathCue = BreathCue.WORDS
    """How each phase is announced."""


@dataclass(frozen=True)
class Ask:
    """A yes/no question; the answer (or silence) chooses the branch."""

    question: str
    """What is asked."""
    yes: tuple[Step, ...] = ()
    """Steps after a yes."""
    no: tuple[Step, ...] = ()
    """Steps after a no."""
    silence: tuple[Step, ...] = ()
    """Steps when nothing is answered before ``timeout``."""
    timeout: float = 8.0
    """Seconds to wait for an answer."""

    def with_branches(self, change: Callable[[tuple[Step, ...]], tuple[Step, ...]]) -> Ask:
        """The same question with ``change`` applied to each of its three branches."""
        return dataclasses.replace(self, yes=change(self.yes), no=change(self.no),
                                   silence=change(self.silence))


@dataclass(frozen=True)
class Quiet:
    """A stretch of quiet presence; stretched by ``--minutes``."""

    seconds: float
    """Length of the quiet stretch."""
    check_in_every: float | None = None
    """Seconds between soft check-ins, or None for none."""
    check_in_phrases: tuple[str, ...] = ()
    """What a check-in says (one picked each time)."""


@dataclass(frozen=True)
class Chime:
    """A soft generated chime."""

    kind: str = "soft"
    """Chime sound: soft, bell or low."""


@dataclass(frozen=True)
class Repeat:
    """Repeat some steps a number of times or for a duration."""

    steps: tuple[Step, ...]
    """The steps to repeat."""
    times: int | None = None
    """How many times (or None)."""
    seconds: float | None = None
    """For how long (or None); the current round always finishes."""


@dataclass(frozen=True)
class Include:
    """Run another routine's steps here."""

    routine: str
    """Name of the included routine."""
    line: int | None = field(default=None, compare=False)
    """Line of the ``routine:`` value in its file (for include errors)."""
    column: int | None = field(default=None, compare=False)
    """Column of the ``routine:`` value."""


Step = Say | Pause | Breathe | Ask | Quiet | Chime | Repeat | Include

CHIME_KINDS = ("soft", "bell", "low")
"""The chime sounds."""

# --- limits a file may ask for (read by the loader and the schema through ``rules``) -------
MAX_BREATH_PHASE = 20.0
"""Longest single breathing phase (seconds)."""
MIN_CYCLES, MAX_CYCLES = 1, 100
"""How many breaths one ``breathe`` step may have."""
MIN_REPEAT_TIMES, MAX_REPEAT_TIMES = 1, 1000
"""How many rounds a ``repeat: {times: ...}`` may have."""


@dataclass(frozen=True)
class Routine:
    """A named sequence of steps, as loaded from one YAML file."""

    name: str
    """Identifier, e.g. ``wind-down``."""
    title: str
    """Human title, e.g. ``Wind down``."""
    steps: tuple[Step, ...]
    """What the routine does, in order."""
    aliases: tuple[str, ...] = ()
    """Other ways a person says it."""
    description: str = ""
    """One sentence for ``routines list``."""
    voice: str | None = None
    """Voice profile name, or None for the configured default."""
    ambient: Ambient = Ambient.NONE
    """Background sound."""
    source: Path | None = field(default=None, compare=False)
    """File it came from."""


# --- walking steps ------------------------------------------------------------------------

def child_steps(step: Step) -> tuple[Step, ...]:
    """The steps nested directly inside ``step`` (ask branches, repeat body)."""
    if isinstance(step, Ask):
        return step.yes + step.no + step.silence
    if isinstance(step, Repeat):
        return step.steps
    return ()


def walk(steps: Sequence[Step]) -> Iterator[Step]:
    """Every step, depth first, including nested ones (includes are not followed)."""
    for step in steps:
        yield step
        yield from walk(child_steps(step))


def includes(routine: Routine) -> list[Include]:
    """Every include step in ``routine``, nested ones too."""
    return [s for s in walk(routine.steps) if isinstance(s, Include)]
