"""`volume_db:` in the settings and voice files: the rendered voice is that much softer;
doctor shows it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.clips import load_wav


def _rms(path) -> float:
    audio = load_wav(path).astype(np.float64)
    return float(np.sqrt(np.mean(audio ** 2)))


def test_volume_db_makes_the_voice_that_much_softer(run_companion, tmp_path):
    config = tmp_path / "config.yaml"
    loud, soft = tmp_path / "loud.wav", tmp_path / "soft.wav"
    config.write_text("volume_db: 0\n")
    assert run_companion("--config", config, "play", "affirmations", "--output",
                         loud).returncode == 0
    config.write_text("volume_db: -6\n")
    assert run_companion("--config", config, "play", "affirmations", "--output",
                         soft).returncode == 0
    assert 20 * np.log10(_rms(soft) / _rms(loud)) == pytest.approx(-6.0, abs=0.5)


def test_doctor_shows_volume_db_and_each_voice_level(run_companion, companion_env, tmp_path):
    voices_dir = Path(companion_env["XDG_DATA_HOME"]) / "quiet-companion" / "voices"
    voices_dir.mkdir(parents=True)
    (voices_dir / "hushed.yaml").write_text("name: hushed\nvolume_db: -3\n")
    config = tmp_path / "config.yaml"
    config.write_text("volume_db: -4.5\n")
    out = run_companion("--config", config, "doctor", timeout=120)
    settings = next(line for line in out.stdout.splitlines() if line.startswith("ok    settings"))
    assert "volume_db -4.5, volume_cap_db -6" in settings
    voices = next(line for line in out.stdout.splitlines() if line.startswith("ok    voices:"))
    assert "gentle +0.0 dB" in voices  # its file says volume: 1.0
    assert "hushed -3.0 dB" in voices  # volume_db: -3 in a voice file of the user's
