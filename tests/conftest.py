"""Shared fixtures: paths to the repo's data and the PulseAudio null sink."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def _sound_server() -> dict[str, str]:
    """How to reach the running sound server, found before the user dirs are replaced (its
    socket link and cookie live in the real config dir)."""
    from tests.pulse_env import pulse_vars

    found = pulse_vars()
    server = found.get("PULSE_SERVER", "")
    if server.startswith("unix:"):  # pacmd finds the server by its runtime dir
        found["PULSE_RUNTIME_PATH"] = str(Path(server[len("unix:"):]).parent)
    return found


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path_factory, monkeypatch, _sound_server):
    """Every test gets its own config, data and cache dirs: never the real user's."""
    home = tmp_path_factory.mktemp("xdg")
    for name, value in _sound_server.items():
        monkeypatch.setenv(name, value)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The source tree root (holds routines/ and voices/)."""
    return REPO


@pytest.fixture(scope="session")
def pulse_null_sink() -> str:
    """Name of the PulseAudio null sink whose monitor is the default source.

    The real-device tests need it; `.ci/run` starts it. Fails (not skips) when it is
    missing, so a CI without audio cannot pass silently.
    """
    if shutil.which("pactl") is None:
        pytest.fail("pactl not found: install pulseaudio (see .ci/run)")
    out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True)
    if out.returncode != 0 or "loop" not in out.stdout:
        pytest.fail("PulseAudio null sink 'loop' is not running: start it as .ci/run does")
    return "loop"


@pytest.fixture(scope="session")
def synth():
    """The real espeak-ng synthesiser (one per test run: espeak-ng initialises once)."""
    from companion.speech.synthesis import Pyttsx3Synthesizer

    synthesizer = Pyttsx3Synthesizer()
    yield synthesizer
    synthesizer.close()


@pytest.fixture()
def companion_env(tmp_path):
    """Environment for running the CLI with private config/data/cache dirs."""
    import os

    from tests.pulse_env import pulse_vars

    env = dict(os.environ)
    env.update(pulse_vars())
    env.update({
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(REPO),
    })
    return env


@pytest.fixture()
def run_companion(companion_env):
    """Run ``python -m companion ARGS``; returns the CompletedProcess (text mode)."""
    import sys

    def run(*args: str, timeout: float = 300, **kwargs):
        return subprocess.run([sys.executable, "-m", "companion", *map(str, args)],
                              capture_output=True, text=True, env=companion_env,
                              timeout=timeout, cwd=kwargs.pop("cwd", None), **kwargs)

    return run
