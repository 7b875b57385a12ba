"""What each key of a routine file may hold: one table, read by the loader and the schema.

``loading`` takes the allowed and required keys, the limits and the choices from here;
``schema`` writes the JSON Schema from the same table. A limit is written once, in
``model`` (``MAX_BREATH_PHASE`` ...) or ``yamlfile`` (``MAX_DURATION``), and named here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from companion import yamlfile as yf
from companion.routines.model import (
    CHIME_KINDS,
    MAX_BREATH_PHASE,
    MAX_CYCLES,
    MAX_REPEAT_TIMES,
    MIN_CYCLES,
    MIN_REPEAT_TIMES,
    Ambient,
    BreathCue,
)

NAME_PATTERN = yf.NAME_PATTERN
"""Routine and voice names: lowercase letters, digits and dashes."""
SPOKEN_LETTER = "[a-z]"
"""One letter of a spoken alias (after lowercasing)."""
SPOKEN_WORD = f"{SPOKEN_LETTER}+(?:'{SPOKEN_LETTER}+)?"
"""One spoken word: letters, with one apostrophe inside (don't, i'm)."""
ALIAS_PATTERN = re.compile(f"^{SPOKEN_WORD}(?: {SPOKEN_WORD})*$")
"""Aliases are spoken words: lowercase letters, single spaces, an apostrophe inside a word.
The loader lowercases an alias and joins its words with single spaces before matching."""


@dataclass(frozen=True)
class Text:
    """Non-empty text (a bare number or true/false counts as the text written)."""

    description: str


@dataclass(frozen=True)
class Name:
    """A routine or voice name matching ``NAME_PATTERN``."""

    description: str


@dataclass(frozen=True)
class Alias:
    """A spoken alias matching ``ALIAS_PATTERN`` after lowercasing and joining words."""

    description: str


@dataclass(frozen=True)
class Duration:
    """Seconds, or text like 30s, 2m, 1m30s; more than zero (or zero too), at most ``maximum``."""

    description: str
    allow_zero: bool = False
    maximum: float = yf.MAX_DURATION


@dataclass(frozen=True)
class Count:
    """A whole number from ``minimum`` to ``maximum``."""

    description: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (or nothing, with ``allow_empty``)."""

    description: str
    options: tuple[str, ...]
    allow_empty: bool = False


@dataclass(frozen=True)
class Steps:
    """A list of steps (empty allowed unless ``non_empty``)."""

    description: str
    non_empty: bool = True


@dataclass(frozen=True)
class ListOf:
    """A list of ``item``."""

    description: str
    item: Rule
    non_empty: bool = False


@dataclass(frozen=True)
class AnyOf:
    """Any one of ``options`` (tried in order)."""

    options: tuple[Rule, ...]


@dataclass(frozen=True)
class Fields:
    """A mapping with these keys; ``required`` must be there, ``exactly_one`` of a group."""

    description: str
    fields: Mapping[str, Rule]
    required: tuple[str, ...] = ()
    exactly_one: tuple[str, ...] = ()
    allow_empty: bool = False
    """Nothing at all (``breathe:``) is allowed and means all defaults."""


Rule = Text | Name | Alias | Duration | Count | Choice | Steps | ListOf | AnyOf | Fields


@dataclass(frozen=True)
class StepRule:
    """One kind of step: what its own key holds, and the keys allowed beside it."""

    description: str
    value: Rule
    siblings: Mapping[str, Rule] = field(default_factory=dict)


def _phase(description: str, allow_zero: bool) -> Duration:
    return Duration(f"{description}; at most {MAX_BREATH_PHASE:g} s.", allow_zero=allow_zero,
                    maximum=MAX_BREATH_PHASE)


STEP_RULES: dict[str, StepRule] = {
    "say": StepRule("Speak one sentence, or one picked from a list.", AnyOf((
        Text("The sentence."),
        Fields("Sentences to pick from.", {"any": ListOf(
            "Sentences to pick from (10 or more so it rarely repeats).", Text("A sentence."),
            non_empty=True)}, required=("any",))))),
    "pause": StepRule("Fixed silence.", Duration("Length of the silence.")),
    "breathe": StepRule("Paced breathing.", Fields("Breathing pace (all optional).", {
        "in": _phase("Breathing in", False),
        "hold": _phase("Holding after breathing in (7 s or less is kind)", True),
        "out": _phase("Breathing out", False),
        "hold_out": _phase("Resting after breathing out", True),
        "cycles": Count("How many breaths.", MIN_CYCLES, MAX_CYCLES),
        "cue": Choice("How each phase is announced.", tuple(c.value for c in BreathCue)),
    }, allow_empty=True)),
    "ask": StepRule("A yes/no question; silence is an answer too.", Text("The question."), {
        "yes": Steps("Steps after a yes.", non_empty=False),
        "no": Steps("Steps after a no.", non_empty=False),
        "silence": Steps("Steps when nothing is said.", non_empty=False),
        "timeout": Duration("How long to wait for an answer (default 8 s)."),
    }),
    "quiet": StepRule("Quiet presence; --minutes stretches it.",
                      Duration("Length of the quiet stretch."), {
        "check_in": Fields("A soft sign of presence now and then.", {
            "every": Duration("Time between check-ins (2 minutes or more is kind)."),
            "say": AnyOf((Text("What is said."),
                          ListOf("What is said (one picked each time).", Text("What is said."),
                                 non_empty=True))),
        }, required=("every", "say")),
    }),
    "chime": StepRule("A soft generated chime.",
                      Choice("Chime sound (soft when left empty).", CHIME_KINDS,
                             allow_empty=True)),
    "repeat": StepRule("Repeat some steps.", Fields("What to repeat, and how often or long.", {
        "times": Count("How many times.", MIN_REPEAT_TIMES, MAX_REPEAT_TIMES),
        "for": Duration("For how long (the last round finishes)."),
        "steps": Steps("The steps to repeat."),
    }, required=("steps",), exactly_one=("times", "for"))),
    "routine": StepRule("Run another routine's steps here.", Name("Name of the routine.")),
}
"""Every kind of step, by the key that names it."""

ROUTINE_RULE = Fields(
    "A calm spoken routine: steps said, breathed and kept quiet, in order.", {
        "name": Name("Identifier: lowercase letters, digits and dashes."),
        "title": Text("Human title, e.g. Wind down."),
        "aliases": ListOf("How a person says it aloud: words only.",
                          Alias("A way to say it, e.g. wind down.")),
        "description": Text("One sentence for `companion routines list`."),
        "voice": Name("Voice profile name (see `companion voices list`)."),
        "ambient": Choice("A very low background sound.", tuple(a.value for a in Ambient)),
        "steps": Steps("Steps, in order."),
    }, required=("name", "steps"))
"""The top level of a routine file."""

STEP_KINDS = tuple(STEP_RULES)
"""The key that names each kind of step."""
TOP_KEYS = tuple(ROUTINE_RULE.fields)
"""The keys allowed at the top of a routine file."""
