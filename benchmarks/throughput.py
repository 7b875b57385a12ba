"""Speed of the engines: synthesis RTF, routine rendering, recogniser RTF (wall clock)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks import env, onsets
from tests import clips


def routine_sentences(path: Path) -> list[str]:
    """Every sentence a routine file can say (say, ask, any-of lists, check-ins)."""
    out: list[str] = []

    def walk(node: Any, speaking: bool) -> None:
        if isinstance(node, str) and speaking:
            out.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, speaking or key in ("say", "ask", "any"))
        elif isinstance(node, list):
            for item in node:
                walk(item, speaking)

    walk(yaml.safe_load(path.read_text(encoding="utf-8")).get("steps", []), False)
    return list(dict.fromkeys(out))


def tts_rtf_run(sentences: list[str], voice: Any) -> float:
    """Synthesis seconds / audio seconds for every sentence, with a new (cold) synthesiser."""
    from companion.speech.synthesis import Pyttsx3Synthesizer

    synth = Pyttsx3Synthesizer()
    try:
        busy = audio = 0.0
        for text in sentences:
            t0 = time.perf_counter()
            pcm = synth.synthesize(text, voice)
            busy += time.perf_counter() - t0
            audio += len(pcm) / synth.sample_rate
        return busy / audio
    finally:
        synth.close()


def render_speedup_run(routine: str, child_env: dict[str, str]) -> float:
    """Audio seconds per wall second of `companion play ROUTINE --output X.wav` (whole process)."""
    out = env.workdir() / f"render-{routine}.wav"
    t0 = time.perf_counter()
    proc = subprocess.run(env.companion("play", routine, "--output", out), env=child_env,
                          capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"companion play {routine} failed: {proc.stderr.strip()[-300:]}")
    pcm, rate = onsets.read_wav(out)
    return len(pcm) / rate / wall


def rtf_corpus(extra_phrases: tuple[str, ...] = (), extra_voice: str = "en-us") -> np.ndarray:
    """About a minute of speech: the testdata recordings and spoken commands, with pauses."""
    parts: list[np.ndarray] = []
    for path in clips.testdata_recordings():
        parts += [clips.load_wav(path), clips.silence(0.6)]
    for i, text in enumerate(("play aftercare", "stop", "what can i say", "slow down",
                              "how long is left", "good night")):
        parts += [clips.speak(text, voice=clips.VOICES[i % len(clips.VOICES)]), clips.silence(0.8)]
    for text in extra_phrases:
        parts += [clips.speak(text, voice=extra_voice), clips.silence(0.8)]
    return clips.add_floor(clips.concat(*parts))


def recognizer_rtf_run(recognizer: Any, audio: np.ndarray) -> float:
    """Seconds spent in accept/flush per second of audio, 20 ms chunks."""
    recognizer.reset()
    busy = 0.0
    for chunk in clips.chunks(audio):
        t0 = time.perf_counter()
        recognizer.accept(chunk)
        busy += time.perf_counter() - t0
    t0 = time.perf_counter()
    recognizer.flush()
    busy += time.perf_counter() - t0
    return busy / (len(audio) / clips.RATE)
