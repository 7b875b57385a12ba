"""Acoustic echo cancellation: remove the companion's own voice from what the mic hears.

``EchoCanceller`` is a partitioned-block frequency-domain NLMS filter (PBFDAF, overlap-save,
gradient-constrained) with a double-talk guard, plus an optional mild residual echo
suppressor. ``estimate_delay`` finds the speaker-to-mic delay by GCC-PHAT cross-correlation
(``correlation_lag``, which the live loop's alignment uses too).
"""

from __future__ import annotations

import logging
from collections import deque

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
        if ex < 1e-7 * self.block:  # reference silent: nothing to learn from
            self.double_talk, self._dt_blocks = False, 0
            self._hold = max(0, self._hold - 1)
            self._quiet_blocks += 1
            if self._quiet_blocks == self.QUIET_RESET_BLOCKS:
                self._erle = 1.0
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


class EchoGate:
    """Silences what is left of the companion's own voice after echo cancellation.

    An adaptive filter takes seconds of speech to converge, and a routine speaks in short
    sentences; until then the residual is loud enough to trigger the recogniser (it heard
    its own "pause"). The gate learns how loud the microphone usually is for a given output
    level while the companion speaks (a high percentile of the ratio: the echo path's gain,
    whatever the canceller's state), and passes audio only when the microphone is clearly
    louder than that: a person talking over the companion.
    Echo is attenuated by ``attenuation_db`` and the room's own noise, recorded while the
    companion was quiet, is laid under it (comfort noise): the recogniser's endpointer must
    go on hearing the room's real noise floor. Without it, a fan at -50 dBFS sounded like
    speech the moment the gate opened, and "stop" over the companion's voice was missed.
    The output runs one chunk late, so a chunk just before a person's voice opens the gate
    too (their first sound is often quiet), and the gate stays open ``hangover_s`` after.
    Bounds: ``window_s`` of levels, ``history`` ratios, 2 s of output levels and 1 s of room
    chunks (about 35 KB at 16 kHz): the same after a minute or a night.
    """

    def __init__(self, sample_rate: int = 16000, chunk: int = 320, window_s: float = 0.3,
                 margin_db: float = 4.0, attenuation_db: float = 30.0,
                 hangover_s: float = 0.3, history: int = 250, voice_db: float = 9.0) -> None:
        self._window: deque[float] = deque(maxlen=max(1, int(window_s * sample_rate / chunk)))
        self._ratios: deque[float] = deque(maxlen=history)
        self._at_peak = 0
        """Ratios learned while the output was within 6 dB of its recent peak."""
        self._levels: deque[float] = deque(maxlen=max(1, int(2.0 * sample_rate / chunk)))
        self._margin = 10 ** (margin_db / 10)
        self._voice = 10 ** (voice_db / 10)
        self._attenuation = 10 ** (-attenuation_db / 20)
        self._hangover = max(1, int(hangover_s * sample_rate / chunk))
        self._open_for = 0
        self._echo_before = False
        """Whether echo was possible at the previous chunk."""
        self._held = np.zeros(chunk, dtype=np.float32)
        self._held_is_echo = False
        self._room: deque[np.ndarray] = deque(maxlen=max(1, int(1.0 * sample_rate / chunk)))
        """The last second of chunks with neither the companion nor a person in them."""
        self._background = False
        self._rng = np.random.default_rng(7)
        self.gated = 0
        """Chunks attenuated so far."""

    def process(self, cleaned: np.ndarray, mic: np.ndarray, reference: np.ndarray
                ) -> np.ndarray:
        """The previous ``cleaned`` chunk, attenuated if it was the companion's echo.

        ``mic`` is what the microphone heard (before echo cancellation), ``reference``
        what the companion played in the same chunk.
        """
        echo, voice = self._classify(np.asarray(mic, dtype=np.float32), reference)
        if echo and not self._echo_before:
            # The companion starts to sound: the hangover kept for the soft end of a
            # person's words ends (words that go on still pass as a voice). It answers a
            # command ~150 ms after it, inside the hangover, which let the start tone's
            # echo through, heard as "stop" (live, 1 run in 12).
            self._open_for = 0
        self._echo_before = echo
        if voice:
            self._open_for = self._hangover
        out = self._held
        if self._held_is_echo and not voice and self._open_for == 0:
            self.gated += 1
            out = out * self._attenuation + self._comfort_noise(out.size)
        self._held = np.asarray(cleaned, dtype=np.float32)
        if self._background:
            self._room.append(self._held)
        self._held_is_echo = echo and not voice
        self._open_for = max(0, self._open_for - 1)
        return out.astype(np.float32)

    def _comfort_noise(self, size: int) -> np.ndarray:
        """A recorded chunk of the room (its quieter half), or nothing before there is one."""
        if not self._room:
            return np.zeros(size, dtype=np.float32)
        quiet = sorted(self._room, key=lambda c: float(np.dot(c, c)))[:max(1, len(self._room) // 2)]
        chunk = quiet[int(self._rng.integers(len(quiet)))]
        return chunk[:size] if chunk.size >= size else np.resize(chunk, size)

    def _classify(self, mic: np.ndarray, reference: np.ndarray) -> tuple[bool, bool]:
        """(echo possible, a person's voice) for one chunk.

        Echo is possible while the companion played something in the last ``window_s``.
        A voice is sound well above the noise floor that the echo path cannot explain.
        """
        output = float(np.mean(np.square(reference, dtype=np.float64))) + _EPS
        self._window.append(output)
        level = float(np.mean(np.square(mic, dtype=np.float64))) + _EPS
        self._levels.append(level)
        floor = min(self._levels)
        recent = max(self._window)  # the echo arrives up to ``window_s`` after the output
        # Only the room's own noise may become comfort noise: no echo, nothing above the
        # floor (the soft edges of a person's words are not "voice" but are not noise).
        companion_quiet = recent < 1e-8
        self._background = companion_quiet and level <= 2.0 * floor
        if companion_quiet:  # no echo possible
            return False, level > floor * self._voice
        expected = self._expected_ratio()
        audible = level > floor * self._voice
        if audible:  # before the echo arrives, level/recent says nothing of its gain
            self._ratios.append(level / recent)
            self._at_peak += output >= recent / 4
        explained = expected * recent * self._margin + floor
        return True, audible and level > explained

    def _expected_ratio(self) -> float:
        """Microphone-to-output energy ratio that echo alone reaches (90th percentile).

        Until there is history, assume the echo may be 12 dB louder than the output:
        measured live on the null sink (echo at 0 dB), 0 dB and 6 dB let the start tone's
        echo through, heard as "stop". History counts once the echo has been heard while
        the output was near its recent peak, 25 times: a decaying tone's chunks alone
        (level/recent falls as it fades) taught the gate a ratio so low that the routine's
        first words passed as a voice (live: "louder", "help", "stop"). Replayed from 12
        recorded live runs, the gate let the first sentence's echo through in 10 when it
        learned from every chunk, in 2 from chunks the echo had reached, in none now.
        """
        if self._at_peak < 25:
            return 16.0
        return float(np.percentile(self._ratios, 90))
