"""The front end: WebRTC noise suppression in front of the endpointer and the decoder."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.hearing_mix import brown_noise
from companion.recognition.commands import CommandSet, Intent
from companion.recognition.frontend import (
    DEFAULT_FRONTEND,
    FrontendSettings,
    HighPass,
    NoiseSuppressor,
)
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from tests.clips import active_rms, have_espeak, pad, pink_noise, speak, stream
from tests.fresh_process import printed_by


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


def test_the_high_pass_takes_out_rumble_and_keeps_the_voice_band() -> None:
    hp = HighPass(120.0)
    rumble = np.round(brown_noise(16000 * 2, 7) * 3000).astype(np.int16)
    t = np.arange(16000 * 2) / 16000
    voice = np.round(np.sin(2 * np.pi * 800 * t) * 3000).astype(np.int16)
    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x[8000:].astype(np.float64) ** 2)))
    out_rumble = np.concatenate([hp(f) for f in _frames(rumble)])
    hp = HighPass(120.0)
    out_voice = np.concatenate([hp(f) for f in _frames(voice)])
    assert out_rumble.dtype == np.int16 and out_rumble.size == rumble.size
    assert rms(out_rumble) < 0.5 * rms(rumble)
    assert rms(out_voice) == pytest.approx(rms(voice), rel=0.05)


def test_the_high_pass_gives_scipys_butterworth_samples_without_loading_scipy() -> None:
    """scipy.signal cost 48 MB of resident memory in `listen`; ours must give its output."""
    from scipy.signal import butter, sosfilt

    rumble = np.round(brown_noise(16000 * 3, 3) * 8000).astype(np.int16)
    ours = np.concatenate([f for f in map(HighPass(120.0), _frames(rumble))])
    sos = butter(4, 120.0, "highpass", fs=16000, output="sos")
    theirs = np.clip(np.round(sosfilt(sos, rumble.astype(np.float64))), -32768, 32767)
    assert np.max(np.abs(ours.astype(np.int64) - theirs.astype(np.int64))) <= 1
    code = ("import sys, numpy as np\n"
            "from companion.recognition.frontend import HighPass\n"
            "HighPass(120.0)(np.ones(320, np.int16))\n"
            "print(any(m.startswith('scipy') for m in sys.modules))\n")
    out = printed_by(code)
    assert out == ["False"]


@pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng and sox")
@pytest.mark.parametrize("said", ["stop", "slow down", "what can i say"])
def test_commands_are_heard_in_brown_noise_at_6_db_with_the_default_front_end(said) -> None:
    """Rumble 6 dB under the speech (a fan, traffic) for the whole clip."""
    commands = CommandSet.load([])
    rec = PocketsphinxRecognizer(commands)
    speech = speak(said, "en-us+m1", 155, pitch=30)
    audio = np.concatenate([np.zeros(16000, np.int16), pad(speech, 0.5, 1.0)])
    noise = brown_noise(audio.size, 5) * active_rms(speech) * 10 ** (-6 / 20)
    mixed = np.clip(np.round(audio + noise), -32768, 32767).astype(np.int16)
    heard = [u.command.text for u in stream(rec, mixed) if u.command is not None]
    assert heard == [commands.parse(said).text]  # type: ignore[union-attr]
