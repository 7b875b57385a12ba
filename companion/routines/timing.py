"""How long a routine takes, and stretching its quiet to fill ``--minutes N``. Pure code."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from companion.errors import ConfigError
from companion.routines.model import (
    Ask,
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

log = logging.getLogger(__name__)

Lookup = Callable[[str], Routine]
SaySeconds = Callable[[str], float]

CHIME_SECONDS = 3.0
"""How long a chime rings, for estimates."""
MIN_QUIET_SECONDS = 5.0
"""A stretched-down quiet step never gets shorter than this (or its own length)."""
MAX_INCLUDE_DEPTH = 20
"""Includes nested deeper than this are treated as a loop."""
CLOSING_SECONDS = 2.5
"""The quiet tail the player adds after a routine's last step (its ambient bed fades out
over it): part of how long a play lasts, though no step asks for it."""


def estimate_seconds(steps: Sequence[Step], lookup: Lookup, say_seconds: SaySeconds,
                     _depth: int = 0) -> float:
    """Expected length of ``steps``: an Ask counts its question, timeout and silence branch."""
    if _depth > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep: "
                          "they probably go round in a circle")
    return sum(_step_seconds(step, lookup, say_seconds, _depth) for step in steps)


def play_seconds(steps: Sequence[Step], lookup: Lookup, say_seconds: SaySeconds) -> float:
    """Expected length of a play of ``steps``: the steps and the closing tail."""
    return estimate_seconds(steps, lookup, say_seconds) + CLOSING_SECONDS


def _step_seconds(step: Step, lookup: Lookup, say_seconds: SaySeconds, depth: int) -> float:
    """Expected length of one step."""
    if isinstance(step, Say):
        return sum(say_seconds(t) for t in step.texts) / max(1, len(step.texts)) \
            if step.pick_any else sum(say_seconds(t) for t in step.texts)
    if isinstance(step, (Pause, Quiet)):
        return step.seconds
    if isinstance(step, Breathe):
        return step.cycles * (step.inhale + step.hold + step.exhale + step.hold_out)
    if isinstance(step, Ask):
        return say_seconds(step.question) + step.timeout + \
            estimate_seconds(step.silence, lookup, say_seconds, depth)
    if isinstance(step, Chime):
        return CHIME_SECONDS
    if isinstance(step, Repeat):
        if step.seconds is not None:
            return step.seconds
        return (step.times or 1) * estimate_seconds(step.steps, lookup, say_seconds, depth)
    if isinstance(step, Include):
        return estimate_seconds(lookup(step.routine).steps, lookup, say_seconds, depth + 1)
    raise TypeError(f"not a step: {step!r}")


def inline_includes(steps: Sequence[Step], lookup: Lookup, _depth: int = 0
                    ) -> tuple[Step, ...]:
    """``steps`` with every include replaced by the included routine's steps (recursively)."""
    if _depth > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep: "
                          "they probably go round in a circle")
    out: list[Step] = []
    for step in steps:
        if isinstance(step, Include):
            out.extend(inline_includes(lookup(step.routine).steps, lookup, _depth + 1))
        elif isinstance(step, Ask):
            out.append(dataclasses.replace(
                step, yes=inline_includes(step.yes, lookup, _depth),
                no=inline_includes(step.no, lookup, _depth),
                silence=inline_includes(step.silence, lookup, _depth)))
        elif isinstance(step, Repeat):
            out.append(dataclasses.replace(step, steps=inline_includes(step.steps, lookup,
                                                                       _depth)))
        else:
            out.append(step)
    return tuple(out)


def scale_quiet(steps: Sequence[Step], factor: float) -> tuple[Step, ...]:
    """``steps`` with every Quiet (nested too) multiplied by ``factor``, floored.

    Quiet inside a ``repeat: {for: ...}`` is left alone: that repeat's length is its own.

    The floor is ``MIN_QUIET_SECONDS``, or the quiet's own length if that is shorter, so
    scaling down never makes a short quiet longer and never goes below zero.
    """
    out: list[Step] = []
    for step in steps:
        if isinstance(step, Quiet):
            floor = min(step.seconds, MIN_QUIET_SECONDS)
            out.append(dataclasses.replace(step, seconds=max(floor, step.seconds * factor)))
        elif isinstance(step, Ask):
            out.append(step.with_branches(lambda branch: scale_quiet(branch, factor)))
        elif isinstance(step, Repeat) and step.seconds is None:
            out.append(dataclasses.replace(step, steps=scale_quiet(step.steps, factor)))
        else:
            out.append(step)
    return tuple(out)


def stretch_to_minutes(routine: Routine, minutes: float, lookup: Lookup,
                       say_seconds: SaySeconds) -> Routine:
    """A copy of ``routine`` fitted to last about ``minutes`` (best effort).

    Includes are inlined so their quiet can stretch too. The quiet steps are scaled first
    (speech, pauses, breathing and check-in spacing unchanged). If that cannot land within
    10% (see :mod:`companion.routines.fitting`), a routine too long even with its quiet at
    the floor has its repeats, breathing cycles and pauses trimmed, and a routine with no
    quiet to stretch repeats more. Speech is never cut. :func:`minutes_range` says whether
    the result can land within 10%.
    """
    from companion.routines import fitting

    if minutes <= 0:
        raise ValueError("minutes must be more than zero")
    target = minutes * 60.0
    steps = inline_includes(routine.steps, lookup)

    def total(candidate: Sequence[Step]) -> float:
        return play_seconds(candidate, lookup, say_seconds)

    fitted = fitting.best_factor(lambda f: scale_quiet(steps, f), total, target, 0.0, 1e9)
    if not fitting.fits(total(fitted), target):
        at_floor = scale_quiet(steps, 0.0)
        if total(at_floor) > target:
            fitted = fitting.best_factor(lambda f: fitting.trim(at_floor, f), total, target,
                                         0.0, 1.0)
        elif total(fitted) < target:
            base = fitted
            fitted = fitting.best_factor(lambda f: fitting.lengthen(base, f), total,
                                         target, 1.0, fitting.MAX_STRETCH)
    log.debug("fitted %s to %.0f s (asked %.0f s)", routine.name, total(fitted), target)
    return dataclasses.replace(routine, steps=fitted)


def minutes_range(routine: Routine, lookup: Lookup, say_seconds: SaySeconds
                  ) -> tuple[float, float]:
    """The fewest and most minutes ``routine`` can be fitted to (most: inf), planned within
    5% so that what is played lands within the promised 10%."""
    from companion.routines import fitting

    inlined = dataclasses.replace(routine, steps=inline_includes(routine.steps, lookup))
    shortest, longest = fitting.length_range(
        inlined, lambda steps: play_seconds(steps, lookup, say_seconds), scale_quiet)
    tol = fitting.PLAN_TOLERANCE
    return shortest / (1 + tol) / 60.0, longest / (1 - tol) / 60.0
