"""Helpers for driving a live `companion listen` through the sound server: spoken command
WAVs to play into the null sink, and its events file read as it grows."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests import clips


def write_command(path: Path, text: str) -> Path:
    """``text`` spoken by espeak-ng with a little silence around it, as a WAV at ``path``."""
    pcm = clips.add_floor(clips.concat(clips.silence(0.3), clips.speak(text, rate=150),
                                       clips.silence(0.3)))
    clips.save_wav(path, pcm)
    return path


def events_of(path: Path) -> list[dict]:
    """The events written so far (none if the file is not there yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(predicate: Callable[[list[dict]], bool], path: Path, timeout: float) -> list[dict]:
    """Poll the events file until ``predicate`` holds or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        events = events_of(path)
        if predicate(events):
            return events
        time.sleep(0.05)
    return events_of(path)


def interrupt(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ctrl-C a running companion and wait for it; kill it if it does not end in time."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
