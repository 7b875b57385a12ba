"""Pronunciations for command words: compounds from known words, British variants."""

from __future__ import annotations

from collections.abc import Callable


def pronounce(word: str, lookup: Callable[[str], str | None]) -> str | None:
    """Phones of a word; an unknown compound ("aftercare") is split into known words."""
    parts = pronounce_parts(word, lookup)
    return " ".join(parts) if parts else None


def pronounce_parts(word: str, lookup: Callable[[str], str | None]) -> list[str] | None:
    """Phones of a word as a list of dictionary words' phones (one unless a compound)."""
    found = lookup(word)
    if found:
        return [found]
    for cut in range(2, len(word) - 1):
        head = lookup(word[:cut])
        if head:
            tail = pronounce_parts(word[cut:], lookup) if len(word) - cut >= 2 else None
            if tail:
                return [head, *tail]
    return None


_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
_BATH_WORDS = frozenset({"faster"})
"""Command words said with the long British BATH vowel (AA, not AE). Measured: en-gb
"faster" was heard as "softer" without it. "after" is left out: with AA it made chatter's
"stop by the shop tomorrow" "start after a hard talk"."""


def british_pronunciation(word: str, parts: list[str]) -> str:
    """US (cmudict) phones of ``word``'s parts with British, non-rhotic endings.

    In each part (a compound's words: "after" and "care" in "aftercare") a final ER
    becomes AH ("slower", "louder") and a final R after a vowel goes ("care", "for");
    :data:`_BATH_WORDS` get AA for AE as well. Measured on the benchmark: en-gb "slower"
    was missed and en-gb+f2 "aftercare" heard as "calm down" with US phones alone. ER
    inside a word stays: "words" as W AH D Z made a card reading "kind words".
    """
    out: list[str] = []
    for part in parts:
        seq = part.split()
        if seq and seq[-1] == "ER":
            seq[-1] = "AH"
        elif len(seq) > 1 and seq[-1] == "R" and seq[-2] in _VOWELS:
            seq.pop()
        out += seq
    if word in _BATH_WORDS:
        out = ["AA" if phone == "AE" else phone for phone in out]
    return " ".join(out)
