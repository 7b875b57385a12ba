"""`companion devices`, `doctor` and `listen` on a machine with and without sound (real CLI)."""

from __future__ import annotations

import pytest

NOWHERE = "unix:/nonexistent/pulse/native"


@pytest.fixture()
def no_sound_server(companion_env):
    """Point PulseAudio clients at a socket that does not exist: no devices at all."""
    companion_env["PULSE_SERVER"] = NOWHERE
    return companion_env


@pytest.mark.audio
def test_devices_lists_the_null_sink_and_defaults(run_companion, pulse_null_sink):
    out = run_companion("devices")
    assert out.returncode == 0, out.stderr
    assert "[default input, default output]" in out.stdout
    assert "sound server: PulseAudio at" in out.stdout


def test_devices_without_a_sound_server_says_why_and_what_next(run_companion, no_sound_server):
    out = run_companion("devices")
    assert out.returncode == 4
    assert "no PulseAudio or PipeWire server answers" in out.stdout
    assert NOWHERE in out.stdout
    assert "pulseaudio --start" in out.stdout
    assert "--output" in out.stdout


def test_listen_without_devices_is_one_line_naming_play_output(run_companion, no_sound_server):
    out = run_companion("listen", timeout=60)
    assert out.returncode == 4
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "no microphone or speaker found" in lines[0]
    assert "companion play aftercare --output" in lines[0]
    assert "Traceback" not in out.stderr


def test_play_without_speakers_points_at_output_file(run_companion, no_sound_server):
    out = run_companion("play", "breathing", timeout=60)
    assert out.returncode == 4
    assert out.stderr.strip().splitlines()[-1].startswith("companion: no speaker found")
    assert "--output" in out.stderr


@pytest.mark.audio
def test_doctor_passes_every_check_on_a_working_machine(run_companion, pulse_null_sink):
    out = run_companion("doctor", timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    names = ["settings", "routines and voices", "sound server", "speakers", "microphone",
             "speech (espeak-ng)", "voices", "recogniser and model", "safewords"]
    for name in names:
        assert f"ok    {name}:" in out.stdout
    assert "'red'" in out.stdout
    assert out.stdout.strip().endswith("everything is ready")


def test_doctor_gives_a_fix_for_each_failure(run_companion, no_sound_server, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"engine: vosk\nvosk_model: {tmp_path / 'no-model'}\n")
    out = run_companion("--config", config, "doctor", timeout=120)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    failed = [i for i, line in enumerate(lines) if line.startswith("FAIL")]
    assert {lines[i].split(":")[0] for i in failed} == {
        "FAIL  sound server", "FAIL  speakers", "FAIL  microphone",
        "FAIL  recogniser and model", "FAIL  safewords"}
    for i in failed:
        assert lines[i + 1].startswith("      fix: "), lines[i]
    assert "ok    speech (espeak-ng):" in out.stdout


def test_doctor_names_the_broken_settings_line(run_companion, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("voice: gentle\nvolume_cap_db: 12\n")
    out = run_companion("--config", config, "doctor", timeout=120)
    assert out.returncode == 1
    assert f"FAIL  settings: {config}:2:" in out.stdout
