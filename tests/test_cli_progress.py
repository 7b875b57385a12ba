"""`play --output` shows progress on a terminal when it takes more than a moment, and
nothing but its one result line when stderr is not a terminal (real CLI, real render)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys


def test_long_render_shows_a_moving_bar_on_a_terminal(companion_env, tmp_path):
    out = tmp_path / "long.wav"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "companion", "play", "wind-down",
                             "--minutes", "90", "--output", str(out)],
                            env=companion_env, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    shown = {int(p) for p in re.findall(r"(\d+)%", screen)}
    assert "writing Wind down" in screen
    assert len(shown) >= 3 and max(shown) >= 90, sorted(shown)
    assert "wrote " in screen


def test_render_into_a_pipe_prints_no_bar(run_companion, tmp_path):
    out = tmp_path / "long.wav"
    result = run_companion("play", "wind-down", "--minutes", "90", "--output", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"wrote {out}: Wind down, 9")
