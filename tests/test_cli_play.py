"""`companion play` and friends, run as a user would, rendering real speech to WAV files."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from tests.audio_checks import loud_spans
from tests.userfiles import write_user_routine

RATE = 22050


def read_wav(path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def test_play_output_matches_the_routines_timeline(run_companion, companion_env, tmp_path):
    write_user_routine(companion_env, "short", """\
name: short
title: Short
steps:
  - say: Hello. Saying stop ends everything.
  - pause: 3s
  - say: This is the end. Goodbye.
""")
    out = tmp_path / "short.wav"
    result = run_companion("play", "short", "--output", out)
    assert result.returncode == 0, result.stderr
    audio = read_wav(out)
    spans = loud_spans(audio, RATE, min_gap_s=1.0)
    assert len(spans) == 2
    assert spans[1][0] - spans[0][1] >= 3.0
    assert np.max(np.abs(audio)) <= 10 ** (-6 / 20) + 1 / 32768  # default cap -6 dBFS
    first = audio[int(spans[0][0] * RATE): int(spans[0][0] * RATE) + 40]
    assert np.max(np.abs(first)) < 0.05  # starts with a fade, no click


def test_minutes_five_gives_about_five_minutes(run_companion, tmp_path):
    out = tmp_path / "qp.wav"
    result = run_companion("play", "quiet presence", "--minutes", "5", "--output", out)
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds == pytest.approx(300, rel=0.05)


@pytest.mark.parametrize("name", ["aftercare", "wind-down", "quiet-presence", "affirmations",
                                  "breathing", "check-in", "after-a-hard-talk"])
def test_every_shipped_routine_renders_under_the_cap(run_companion, tmp_path, name):
    out = tmp_path / f"{name}.wav"
    result = run_companion("play", name, "--output", out)
    assert result.returncode == 0, result.stderr
    audio = read_wav(out)
    assert len(audio) / RATE > 60
    assert np.max(np.abs(audio)) <= 10 ** (-6 / 20) + 1 / 32768
    assert len(loud_spans(audio, RATE)) >= 3
    tail = audio[-RATE // 2:]
    assert np.max(np.abs(tail)) < 0.01  # ends faded out


@pytest.mark.parametrize("voice", ["gentle", "warm", "steady"])
def test_every_shipped_voice_speaks(run_companion, tmp_path, voice):
    out = tmp_path / f"{voice}.wav"
    result = run_companion("voices", "try", voice, "--output", out)
    assert result.returncode == 0, result.stderr
    assert len(loud_spans(read_wav(out), RATE)) >= 1


@pytest.mark.parametrize("args, message", [
    (["play", "no-such-routine"], "no routine named 'no-such-routine'"),
    (["play", "aftercare", "--voice", "robot"], "no voice named 'robot'"),
    (["play", "aftercare", "--minutes", "-3"], "minutes must be more than 0"),
    (["play", "aftercare", "--output", "/nonexistent/dir/x.wav"], "cannot write"),
    (["routines", "show", "nope"], "no routine named 'nope'"),
])
def test_bad_input_gives_one_clear_line_and_a_nonzero_exit(run_companion, args, message):
    result = run_companion(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_broken_user_routine_is_reported_and_the_rest_still_play(run_companion,
                                                                    companion_env, tmp_path):
    write_user_routine(companion_env, "broken",
                       "name: broken\ntitle: Broken\nsteps:\n  - sing: la\n")
    check = run_companion("routines", "check")
    assert check.returncode == 2
    assert check.stderr.count("broken.yaml:4:5") == 1, check.stderr
    listed = run_companion("routines", "list")
    assert listed.returncode == 0 and "aftercare" in listed.stdout
    assert listed.stderr.count("broken.yaml:4:5") == 1, listed.stderr
    played = run_companion("play", "breathing", "--minutes", "4", "--output", tmp_path / "b.wav")
    assert played.returncode == 0, played.stderr


def test_routines_check_names_file_line_and_column(run_companion, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntitle: Bad\nsteps:\n  - pause: -3s\n")
    result = run_companion("routines", "check", bad)
    assert result.returncode == 2
    assert f"{bad}:4:" in result.stderr


def test_a_user_routine_overrides_the_shipped_one(run_companion, companion_env):
    write_user_routine(companion_env, "breathing", """\
name: breathing
title: My breathing
steps:
  - say: My own words.
""")
    result = run_companion("routines", "list")
    assert "My breathing" in result.stdout


def test_schema_prints_json_and_a_path_for_editors(run_companion):
    printed = run_companion("schema")
    schema = json.loads(printed.stdout)
    assert "steps" in schema["properties"]
    path = run_companion("schema", "--path").stdout.strip()
    assert json.loads(open(path).read()) == schema


def test_version_and_help(run_companion):
    assert run_companion("--version").stdout.startswith("companion ")
    assert "play" in run_companion("--help").stdout


def test_settings_cap_lowers_the_loudest_sample(run_companion, companion_env, tmp_path):
    from pathlib import Path

    config = Path(companion_env["XDG_CONFIG_HOME"]) / "quiet-companion" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("volume_cap_db: -20\n")
    out = tmp_path / "quiet.wav"
    assert run_companion("play", "affirmations", "--minutes", "1", "--output", out).returncode == 0
    assert np.max(np.abs(read_wav(out))) <= 10 ** (-20 / 20) + 1 / 32768


def test_a_voice_file_naming_a_missing_engine_voice_is_marked_and_still_speaks(
        run_companion, companion_env, tmp_path):
    from pathlib import Path

    folder = Path(companion_env["XDG_DATA_HOME"]) / "quiet-companion" / "voices"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "far.yaml").write_text("name: far\nengine: piper\nvoice: nowhere/voice.onnx\n")
    (folder / "emma.yaml").write_text("name: emma\nengine: hibari\nvoice: emma\n")
    listed = run_companion("voices", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    far = next(i for i, line in enumerate(lines) if line.split()[0] == "far")
    assert "not available: no Piper voice model" in lines[far + 1]
    emma = next(i for i, line in enumerate(lines) if line.split()[0] == "emma")
    assert "not available: hibari voice 'emma' is not inside the package" in lines[emma + 1]
    out = tmp_path / "far.wav"
    played = run_companion("play", "affirmations", "--voice", "far", "--output", out)
    assert played.returncode == 0, played.stderr
    warnings = [line for line in played.stderr.splitlines() if "cannot speak here" in line]
    assert len(warnings) == 1 and "using espeak-ng instead" in warnings[0]
    assert len(loud_spans(read_wav(out), RATE)) >= 3
