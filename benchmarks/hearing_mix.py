"""What :mod:`benchmarks.hearing` plays to the recogniser: voices, rooms and noises.

Voices come from two synthesiser families the recogniser was never tuned on as a whole:
espeak-ng variants (formant synthesis, pitch and rate changed) and flite (CMU; ``kal16`` is
diphone, ``slt``/``awb``/``rms`` are cluster-unit voices). Real people come from Debian's
pocketsphinx-testdata (readings and card names): they say no command, so they are talk.

Noise runs under the WHOLE stream, at an SNR relative to the median active level of the
speech: pink, brown, background talk (three other synthetic talkers reading chatter),
short bursts (a rustle, a door) between silences, and a reverberant room with pink noise.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import clips

Voice = tuple[str, str, int, int]
"""(engine ``espeak``/``flite``, voice, pitch, words a minute)."""

DEV_VOICES: tuple[Voice, ...] = (
    ("espeak", "en-us+m3", 70, 150), ("espeak", "en-gb+m2", 40, 165),
    ("espeak", "en-us+f1", 55, 140), ("flite", "rms", 0, 0))
"""The voices settings are chosen on."""
TEST_VOICES: tuple[Voice, ...] = (
    ("espeak", "en-us+m1", 30, 155), ("espeak", "en-us+f4", 65, 170),
    ("espeak", "en-gb+m4", 45, 145), ("flite", "slt", 0, 0), ("flite", "awb", 0, 0),
    ("flite", "kal16", 0, 0))
"""Held out: reported, never tuned on."""
TALKERS: tuple[Voice, ...] = (("espeak", "en-us+m7", 50, 175), ("espeak", "en-gb+f2", 60, 165),
                              ("espeak", "en-us+f3", 50, 160))
"""The background talkers (in no split)."""



def have_flite() -> bool:
    return shutil.which("flite") is not None


@functools.lru_cache(maxsize=1024)
def _flite(text: str, voice: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(wav)], check=True,
                       capture_output=True)
        return clips.load_wav(wav).tobytes()


def say(text: str, voice: Voice) -> np.ndarray:
    """``text`` in ``voice``: int16, trimmed to the spoken part, at about -20 dBFS."""
    engine, name, pitch, rate = voice
    if engine == "flite" and have_flite():
        audio = np.frombuffer(_flite(text, name), dtype=np.int16).copy()
        start, end = clips.speech_bounds(audio)
        audio = audio[start:end]
    else:
        audio = clips.speak(text, voice=name if engine == "espeak" else "en-us",
                            rate=rate or 160, pitch=pitch or None)
    level = clips.active_rms(audio) or 1.0
    return np.round(audio * (3000.0 / level)).astype(np.int16)


def brown_noise(n: int, seed: int) -> np.ndarray:
    """``n`` samples of unit-RMS brown (1/f²) noise, high-passed at 20 Hz."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / clips.RATE)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.maximum(f, 20.0), n)
    return noise / (np.sqrt(np.mean(noise**2)) or 1.0)


def babble(n: int, seed: int) -> np.ndarray:
    """``n`` samples of unit-RMS background talk: three talkers reading chatter at once."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    lines = clips.CHATTER
    for voice in TALKERS:
        parts, total = [], 0
        while total < n:
            s = say(lines[int(rng.integers(len(lines)))], voice).astype(np.float64)
            gap = np.zeros(int(rng.uniform(0.1, 0.6) * clips.RATE))
            parts += [s, gap]
            total += s.size + gap.size
        out += np.concatenate(parts)[:n]
    return out / (np.sqrt(np.mean(out**2)) or 1.0)


def bursts(n: int, seed: int, every_s: float = 2.3) -> np.ndarray:
    """Short noise bursts (80-400 ms, shaped white and pink) with silence between; unit
    RMS over the bursts themselves."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    t = int(rng.uniform(0.3, 1.0) * clips.RATE)
    while t < n:
        size = int(rng.uniform(0.08, 0.4) * clips.RATE)
        kind = clips.pink_noise(size, int(rng.integers(1 << 30))) if rng.random() < 0.5 \
            else rng.normal(size=size)
        shape = np.exp(-np.arange(size) / (size / 3.0))
        seg = kind * shape
        seg /= np.sqrt(np.mean(seg**2)) or 1.0
        out[t:t + size] = seg[:max(0, min(size, n - t))]
        t += size + int(rng.uniform(0.5, 1.0) * every_s * clips.RATE)
    return out


def reverberate(audio: np.ndarray, rt60: float = 0.6, seed: int = 3) -> np.ndarray:
    """A bedroom-like room: direct sound plus an exponentially decaying diffuse tail."""
    rng = np.random.default_rng(seed)
    n = int(rt60 * clips.RATE)
    tail = rng.normal(size=n) * np.exp(-6.9 * np.arange(n) / n)
    tail[: int(0.003 * clips.RATE)] = 0.0
    h = np.concatenate([[1.0], 0.35 * tail / np.sqrt(np.sum(tail**2))])
    wet = np.convolve(audio.astype(np.float64), h)[: audio.size]
    return wet


NOISES = {"pink": clips.pink_noise, "brown": brown_noise, "talk": babble, "bursts": bursts}


@dataclass(frozen=True)
class Said:
    """One thing said in a stream, and what it must give."""

    start: float
    end: float
    text: str
    intent: str | None
    slots: dict


@dataclass(frozen=True)
class Condition:
    """A room: noise kind ("" for none), its SNR, and whether it reverberates."""

    noise: str
    snr_db: float = 0.0
    reverb: bool = False

    @property
    def name(self) -> str:
        parts = ([self.noise, f"{self.snr_db:g}"] if self.noise else ["clean"])
        return " ".join(parts + (["reverb"] if self.reverb else []))


def mix(items: list[tuple[np.ndarray, str, str | None, dict]], cond: Condition, gap_s: float,
        seed: int) -> tuple[np.ndarray, list[Said]]:
    """Clips back to back with ``gap_s`` between, in ``cond``'s room."""
    parts = [clips.silence(1.0)]
    said: list[Said] = []
    t = 1.0
    for audio, text, intent, slots in items:
        parts += [audio, clips.silence(gap_s)]
        said.append(Said(t, t + audio.size / clips.RATE, text, intent, slots))
        t += audio.size / clips.RATE + gap_s
    audio = np.concatenate(parts).astype(np.float64)
    level = float(np.median([clips.active_rms(a) for a, *_ in items]))
    if cond.reverb:
        audio = reverberate(audio)
    if cond.noise:
        noise = NOISES[cond.noise](audio.size, seed)
        audio = audio + noise * level * 10 ** (-cond.snr_db / 20)
    floor = np.random.default_rng(seed).normal(0.0, 50.0, audio.size)  # a microphone's own
    return np.clip(np.round(audio + floor), -32768, 32767).astype(np.int16), said


def human_talk() -> list[np.ndarray]:
    """Real people (pocketsphinx-testdata, readings, card names, digits), if installed."""
    from benchmarks.accuracy import RAW_RECORDINGS

    out = [clips.load_wav(p) for p in clips.testdata_recordings()]
    for name in RAW_RECORDINGS:
        if (clips.TESTDATA / name).exists():
            out.append(np.fromfile(clips.TESTDATA / name, dtype="<i2").astype(np.int16))
    return out
