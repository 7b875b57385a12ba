"""hama's closed-set verifier: real hama phoneme model, real espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest

from companion.recognition.commands import CommandSet
from companion.recognition.phrase_verifier import PhraseVerifier, VerifierSettings
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.pocketsphinx_rejection import RejectionSettings
from tests.clips import have_espeak, speak, stream
from tests.test_recognition_pocketsphinx import ROUTINES

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")


@pytest.fixture(scope="module")
def commands() -> CommandSet:
    return CommandSet.load(ROUTINES)


@pytest.fixture(scope="module")
def verifier(commands: CommandSet) -> PhraseVerifier:
    import pocketsphinx

    decoder = pocketsphinx.Decoder(lm=None, loglevel="FATAL")
    phrases = [p for p in commands.sentences() if "minute" not in p]
    return PhraseVerifier(phrases, decoder.lookup_word)


def _padded(text: str, voice: str) -> bytes:
    quiet = np.zeros(3200, dtype=np.int16)
    return np.concatenate((quiet, speak(text, voice), quiet)).tobytes()


@pytest.mark.parametrize("voice", ["en-us", "en-gb"])
@pytest.mark.parametrize("said", ["stop", "slow down", "list routines", "what can i say"])
def test_a_spoken_command_is_its_own_best_phrase(verifier, said: str, voice: str) -> None:
    verdict = verifier.verdict(_padded(said, voice), said)
    assert verdict is not None and verdict.best == said
    assert verifier.agrees(verdict, stop=said == "stop")


@pytest.mark.parametrize("voice", ["en-us", "en-gb"])
@pytest.mark.parametrize(("said", "taken_for"),
                         [("I see", "quieter"), ("wow", "louder"), ("ouch", "no")])
def test_an_interjection_forced_into_a_command_is_rejected(verifier, said: str,
                                                           taken_for: str, voice: str) -> None:
    verdict = verifier.verdict(_padded(said, voice), taken_for)
    assert verdict is not None
    assert not verifier.agrees(verdict, stop=False)


@pytest.mark.parametrize("said", ["I see", "wow", "ouch"])
def test_interjections_start_nothing(commands, said: str) -> None:
    """Dev split: these were taken for commands by pocketsphinx alone."""
    rec = PocketsphinxRecognizer(commands)
    heard = [u.text for voice in ("en-us", "en-gb") for u in stream(rec, _audio(said, voice))]
    assert heard == []


@pytest.mark.parametrize("said", ["stop", "that's enough", "pause", "play the wind down"])
def test_commands_are_still_heard_with_the_verifier(commands, said: str) -> None:
    rec = PocketsphinxRecognizer(commands)
    heard = [u.command.text for u in stream(rec, _audio(said, "en-us"))]
    assert heard == [commands.parse(said).text]  # type: ignore[union-attr]


def test_with_the_verifier_off_pocketsphinx_decides_alone(commands) -> None:
    off = PocketsphinxRecognizer(commands, rejection=RejectionSettings(
        verifier=VerifierSettings(enabled=False)))
    heard = [u.command.text for u in stream(off, _audio("stop", "en-us"))]
    assert heard == ["stop"]


def _audio(text: str, voice: str) -> np.ndarray:
    quiet = np.zeros(16000, dtype=np.int16)
    return np.concatenate((quiet, speak(text, voice), quiet))
