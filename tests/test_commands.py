"""CommandSet: templates, parsing, grammars, user files (pure logic + a real pocketsphinx)."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.errors import ConfigError
from companion.recognition.commands import CommandSet, Intent, RoutinePhrases, minute_words

ROUTINES = [RoutinePhrases("wind-down", ("wind down", "bedtime")),
            RoutinePhrases("aftercare", ("aftercare",)),
            RoutinePhrases("quiet-presence", ("quiet presence",))]


@pytest.fixture(scope="module")
def cs() -> CommandSet:
    return CommandSet.load(ROUTINES)


@pytest.mark.parametrize("text,intent", [
    ("stop", "stop"), ("Stop, please!", "stop"), ("that's enough", "stop"), ("red", "stop"),
    ("pause", "pause"), ("hold on", "pause"), ("wait", "pause"),
    ("resume", "resume"), ("continue", "resume"), ("go on", "resume"),
    ("skip", "skip"), ("next", "skip"), ("repeat that", "repeat"), ("say that again", "repeat"),
    ("slower", "slower"), ("slow down", "slower"), ("faster", "faster"), ("go faster", "faster"),
    ("softer", "softer"), ("quieter", "softer"), ("louder", "louder"), ("speak up", "louder"),
    ("yes", "yes"), ("yes please", "yes"), ("yeah", "yes"),
    ("no", "no"), ("no thanks", "no"), ("not now", "no"),
    ("help", "help"), ("What can I say?", "help"),
    ("what routines do you have", "list"), ("list routines", "list"),
    ("how long is left", "time_left"), ("how much time is left", "time_left"),
    ("goodnight", "goodnight"), ("good night", "goodnight"),
])
def test_each_intent(cs: CommandSet, text: str, intent: str) -> None:
    cmd = cs.parse(text)
    assert cmd is not None and cmd.intent is Intent(intent) and dict(cmd.slots) == {}


@pytest.mark.parametrize("text,slots", [
    ("play wind down", {"routine": "wind-down"}),
    ("start the bedtime routine", {"routine": "wind-down"}),
    ("play aftercare", {"routine": "aftercare"}),
    ("quiet presence", {"routine": "quiet-presence"}),
    ("quiet presence for ten minutes", {"routine": "quiet-presence", "minutes": 10}),
    ("play the aftercare routine for twenty five minutes", {"routine": "aftercare", "minutes": 25}),
    ("play aftercare for twenty-five minutes", {"routine": "aftercare", "minutes": 25}),
    ("start bedtime for a hundred minutes", {"routine": "wind-down", "minutes": 100}),
    ("play wind down for one hundred and twenty minutes", {"routine": "wind-down", "minutes": 120}),
    ("play wind down for one hundred five minutes", {"routine": "wind-down", "minutes": 105}),
])
def test_play(cs: CommandSet, text: str, slots: dict) -> None:
    cmd = cs.parse(text)
    assert cmd is not None and cmd.intent is Intent.PLAY and dict(cmd.slots) == slots


@pytest.mark.parametrize("text", ["", "play", "stop by the shop tomorrow",
                                  "we could play something later",
                                  "play wind down for zero minutes",
                                  "play wind down for a hundred and fifty minutes",
                                  "I think the aftercare went well"])
def test_not_commands(cs: CommandSet, text: str) -> None:
    assert cs.parse(text) is None


def test_minutes_words() -> None:
    values = dict(minute_words())
    assert values["one"] == 1 and values["ninety nine"] == 99 and values["a hundred"] == 100
    assert values["one hundred and twenty"] == 120 and max(values.values()) == 120
    assert set(values.values()) == set(range(1, 121))


def test_is_stop(cs: CommandSet) -> None:
    assert cs.is_stop("stop") and cs.is_stop("Red.") and not cs.is_stop("stop by")
    custom = CommandSet.load(ROUTINES, safewords=("pineapple",))
    assert custom.is_stop("pineapple") and not custom.is_stop("red")


def test_only_keeps_the_listed_intents_and_the_safewords_with_stop(cs: CommandSet) -> None:
    some = cs.only({Intent.STOP, Intent.PAUSE})
    assert some.parse("red").intent is Intent.STOP and some.parse("hold on").intent is Intent.PAUSE
    assert some.parse("what can i say") is None and some.parse("play wind down") is None
    assert cs.only({Intent.PAUSE}).parse("red") is None


def test_sentences_finite_and_parse(cs: CommandSet) -> None:
    sentences = cs.sentences()
    assert 1000 < len(sentences) < 50000 and len(set(sentences)) == len(sentences)
    for s in sentences[::97]:
        assert cs.parse(s) is not None, s


def test_user_file_add_and_replace(tmp_path: Path) -> None:
    f = tmp_path / "commands.yaml"
    f.write_text("intents:\n  stop:\n    replace: true\n    phrases: [halt]\n"
                 "  pause: [one moment]\n")
    cs = CommandSet.load(ROUTINES, safewords=(), user_file=f)
    assert cs.is_stop("halt") and not cs.is_stop("stop")
    assert cs.parse("one moment").intent is Intent.PAUSE
    assert cs.parse("hold on").intent is Intent.PAUSE
    assert "halt" in cs.words() and "user file" in cs.words()["halt"]


def test_user_file_replace_all(tmp_path: Path) -> None:
    f = tmp_path / "ko.yaml"
    f.write_text("replace: true\nintents:\n  stop: [정지]\n  repeat: [다시]\n", encoding="utf-8")
    cs = CommandSet.load([], safewords=(), user_file=f)
    assert cs.parse("정지").intent is Intent.STOP and cs.parse("stop") is None
    assert set(cs.words()) == {"정지", "다시"}
    assert sorted(cs.sentences()) == ["다시", "정지"]


@pytest.mark.parametrize("text,line,col", [
    ("intents:\n  stop: [halt\n", 3, 1),                      # YAML syntax
    ("intents:\n  stopp: [halt]\n", 2, 3),                     # unknown intent
    ("intents:\n  stop:\n    - (halt|\n", 3, 7),               # bad template
    ("intents:\n  stop: [\"{place}\"]\n", 2, 10),              # unknown slot
    ("intents:\n  stop: halt\n", 2, 9),                        # not a list
])
def test_broken_user_file(tmp_path: Path, text: str, line: int, col: int) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        CommandSet.load(ROUTINES, user_file=f)
    assert (err.value.line, err.value.column) == (line, col)
    assert str(err.value).startswith(f"{f}:{line}:{col}: ")


def test_every_word_in_pocketsphinx_dictionary(cs: CommandSet) -> None:
    import pocketsphinx

    from companion.recognition.lexicon import pronounce
    decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
    for word, origin in cs.words().items():
        assert pronounce(word, decoder.lookup_word), f"{word} ({origin})"
    assert decoder.lookup_word("that's")
    assert pronounce("aftercare", decoder.lookup_word) == "AE F T ER K EH R"


def test_jsgf_accepted_by_pocketsphinx(cs: CommandSet) -> None:
    import pocketsphinx

    decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
    decoder.add_word("aftercare", "AE F T ER K EH R", True)
    decoder.add_jsgf_string("commands", cs.jsgf())
    decoder.activate_search("commands")
    assert "<minutes>" in cs.jsgf() and len(cs.jsgf()) < 5000
