"""The status line of a live `companion listen` (real devices through the null sink): state,
routine, step, time left, and what it heard with what it did; the words only on a terminal."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.live_room import interrupt, wait_for, write_command
from tests.userfiles import write_user_routine

pytestmark = pytest.mark.audio


def _listen(companion_env, events, stderr):
    return subprocess.Popen(
        [sys.executable, "-m", "companion", "listen", "--events", str(events)],
        env=companion_env, stderr=stderr, stdout=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


QUIET_ONE = """\
name: quiet-one
title: Quiet one
aliases: [quiet one]
steps:
  - say: Hello.
  - quiet: 2m
"""


def _say_and_soften(tmp_path, events):
    """Start a routine, then say "softer" in its quiet (over its voice, a short word is
    sometimes heard as another command: that is the benchmark's business, not this test's)."""
    play, softer = tmp_path / "play.wav", tmp_path / "softer.wav"
    write_command(play, "play quiet one")
    write_command(softer, "softer")
    end = time.monotonic() + 30
    while time.monotonic() < end and not events.exists():
        time.sleep(0.1)
    time.sleep(3.0)  # the input stream starts a moment after the events file
    subprocess.run(["paplay", str(play)], check=True, timeout=20)
    wait_for(lambda ev: any(e["type"] == "say_end" for e in ev), events, 15)
    time.sleep(1.5)
    subprocess.run(["paplay", str(softer)], check=True, timeout=20)
    wait_for(lambda ev: any(e.get("intent") == "softer" for e in ev), events, 10)
    time.sleep(1.5)  # a redraw or two


def _stop(proc) -> None:
    interrupt(proc)


def test_status_on_a_terminal_shows_what_was_heard_and_done(pulse_null_sink, companion_env,
                                                            tmp_path):
    write_user_routine(companion_env, "quiet-one", QUIET_ONE)
    events = tmp_path / "events.jsonl"
    master, slave = pty.openpty()
    proc = _listen(companion_env, events, slave)
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _say_and_soften(tmp_path, events)
    finally:
        _stop(proc)
        reader.join(timeout=5)
        os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert re.search(r"playing \| quiet-one \| quiet \| 1:\d\d left \| ", screen), screen[-2000:]
    assert " left | heard 'play quiet one' -> playing quiet-one" in screen
    assert "heard 'softer' -> volume -3 dB" in screen


def test_status_in_a_log_never_holds_the_words_heard(pulse_null_sink, companion_env, tmp_path):
    write_user_routine(companion_env, "quiet-one", QUIET_ONE)
    events = tmp_path / "events.jsonl"
    log = tmp_path / "stderr.log"
    with open(log, "w") as stderr:
        proc = _listen(companion_env, events, stderr)
        try:
            _say_and_soften(tmp_path, events)
        finally:
            _stop(proc)
    text = log.read_text()
    assert "heard a command -> volume -3 dB" in text, text
    assert "heard a command -> playing quiet-one" in text
    assert "'softer'" not in text and "'play quiet one'" not in text
