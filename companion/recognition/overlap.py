"""What the companion is voicing while a person speaks, and what is listened for then.

Its own voice comes back into the microphone, and a person's "stop" said over it, mixed
with its words, was often taken for another command. So while it talks only what a person
says over a voice they want changed is listened for; answers, questions and new routines
wait for its quiet (the pauses between its sentences). While it asks a question, yes and no
count too: an early answer is an answer.

Measured live on the null sink (its voice coming back as loud as the person's), a "stop"
said over its first or third sentence, 48 runs each way, alternating: heard in 32 with
every command listened for (the rest taken for "no", "help", "resume", its first sentence
saying "no rush" just there, or "softer"), in 45 with these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING

from companion.recognition.intents import Intent

if TYPE_CHECKING:  # not imported to run: it loads hassil, which the player does not need
    from companion.recognition.commands import CommandSet


class CompanionVoice(str, Enum):
    """What the companion voiced just now (or so recently that its echo may still come)."""

    QUIET = "quiet"
    """Nothing but silence or the ambient bed."""
    TALKING = "talking"
    """A sentence or a tone."""
    ASKING = "asking"
    """An ask step's question."""


WHILE_TALKING = frozenset({Intent.STOP, Intent.PAUSE, Intent.SKIP, Intent.REPEAT,
                           Intent.SLOWER, Intent.FASTER, Intent.SOFTER, Intent.LOUDER,
                           Intent.GOODNIGHT})
"""What is listened for while it talks."""

LISTENED_FOR: dict[CompanionVoice, frozenset[Intent] | None] = {
    CompanionVoice.QUIET: None,
    CompanionVoice.TALKING: WHILE_TALKING,
    CompanionVoice.ASKING: WHILE_TALKING | {Intent.YES, Intent.NO},
}
"""Intents listened for in each case (None: every one)."""


def latest_voice(voiced_until: Mapping[CompanionVoice, float], since: float) -> CompanionVoice:
    """What was voiced after ``since``, given when each voice was last voiced (on any one
    clock): asking over talking, else quiet."""
    for voice in (CompanionVoice.ASKING, CompanionVoice.TALKING):
        if voiced_until.get(voice, -math.inf) > since:
            return voice
    return CompanionVoice.QUIET


def listened_for(commands: CommandSet, voice: CompanionVoice) -> CommandSet:
    """The commands listened for while the companion voices ``voice`` (all of them where
    the user's commands file has none of those)."""
    intents = LISTENED_FOR[voice]
    if intents is None:
        return commands
    some = commands.only(intents)
    return some if some.intents else commands
