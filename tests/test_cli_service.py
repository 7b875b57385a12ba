"""`companion service install | remove` (real CLI; systemd's own verifier where present)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = "quiet-companion.service"


def _unit_path(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / UNIT


def test_install_writes_a_unit_with_the_network_cut(run_companion, companion_env, tmp_path):
    config = tmp_path / "my settings.yaml"
    config.write_text("voice: warm\n")
    out = run_companion("--config", config, "service", "install", "--no-enable")
    assert out.returncode == 0, out.stderr
    unit = _unit_path(companion_env)
    assert out.stdout.splitlines()[0] == f"wrote {unit}"
    text = unit.read_text()
    assert "\nRestrictAddressFamilies=AF_UNIX\n" in text
    assert f'ExecStart={sys.executable} -m companion --config "{config}" listen\n' in text
    assert "WantedBy=default.target" in text


def test_install_honours_the_default_config_folder(companion_env, tmp_path):
    env = dict(companion_env, HOME=str(tmp_path / "home"))
    env.pop("XDG_CONFIG_HOME")
    done = subprocess.run([sys.executable, "-m", "companion", "service", "install",
                           "--no-enable"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / ".config" / "systemd" / "user" / UNIT).is_file()


def test_without_systemd_it_says_it_did_not_enable(companion_env, tmp_path):
    env = dict(companion_env, PATH=str(Path(sys.executable).parent))  # no systemctl on PATH
    done = subprocess.run([sys.executable, "-m", "companion", "service", "install"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "not enabled: systemctl is not installed here" in done.stdout
    assert "systemctl --user enable quiet-companion.service" in done.stdout
    assert _unit_path(env).is_file()


def test_remove_undoes_install(run_companion, companion_env):
    assert run_companion("service", "install", "--no-enable").returncode == 0
    out = run_companion("service", "remove", "--no-enable")
    assert out.returncode == 0, out.stderr
    assert not _unit_path(companion_env).exists()
    again = run_companion("service", "remove", "--no-enable")
    assert again.returncode == 0
    assert again.stdout.startswith("no service to remove")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (no systemd on this machine)")
def test_the_unit_passes_systemd_analyze_verify(run_companion, companion_env, tmp_path):
    assert run_companion("service", "install", "--no-enable").returncode == 0
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))  # verify needs a runtime dir
    done = subprocess.run(["systemd-analyze", "--user", "verify",
                           str(_unit_path(companion_env))],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # warnings too: a misspelt setting
