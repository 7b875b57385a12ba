"""Estimating a routine's length and stretching its quiet to fill --minutes."""

from __future__ import annotations

import io

import pytest

from companion.config import shipped_dir
from companion.routines.library import RoutineLibrary
from companion.routines.loading import routine_from_yaml
from companion.routines.model import (
    Ask,
    Include,
    Pause,
    Quiet,
    Repeat,
    Routine,
    Say,
    walk,
)
from companion.routines.timing import (
    CHIME_SECONDS,
    CLOSING_SECONDS,
    MIN_QUIET_SECONDS,
    estimate_seconds,
    play_seconds,
    stretch_to_minutes,
)


def say_seconds(text: str) -> float:
    """One second per word: easy to count by hand."""
    return float(len(text.split()))


def no_lookup(name: str) -> Routine:
    raise AssertionError(f"unexpected include of {name}")


def routine(text: str) -> Routine:
    return routine_from_yaml(io.StringIO(text))


def test_estimate_counts_each_kind_as_documented() -> None:
    r = routine("""\
name: t
steps:
  - say: one two three                       # 3
  - say: {any: [a, b c, d e f]}              # mean 2
  - pause: 10s                               # 10
  - breathe: {in: 4, hold: 7, out: 8, cycles: 2}   # 38
  - ask: are you warm                        # 3 + 5 + silence 2
    timeout: 5s
    yes: [{pause: 100}]
    silence: [{say: okay then}]
  - quiet: 1m                                # 60
    check_in: {every: 2m, say: [still here]}
  - chime: bell                              # CHIME_SECONDS
  - repeat: {times: 3, steps: [{say: x y}, {pause: 1}]}   # 9
  - repeat: {for: 45s, steps: [{say: x}]}    # 45
""")
    expected = 3 + 2 + 10 + 38 + (3 + 5 + 2) + 60 + CHIME_SECONDS + 9 + 45
    assert estimate_seconds(r.steps, no_lookup, say_seconds) == pytest.approx(expected)


def test_estimate_follows_includes() -> None:
    inner = Routine("inner", "Inner", (Pause(20.0), Quiet(40.0)))
    outer = Routine("outer", "Outer", (Say(("hi there",)), Include("inner")))
    assert estimate_seconds(outer.steps, {"inner": inner}.__getitem__, say_seconds) == 62


def test_a_play_lasts_its_steps_and_the_closing_tail() -> None:
    r = Routine("r", "R", (Say(("hi there",)), Pause(20.0)))
    assert play_seconds(r.steps, no_lookup, say_seconds) == 22 + CLOSING_SECONDS


STRETCHY = """\
name: s
steps:
  - say: if you want me to stop just say stop
  - quiet: 30s
  - ask: some water
    yes: [{quiet: 20s}]
    silence: [{say: okay}]
  - repeat:
      times: 2
      steps:
        - say: still here
        - quiet: 1m
          check_in: {every: 2m, say: [here]}
  - routine: inner
  - say: this is the end
"""
INNER = Routine("inner", "Inner", (Say(("breathe",)), Quiet(60.0)))


def fixed_parts(r: Routine) -> list[object]:
    """Everything that is not a Quiet, in order (nested too)."""
    return [s for s in walk(r.steps) if not isinstance(s, (Quiet, Repeat, Ask))]


@pytest.mark.parametrize("minutes", [5, 20])
def test_stretch_lands_within_one_percent_and_keeps_fixed_parts(minutes: float) -> None:
    r = routine(STRETCHY)
    lookup = {"inner": INNER}.__getitem__
    before = play_seconds(r.steps, lookup, say_seconds)
    stretched = stretch_to_minutes(r, minutes, lookup, say_seconds)
    after = play_seconds(stretched.steps, no_lookup, say_seconds)  # includes are inlined
    assert after == pytest.approx(minutes * 60, rel=0.01)
    assert before < minutes * 60
    # speech, asks and the include's say are all still there, unchanged and in order
    assert fixed_parts(stretched) == [Say(("if you want me to stop just say stop",)),
                                      Say(("okay",)), Say(("still here",)),
                                      Say(("breathe",)), Say(("this is the end",))]
    quiets = [s for s in walk(stretched.steps) if isinstance(s, Quiet)]
    # top, ask-yes branch, repeat body, inlined include: all scaled by one factor
    factors = [q.seconds / orig for q, orig in zip(quiets, [30, 20, 60, 60], strict=True)]
    assert factors == pytest.approx([factors[0]] * 4)
    assert factors[0] > 1
    assert [q.check_in_every for q in quiets] == [None, None, 120.0, None]
    assert stretched.name == r.name and stretched.title == r.title


def test_stretch_shorter_than_fixed_parts_floors_quiet() -> None:
    r = routine(STRETCHY)
    stretched = stretch_to_minutes(r, 0.5, {"inner": INNER}.__getitem__, say_seconds)
    quiets = [s for s in walk(stretched.steps) if isinstance(s, Quiet)]
    assert [q.seconds for q in quiets] == [MIN_QUIET_SECONDS] * 4


def test_stretch_a_little_shorter_scales_down_not_to_zero() -> None:
    r = routine(STRETCHY)
    lookup = {"inner": INNER}.__getitem__
    before = play_seconds(r.steps, lookup, say_seconds)
    stretched = stretch_to_minutes(r, before / 60 * 0.8, lookup, say_seconds)
    assert play_seconds(stretched.steps, no_lookup, say_seconds) == \
        pytest.approx(before * 0.8, rel=0.01)
    assert all(MIN_QUIET_SECONDS <= q.seconds < 60
               for q in walk(stretched.steps) if isinstance(q, Quiet))


def test_routine_without_quiet_is_unchanged() -> None:
    r = routine("name: a\nsteps: [{say: hello}, {pause: 3}]\n")
    assert stretch_to_minutes(r, 10, no_lookup, say_seconds).steps == r.steps


def test_every_shipped_routine_stretches_to_5_and_20_minutes() -> None:
    lib = RoutineLibrary.load([shipped_dir("routines")])
    for r in lib.routines():
        for minutes in (5, 20):
            stretched = stretch_to_minutes(r, minutes, lib.lookup, say_seconds)
            fixed = play_seconds(
                [s for s in r.steps if not isinstance(s, Quiet)], lib.lookup, say_seconds)
            got = play_seconds(stretched.steps, lib.lookup, say_seconds)
            if fixed < minutes * 60 - 60:
                assert got == pytest.approx(minutes * 60, rel=0.01), r.name
            else:
                assert got <= play_seconds(r.steps, lib.lookup, say_seconds), r.name


def test_too_long_with_quiet_at_its_floor_trims_repeats_breaths_and_pauses() -> None:
    r = routine("""\
name: t
steps:
  - say: hello there
  - breathe: {in: 4, out: 6, cycles: 10}
  - pause: 20s
  - repeat: {times: 6, steps: [{say: one more}, {pause: 5}]}
  - quiet: 1m
  - say: goodbye
""")
    before = estimate_seconds(r.steps, no_lookup, say_seconds)  # 2+100+20+42+60+1 = 225
    fitted = stretch_to_minutes(r, 1.5, no_lookup, say_seconds)
    after = play_seconds(fitted.steps, no_lookup, say_seconds)
    assert before == pytest.approx(225)
    assert after == pytest.approx(90, rel=0.10)
    says = [s for s in walk(fitted.steps) if isinstance(s, Say)]
    assert says == [s for s in walk(r.steps) if isinstance(s, Say)]  # speech never cut


def test_no_quiet_and_too_short_repeats_more() -> None:
    r = routine("name: t\nsteps:\n  - say: hi\n"
                "  - repeat: {times: 2, steps: [{say: breathe now}, {pause: 8}]}\n")
    fitted = stretch_to_minutes(r, 2, no_lookup, say_seconds)
    assert play_seconds(fitted.steps, no_lookup, say_seconds) == pytest.approx(120, rel=0.1)


def test_minutes_range_says_what_a_routine_can_take() -> None:
    from companion.routines.timing import minutes_range

    fixed = routine("name: t\nsteps: [{say: one two three}, {pause: 57}]\n")
    low, high = minutes_range(fixed, no_lookup, say_seconds)
    assert low < 1.0 < high < 1.1  # 60 s, pauses trim to 1 s: 4 s .. 60 s, and the tail
    assert low == pytest.approx((4 + CLOSING_SECONDS) / 60 / 1.05)
    stretchy = routine("name: t\nsteps: [{say: hi}, {quiet: 1m}]\n")
    assert minutes_range(stretchy, no_lookup, say_seconds)[1] == float("inf")


def test_every_shipped_routine_lands_within_ten_percent_of_what_its_range_allows() -> None:
    from companion.routines.timing import minutes_range

    lib = RoutineLibrary.load([shipped_dir("routines")])
    for r in lib.routines():
        low, _ = minutes_range(r, lib.lookup, say_seconds)
        for minutes in (max(low, 0.5) * 1.05, 7, 45):
            if minutes < low:
                continue
            fitted = stretch_to_minutes(r, minutes, lib.lookup, say_seconds)
            got = play_seconds(fitted.steps, lib.lookup, say_seconds)
            assert got == pytest.approx(minutes * 60, rel=0.10), (r.name, minutes)
