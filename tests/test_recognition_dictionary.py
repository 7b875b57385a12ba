"""The pronunciation dictionary read in place, and the decoder that loads only the grammar's
words: the same pronunciations and the same hearing as with pocketsphinx's whole dictionary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pocketsphinx
import pytest

from companion.recognition.commands import CommandSet, RoutinePhrases
from companion.recognition.dictionary import decoder_for_words, model_dictionary
from companion.recognition.lexicon import pronounce
from tests.clips import CHATTER, add_floor, have_espeak, mix_pink, pad, speak

ROUTINES = [RoutinePhrases("wind-down", ("wind down", "bedtime")),
            RoutinePhrases("aftercare", ("aftercare",))]


@pytest.fixture(scope="module")
def whole() -> pocketsphinx.Decoder:
    """pocketsphinx with its whole dictionary loaded (what the companion used to do)."""
    return pocketsphinx.Decoder(lm=None, loglevel="FATAL")


def test_every_word_is_looked_up_as_pocketsphinx_does(whole) -> None:
    path = Path(whole.config["dict"])
    words = [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    assert len(words) > 100_000
    with model_dictionary() as dictionary:
        assert [w for w in words if dictionary.lookup(w) != whole.lookup_word(w)] == []
        for odd in ("STOP", "stop(9)", "aftercare", "zzzq", "éclair", "a(2)", "'em"):
            assert dictionary.lookup(odd) == whole.lookup_word(odd), odd
        assert pronounce("aftercare", dictionary.lookup) == "AE F T ER K EH R"


def test_a_subset_keeps_every_variant_and_names_missing_words(tmp_path) -> None:
    with model_dictionary() as dictionary:
        missing = dictionary.write_subset(["read", "stop", "aftercare", "read"],
                                          tmp_path / "words.dict")
    assert missing == ["aftercare"]
    assert (tmp_path / "words.dict").read_text().splitlines() == [
        "read R EH D", "read(2) R IY D", "stop S T AA P"]


def _decode(decoder: pocketsphinx.Decoder, audio: np.ndarray) -> tuple[str, list]:
    decoder.start_utt()
    decoder.process_raw(audio.astype("<i2").tobytes(), False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    segs = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg() or ()]
    return (hyp.hypstr if hyp else ""), segs


@pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")
def test_the_grammar_decoder_hears_exactly_what_the_whole_dictionary_heard(whole) -> None:
    commands = CommandSet.load(ROUTINES)
    with model_dictionary() as dictionary:
        small = decoder_for_words(dictionary, commands.words(), lm=None, loglevel="FATAL")
    for decoder in (whole, small):
        decoder.add_word("aftercare", "AE F T ER K EH R", True)
        decoder.add_jsgf_string("commands", commands.jsgf())
        decoder.activate_search("commands")
    said = ["stop", "play wind down", "aftercare for ten minutes", "read me the time",
            "go on", *CHATTER[:4]]
    clips = [add_floor(pad(speak(t, voice, rate)), seed=i)
             for i, (t, (voice, rate)) in enumerate((t, v) for t in said
                                                    for v in (("en-us", 160), ("en-gb+f2", 140)))]
    clips.append(mix_pink(pad(speak("play aftercare", "en-us+m3", 150)), 6.0, seed=1))
    heard = [(_decode(whole, c), _decode(small, c)) for c in clips]
    assert all(a == b for a, b in heard), [pair for pair in heard if pair[0] != pair[1]]
    assert sum(1 for (text, _), _ in heard if text) >= len(clips) // 2
