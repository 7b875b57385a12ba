"""Spoken sessions: generate IN.wav with espeak-ng, run `companion listen --input` on it.

A script is a list of steps: a number is that many seconds of silence, a string is speech,
and ``EndAt(text, t)`` is speech placed so that it ends exactly at ``t`` seconds. We know
where every phrase starts and ends because we made the audio.
"""

from __future__ import annotations

import json
import subprocess
import time
import zlib
from dataclasses import dataclass

import numpy as np

from benchmarks import env, onsets
from tests import clips


@dataclass(frozen=True)
class EndAt:
    """Speech that ends at ``t`` seconds on the session timeline."""

    text: str
    """What is said."""
    t: float
    """When the speech ends."""


Step = float | str | EndAt


@dataclass(frozen=True)
class Spoken:
    """One phrase in a generated session."""

    text: str
    """What was said."""
    start: float
    """When the speech starts (s)."""
    end: float
    """When the speech ends (s): the reference point for latencies."""


@dataclass(frozen=True)
class Result:
    """What one `companion listen --input` run produced."""

    spoken: list[Spoken]
    """The phrases in the input, in order."""
    output: np.ndarray
    """OUT.wav as float32."""
    rate: int
    """OUT.wav's sample rate."""
    events: list[dict]
    """EV.jsonl, one dict per line."""
    wall_s: float
    """Wall time of the process."""

    def heard(self, intent: str) -> list[float]:
        """Times of the ``heard`` events with this intent."""
        return [e["t"] for e in self.events if e["type"] == "heard" and e["intent"] == intent]


def build(script: list[Step], voice: str, rate: int,
          seed: int = 0) -> tuple[np.ndarray, list[Spoken]]:
    """The input audio (16 kHz int16, with a faint microphone floor) and its phrases."""
    parts: list[np.ndarray] = []
    spoken: list[Spoken] = []
    n = 0
    for step in script:
        if isinstance(step, (int, float)):
            parts.append(clips.silence(float(step)))
        else:
            text = step.text if isinstance(step, EndAt) else step
            audio = clips.speak(text, voice=voice, rate=rate)
            if isinstance(step, EndAt):
                gap = round(step.t * clips.RATE) - len(audio) - n
                if gap < 0:
                    raise ValueError(f"{text!r} cannot end at {step.t} s: "
                                     f"already at {n / clips.RATE} s")
                parts.append(np.zeros(gap, dtype=np.int16))
                n += gap
            spoken.append(Spoken(text, n / clips.RATE, (n + len(audio)) / clips.RATE))
            parts.append(audio)
        n += len(parts[-1])
    return clips.add_floor(clips.concat(*parts), seed=seed), spoken


def run(script: list[Step], voice: str, rate: int, name: str, child_env: dict[str, str],
        seed: int | None = None, extra: tuple[str, ...] = ()) -> Result:
    """Generate the session and run `companion listen --input IN --output OUT --events EV`.

    ``seed`` picks the noise floor (default: from ``name``); sessions that must render the
    same output up to some point share it.
    """
    folder = env.workdir() / "sessions" / name
    folder.mkdir(parents=True, exist_ok=True)
    seed = zlib.crc32(name.encode()) if seed is None else seed
    pcm, spoken = build(script, voice, rate, seed=seed)
    inp, out, ev = folder / "in.wav", folder / "out.wav", folder / "events.jsonl"
    clips.save_wav(inp, pcm)
    t0 = time.perf_counter()
    proc = subprocess.run(env.companion("listen", "--input", inp, "--output", out, "--events", ev,
                                        *extra), env=child_env, capture_output=True, text=True,
                          timeout=300, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"companion listen failed ({proc.returncode}) on {inp}: "
                           f"{proc.stderr.strip()[-500:]}")
    output, out_rate = onsets.read_wav(out)
    events = [json.loads(line) for line in ev.read_text().splitlines() if line.strip()]
    return Result(spoken, output, out_rate, events, wall)
