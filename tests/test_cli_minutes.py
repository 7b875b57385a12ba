"""`companion play ROUTINE --minutes N`: N minutes (within 10%) or a one-line refusal."""

from __future__ import annotations

import wave

import pytest


def _minutes_of(path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate() / 60.0


@pytest.mark.parametrize(("name", "minutes"), [
    ("breathing", 4), ("breathing", 12), ("aftercare", 5), ("quiet-presence", 2),
    ("affirmations", 1), ("wind-down", 20),
])
def test_minutes_n_lasts_n_minutes(run_companion, tmp_path, name, minutes):
    out = tmp_path / "out.wav"
    result = run_companion("play", name, "--minutes", minutes, "--output", out)
    assert result.returncode == 0, result.stderr
    assert _minutes_of(out) == pytest.approx(minutes, rel=0.10)


def test_minutes_too_few_is_refused_naming_routines_that_can(run_companion, tmp_path):
    out = tmp_path / "out.wav"
    result = run_companion("play", "breathing", "--minutes", "2", "--output", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("companion: breathing cannot last 2 minutes (it takes at least")
    able = lines[0].split("routines that can: ")[1].split(", ")
    assert "quiet-presence" in able and "breathing" not in able
    assert not out.exists()
    for name in able:  # every routine named really does take 2 minutes
        fitted = run_companion("play", name, "--minutes", "2", "--output", out)
        assert fitted.returncode == 0, fitted.stderr
        assert _minutes_of(out) == pytest.approx(2, rel=0.10)


def test_the_six_hour_limit_is_in_help_and_enforced(run_companion):
    helped = run_companion("play", "--help")
    assert "at most 6 hours (360 minutes)" in " ".join(helped.stdout.split())
    refused = run_companion("play", "aftercare", "--minutes", "361")
    assert refused.returncode == 2
    assert "--minutes is at most 360 (six hours)" in refused.stderr
