"""``--minutes N``: fit a routine to N minutes by its real speech lengths, or refuse in one
line naming the routines that can take N minutes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from companion.errors import ConfigError

if TYPE_CHECKING:
    from companion.routines.model import Routine
    from companion.session.context import Context
    from companion.speech.synthesis import Synthesizer

SaySeconds = Callable[[str], float]


def speech_seconds(context: Context, synth: Synthesizer, routine: Routine,
                   voice: str | None) -> SaySeconds:
    """How long each text takes in the voice ``routine`` plays with, synthesised for real.

    The player's own planning estimate (words per minute) ran 5-9% long on speech-heavy
    routines; the synthesiser caches what it made, so playing it later costs nothing more.
    """
    chosen = voice or routine.voice
    spoken = context.voice(chosen) if chosen else context.voice()
    rate = synth.sample_rate
    lengths: dict[str, float] = {}

    def say_seconds(text: str) -> float:
        if text not in lengths:
            lengths[text] = len(synth.synthesize(text, spoken)) / rate
        return lengths[text]

    return say_seconds


def fit(context: Context, synth: Synthesizer, routine: Routine, minutes: float,
        voice: str | None) -> Routine:
    """``routine`` fitted to ``minutes`` within 10%; ``ConfigError`` if it cannot be."""
    from companion.routines import timing

    say_seconds = speech_seconds(context, synth, routine, voice)
    low, high = timing.minutes_range(routine, context.routines.lookup, say_seconds)
    if not low <= minutes <= high:
        raise _refusal(context, synth, routine, minutes, voice, (low, high))
    return timing.stretch_to_minutes(routine, minutes, context.routines.lookup, say_seconds)


def _refusal(context: Context, synth: Synthesizer, routine: Routine, minutes: float,
             voice: str | None, span: tuple[float, float]) -> ConfigError:
    from companion.routines import timing

    able = []
    for other in context.routines.routines():
        say_seconds = speech_seconds(context, synth, other, voice)
        low, high = timing.minutes_range(other, context.routines.lookup, say_seconds)
        if low <= minutes <= high:
            able.append(other.name)
    low, high = span
    takes = (f"at least {_fmt(low)} minutes" if math.isinf(high)
             else f"{_fmt(low)} to {_fmt(high)} minutes")
    others = (f"routines that can: {', '.join(able)}" if able
              else "no routine can; ask for more minutes")
    return ConfigError(f"{routine.name} cannot last {_fmt(minutes)} minutes (it takes {takes}"
                       f", even with its quiet and repeats trimmed): {others}")


def _fmt(minutes: float) -> str:
    return f"{minutes:.1f}".rstrip("0").rstrip(".")
