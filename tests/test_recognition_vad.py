"""Silero VAD deciding where speech is, other people talking, and a microphone that
gives nothing usable (real Silero model, real pocketsphinx, espeak-ng speech)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from benchmarks.hearing_mix import babble, brown_noise
from companion.recognition.commands import CommandSet, Intent
from companion.recognition.endpointing import EnergyEndpointer, frame_db
from companion.recognition.input_check import InputProblem
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.vad import SileroGate, room_quiet_dbfs
from tests.clips import active_rms, have_espeak, pink_noise, silence, speak, stream

needs_espeak = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")


def _frames(audio: np.ndarray):
    for i in range(0, audio.size - 319, 320):
        yield audio[i:i + 320]


def _int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("noise", [pink_noise, brown_noise])
def test_steady_noise_is_never_voice(noise) -> None:
    gate = SileroGate()
    loud = _int16(noise(16000 * 4, 7) * 3000)
    assert not any(gate.voiced(f) for f in _frames(loud))


@needs_espeak
def test_speech_is_voice() -> None:
    gate = SileroGate()
    speech = speak("play breathing for ten minutes", "en-us+m1", 155, pitch=30)
    assert sum(gate.voiced(f) for f in _frames(speech)) > 0.5 * speech.size / 320


@needs_espeak
def test_background_talk_is_never_taken_for_a_command() -> None:
    """Three other people talk for 12 s, 12 dB under a "pause" said in the middle: their
    talk gives no command (the old energy endpointer made one long utterance of it)."""
    commands = CommandSet.load([])
    rec = PocketsphinxRecognizer(commands)
    said = speak("pause", "en-us+m1", 155, pitch=30)
    audio = np.concatenate([silence(6.0), said, silence(6.0)]).astype(np.float64)
    talk = babble(audio.size, 2) * active_rms(said) * 10 ** (-12 / 20)
    heard = [commands.parse(u.text) for u in stream(rec, _int16(audio + talk))]
    assert {c.intent for c in heard if c} <= {Intent.PAUSE}


@needs_espeak
def test_a_stop_after_long_talk_is_heard() -> None:
    """Talk longer than any command is cut, and the stop said right after it still counts."""
    commands = CommandSet.load([])
    rec = PocketsphinxRecognizer(commands)
    talk = speak("the quiet part of the evening is my favourite and yesterday we talked "
                 "for hours about the movie and my sister", "en-gb+m4", 150, pitch=45)
    assert talk.size > 5.5 * 16000
    said = speak("stop", "en-us+m1", 155, pitch=30)
    audio = np.concatenate([silence(1.0), talk, silence(0.6), said, silence(1.5)])
    heard = [commands.parse(u.text) for u in stream(rec, audio)]
    assert [c.intent for c in heard if c] == [Intent.STOP]


def test_a_microphone_giving_only_loud_noise_says_so_once_and_hears_nothing(caplog) -> None:
    commands = CommandSet.load([])
    rec = PocketsphinxRecognizer(commands)
    noise = _int16(pink_noise(16000 * 8, 4) * 10000)
    with caplog.at_level(logging.WARNING, logger="companion.recognition.input_check"):
        heard = stream(rec, noise)
    assert heard == []
    assert rec.input_problem is InputProblem.TOO_NOISY
    said = [r for r in caplog.records if "too noisy to hear you well" in r.getMessage()]
    assert len(said) == 1


def test_a_clipping_microphone_is_named() -> None:
    commands = CommandSet.load([])
    rec = PocketsphinxRecognizer(commands)
    clipped = _int16(pink_noise(16000 * 5, 5) * 40000)
    assert stream(rec, clipped) == []
    assert rec.input_problem is InputProblem.CLIPPING


def test_a_silent_input_is_quiet_not_a_problem() -> None:
    """Silence in a file is just quiet; a microphone of zeros is a lost device, which the
    device stream names (tests/test_faults_devices.py)."""
    rec = PocketsphinxRecognizer(CommandSet.load([]))
    assert stream(rec, silence(6.0)) == []
    assert rec.input_problem is None


@needs_espeak
def test_speech_after_a_long_digital_silence_is_voice_and_the_silence_is_not() -> None:
    """An idle microphone's digital silence is not sent to Silero (idle CPU), and the
    first words after it are heard as voice all the same."""
    gate = SileroGate()
    quiet = np.zeros(16000 * 3, dtype=np.int16)
    assert not any(gate.voiced(f) for f in _frames(quiet))
    assert gate.skipped > 60  # 3 s is ~94 windows; the first half second is heard
    speech = speak("play breathing for ten minutes", "en-us+m1", 155, pitch=30)
    assert sum(gate.voiced(f) for f in _frames(speech)) > 0.5 * speech.size / 320


@pytest.mark.parametrize(("room_dbfs", "skipped"), [(-60.0, True), (-40.0, False)])
def test_a_quiet_rooms_own_floor_is_not_sent_to_silero_but_a_louder_rooms_is(
        room_dbfs: float, skipped: bool) -> None:
    """A quiet bedroom through a real microphone (pink noise at -60 dBFS) is skipped like
    digital silence (idle CPU), and words said in it are voice all the same; a louder
    room's noise (-40 dBFS) all goes to Silero, as before."""
    gate, floor = SileroGate(), EnergyEndpointer()

    def voiced(audio: np.ndarray) -> int:
        heard = 0
        for f in _frames(audio):
            floor.is_speech(frame_db(f), False)
            heard += gate.voiced(f, room_quiet_dbfs(floor.floor_db))
        return heard

    room = pink_noise(16000 * 6, seed=3) * 32767 * 10 ** (room_dbfs / 20)
    assert voiced(_int16(room[:16000 * 3])) == 0
    assert (gate.skipped > 60) is skipped  # 3 s is ~94 windows
    speech = speak("play breathing for ten minutes", "en-us+m1", 155, pitch=30)
    said = room[16000 * 3:16000 * 3 + speech.size] + speech
    assert voiced(_int16(said)) > 0.5 * speech.size / 320
