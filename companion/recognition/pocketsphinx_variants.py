"""Alternative pronunciations for pocketsphinx's grammar words (British voices)."""

from __future__ import annotations

from typing import Any

from companion.recognition.commands import CommandSet
from companion.recognition.lexicon import british_pronunciation


def add_british_variants(decoder: Any, commands: CommandSet,
                         compounds: dict[str, list[str]]) -> None:
    """Give grammar words British variants (the model is American).

    First every word with the US vowel AA gets a variant with AO: British voices say
    "stop" and "not" with a rounded vowel (espeak-ng en-gb: st'0p) that the model hears
    closer to AO. Measured: en-gb "stop" under 12 dB noise was missed until this
    variant existed. Then words that sound different in a British accent get
    :func:`british_pronunciation` as well (``compounds``: the parts of words that
    are not in the dictionary).
    """
    for word in commands.words():
        phones = decoder.lookup_word(word)
        if not phones:
            continue
        variants = [" ".join("AO" if p == "AA" else p for p in phones.split()),
                    british_pronunciation(word, compounds.get(word, [phones]))]
        known = {phones}
        for variant in variants:
            if variant not in known:
                add_variant(decoder, word, variant)
                known.add(variant)


def add_variant(decoder: Any, word: str, phones: str) -> None:
    """Add ``phones`` as the next free alternative pronunciation ``word(N)``."""
    n = 2
    while existing := decoder.lookup_word(f"{word}({n})"):
        if existing == phones:
            return
        n += 1
    decoder.add_word(f"{word}({n})", phones, True)
