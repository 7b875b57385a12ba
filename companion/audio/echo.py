"""Acoustic echo cancellation: remove the companion's own voice from what the mic hears.

``EchoCanceller`` is a partitioned-block frequency-domain NLMS filter (PBFDAF, overlap-save,
gradient-constrained) with a double-talk guard, plus an optional mild residual echo
suppressor. (What it leaves is gated by :mod:`~companion.audio.echo_gate`.)
``estimate_delay`` finds the speaker-to-mic delay by GCC-PHAT cross-correlation
(``correlation_lag``, which the live loop's alignment uses too).
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

_EPS = 1e-10


def _as_float(x: np.ndarray) -> np.ndarray:
    """int16 (or any int) audio to float64 in [-1, 1]; float audio as float64."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64) / 32768.0
    return x.astype(np.float64).ravel()


class EchoCanceller:
    """Adaptive echo canceller for 16 kHz mono chunks (multiples of ``block``; 20 ms chunks).

    ``filter_ms`` is the echo tail the filter models: the speaker-to-mic delay plus the
    room's decay (200 ms covers a delay up to ~150 ms). Adaptation freezes while the
    residual carries much more energy than the echo estimate explains (a person talking),
    and the guard lets go again if that lasts so long that the echo path must have changed.
    Its state is fixed in size: the filter's partitions and one block of history.
    """

    def __init__(self, sample_rate: int = 16000, filter_ms: float = 200.0, block: int = 160,
                 step: float = 0.5, suppress: bool = True) -> None:
        self.sample_rate = sample_rate
        self.block = block
        n = block
        self.partitions = max(1, int(np.ceil(filter_ms * sample_rate / 1000 / n)))
        self.step = step
        self.suppress = suppress
        bins = n + 1
        self._W = np.zeros((self.partitions, bins), dtype=np.complex128)  # filter spectra
        self._X = np.zeros((self.partitions, bins), dtype=np.complex128)  # ref spectra
        self._x_prev = np.zeros(n)
        self._power = np.zeros(bins)  # smoothed reference energy per bin over the span
        self._delta = 2 * n * 1e-5 * self.partitions  # regulariser: a -50 dBFS floor
        self._hold = 0  # blocks of frozen adaptation left
        self._dt_blocks = 0  # consecutive blocks judged double talk
        self._quiet_blocks = 0  # consecutive blocks of silent reference
        self._erle = 1.0  # smoothed mic/residual energy ratio while adapting
        self._e_pow = 0.0
        self._y_pow = 0.0
        self.double_talk = False
        """True while the last block was judged double talk (adaptation frozen)."""

    SILENT = 1e-7
    """Mean square per sample under which a reference block counts as silent."""
    QUIET_RESET_BLOCKS = 50
    """After this many silent reference blocks (0.5 s) the echo loss is learned anew: what
    comes next (speech after the start tone) may lie in bands the filter has not met.
    Measured on recorded live runs: the loss learned on the tone (26 dB) made the first
    sentence look like a person talking, adaptation froze, and the canceller took 1-2 dB
    off the companion's speech; with the reset, 10-20 dB by the first sentence's end."""

    def reset(self) -> None:
        """Forget the echo path (e.g. after the output device changed)."""
        self.__init__(self.sample_rate, self.filter_ms, self.block, self.step,  # type: ignore[misc]
                      self.suppress)

    REMOVING_ERLE = 2.0
    """Smoothed echo loss (3 dB) from which the canceller counts as removing echo."""

    @property
    def removing_echo(self) -> bool:
        """Whether the canceller now takes 3 dB or more off the echo (smoothed over its
        recent echo-only blocks). Off the echo (its delay moved unnoticed) it took -5 to 0
        dB off, and what it left of the companion's voice passed as a person ("stop")."""
        return self._erle >= self.REMOVING_ERLE

    @property
    def filter_ms(self) -> float:
        """Length of the modelled echo tail in milliseconds."""
        return self.partitions * self.block * 1000.0 / self.sample_rate

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Return ``mic`` minus the estimated echo of ``reference`` (same length, same dtype
        kind: int16 in → int16 out, float in → float32 out)."""
        is_int = np.issubdtype(np.asarray(mic).dtype, np.integer)
        d, x = _as_float(mic).ravel(), _as_float(reference).ravel()
        n = self.block
        if len(d) % n:
            raise ValueError(f"chunk of {len(d)} samples: use multiples of {n} (10 ms)")
        if len(x) < len(d):
            x = np.concatenate([x, np.zeros(len(d) - len(x))])
        out = np.concatenate([self._block(d[i:i + n], x[i:i + n])
                              for i in range(0, len(d), n)]) if len(d) else d
        if is_int:
            return np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
        return out.astype(np.float32)

    def _block(self, d: np.ndarray, x: np.ndarray) -> np.ndarray:
        """One overlap-save block of ``self.block`` samples."""
        n = self.block
        if self._quiet_blocks >= self.partitions and float(np.dot(x, x)) < self.SILENT * n:
            # The whole filter sees silence: nothing to cancel, and no transforms to run
            # while the companion is quiet (about 1% of a core, most of a session).
            self._X[:] = 0.0
            self._x_prev = x
            self._quiet_block()
            return d
        xf = np.fft.rfft(np.concatenate([self._x_prev, x]))
        self._x_prev = x
        self._X = np.roll(self._X, 1, axis=0)
        self._X[0] = xf
        y = np.fft.irfft((self._X * self._W).sum(axis=0))[n:]
        e = d - y
        self._update_guard(d, e, y, x)
        if not self.double_talk and self._hold == 0 and self._quiet_blocks == 0:
            self._adapt(xf, e)  # never on a silent block: the guard cannot judge it
        if self.suppress:
            e = self._suppress(e, y)
        return e

    def _adapt(self, xf: np.ndarray, e: np.ndarray) -> None:
        """Constrained NLMS step on every partition."""
        n = self.block
        span = (np.abs(self._X) ** 2).sum(axis=0)  # reference energy the filter sees
        self._power = 0.5 * self._power + 0.5 * span
        norm = np.maximum(self._power, span) + self._delta
        ef = np.fft.rfft(np.concatenate([np.zeros(n), e]))
        grad = np.conj(self._X) * (ef / norm)
        g = np.fft.irfft(grad, axis=1)
        g[:, n:] = 0.0  # gradient constraint: keep the linear-convolution half
        self._W += self.step * np.fft.rfft(g, axis=1)

    def _update_guard(self, d: np.ndarray, e: np.ndarray, y: np.ndarray,
                      x: np.ndarray) -> None:
        """Double-talk guard: freeze adaptation when the residual is not echo."""
        ed, ee, ey, ex = (float(np.dot(v, v)) + _EPS for v in (d, e, y, x))
        self._e_pow = 0.7 * self._e_pow + 0.3 * ee
        self._y_pow = 0.7 * self._y_pow + 0.3 * ey
        if ex < self.SILENT * self.block:  # reference silent: nothing to learn from
            self._quiet_block()
            return
        self._quiet_blocks = 0
        converged = self._erle > 4.0  # ~6 dB
        # A person talking: the residual jumps far above what the echo loss predicts. (A
        # second rule, residual above twice the echo estimate, also fired on echo alone
        # at speech onsets: in tests/test_echo_path.py's count-ahead case the echo lost
        # 7 dB with it and 15 dB without it.)
        talk = converged and ee * self._erle > 8.0 * ed
        if talk:
            self._dt_blocks += 1
            self._hold = 8  # keep frozen 80 ms after the person stops
        else:
            self._dt_blocks = 0
            self._hold = max(0, self._hold - 1)
            if self._hold == 0:
                self._erle = 0.95 * self._erle + 0.05 * min(ed / ee, 1e4)
        if self._dt_blocks > 150:  # 1.5 s of "talk": more likely the echo path moved
            log.debug("echo canceller: long double talk, re-adapting")
            self._erle, self._dt_blocks, self._hold = 1.0, 0, 0
        self.double_talk = talk

    def _quiet_block(self) -> None:
        """Bookkeeping for a block whose reference is silent."""
        self.double_talk, self._dt_blocks = False, 0
        self._hold = max(0, self._hold - 1)
        self._quiet_blocks += 1
        if self._quiet_blocks == self.QUIET_RESET_BLOCKS:
            self._erle = 1.0

    def _suppress(self, e: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Mild spectral gain on the residual where the echo estimate dominates."""
        ef, yf = np.fft.rfft(e), np.fft.rfft(y)
        ratio = (np.abs(yf) ** 2) / (np.abs(ef) ** 2 + _EPS)
        gain = np.clip(1.0 - 0.5 * ratio, 0.3, 1.0)
        return np.fft.irfft(ef * gain, n=len(e))


def correlation_lag(mic: np.ndarray, ref: np.ndarray, lags: range) -> tuple[int, float, float]:
    """(lag, sharpness, distinctness): ``mic[t]`` best matches ``ref[t + lags.stop - 1 - lag]``.

    ``ref`` starts ``lags.stop - 1`` samples before ``mic`` and runs on ``-lags.start``
    samples past its end. GCC-PHAT (each frequency weighted alike), so the peak is sharp
    for speech. ``sharpness`` is the peak over the RMS of the correlation across all lags
    tried (a true echo of speech measured 30-130, an unrelated voice under 20);
    ``distinctness`` the peak over the highest one more than 5 ms away from it (a
    two-note chime matches its own second note too: 1.0-1.5 for the start tone).
    """
    n = 1 << int(np.ceil(np.log2(len(mic) + len(ref))))
    cross = np.conj(np.fft.rfft(mic, n)) * np.fft.rfft(ref, n)
    cc = np.fft.irfft(cross / (np.abs(cross) + _EPS), n)[:len(lags)]
    best = int(np.argmax(cc))
    rms = float(np.sqrt(np.mean(np.square(cc))) + _EPS)
    away = cc.copy()
    away[max(0, best - 80):best + 81] = -np.inf
    second = float(np.max(away)) if np.isfinite(np.max(away)) else 0.0
    return lags.stop - 1 - best, float(cc[best]) / rms, float(cc[best]) / max(second, _EPS)


def estimate_delay(mic: np.ndarray, reference: np.ndarray, sample_rate: int,
                   max_delay: float = 0.5) -> float:
    """Seconds by which ``reference`` shows up later in ``mic`` (GCC-PHAT; >= 0)."""
    d, x = _as_float(mic).ravel(), _as_float(reference).ravel()
    max_lag = int(max_delay * sample_rate)
    lag, _, _ = correlation_lag(d, np.concatenate([np.zeros(max_lag), x]), range(max_lag + 1))
    return lag / sample_rate
