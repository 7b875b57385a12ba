"""The stop spotter: real hama phoneme model, real pocketsphinx, real espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest

from companion.recognition.commands import CommandSet, Intent
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.stop_spotter import SpotterSettings, StopSpotter
from tests import clips
from tests.test_recognition_pocketsphinx import ROUTINES

pytestmark = pytest.mark.skipif(not clips.have_espeak(), reason="needs espeak-ng and sox")

SAFEWORDS = ("red", "banana")


@pytest.fixture(scope="module")
def commands() -> CommandSet:
    return CommandSet.load(ROUTINES, safewords=SAFEWORDS)


@pytest.fixture(scope="module")
def recogniser(commands: CommandSet) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(commands)


@pytest.fixture(scope="module")
def spotter(recogniser: PocketsphinxRecognizer) -> StopSpotter:
    spots = recogniser._spotter  # noqa: SLF001 - the one the recogniser listens with
    assert spots is not None
    return spots


def _others_talking(n: int, seed: int = 5) -> np.ndarray:
    """Three other people reading chatter at once (unit RMS)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for voice in ("en-us+m7", "en-gb+f2", "en-us+f3"):
        parts, total = [], 0
        while total < n:
            line = clips.CHATTER[int(rng.integers(len(clips.CHATTER)))]
            parts += [clips.speak(line, voice=voice).astype(np.float64),
                      np.zeros(int(rng.uniform(0.1, 0.5) * clips.RATE))]
            total += parts[-2].size + parts[-1].size
        out += np.concatenate(parts)[:n]
    return out / np.sqrt(np.mean(out**2))


def _over_talk(text: str, voice: str, snr_db: float) -> np.ndarray:
    """``text`` said 2 s into other people's talk, ``snr_db`` above it, talk all along."""
    speech = clips.speak(text, voice=voice)
    audio = np.concatenate((np.zeros(2 * clips.RATE), speech, np.zeros(2 * clips.RATE)))
    talk = _others_talking(audio.size) * clips.active_rms(speech) * 10 ** (-snr_db / 20)
    return clips.add_floor(np.clip(np.round(audio + talk), -32768, 32767).astype(np.int16))


@pytest.mark.parametrize(("said", "voice", "snr_db"), [
    ("stop please", "en-us", 12), ("stop please", "en-us", 6), ("that's enough", "en-us", 6)])
def test_a_stop_said_over_other_peoples_talk_is_heard(recogniser, said: str, voice: str,
                                                      snr_db: float) -> None:
    recogniser.reset()
    heard = clips.stream(recogniser, _over_talk(said, voice, snr_db))
    assert [u.command.intent for u in heard] == [Intent.STOP]
    assert 2.0 <= heard[0].decided
    # Placed where it was said (2 s in), not where the others' talk opened an utterance.
    said_for = len(clips.speak(said, voice=voice)) / clips.RATE
    assert 1.7 <= heard[0].start < heard[0].end <= 2.4 + said_for


@pytest.mark.parametrize("said", ["softer", "go faster", "slow down", "pause", "yes"])
def test_a_command_that_is_no_stop_is_not_spotted_as_one(recogniser, spotter,
                                                          said: str) -> None:
    audio = clips.pad(clips.add_floor(clips.speak(said)))
    assert spotter.heard_stop(audio.tobytes()) is None
    recogniser.reset()
    assert [u.command.intent.value for u in clips.stream(recogniser, audio)] != ["stop"]


@pytest.mark.parametrize(("said", "phrases"), [
    ("stop", {"stop"}), ("stop it", {"stop", "stop it"}), ("that's enough", {"that's enough"}),
    ("banana", {"banana"}), ("red", {"red"})])
def test_each_stop_phrase_and_safeword_is_spotted(spotter, said: str,
                                                  phrases: set[str]) -> None:
    audio = clips.pad(clips.add_floor(clips.speak(said)))
    found = spotter.heard_stop(audio.tobytes())
    assert found is not None and found.phrase in phrases


@pytest.mark.parametrize("said", ["stop by the shop tomorrow",
                                  "let's not stop now, we are almost there"])
def test_stop_inside_ones_own_sentence_is_not_spotted(spotter, said: str) -> None:
    audio = clips.pad(clips.add_floor(clips.speak(said)))
    assert spotter.heard_stop(audio.tobytes()) is None


def test_talk_over_talk_without_a_stop_stops_nothing(recogniser) -> None:
    recogniser.reset()
    audio = _over_talk("the quiet part of the evening is my favourite", "en-us", 12)
    assert not [u for u in clips.stream(recogniser, audio) if u.command.intent is Intent.STOP]


def test_with_the_spotter_off_the_engine_decides_alone(commands) -> None:
    off = PocketsphinxRecognizer(commands, spotter=SpotterSettings(enabled=False))
    assert off._spotter is None  # noqa: SLF001
    heard = clips.stream(off, clips.pad(clips.add_floor(clips.speak("stop"))))
    assert [u.command.text for u in heard] == ["stop"]
