"""Made-up safewords: pronunciations for words no dictionary has, heard as stop."""

from __future__ import annotations

import pytest

from companion.recognition import lexicon
from companion.recognition.commands import CommandSet, Intent
from companion.recognition.lexicon import (
    PronunciationSource,
    guess_pronunciation,
    ipa_to_arpabet,
    non_rhotic,
    spelling_pronunciation,
    split_compound,
)
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.safewords import safeword_report
from tests.clips import add_floor, have_espeak, mix_pink, pad, speak, stream

WORDS = {"kiwi": "K IY W IY", "berry": "B EH R IY", "ki": "K IY", "wiberry": "W IH B EH R IY",
         "red": "R EH D", "na": "N AA", "ba": "B AA"}


def test_a_compound_is_split_into_the_fewest_words_of_three_letters_or_more() -> None:
    assert split_compound("kiwiberry", WORDS.get) == ["K IY W IY", "B EH R IY"]
    assert split_compound("banana", WORDS.get) is None  # no two-letter abbreviations


def test_ipa_becomes_cmudict_phones() -> None:
    assert ipa_to_arpabet(["z", "ɔ", "ɹ", "b", "l", "æ", "t"]) == "Z AO R B L AE T"
    assert ipa_to_arpabet(["d͡ʒ", "aɪ", "ˈi"]) == "JH AY IY"
    assert ipa_to_arpabet(["ʘ"]) is None


def test_spelling_rules_guess_a_made_up_word() -> None:
    assert spelling_pronunciation("zorblat") == "Z AO R B L AE T"
    assert spelling_pronunciation("snoke") == "S N OW K"
    assert spelling_pronunciation("cheeky") == "CH IY K IY"
    assert non_rhotic("Z AO R B L AE T") == "Z AO B L AE T"


def test_the_dictionary_then_compounds_then_guesses() -> None:
    assert guess_pronunciation("red", WORDS.get).source is PronunciationSource.DICTIONARY
    assert guess_pronunciation("kiwiberry", WORDS.get).source is PronunciationSource.COMPOUND
    zorblat = guess_pronunciation("zorblat", WORDS.get)
    assert zorblat is not None and zorblat.phones.startswith("Z AO")
    assert zorblat.source in (PronunciationSource.G2P, PronunciationSource.SPELLING)


def test_without_hama_spelling_rules_are_used(monkeypatch) -> None:
    monkeypatch.setattr(lexicon, "_hama_model", lambda: None)
    zorblat = guess_pronunciation("zorblat", WORDS.get)
    assert zorblat is not None and zorblat.source is PronunciationSource.SPELLING
    assert "Z AO B L AE T" in zorblat.variants


MADE_UP = ("zorblat", "pineapplez", "kiwiberry", "blorptastic")


@pytest.fixture(scope="module")
def rec() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(CommandSet.load([], safewords=MADE_UP))


def test_the_report_says_each_made_up_safeword_can_be_heard_and_how(rec) -> None:
    report = {w: (ok, why) for w, ok, why in safeword_report(rec, [*MADE_UP, "banana"])}
    assert all(report[w][0] for w in MADE_UP)
    assert "compound" in report["kiwiberry"][1]
    assert "guessed" in report["zorblat"][1]
    assert report["banana"] == (False, report["banana"][1]) and "not in" in report["banana"][1]


@pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")
@pytest.mark.parametrize("voice", ["en-us", "en-us+m3"])
@pytest.mark.parametrize("word", MADE_UP)
def test_a_made_up_safeword_is_heard_as_stop(rec, word: str, voice: str) -> None:
    cs = rec.commands
    for audio in (add_floor(pad(speak(word, voice))), mix_pink(pad(speak(word, voice)), 12, 5)):
        rec.reset()
        heard = [cs.parse(u.text) for u in stream(rec, audio)]
        assert [c.intent for c in heard if c] == [Intent.STOP], (word, voice, heard)
