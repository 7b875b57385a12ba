"""Helpers for driving a live `companion listen` through the sound server: spoken command
WAVs to play into the null sink, and its events file read as it grows."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

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


class Person:
    """Someone in the room: one output stream on the default sink, open from before the
    companion starts until the end, that says WAVs when asked and is silent otherwise.

    Not ``paplay`` per phrase: a new stream starting on the sink makes the sound server
    rewind the companion's output stream, whose callbacks then run in a storm (see
    :mod:`companion.audio.pace`), moving its echo by up to 0.3 s just as the person
    speaks, which no voice in a room does. Bounds: the phrases not yet said.
    """

    def __init__(self) -> None:
        import sounddevice as sd

        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._lock = threading.Lock()
        self._stream = sd.OutputStream(samplerate=clips.RATE, channels=1, dtype="int16",
                                       blocksize=320, latency=0.2,
                                       callback=self._callback)
        self._stream.start()

    def _callback(self, outdata: np.ndarray, frames: int, t: object, status: object) -> None:
        outdata.fill(0)
        with self._lock:
            done = 0
            while self._queue and done < frames:
                pcm = self._queue[0]
                n = min(frames - done, len(pcm))
                outdata[done:done + n, 0] = pcm[:n]
                done += n
                if n == len(pcm):
                    self._queue.popleft()
                else:
                    self._queue[0] = pcm[n:]

    def say(self, wav: Path, timeout: float = 20.0) -> None:
        """Say ``wav`` now; return once it has been handed to the sound server."""
        with self._lock:
            self._queue.append(clips.load_wav(wav))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self._queue:
                    break
            time.sleep(0.02)
        time.sleep(self._stream.latency)  # and has sounded

    def close(self) -> None:
        """Close the stream."""
        self._stream.close()

    def __enter__(self) -> Person:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
