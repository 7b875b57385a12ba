"""Soak: hours of session time from generated audio, faster than real time.

``python -m benchmarks.soak [--quick] [--hours H]`` runs the whole file loop
(:func:`companion.session.listening.run_on_file`: recogniser, session, player, echo mixed
back in and cancelled) on a source that makes its audio as it goes: long quiet stretches
with a noise floor, spoken commands ("play ...", "softer", "how long is left", "stop",
check-ins) every few minutes. It samples the process's RSS and open file descriptors every
session-minute and prints memory growth per hour (least squares after the warm-up, beside
the speech cache, which is bounded: ``with_cache_mb_per_h`` counts it too), the
descriptors leaked, commands heard where none was said (false commands) and the speed.
Targets (issue 17): growth <= 5 MB/h, 0 fds leaked, 0 false commands.
With ``--json`` the figures are one JSON object on stdout: :func:`run_in_child` runs the
soak that way in a process of its own (the suite's own process, after the other
benchmarks, has their memory in it: the quick suite said 1,291 MB/h where the soak alone
said 10-28).

Growth is measured on what the process keeps, after a warm-up: the session first runs one
round of every command (every routine's first sentences rendered, every engine warm) and
``H`` hours are measured after it. Each sample is the lowest RSS of its stretch: a sentence
being rendered holds ~10-20 MB for a moment. The 3-minute quick soak used to be all warm-up
and those moments (it said 204-564 MB/h); measured after the warm-up it still said 213 MB/h,
which was glibc keeping freed speech buffers (see ``hand_back_large_blocks`` in
:mod:`companion.speech.drivers.base`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from companion.audio.stream import CHUNK_SAMPLES, INPUT_RATE
from tests import clips

COMMANDS = ("play aftercare", "softer", "how long is left", "stop", "play breathing",
            "louder", "pause", "resume", "goodnight", "play quiet presence")
"""Said in turn, one every ``every_s`` seconds of session time."""


@dataclass(frozen=True)
class Said:
    """A command placed in the session."""

    text: str
    start: float
    end: float


class SoakSource:
    """An ``AudioSource`` of ``seconds`` of session audio, made chunk by chunk (bounded
    memory: one spoken clip at a time)."""

    def __init__(self, seconds: float, every_s: float, seed: int = 0) -> None:
        self.sample_rate = INPUT_RATE
        self.overflows = 0
        self.total = int(seconds * INPUT_RATE)
        self.pos = 0
        self.every = int(every_s * INPUT_RATE)
        self.rng = np.random.default_rng(seed)
        self.said: list[Said] = []
        self._clips = {text: clips.speak(text, rate=150) for text in COMMANDS}
        self._current: np.ndarray | None = None
        self._current_pos = 0
        self._next_command = self.every // 2
        self._turn = 0
        self._shuffle = random.Random(seed)

    def read(self, timeout: float | None = None) -> bytes | None:
        if self.pos >= self.total:
            return None
        chunk = self.rng.normal(0.0, 50.0, CHUNK_SAMPLES)  # the room's noise floor
        if self._current is None and self.pos >= self._next_command:
            text = COMMANDS[self._turn % len(COMMANDS)]
            self._turn += 1
            self._current, self._current_pos = self._clips[text], 0
            start = self.pos / INPUT_RATE
            self.said.append(Said(text, start, start + len(self._current) / INPUT_RATE))
            jitter = self._shuffle.uniform(-0.2, 0.2) * self.every
            self._next_command = self.pos + self.every + int(jitter)
        if self._current is not None:
            part = self._current[self._current_pos:self._current_pos + CHUNK_SAMPLES]
            chunk[:len(part)] += part
            self._current_pos += CHUNK_SAMPLES
            if self._current_pos >= len(self._current):
                self._current = None
        self.pos += CHUNK_SAMPLES
        return np.clip(chunk, -32768, 32767).astype("<i2").tobytes()

    def close(self) -> None:
        self.pos = self.total


class CountingSink:
    """An ``AudioSink`` that only counts frames (what would be played is not kept)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.frames_written = 0

    def write(self, block: np.ndarray) -> None:
        self.frames_written += len(block)

    def cut(self) -> None:
        """Nothing queued on a counter."""

    def close(self) -> None:
        """Nothing to release."""


def rss_mb() -> float:
    """Resident memory of this process now (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    """File descriptors this process has open now."""
    return len(os.listdir("/proc/self/fd"))


class SampledSource(SoakSource):
    """The soak source, sampling every ``sample_s`` of session time: the lowest RSS seen in
    that stretch (read every 0.2 s of session time), and at its end the fds and ``cached()``
    (MB of rendered speech the synthesizer keeps)."""

    def __init__(self, seconds: float, every_s: float, sample_s: float = 60.0,
                 cached: Callable[[], float] = lambda: 0.0) -> None:
        super().__init__(seconds, every_s)
        self.samples: list[tuple[float, float, int, float]] = []
        self._every = int(sample_s * INPUT_RATE)
        self._low = float("inf")
        self._cached = cached

    def read(self, timeout: float | None = None) -> bytes | None:
        if self.pos % (INPUT_RATE // 5) < CHUNK_SAMPLES:
            self._low = min(self._low, rss_mb())
        if self.pos % self._every < CHUNK_SAMPLES and self.pos:
            self.samples.append((self.pos / INPUT_RATE, self._low, open_fds(), self._cached()))
            self._low = float("inf")
        return super().read(timeout)


def run(hours: float, every_s: float, echo_db: float = -10.0) -> dict[str, float]:
    """Run the soak: a warm-up round of every command, then ``hours`` measured; returns
    its figures (``session_h`` counts both)."""
    from companion.cli.listen import command_set
    from companion.recognition.factory import make_recognizer
    from companion.session.context import Context
    from companion.session.events import Event, EventLog
    from companion.session.listening import run_on_file
    from companion.session.session import Session
    from companion.speech.synthesis import Pyttsx3Synthesizer

    context = Context.load(None)
    commands = command_set(context)
    recognizer = make_recognizer(context.settings.engine, commands, context.settings.vosk_model)
    events = EventLog(None)
    heard: list[Event] = []  # every command heard, for the false-command count

    def on_event(event: Event) -> None:
        events(event)
        if event.type == "heard":
            heard.append(event)

    synth = Pyttsx3Synthesizer()
    warm_s = len(COMMANDS) * every_s
    # a sample a session-minute, or 18 of them over a short soak
    source = SampledSource(warm_s + hours * 3600, every_s, min(60.0, hours * 3600 / 18),
                           lambda: synth.cached_bytes / 2**20)
    fds_before = open_fds()
    began = time.perf_counter()
    try:
        player = context.player(synth, on_event=on_event)
        session = Session(commands, player, context.routines, on_event=on_event)
        run_on_file(source, recognizer, session, player, CountingSink(player.sample_rate),
                    echo_db)
    finally:
        synth.close()
    wall = time.perf_counter() - began
    false = sum(1 for e in heard if not any(s.start - 0.5 <= e.t <= s.end + 3
                                            for s in source.said))
    t = np.array([s[0] for s in source.samples]) / 3600
    rss = np.array([s[1] for s in source.samples])
    cache = np.array([s[3] for s in source.samples])
    warm = t > warm_s / 3600

    def slope(mb: np.ndarray) -> float:
        return float(np.polyfit(t[warm], mb[warm], 1)[0]) if warm.sum() >= 3 else float("nan")

    session_h = source.total / INPUT_RATE / 3600
    return {"session_h": session_h, "warmup_h": warm_s / 3600, "wall_s": wall,
            "speedup": session_h * 3600 / wall, "commands_said": len(source.said),
            "commands_heard": len(heard), "false_commands": false,
            "rss_warm_mb": float(rss[warm][0]) if warm.any() else 0.0,
            "rss_end_mb": float(rss[-1]) if len(rss) else 0.0,
            "rss_growth_mb_per_h": slope(rss - cache), "with_cache_mb_per_h": slope(rss),
            "cache_end_mb": float(cache[-1]) if len(cache) else 0.0,
            "fds_leaked": open_fds() - fds_before,
            "events_kept": len(events.events),
            "events_recorded": len(events.events) + events.dropped}


def run_in_child(hours: float, every_s: float, child_env: dict[str, str],
                 timeout: float | None = None) -> dict[str, float]:
    """:func:`run` in a fresh ``python -m benchmarks.soak`` process: its memory is its own."""
    cmd = [sys.executable, "-m", "benchmarks.soak", "--hours", repr(hours), "--every",
           repr(every_s), "--json"]
    done = subprocess.run(cmd, env=child_env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " / ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"the soak exited {done.returncode}: {tail}")
    figures: dict[str, float] = json.loads(lines[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short soak: 3 minutes measured after a 200 s warm-up")
    parser.add_argument("--hours", type=float, default=None,
                        help="session hours measured after the warm-up (8)")
    parser.add_argument("--every", type=float, default=None,
                        help="seconds between commands (300; quick: 20)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as one JSON object (for run_in_child)")
    args = parser.parse_args()
    hours = args.hours or (0.05 if args.quick else 8.0)
    every = args.every or (20.0 if args.quick else 300.0)
    figures = run(hours, every)
    if args.json:
        print(json.dumps(figures))
        return
    print(" | ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in figures.items()))


if __name__ == "__main__":
    main()
