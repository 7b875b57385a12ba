"""Pronunciations for command words: compounds from known words, British variants, and
guesses (hama's G2P, then spelling rules) for made-up words such as a safeword."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

_LOGGER = logging.getLogger(__name__)


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


# ---------------------------------------------------------------- words no dictionary has

MIN_COMPOUND_PART = 3
"""Fewest letters of each part when a made-up word is split into dictionary words.
cmudict holds many two-letter abbreviations: with them "bananarama" split as
"ba na na rama" (B IY EY N AA N AA R AA M AH) and "quokka" as "qu okk a"."""
MAX_COMPOUND_PARTS = 3


def split_compound(word: str, lookup: Callable[[str], str | None],
                   min_part: int = MIN_COMPOUND_PART,
                   max_parts: int = MAX_COMPOUND_PARTS) -> list[str] | None:
    """The fewest dictionary words (each ``min_part`` letters or more) that spell ``word``,
    as their phones ("kiwiberry" → ["K IY W IY", "B EH R IY"]), or None."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(min_part, n + 1):
        for start in range(0, end - min_part + 1):
            head = best[start]
            if head is None or len(head) >= max_parts:
                continue
            phones = lookup(word[start:end])
            if phones and (best[end] is None or len(head) + 1 < len(best[end] or ())):
                best[end] = [*head, phones]
    return best[n] or None


_IPA_TO_ARPABET = {
    "ɑ": "AA", "a": "AA", "ɒ": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔ": "AO",
    "aʊ": "AW", "aɪ": "AY", "ɛ": "EH", "e": "EY", "eɪ": "EY", "ɝ": "ER", "ɚ": "ER", "ɜ": "ER",
    "ɪ": "IH", "ᵻ": "IH", "ɨ": "IH", "i": "IY", "o": "OW", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY",
    "ʊ": "UH", "u": "UW", "ʉ": "UW", "b": "B", "tʃ": "CH", "t͡ʃ": "CH", "d": "D", "ð": "DH",
    "f": "F", "ɡ": "G", "g": "G", "h": "HH", "dʒ": "JH", "d͡ʒ": "JH", "k": "K", "l": "L",
    "ɫ": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "ɾ": "D", "s": "S",
    "ʃ": "SH", "t": "T", "ʔ": "T", "θ": "TH", "v": "V", "w": "W", "j": "Y", "z": "Z",
    "ʒ": "ZH", "x": "HH", "əl": "AH L", "l̩": "AH L", "n̩": "AH N", "m̩": "AH M",
}
_IPA_MARKS = str.maketrans("", "", "ˈˌːˑ.̃")


def ipa_to_arpabet(phonemes: list[str]) -> str | None:
    """cmudict phones (no stress) for IPA phonemes, or None when one has no match."""
    out: list[str] = []
    for phoneme in phonemes:
        key = phoneme.translate(_IPA_MARKS)
        if not key:
            continue
        phones = _IPA_TO_ARPABET.get(key)
        if phones is None:
            if all(ch in _IPA_TO_ARPABET for ch in key):  # an unlisted cluster: one by one
                phones = " ".join(_IPA_TO_ARPABET[ch] for ch in key)
            else:
                return None
        out.append(phones)
    return " ".join(out) or None


@functools.cache
def _hama_model():  # noqa: ANN202 - hama.G2PModel when hama is installed
    """hama's English G2P (its 4 MB model is inside the wheel: nothing is downloaded)."""
    try:
        from hama import G2PModel
    except ImportError:
        return None
    try:
        return G2PModel()
    except Exception as exc:  # noqa: BLE001 - a broken install falls back to the rules
        _LOGGER.warning("hama G2P could not load (%s); using spelling rules", exc)
        return None


def hama_pronunciation(word: str) -> str | None:
    """cmudict phones hama's G2P predicts for ``word``, or None (not installed, no guess)."""
    model = _hama_model()
    if model is None:
        return None
    try:
        result = model.predict(word)
    except Exception as exc:  # noqa: BLE001
        _LOGGER.warning("hama G2P failed on %r: %s", word, exc)
        return None
    return ipa_to_arpabet([a.phoneme for a in result.alignments])


# Spelling rules, longest match first: (letters, phones). A small English letter-to-sound
# fallback for when hama is missing; it is a guess, not a dictionary.
_SPELLING = sorted({
    "tch": "CH", "sch": "S K", "igh": "AY", "ough": "AO", "augh": "AO", "tion": "SH AH N",
    "sion": "ZH AH N", "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "wh": "W", "ck": "K",
    "ng": "NG", "qu": "K W", "gh": "G", "kn": "N", "wr": "R", "ee": "IY", "ea": "IY",
    "ie": "IY", "ei": "EY", "oo": "UW", "ou": "AW", "ow": "OW", "oa": "OW", "oe": "OW",
    "ai": "EY", "ay": "EY", "ey": "EY", "oi": "OY", "oy": "OY", "au": "AO", "aw": "AO",
    "ew": "UW", "ue": "UW", "ui": "UW", "er": "ER", "ir": "ER", "ur": "ER", "ar": "AA R",
    "or": "AO R", "ss": "S", "ll": "L", "tt": "T", "pp": "P", "bb": "B", "dd": "D",
    "ff": "F", "gg": "G", "kk": "K", "mm": "M", "nn": "N", "rr": "R", "zz": "Z", "cc": "K",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
    "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
    "y": "IY", "z": "Z", "'": "",
}.items(), key=lambda kv: -len(kv[0]))
_LONG = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW"}


def spelling_pronunciation(word: str) -> str | None:
    """cmudict phones guessed from English spelling rules ("zorblat" → Z AO R B L AE T)."""
    word = word.lower()
    if not word.isalpha() and not word.replace("'", "").isalpha():
        return None
    # A final silent e lengthens the vowel before it ("bloke": B L OW K).
    silent_e = len(word) > 3 and word.endswith("e") and word[-2] not in "aeiouy" \
        and word[-3] in "aeiou"
    body = word[:-1] if silent_e else word
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "c" and i + 1 < len(body) and body[i + 1] in "eiy":
            out.append("S")
            i += 1
            continue
        if body[i] == "y" and i == 0:
            out.append("Y")
            i += 1
            continue
        for letters, phones in _SPELLING:
            if body.startswith(letters, i):
                if silent_e and i == len(body) - 2 and letters in _LONG:
                    phones = _LONG[letters]
                if phones:
                    out.append(phones)
                i += len(letters)
                break
    return " ".join(out) or None


class PronunciationSource(str, Enum):
    """Where a word's phones came from."""

    DICTIONARY = "dictionary"
    COMPOUND = "compound"
    G2P = "g2p"
    SPELLING = "spelling"


@dataclass(frozen=True)
class Pronunciation:
    """Phones for a word the decoder is to hear, and where they came from."""

    word: str
    phones: str
    """cmudict phones, space separated, no stress marks."""
    source: PronunciationSource
    parts: tuple[str, ...] = ()
    """For a compound: each dictionary word's phones."""
    variants: tuple[str, ...] = ()
    """Other likely phones for a guessed word (spelling rules beside hama's guess, a
    non-rhotic British form): people say a made-up word in more than one way."""

    def describe(self) -> str:
        """One phrase for a report ("letter-to-sound guess (hama): Z AO R B L AE T")."""
        if self.source is PronunciationSource.DICTIONARY:
            return "in the pronunciation dictionary"
        if self.source is PronunciationSource.COMPOUND:
            return "not in the dictionary; heard as a compound: " + " + ".join(self.parts)
        how = "hama G2P" if self.source is PronunciationSource.G2P else "spelling rules"
        return f"not in the dictionary; pronunciation guessed by {how}: {self.phones}"


def guess_pronunciation(word: str, lookup: Callable[[str], str | None]) -> Pronunciation | None:
    """Phones for ``word``: the dictionary, then dictionary words it is made of, then
    hama's G2P, then spelling rules."""
    found = lookup(word)
    if found:
        return Pronunciation(word, found, PronunciationSource.DICTIONARY)
    parts = split_compound(word, lookup)
    if parts:
        return Pronunciation(word, " ".join(parts), PronunciationSource.COMPOUND, tuple(parts))
    g2p, spelled = hama_pronunciation(word), spelling_pronunciation(word)
    guesses = list(dict.fromkeys(p for p in (g2p, spelled) if p))
    if not guesses:
        return None
    variants = [*guesses[1:], *(non_rhotic(p) for p in guesses)]
    variants = [v for v in dict.fromkeys(variants) if v not in (guesses[0], "")]
    source = PronunciationSource.G2P if g2p else PronunciationSource.SPELLING
    return Pronunciation(word, guesses[0], source, variants=tuple(variants))


def non_rhotic(phones: str) -> str:
    """British (non-rhotic) form: R after a vowel and before a consonant or the end goes,
    and ER becomes AH at the end ("zorblat": Z AO R B L AE T → Z AO B L AE T)."""
    seq = phones.split()
    out: list[str] = []
    for i, phone in enumerate(seq):
        nxt = seq[i + 1] if i + 1 < len(seq) else None
        if phone == "R" and out and out[-1] in _VOWELS and (nxt is None or nxt not in _VOWELS):
            continue
        out.append("AH" if phone == "ER" and nxt is None else phone)
    return " ".join(out)
