"""Generated sounds and level helpers: chimes, noise beds, fades, decibels."""

from __future__ import annotations

import numpy as np

FADE_SECONDS = 0.04
"""Fade used at every start and stop (30-50 ms: no clicks)."""


def db_to_gain(db: float) -> float:
    """Convert decibels to a linear amplitude factor."""
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    """Convert a linear amplitude factor to decibels (-inf for zero)."""
    return float(20.0 * np.log10(gain)) if gain > 0 else float("-inf")


def peak_dbfs(x: np.ndarray) -> float:
    """Peak level of float audio in dBFS."""
    return gain_to_db(float(np.max(np.abs(x)))) if x.size else float("-inf")


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level of float audio in dBFS."""
    if not x.size:
        return float("-inf")
    return gain_to_db(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def fade_ramp(n: int, rising: bool) -> np.ndarray:
    """A raised-cosine ramp of ``n`` samples from 0 to 1 (or 1 to 0)."""
    if n <= 0:
        return np.ones(0, dtype=np.float32)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float64))
    return (ramp if rising else ramp[::-1]).astype(np.float32)


def apply_edge_fades(x: np.ndarray, sample_rate: int, seconds: float = FADE_SECONDS) -> np.ndarray:
    """Return ``x`` with a fade-in at its start and a fade-out at its end."""
    y = np.array(x, dtype=np.float32, copy=True)
    n = min(int(seconds * sample_rate), len(y) // 2)
    if n > 0:
        y[:n] *= fade_ramp(n, rising=True)
        y[-n:] *= fade_ramp(n, rising=False)
    return y


def chime(kind: str, sample_rate: int) -> np.ndarray:
    """A soft bell-like chime with peak 1.0 (the player scales it under the cap).

    ``soft``: two gentle partials around A5; ``bell``: brighter with inharmonic partials;
    ``low``: a warm low tone; ``ack``: a short soft "I heard you" before a voice-started
    routine. Slow attack, exponential decay: never a sudden sound.
    """
    spec = {
        "soft": (880.0, ((1.0, 1.0), (2.0, 0.25)), 1.6),
        "bell": (660.0, ((1.0, 1.0), (2.76, 0.35), (5.4, 0.12)), 2.2),
        "low": (330.0, ((1.0, 1.0), (2.0, 0.3), (3.0, 0.1)), 2.0),
        "ack": (660.0, ((1.0, 1.0), (1.5, 0.5)), 0.7),
    }
    base, partials, length = spec.get(kind, spec["soft"])
    t = np.arange(int(length * sample_rate), dtype=np.float64) / sample_rate
    tone = sum(amp * np.sin(2 * np.pi * base * ratio * t) for ratio, amp in partials)
    envelope = np.exp(-t * 3.0 / length) * np.minimum(1.0, t / 0.03)
    y = np.asarray(tone * envelope, dtype=np.float64)
    y = apply_edge_fades(y / np.max(np.abs(y)), sample_rate)
    return y.astype(np.float32)


class NoiseBed:
    """Endless brown or pink noise: a seamless loop shaped once in the frequency domain.

    Bound: one loop of ``LOOP_SECONDS`` (23 s, 2 MB of float32 at 22.05 kHz), however long
    it plays."""

    LOOP_SECONDS = 23.0

    def __init__(self, kind: str, sample_rate: int, seed: int = 7) -> None:
        self.kind = kind
        self.sample_rate = sample_rate
        self._loop = _shaped_noise(kind, int(self.LOOP_SECONDS * sample_rate), sample_rate, seed)
        self._pos = 0

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples (peak 0.9)."""
        idx = (self._pos + np.arange(frames)) % len(self._loop)
        self._pos = int((self._pos + frames) % len(self._loop))
        return self._loop[idx]


def _shaped_noise(kind: str, n: int, sample_rate: int, seed: int) -> np.ndarray:
    """Periodic noise whose power falls as 1/f (pink) or 1/f^2 (brown) above 20 Hz."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    exponent = 1.0 if kind == "brown-noise" else 0.5
    shape = 1.0 / np.maximum(freqs, 20.0) ** exponent
    y = np.fft.irfft(spectrum * shape, n)
    y *= 0.9 / np.max(np.abs(y))
    return y.astype(np.float32)
