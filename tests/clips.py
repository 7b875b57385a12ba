"""Generated test audio: espeak-ng speech at 16 kHz mono int16, noise floors, pink noise.

Used by the tests and the benchmarks. Every function returns or takes ``numpy`` int16
arrays at :data:`RATE`; nothing is written to the repository.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

RATE = 16000
"""Sample rate of every clip."""
CHUNK_BYTES = 640
"""20 ms of int16 mono at 16 kHz: what the microphone source hands the recogniser."""

VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb+f2", "en-us+m7")
"""English espeak-ng voices the tests and benchmarks use."""


def have_espeak() -> bool:
    """True when the espeak-ng and sox programs are installed."""
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def _raw16k(source: list[str], wav: bytes | None = None) -> bytes:
    """What sox reads from ``source`` (a path, or ``["-t", "wav", "-"]`` for ``wav`` on
    stdin) as raw int16 mono at :data:`RATE`. sox runs repeatable (``-R``): it dithers with
    a new random seed in every process otherwise, so the same text came out slightly
    different in each, and the hearing benchmark's figures moved between runs of the same
    code."""
    return subprocess.run(
        ["sox", "-R", "-q", *source, "-r", str(RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-t", "raw", "-"],
        input=wav, capture_output=True, check=True).stdout


@functools.lru_cache(maxsize=512)
def _speak_cached(text: str, voice: str, rate: int, pitch: int | None) -> bytes:
    """espeak-ng's speech at 16 kHz (raw int16)."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(rate), "--stdout"]
    if pitch is not None:
        cmd += ["-p", str(pitch)]
    wav = subprocess.run(cmd + ["--", text], capture_output=True, check=True).stdout
    return _raw16k(["-t", "wav", "-"], wav)


def speak(text: str, voice: str = "en-us", rate: int = 160, pitch: int | None = None,
          trim: bool = True) -> np.ndarray:
    """Speak ``text`` with espeak-ng; int16 mono 16 kHz, trimmed to the spoken part."""
    audio = np.frombuffer(_speak_cached(text, voice, rate, pitch), dtype=np.int16).copy()
    if trim:
        start, end = speech_bounds(audio)
        audio = audio[start:end]
    return audio


def speech_bounds(audio: np.ndarray, threshold: int = 200) -> tuple[int, int]:
    """First and one-past-last sample whose magnitude exceeds ``threshold`` (clean audio)."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > threshold)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


def silence(seconds: float) -> np.ndarray:
    """Digital silence."""
    return np.zeros(int(round(seconds * RATE)), dtype=np.int16)


def concat(*parts: np.ndarray) -> np.ndarray:
    """Join clips end to end."""
    return np.concatenate([p.astype(np.int16) for p in parts])


def pad(audio: np.ndarray, before: float = 0.5, after: float = 0.8) -> np.ndarray:
    """Silence around a clip, as a person pausing before and after a command."""
    return concat(silence(before), audio, silence(after))


def _clip16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def add_floor(audio: np.ndarray, sigma: float = 50.0, seed: int = 0) -> np.ndarray:
    """Add a faint white noise floor (σ in LSB; 50 ≈ -56 dBFS), like a real microphone."""
    rng = np.random.default_rng(seed)
    return _clip16(audio.astype(np.float64) + rng.normal(0.0, sigma, audio.size))


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of unit-RMS pink (1/f) noise, float64."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    return noise / (np.sqrt(np.mean(noise**2)) or 1.0)


def active_rms(audio: np.ndarray, frame: int = 320) -> float:
    """RMS over the frames that hold speech (within 30 dB of the loudest frame)."""
    x = audio.astype(np.float64)
    usable = x[: x.size - x.size % frame].reshape(-1, frame)
    if usable.size == 0:
        return 0.0
    rms = np.sqrt(np.mean(usable**2, axis=1))
    active = rms[rms > rms.max() * 10 ** (-30 / 20)]
    return float(np.sqrt(np.mean(active**2)))


def mix_pink(audio: np.ndarray, snr_db: float, seed: int = 0,
             speech_rms: float | None = None) -> np.ndarray:
    """Mix pink noise under the whole clip at ``snr_db`` relative to the speech level."""
    level = speech_rms if speech_rms is not None else active_rms(audio)
    noise = pink_noise(audio.size, seed) * level * 10 ** (-snr_db / 20)
    return _clip16(audio.astype(np.float64) + noise)


def load_wav(path: Path | str) -> np.ndarray:
    """Any audio file sox reads → int16 mono 16 kHz."""
    return np.frombuffer(_raw16k([str(path)]), dtype=np.int16).copy()


def chunks(audio: np.ndarray, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The clip as consecutive byte chunks (20 ms by default; last one may be short)."""
    data = audio.astype("<i2").tobytes()
    for i in range(0, len(data), size):
        yield data[i:i + size]


def stream(recognizer, audio: np.ndarray, size: int = CHUNK_BYTES) -> list:
    """Feed a clip to a recogniser chunk by chunk, then flush; all utterances."""
    out: list = []
    for chunk in chunks(audio, size):
        out.extend(recognizer.accept(chunk))
    out.extend(recognizer.flush())
    return out


TESTDATA = Path("/usr/share/pocketsphinx/test/data")
"""Debian's pocketsphinx-testdata: real people reading (librivox) and card names (cards)."""


def testdata_recordings() -> list[Path]:
    """The librivox and cards WAV files, if the package is installed."""
    return sorted(TESTDATA.glob("librivox/*.wav")) + sorted(TESTDATA.glob("cards/*.wav"))


CHATTER = (
    "we could play something later",
    "I think the aftercare went well",
    "stop by the shop tomorrow",
    "did you hear what she said about the wind",
    "the quiet part of the evening is my favourite",
    "can you pass me the water",
    "I was going to start the dishes but I forgot",
    "it took ten minutes to get there",
    "yesterday we talked for hours",
    "my sister is coming over on friday",
    "please don't slow down the car so suddenly",
    "the movie was louder than I expected",
)
"""English chatter near the device: none of it is a command."""


def all_of(items: Iterable[np.ndarray]) -> np.ndarray:
    """Concatenate a sequence of clips with half a second between them."""
    out: list[np.ndarray] = []
    for item in items:
        out += [item, silence(0.5)]
    return concat(*out) if out else silence(0.0)


def save_wav(path: Path | str, audio: np.ndarray) -> None:
    """Write an int16 clip as a 16 kHz mono WAV (for tests that drive the CLI)."""
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.asarray(audio, dtype="<i2").tobytes())


def room_echo(reference: np.ndarray, delay_ms: float, seed: int = 1) -> np.ndarray:
    """Reference through a -6 dB path: a direct delay plus a short decaying room tail."""
    rng = np.random.default_rng(seed)
    dl = int(delay_ms * RATE / 1000)
    n = dl + int(0.08 * RATE)
    h = np.zeros(n)
    h[dl] = 1.0
    h[dl + 1:] = 0.15 * rng.standard_normal(n - dl - 1) * np.exp(-np.arange(n - dl - 1)
                                                                  / (0.015 * RATE))
    return np.convolve(reference, 0.5 * h)[:len(reference)]
