"""What tells a command from other speech in pocketsphinx.

The grammar has a garbage path (a loop of everyday words) that competes with the
commands, the command's words must cover the speech the endpointer heard
(:class:`RejectionSettings`), and long stretches of speech are never commands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from companion.recognition.intents import Command, Intent
from companion.recognition.phrase_spotter import SpotSettings
from companion.recognition.phrase_verifier import VerifierSettings

GARBAGE_WORDS = tuple("""
the be of and a in that have i for not on with he as you at this but his by from they we
her she or an will my one all would there their what so up out if about who get which go me
when make can time just him know take people year your good some could see other than then
now look only its over think also back after use how our work first well way even new want
because any these give day most us is are was were been has had did said went made thing
things much many very more here where down should really mean maybe little big last long
great right left place home house school water night morning evening friday tomorrow
yesterday car shop hours favourite sister brother mother father friend friends dinner movie
book read okay oh hmm sure thanks feel felt tired happy sad nice late early week weekend
money call phone ask asked
""".split())
"""Everyday words for the garbage path: speech that is not a command is decoded as a run
of these instead of being forced into the nearest command (FIELD-NOTES: 72% of chatter came
out as a command with a plain grammar). Words that sound like command words are left out:
"old", "tell", "do", "still", "off", "them", "love", "why", "into", "got" and "minutes"
took real commands ("hold on" -> "got old on", "help" -> "do old", "stop" -> "tell");
measured on the benchmark's clips, leaving them out gave 2 more right of 141 clean and of 141
noisy, 1 more stop of 36, and no more false commands. So did "to", "too", "two", "it",
"like", "come", "talked" and "told" ("help" -> "too", "next" -> "it", "good night" -> "told
like", "after a hard talk" -> "talked on told"): without them, 2 more right of 141 clean,
none fewer noisy, no more false commands."""


@dataclass(frozen=True)
class RejectionSettings:
    """What tells a command from other speech (pocketsphinx)."""

    garbage_word_prob: float = 1e-3
    """Grammar probability of each word on the garbage path (higher: more goes to garbage).
    Measured (120 commands x 2 conditions, 192 s of chatter and recordings): 1e-5 kept 16
    false commands, 1e-3 kept 3 (all with low coverage), 4e-3 cost 10 points of noisy
    accuracy because garbage words took real commands ("hold on" -> "got old on")."""
    min_coverage: float = 0.7
    """Least share of the utterance's speech that the command's words must cover. Speech the
    grammar can only explain with fillers ("stop [by the shop tomorrow]") is not a command.
    Measured: 0.5 let "breathe with me for seventy seven minutes" through from chatter;
    0.7 gave 0 false commands; 0.85 cost 3 points of noisy accuracy."""
    stop_min_coverage: float = 0.35
    """The same for a stop phrase: a missed stop is worse than a false one. Measured: real
    stops as low as 0.42 when the recogniser ran on without a reset; chatter's "stop [by
    the shop tomorrow]" 0.24-0.26."""
    minutes_min_coverage: float = 0.8
    """The same for "... for N minutes": long hypotheses are where chatter slipped through
    ("the breathing exercise was nice yesterday" -> breathing for 21 minutes). Measured: real
    ones 0.82 and up (5 phrasings x 6 voices, clean and noisy)."""
    phrase_min_coverage: float = 0.93
    """The same for any command of three words or more: its words should account for
    nearly all of the speech. Measured (141 commands x 2 conditions): real ones 0.96 and
    up (0.97 and up, 218 on held-out voices), while a person reading "ten of clubs" came
    out as "what can i say" at 0.86 and chatter's "please don't slow down the car so
    suddenly" as breathing for 112 minutes at 0.90."""
    phrase_words: int = 3
    """Words from which ``phrase_min_coverage`` applies."""
    stop_rescue_min_s: float = 0.25
    """...and at least this long: live, a 120 ms blip of the start tone's echo was once
    rescued as "stop" (a spoken "stop" is 0.3 s or more)."""
    stop_rescue_max_s: float = 1.5
    """Utterances up to this long that the garbage path took are checked for a stop."""
    stop_rescue_min_coverage: float = 0.9
    """Least coverage for a stop found by that check (0.5 let one card reading through)."""
    rescue_max_s: float = 3.0
    """Utterances up to this long that the garbage path took are checked for any command
    (taken only when the hama verifier agrees)."""
    verifier: VerifierSettings = VerifierSettings()
    """hama's second opinion (:mod:`companion.recognition.phrase_verifier`)."""
    spot: SpotSettings = SpotSettings()
    """hama's search for a command inside a long stretch of other talk that the garbage
    path took (:mod:`companion.recognition.phrase_spotter`; needs the verifier)."""


def with_garbage_path(fsg_text: str, words: Iterable[str], word_prob: float) -> str:
    """Add a garbage loop to an FSG: start → (any of ``words``)+ → final."""
    lines = [line for line in fsg_text.strip().splitlines() if line.strip() != "FSG_END"]
    header = {line.split()[0]: line.split()[1] for line in lines[:4] if len(line.split()) == 2}
    states = int(header["NUM_STATES"])
    start, final = header["START_STATE"], header["FINAL_STATE"]
    lines = [f"NUM_STATES {states + 1}" if line.startswith("NUM_STATES") else line
             for line in lines]
    garbage = states
    lines += [f"TRANSITION {start} {garbage} 1.0"]
    lines += [f"TRANSITION {garbage} {garbage} {word_prob} {word}" for word in words]
    lines += [f"TRANSITION {garbage} {final} 1.0", "FSG_END"]
    return "\n".join(lines) + "\n"


_FILLER_PREFIXES = ("<", "[", "+")
_PS_FRAME_S = 0.01
"""pocketsphinx's feature frame."""


def _words(segments: Iterable[Any]) -> list[Any]:
    return [s for s in segments if not s.word.startswith(_FILLER_PREFIXES)]


def coverage(segments: Iterable[Any], speech_seconds: float, least_s: float) -> float:
    """Seconds of the words in pocketsphinx's ``segments`` over seconds of speech heard."""
    frames = sum(s.end_frame - s.start_frame + 1 for s in _words(segments))
    return frames * _PS_FRAME_S / max(speech_seconds, least_s)


def word_span(segments: Iterable[Any], lead_s: float) -> tuple[float, float] | None:
    """Where the words in ``segments`` are (seconds, ``lead_s`` added); None: no word."""
    words = _words(segments)
    if not words:
        return None
    return (lead_s + words[0].start_frame * _PS_FRAME_S,
            lead_s + (words[-1].end_frame + 1) * _PS_FRAME_S)


def min_coverage(rejection: RejectionSettings, command: Command | None, text: str) -> float:
    """How much of the speech ``text`` (parsed: ``command``) must cover: less for stop,
    more for long phrases."""
    if command is not None and command.intent is Intent.STOP:
        return rejection.stop_min_coverage
    least = rejection.min_coverage
    if command is not None and "minutes" in command.slots:
        least = rejection.minutes_min_coverage
    if len(text.split()) >= rejection.phrase_words:
        least = max(least, rejection.phrase_min_coverage)
    return least
