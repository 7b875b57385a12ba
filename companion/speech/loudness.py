"""Speech loudness: ITU-R BS.1770 to one target, then a peak limiter.

The meter is BS.1770-4 as ``pyloudnorm`` 0.2.0 implements it (its K-weighting biquads and
gating, figure for figure), with the filter applied in the frequency domain by numpy. pyloudnorm
filters with ``scipy.signal``, whose import alone cost 48 MB of resident memory in the live
process; ``tests/test_speech_loudness.py`` checks this meter against pyloudnorm.
"""

from __future__ import annotations

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
BLOCK_S = 0.4
"""Gating block (BS.1770-4)."""
STEP = 0.25
"""Block step as a fraction of a block (75 % overlap)."""
ABSOLUTE_GATE = -70.0
"""Blocks quieter than this (LUFS) never count."""
RELATIVE_GATE = -10.0
"""Blocks this far under the gated mean do not count."""
TAIL_S = 1.0
"""Zero padding before the FFT filter: the K-weighting's impulse response has decayed far
below float precision by then, so the circular filter equals the causal IIR one."""


def _biquad(gain_db: float, q: float, fc: float, rate: int,
            shelf: bool) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of the RBJ high shelf or high pass, normalised as pyloudnorm does."""
    a_ = 10 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * (fc / rate)
    alpha = np.sin(w0) / (2.0 * q)
    cos = np.cos(w0)
    if shelf:
        root = 2 * np.sqrt(a_) * alpha
        b = [a_ * ((a_ + 1) + (a_ - 1) * cos + root), -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
             a_ * ((a_ + 1) + (a_ - 1) * cos - root)]
        a = [(a_ + 1) - (a_ - 1) * cos + root, 2 * ((a_ - 1) - (a_ + 1) * cos),
             (a_ + 1) - (a_ - 1) * cos - root]
    else:
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    return np.array(b) / a[0], np.array(a) / a[0]


def _k_response(n: int, rate: int) -> np.ndarray:
    """The K-weighting (high shelf, then high pass) on the ``rfft`` bins of length ``n``.

    Not cached: every sentence has its own length, and a long one's response is megabytes.
    """
    z1 = np.exp(-1j * np.pi * np.arange(n // 2 + 1) / (n / 2))  # e^{-jw} per bin
    response = np.ones(n // 2 + 1, dtype=np.complex128)
    for b, a in (_biquad(4.0, 1 / np.sqrt(2), 1500.0, rate, True),
                 _biquad(0.0, 0.5, 38.0, rate, False)):
        response *= np.polyval(b[::-1], z1) / np.polyval(a[::-1], z1)
    return response


def k_weighted(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` through BS.1770's K-weighting filter (zero initial state, like ``lfilter``)."""
    n = len(x) + int(TAIL_S * rate)
    n += n % 2
    return np.fft.irfft(np.fft.rfft(x, n) * _k_response(n, rate), n)[:len(x)]


def block_powers(x: np.ndarray, rate: int) -> np.ndarray:
    """Mean square of the K-weighted signal in each 400 ms block, 75 % overlap."""
    squares = np.concatenate([[0.0], np.cumsum(np.square(k_weighted(x, rate)))])
    seconds = len(x) / rate
    count = int(np.round((seconds - BLOCK_S) / (BLOCK_S * STEP))) + 1
    j = np.arange(count)
    # The last block may run past the end (the count is rounded): it is cut short there.
    lower = np.minimum((BLOCK_S * (j * STEP) * rate).astype(int), len(x))
    upper = np.minimum((BLOCK_S * (j * STEP + 1) * rate).astype(int), len(x))
    return (squares[upper] - squares[lower]) / (BLOCK_S * rate)


def loudness(pcm: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of ``pcm`` in LUFS (-inf for silence)."""
    x = np.asarray(pcm, dtype=np.float64).ravel()
    need = int(MIN_SECONDS * sample_rate) + 1
    if len(x) < need:
        x = np.concatenate([x, np.zeros(need - len(x))])
    z = np.maximum(block_powers(x, sample_rate), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        levels = -0.691 + 10.0 * np.log10(z)
        loud = z[levels >= ABSOLUTE_GATE]
        if not loud.size:
            return float("-inf")
        gate = -0.691 + 10.0 * np.log10(np.mean(loud)) + RELATIVE_GATE
        kept = z[(levels > gate) & (levels > ABSOLUTE_GATE)]
        return float(-0.691 + 10.0 * np.log10(np.mean(kept))) if kept.size else float("-inf")


def _reflected(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """``x`` extended by mirroring its ends (the edge sample repeated: scipy.ndimage's
    "reflect")."""
    return np.pad(x, (before, after), mode="symmetric")


def moving_min(x: np.ndarray, size: int) -> np.ndarray:
    """The minimum of the ``size`` samples centred on each sample (van Herk/Gil-Werman, O(n)):
    ``scipy.ndimage.minimum_filter1d`` without importing scipy (about 26 MB resident)."""
    n = x.size
    padded = _reflected(x, size // 2, size - 1 - size // 2)
    blocks = -(-padded.size // size)
    tail = blocks * size - padded.size
    grid = np.pad(padded, (0, tail), constant_values=np.inf).reshape(blocks, size)
    ahead = np.minimum.accumulate(grid, axis=1).ravel()  # min from the block's start
    behind = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()  # to its end
    return np.minimum(behind[:n], ahead[size - 1:size - 1 + n])


def moving_mean(x: np.ndarray, size: int) -> np.ndarray:
    """The mean of ``size`` samples around each sample, placed as
    ``scipy.ndimage.uniform_filter1d`` places them (reflected ends)."""
    padded = _reflected(x, size // 2, size - 1 - size // 2)
    sums = np.concatenate(([0.0], np.cumsum(padded, dtype=np.float64)))
    return (sums[size:] - sums[:-size]) / size


def limit(pcm: np.ndarray, sample_rate: int, ceiling: float = PEAK_CEILING) -> np.ndarray:
    """Keep every sample within ``ceiling`` with a smooth gain (look-ahead, no clipping)."""
    x = np.asarray(pcm, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= ceiling:
        return x.astype(np.float32)
    width = max(1, int(_LIMIT_MS * sample_rate / 1000))
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    gain = moving_mean(moving_min(need, 2 * width + 1), width)
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
