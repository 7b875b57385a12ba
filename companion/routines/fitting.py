"""Fitting a routine to ``--minutes N`` when stretching its quiet alone is not enough.

:func:`companion.routines.timing.stretch_to_minutes` first scales the quiet steps. When the
routine is still too long with its quiet at the floor, :func:`trim` shortens what repeats:
counted and timed repeats, breathing cycles, and long pauses (never speech). When it is
too short and has no quiet to stretch, :func:`lengthen` repeats more. A routine that still
does not land within :data:`TOLERANCE` cannot take that many minutes; :func:`length_range`
says what it can take. Pure code.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from companion.routines.model import Ask, Breathe, Pause, Repeat, Routine, Step

TOLERANCE = 0.10
"""``--minutes N`` is kept when the routine lands within 10% of N minutes."""
PLAN_TOLERANCE = 0.05
"""What a plan must reach to be accepted: half the promise, because a render runs a few
per cent from the estimate (pauses between sentences, check-in timing)."""
MIN_PAUSE_SECONDS = 1.0
"""A trimmed pause never gets shorter than this (or its own length)."""
MIN_BREATHS = 2
"""A trimmed breathing step keeps at least this many cycles (or its own count)."""
MAX_STRETCH = 1000.0
"""Repeats are never multiplied more than this."""

Total = Callable[[Sequence[Step]], float]


def trim(steps: Sequence[Step], factor: float) -> tuple[Step, ...]:
    """``steps`` with repeats, breathing cycles and pauses scaled by ``factor`` (0-1)."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, Pause):
            floor = min(step.seconds, MIN_PAUSE_SECONDS)
            out.append(dataclasses.replace(step, seconds=max(floor, step.seconds * factor)))
        elif isinstance(step, Breathe):
            floor = min(step.cycles, MIN_BREATHS)
            out.append(dataclasses.replace(step, cycles=max(floor,
                                                            round(step.cycles * factor))))
        elif isinstance(step, Repeat):
            out.append(_scaled_repeat(step, factor, trim(step.steps, factor)))
        elif isinstance(step, Ask):
            out.append(step.with_branches(lambda branch: trim(branch, factor)))
        else:
            out.append(step)
    return tuple(out)


def lengthen(steps: Sequence[Step], factor: float) -> tuple[Step, ...]:
    """``steps`` with every repeat (nested too) done ``factor`` (>= 1) times as long."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, Repeat):
            out.append(_scaled_repeat(step, factor, step.steps))
        elif isinstance(step, Ask):
            out.append(step.with_branches(lambda branch: lengthen(branch, factor)))
        else:
            out.append(step)
    return tuple(out)


def _scaled_repeat(step: Repeat, factor: float, inner: tuple[Step, ...]) -> Repeat:
    if step.seconds is not None:
        return dataclasses.replace(step, steps=inner, seconds=step.seconds * factor)
    times = max(1, round((step.times or 1) * factor))
    return dataclasses.replace(step, steps=inner, times=times)


def best_factor(make: Callable[[float], tuple[Step, ...]], total: Total, target: float,
                low: float, high: float) -> tuple[Step, ...]:
    """The steps ``make(f)`` for ``f`` in [low, high] whose total is nearest ``target``.

    ``total(make(f))`` grows with ``f`` (in steps, where counts round): a bisection finds
    the crossing, and the nearer of its two sides wins.
    """
    lo_steps, hi_steps = make(low), make(high)
    if total(hi_steps) <= target:
        return hi_steps
    if total(lo_steps) >= target:
        return lo_steps
    for _ in range(60):
        mid = (low + high) / 2.0
        steps = make(mid)
        if total(steps) < target:
            low, lo_steps = mid, steps
        else:
            high, hi_steps = mid, steps
    return hi_steps if total(hi_steps) - target <= target - total(lo_steps) else lo_steps


def fits(seconds: float, target: float) -> bool:
    """True when ``seconds`` is within :data:`TOLERANCE` of ``target``."""
    return abs(seconds - target) <= TOLERANCE * target


def length_range(routine: Routine, total: Total,
                 floor_quiet: Callable[[Sequence[Step], float], tuple[Step, ...]]
                 ) -> tuple[float, float]:
    """Shortest and longest a routine can be made (seconds; longest may be ``inf``).

    ``floor_quiet(steps, factor)`` scales its quiet (``timing.scale_quiet``); ``steps`` are
    the routine's with includes inlined.
    """
    steps = routine.steps
    shortest = total(trim(floor_quiet(steps, 0.0), 0.0))
    stretchy = total(floor_quiet(steps, 2.0)) > total(steps) or \
        total(lengthen(steps, 2.0)) > total(steps)
    return shortest, math.inf if stretchy else total(steps)
