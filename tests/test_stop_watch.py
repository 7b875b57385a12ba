"""Stop heard on the rolling audio while other people keep talking: real hama, pocketsphinx,
espeak-ng speech and espeak-ng background talk."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.hearing import GAP_S, SAFEWORDS, shipped_routines
from benchmarks.hearing_mix import Condition, mix, say
from companion.recognition.commands import CommandSet, Intent
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.stop_spotter import SpotterSettings
from tests import clips
from tests.test_recognition_stop_spotter import _others_talking
from tests.test_recognition_stop_spotter import commands as commands  # its fixture, shared

pytestmark = pytest.mark.skipif(not clips.have_espeak(), reason="needs espeak-ng and sox")


@pytest.fixture(scope="module")
def recogniser(commands: CommandSet) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(commands, spotter=SpotterSettings(rolling=True))


def _into_talk(text: str, snr_db: float, at_s: float = 2.0,
               seconds: float = 7.0) -> tuple[np.ndarray, float]:
    """``text`` said ``at_s`` into ``seconds`` of other people's talk ``snr_db`` under it
    (their talk goes on long after it), and when it ends (s)."""
    speech = clips.speak(text).astype(np.float64)
    talk = _others_talking(int(seconds * clips.RATE))
    audio = talk * clips.active_rms(speech.astype(np.int16)) * 10 ** (-snr_db / 20)
    start = int(at_s * clips.RATE)
    audio[start:start + speech.size] += speech
    audio = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    return clips.add_floor(audio), at_s + speech.size / clips.RATE


@pytest.fixture(scope="module")
def without_watch(commands: CommandSet) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(commands, spotter=SpotterSettings(rolling=False))


QUICK = [("stop", 12), ("red", 12), ("that's enough", 8)]


def _stops(recogniser: PocketsphinxRecognizer, audio: np.ndarray) -> list:
    recogniser.reset()
    return [u for u in clips.stream(recogniser, audio) if u.command.intent is Intent.STOP]


@pytest.mark.parametrize(("said", "snr_db"), QUICK)
def test_a_stop_into_talk_that_goes_on_is_heard_there_and_then(
        recogniser, said: str, snr_db: float) -> None:
    audio, end = _into_talk(said, snr_db)
    stops = _stops(recogniser, audio)
    assert stops, "the stop was not heard"
    assert end - 0.2 <= stops[0].decided < end + 0.5  # not once their talk lets up


def test_a_safeword_into_talk_that_goes_on_is_heard(recogniser) -> None:
    audio, _ = _into_talk("banana", 12)
    assert [u.command.text for u in _stops(recogniser, audio)] == ["banana"]


def test_talk_that_goes_on_without_a_stop_stops_nothing(recogniser) -> None:
    audio, _ = _into_talk("I think the aftercare went well", 12)
    assert _stops(recogniser, audio) == []


@pytest.mark.parametrize(("said", "snr_db"), QUICK)
def test_without_the_rolling_watch_the_stop_waits_for_their_talk_to_let_up(
        without_watch, said: str, snr_db: float) -> None:
    off = without_watch
    audio, end = _into_talk(said, snr_db)
    assert all(u.decided >= end + 1.0 for u in _stops(off, audio))


@pytest.mark.parametrize("said", ["stop by the shop tomorrow",
                                  "let's not stop now, we are almost there"])
def test_ones_own_sentence_that_goes_on_after_stop_stops_nothing(recogniser, said: str) -> None:
    """The dip after "stop" looks like the pause after a stop, but the speaker goes on.
    (Clean, through the whole file loop: tests/test_listen_e2e.py's chatter, which gave
    "stop it" before the watch waited to see whether the speaker went on.)"""
    audio, _ = _into_talk(said, 12)
    assert _stops(recogniser, audio) == []


def _room(seconds: float, dbfs: float) -> np.ndarray:
    """A room's own steady noise (pink) at ``dbfs``, float."""
    return np.round(clips.pink_noise(int(seconds * clips.RATE), seed=3) * 32767
                    * 10 ** (dbfs / 20))


@pytest.mark.parametrize(("room_dbfs", "stop_dbfs"), [(-60, -40), (-40, -28)],
                         ids=["a quiet bedroom", "a fan"])
def test_a_rooms_own_noise_is_never_scored_for_a_stop(
        recogniser, monkeypatch, room_dbfs: float, stop_dbfs: float) -> None:
    """Steady noise swings by 5 dB from frame to frame, as a word and its pause do; but
    each check is a hama run, which listening all night long cannot afford, and the room's
    noise holds no stop. A "stop" said in the same room is still heard."""
    spotter = recogniser._spotter
    checks: list[bool] = []
    spotted = spotter.spotted

    def counted(*args, **kwargs):
        checks.append(True)
        return spotted(*args, **kwargs)

    monkeypatch.setattr(spotter, "spotted", counted)
    room = _room(20.0, room_dbfs)
    recogniser.reset()
    assert clips.stream(recogniser, np.clip(room, -32768, 32767).astype(np.int16)) == []
    assert checks == []
    speech = clips.speak("stop").astype(np.float64)
    start = 3 * clips.RATE
    room[start:start + speech.size] += speech * 10 ** (stop_dbfs / 20) * 32767 / (
        clips.active_rms(speech.astype(np.int16)))
    assert _stops(recogniser, np.clip(room, -32768, 32767).astype(np.int16))


@pytest.fixture(scope="module")
def shipped() -> PocketsphinxRecognizer:
    """Listening for every shipped routine by name, as ``companion listen`` does."""
    return PocketsphinxRecognizer(CommandSet.load(shipped_routines(), safewords=SAFEWORDS))


def test_a_command_that_begins_like_stop_is_that_command(shipped) -> None:
    """"start breathing" in a voice whose "breathing" is 5-6 dB quieter than its "start":
    "stop" fits "start", the dip before "breathing" looks like the pause after a stop, and
    "breathing" stays under the bar that tells the speaker going on from others' quieter
    talk. After a "stop" (the hearing benchmark's stop stream, dev split), the command
    was taken and then a stop on the same words (in pink and brown noise, only the
    stop). The longer command that begins there is what was said, once."""
    said = [(say("stop", ("espeak", "en-us+f1", 55, 140)), "stop", "stop", {}),
            (say("start breathing", ("espeak", "en-gb+m2", 40, 165)), "start breathing",
             "play", {})]
    audio, _ = mix(said, Condition(""), GAP_S, seed=23)
    shipped.reset()
    heard = [u.command.intent for u in clips.stream(shipped, audio)]
    assert heard == [Intent.STOP, Intent.PLAY]


def _stop_placed(spotter, pcm: bytes):
    found = [f for f in spotter.spot(pcm, cut_off=False, rolling=True) if f.phrase == "stop"]
    assert found, "no stop placed at all"
    return found[0]


def test_the_longer_command_a_stop_began_is_found_there(shipped) -> None:
    spotter = shipped._spotter  # noqa: SLF001 - the one the recogniser listens with
    speech = say("start breathing", ("espeak", "en-gb+m2", 40, 165))
    pcm = clips.pad(clips.add_floor(speech)).tobytes()
    assert spotter.begun_command(pcm, _stop_placed(spotter, pcm)) == "start breathing"


@pytest.mark.parametrize("snr_db", [12, 8])
def test_a_stop_with_others_talking_after_it_began_no_command(shipped, snr_db: float) -> None:
    """Their talk goes on after the stop, quieter: no longer command is the speaker's."""
    spotter = shipped._spotter  # noqa: SLF001
    audio, _ = _into_talk("stop", snr_db, at_s=0.5, seconds=2.5)
    pcm = audio.tobytes()
    assert spotter.begun_command(pcm, _stop_placed(spotter, pcm)) is None
