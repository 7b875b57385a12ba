"""What a heard phrase means: the closed set of intents and the parsed Command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Intent(str, Enum):
    """What a spoken command asks for."""

    PLAY = "play"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    SKIP = "skip"
    REPEAT = "repeat"
    SLOWER = "slower"
    FASTER = "faster"
    SOFTER = "softer"
    LOUDER = "louder"
    YES = "yes"
    NO = "no"
    HELP = "help"
    LIST = "list"
    TIME_LEFT = "time_left"
    GOODNIGHT = "goodnight"


@dataclass(frozen=True)
class Command:
    """One recognised command."""

    intent: Intent
    """What is asked."""
    slots: Mapping[str, object] = field(default_factory=dict)
    """``routine`` (str, a routine name such as ``wind-down``) and ``minutes`` (int)."""
    text: str = ""
    """The normalised words that matched."""


@dataclass(frozen=True)
class RoutinePhrases:
    """How a person may name one routine."""

    name: str
    """The routine's name (the ``routine`` slot value), e.g. ``wind-down``."""
    phrases: tuple[str, ...]
    """Name, title and aliases as spoken, e.g. ``("wind down", "bedtime")``."""


# ---------------------------------------------------------------- spoken numbers
