"""Band-limited resampling (Kaiser-windowed sinc): streaming and whole-signal."""

from __future__ import annotations

import math

import numpy as np


class Resampler:
    """Streaming band-limited resampler (Kaiser-windowed sinc, polyphase table).

    On downsampling the kernel's cutoff sits a little under the new Nyquist frequency, so
    aliasing stays below about -70 dB. ``process`` may be called with pieces of any size;
    ``flush`` returns the tail so the total length is ``round(n_in * dst / src)``.
    Bound: it keeps the kernel's history (about ``2 * zeros / cutoff`` input samples) plus
    the piece being processed; ``_trim`` drops the rest after every call.
    """

    _MAX_PHASES = 4096
    _CHUNK = 2048
    """Outputs computed at once: its gathered taps are ~0.6 MB (38 taps, float64) each."""

    def __init__(self, src_rate: int, dst_rate: int, zeros: int = 16, beta: float = 8.6) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        g = math.gcd(int(src_rate), int(dst_rate))
        self.src_rate, self.dst_rate = int(src_rate), int(dst_rate)
        self._up, self._down = self.dst_rate // g, self.src_rate // g
        cutoff = min(1.0, self.dst_rate / self.src_rate) * (0.92 if dst_rate < src_rate else 1.0)
        self._half = int(math.ceil(zeros / cutoff))  # kernel half width, in input samples
        self._phases = min(self._up, self._MAX_PHASES)
        self._table = _sinc_table(self._phases, self._half, cutoff, beta)
        self._buf = np.zeros(self._half, dtype=np.float64)  # history before t=0 is silence
        self._buf_start = -self._half  # absolute input index of _buf[0]
        self._n_in = 0
        self._n_out = 0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feed input samples; return every output sample that is now computable."""
        x = np.asarray(x, dtype=np.float64).ravel()
        self._buf = np.concatenate([self._buf, x])
        self._n_in += len(x)
        return self._emit(self._buf_start + len(self._buf) - 1 - self._half)

    def flush(self) -> np.ndarray:
        """Return the remaining output (input is padded with silence)."""
        target = int(round(self._n_in * self._up / self._down))
        self._buf = np.concatenate([self._buf, np.zeros(self._half + 1)])
        out = self._emit(self._buf_start + len(self._buf) - self._half - 1, limit=target)
        return out

    def _emit(self, last_base: int, limit: int | None = None) -> np.ndarray:
        """Outputs whose centre input index is <= ``last_base`` (and < ``limit``)."""
        n_end = max(0, ((last_base + 1) * self._up - 1) // self._down + 1)
        if limit is not None:
            n_end = min(n_end, limit)
        pieces = []
        for n0 in range(self._n_out, n_end, self._CHUNK):
            pieces.append(self._compute(np.arange(n0, min(n0 + self._CHUNK, n_end))))
        self._n_out = max(self._n_out, n_end)
        self._trim()
        return np.concatenate(pieces) if pieces else np.zeros(0)

    def _compute(self, n: np.ndarray) -> np.ndarray:
        num = n * self._down
        base = num // self._up
        phase = ((num % self._up) * self._phases) // self._up
        taps = np.arange(-self._half + 1, self._half + 1)
        idx = base[:, None] + taps[None, :] - self._buf_start
        return np.einsum("ij,ij->i", self._buf[idx], self._table[phase])

    def _trim(self) -> None:
        first_needed = (self._n_out * self._down) // self._up - self._half + 1
        drop = first_needed - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop


def _sinc_table(phases: int, half: int, cutoff: float, beta: float) -> np.ndarray:
    """Kernel weights, one row per fractional phase; taps at offsets -half+1 .. half."""
    taps = np.arange(-half + 1, half + 1)
    frac = np.arange(phases)[:, None] / phases
    tau = taps[None, :] - frac  # input index minus output position
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (tau / half) ** 2, 0.0, None))) / np.i0(beta)
    return cutoff * np.sinc(cutoff * tau) * window


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Band-limited resampling of a whole mono signal; returns float64 (int input is kept
    in its own scale)."""
    if src_rate == dst_rate:
        return np.asarray(x, dtype=np.float64).copy()
    r = Resampler(src_rate, dst_rate)
    return np.concatenate([r.process(x), r.flush()])
