"""The front end: WebRTC noise suppression in front of the endpointer and the decoder."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.hearing_mix import brown_noise
from companion.recognition.commands import CommandSet, Intent
from companion.recognition.frontend import FrontendSettings, NoiseSuppressor
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.streaming import DEFAULT_FRONTEND
from tests.clips import active_rms, have_espeak, pad, pink_noise, speak, stream


def _frames(audio: np.ndarray):
    for i in range(0, audio.size - 319, 320):
        yield audio[i:i + 320]


def test_off_passes_frames_through() -> None:
    off = NoiseSuppressor(FrontendSettings())
    frame = (pink_noise(320, 1) * 1000).astype(np.int16)
    assert not off.active and np.array_equal(off(frame), frame)


def test_steady_noise_is_turned_down() -> None:
    ns = NoiseSuppressor(FrontendSettings(noise_suppression=2))
    noise = np.round(pink_noise(16000 * 3, 2) * 1500).astype(np.int16)
    out = np.concatenate([ns(f) for f in _frames(noise)])
    assert out.dtype == np.int16 and out.size == noise.size - noise.size % 320
    tail = slice(16000, None)  # after it has learnt the noise
    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    assert rms(out[tail]) < 0.5 * rms(noise[tail])


def test_the_default_front_end_passes_a_quiet_room_unchanged() -> None:
    ns = NoiseSuppressor(DEFAULT_FRONTEND)
    frame = (pink_noise(320, 3) * 50).astype(np.int16)
    assert np.array_equal(ns(frame), frame) or DEFAULT_FRONTEND.suppress_above_db > 40


@pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")
def test_stop_is_heard_in_brown_noise_through_the_front_end() -> None:
    commands = CommandSet.load([])
    rec = PocketsphinxRecognizer(commands, frontend=FrontendSettings(noise_suppression=2))
    speech = speak("stop", "en-us+m1", 155, pitch=30)
    audio = np.concatenate([np.zeros(16000, np.int16), pad(speech, 0.5, 1.0)])
    noise = brown_noise(audio.size, 5) * active_rms(speech) * 10 ** (-12 / 20)
    mixed = np.clip(np.round(audio + noise), -32768, 32767).astype(np.int16)
    heard = [commands.parse(u.text) for u in stream(rec, mixed)]
    assert [c.intent for c in heard if c] == [Intent.STOP]
