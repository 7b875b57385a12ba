"""Speech loudness: ITU-R BS.1770 (pyloudnorm) to one target, then a peak limiter."""

from __future__ import annotations

import functools
import logging

import numpy as np

log = logging.getLogger(__name__)

PEAK_CEILING = 0.5
"""Sample peaks after normalising: -6 dBFS, the default output cap, so speech reaches the
speakers at its loudness target with no further gain (a lower cap scales it down)."""
MIN_SECONDS = 0.4
"""BS.1770 needs one 400 ms block; shorter sentences are measured padded with silence."""
_LIMIT_MS = 5.0
"""Limiter look-ahead and release window."""


@functools.lru_cache(maxsize=4)
def _meter(sample_rate: int) -> object:
    import pyloudnorm

    return pyloudnorm.Meter(sample_rate)


def loudness(pcm: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of ``pcm`` in LUFS (-inf for silence)."""
    x = np.asarray(pcm, dtype=np.float64)
    need = int(MIN_SECONDS * sample_rate) + 1
    if len(x) < need:
        x = np.concatenate([x, np.zeros(need - len(x))])
    with np.errstate(divide="ignore"):
        return float(_meter(sample_rate).integrated_loudness(x))  # type: ignore[attr-defined]


def limit(pcm: np.ndarray, sample_rate: int, ceiling: float = PEAK_CEILING) -> np.ndarray:
    """Keep every sample within ``ceiling`` with a smooth gain (look-ahead, no clipping)."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    x = np.asarray(pcm, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= ceiling:
        return x.astype(np.float32)
    width = max(1, int(_LIMIT_MS * sample_rate / 1000))
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    gain = uniform_filter1d(minimum_filter1d(need, 2 * width + 1), width)
    y = x * np.minimum(gain, need)  # the smoothed gain; never above what a sample needs
    return y.astype(np.float32)


def normalise(pcm: np.ndarray, sample_rate: int, target_lufs: float,
              ceiling: float = PEAK_CEILING) -> np.ndarray:
    """``pcm`` brought to ``target_lufs`` with peaks within ``ceiling`` (silence unchanged)."""
    x = np.asarray(pcm, dtype=np.float32)
    level = loudness(x, sample_rate)
    if not np.isfinite(level):
        return x
    gain_db = target_lufs - level
    y = x
    for _ in range(5):  # limiting costs loudness: raise the gain until the target is met
        y = limit(x * 10.0 ** (gain_db / 20.0), sample_rate, ceiling)
        miss = target_lufs - loudness(y, sample_rate)
        if abs(miss) < 0.2:
            break
        gain_db += 1.5 * miss if miss > 0 else miss
    return y
