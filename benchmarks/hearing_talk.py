"""The dev split's harder talk for :mod:`benchmarks.hearing`, and the listing of what it took.

The test split's talk holds real people (pocketsphinx-testdata readings, card names and
digits), and every false command there was a reading. The dev split had no reading at all,
and its 2.3 min of talk gave no false command and no false stop: nothing to tune on. So the
dev split also gets long passages read aloud and more murmurs ("mm", "mhm", "uh huh") in
its own voices; no line here is in the test split.

``python -m benchmarks.hearing --splits dev --list`` prints every command heard in the talk
stream, the line it was heard in, and which stage of the recogniser took it (its DEBUG
lines: pocketsphinx's coverage, hama's scores, the stop spotter's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

READINGS = (
    "it was late in the autumn when the family left the old house by the river and moved "
    "into town",
    "the recipe calls for two cups of flour a pinch of salt and three eggs beaten until "
    "light",
    "on the morning of the fourth the weather turned cold and the ships stayed in the "
    "harbour",
    "the committee will meet again on thursday to discuss the budget for the coming year",
    "four seven one nine three two eight",
    "the jack of spades and the nine of diamonds",
    "she walked along the narrow lane looking at the gardens and thinking about her "
    "brother",
    "turn left at the second light and continue for about a mile until you see the "
    "church",
    "his manners were gentle and his voice was low but everyone in the room listened to "
    "him",
    "the train to the coast leaves at half past seven from platform number six",
    "a small boat drifted past the pier while the gulls circled above the water",
    "chapter eleven in which the travellers reach the mountains and find the pass closed",
)
"""Passages read aloud (stand-ins for the test split's real readings; none is a command)."""

MURMURS = ("mm", "mmm", "mhm", "uh huh", "uh", "hm", "ah ha", "oh okay", "okay",
           "right", "sure", "oh dear", "yep sure", "hmm okay")
"""Murmurs back to a calm voice, beyond :data:`benchmarks.accuracy.INTERJECTIONS` (which
both splits say); none is a command."""


def dev_talk(say: Callable[[str, tuple], np.ndarray],
             voices: tuple[tuple, ...]) -> list[tuple[np.ndarray, str, str | None, dict]]:
    """The dev split's readings and murmurs, round robin over its voices."""
    items: list[tuple[np.ndarray, str, str | None, dict]] = [
        (say(t, voices[i % len(voices)]), t, None, {}) for i, t in enumerate(READINGS)]
    items += [(say(t, voices[(i + 2) % len(voices)]), t, "interjection", {})
              for i, t in enumerate(MURMURS)]
    return items


class DecisionLog(logging.Handler):
    """Collects the recogniser's DEBUG lines, cut into one block per decision."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> DecisionLog:
        logger = logging.getLogger("companion.recognition")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("companion.recognition")
        logger.removeHandler(self)
        logger.setLevel(self._level)


def listing(chunks: list[tuple[list, list[str]]], said: list, gap_s: float) -> list[str]:
    """One block per command heard: where, what, in which line said, and its DEBUG lines
    (``chunks``: what each fed chunk returned and the lines it logged)."""
    out: list[str] = []
    block: list[str] = []
    for heard, lines in chunks:
        block += lines
        for u in heard:
            whose = [f"{s.text!r} ({s.intent or 'talk'})" for s in said
                     if s.start - 0.3 <= u.start < s.end + gap_s - 0.3]
            out.append(f"  {u.start:7.2f}-{u.end:7.2f} {u.text!r} in {', '.join(whose)}")
            out += [f"        {line}" for line in block[-12:]]
        if heard or any(line.startswith(("heard", "rejected", "ignored")) for line in lines):
            block = []
    return out
