"""The companion's output lined up with the microphone, sample by sample (live devices).

Output and input are two streams on one device clock: the echo of output sample ``r``
comes back in input sample ``r + K``, for a ``K`` that holds for as long as neither stream
skips. Measured on the null sink: ``K`` stayed the same to the sample over 30 s, but was
0.11 s in one run and 0.30 s in the next (it depends on how the streams started). So
:class:`AlignedReference` counts samples on both sides and finds ``K`` by GCC-PHAT
cross-correlation of what was played with what was heard. Until it has, it hands out the
newest output the device was given, which always comes before its echo (play, capture,
read), so the echo gate still sees the companion sound in time; only the canceller cannot
work on it. Before this the reference came from a queue kept 40-100 ms deep, while the
real delay was 110-320 ms: the canceller never converged live.

The reference is what the output device's callback was handed, not what the player
rendered: when rendering falls behind (a sentence being synthesised; 0-5 such gaps per
live run) the device plays zeros the rendered stream does not have, and a cut drops
rendered audio; either would move the delay.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

import numpy as np

from companion.audio.echo import correlation_lag
from companion.audio.resample import Resampler
from companion.audio.stream import INPUT_RATE

log = logging.getLogger(__name__)

class _Ring:
    """The last ``size`` samples of a stream, addressed by absolute sample index."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data = np.zeros(size, dtype=np.float32)
        self.end = 0
        """Absolute index one past the newest sample."""

    def append(self, x: np.ndarray) -> None:
        count = len(x)
        x = x[-self.size:]
        start = (self.end + count - len(x)) % self.size
        first = min(len(x), self.size - start)
        self.data[start:start + first] = x[:first]
        self.data[:len(x) - first] = x[first:]
        self.end += count

    def read(self, start: int, n: int) -> np.ndarray:
        """Samples ``start .. start + n`` (zeros where the ring does not hold them)."""
        out = np.zeros(n, dtype=np.float32)
        lo, hi = max(start, self.end - self.size), min(start + n, self.end)
        if lo < hi:
            out[lo - start:hi - start] = self.data[np.arange(lo, hi) % self.size]
        return out


@dataclass(frozen=True)
class AlignmentSettings:
    """How the echo delay is found (seconds)."""

    window_s: float = 1.0
    """Microphone audio each estimate correlates (2 s took a second longer to find the
    delay again after it moved, as it does on the null sink when another stream starts)."""
    max_lag_s: float = 1.0
    """Longest output-to-microphone delay looked for."""
    min_lag_s: float = -1.0
    """The input's count may also run ahead of the output's: it depends on which stream
    started first (measured: -0.28 s in one run)."""
    every_s: float = 0.25
    """How often an estimate is tried while the companion sounds."""
    lead_s: float = 0.005
    """The reference handed out runs this far ahead of its echo (the canceller's filter
    is causal: an echo that came a little early could not be modelled)."""
    min_sharpness: float = 12.0
    """Weaker correlation peaks are ignored (see :func:`~companion.echo.correlation_lag`)."""
    min_distinctness: float = 2.0
    """Nor is a peak with a rival at another delay (see :func:`~companion.echo.correlation_lag`)."""
    agree_samples: int = 2
    """Two estimates in a row within this many samples of each other are believed."""
    settle_s: float = 1.5
    """After a gap on either side (see :meth:`AlignedReference.gap`), the delay is in
    doubt for this long, or until an estimate confirms it."""


class AlignedReference:
    """What the companion played (16 kHz), handed out in step with the microphone.

    ``push`` is called by the output device's callback with every block it is given;
    ``take`` by the input loop with every microphone chunk, returning what was played into
    that chunk.
    ``generation`` goes up whenever the alignment changes, so the canceller can start over.
    Bounds: blocks pushed but not taken yet, at most ``MAX_PENDING_BLOCKS`` (the oldest go
    first: while the microphone is lost nobody takes them); the history rings hold
    ``window_s + max_lag_s - min_lag_s + 1`` s of output and ``window_s`` of input (about
    0.4 MB at the defaults). An outage of any length costs no memory.
    """

    MAX_PENDING_BLOCKS = 400
    """About 4 s of output in the sink's 10 ms blocks (~360 KB of float32 at most)."""

    def __init__(self, output_rate: int, settings: AlignmentSettings = AlignmentSettings()
                 ) -> None:
        self.settings = settings
        self._resampler = Resampler(output_rate, INPUT_RATE)
        self._lock = threading.Lock()
        self._blocks: collections.deque[np.ndarray] = collections.deque(
            maxlen=self.MAX_PENDING_BLOCKS)
        window = int(settings.window_s * INPUT_RATE)
        self._max_lag = int(settings.max_lag_s * INPUT_RATE)
        self._min_lag = int(settings.min_lag_s * INPUT_RATE)
        self._ref = _Ring(window + self._max_lag - self._min_lag + INPUT_RATE)
        self._mic = _Ring(window)
        self._every = int(settings.every_s * INPUT_RATE)
        self._next_try = window
        self._lead = int(settings.lead_s * INPUT_RATE)
        self.lag: int | None = None
        """Samples from an output sample to its echo in the input; None until found."""
        self._candidate: int | None = None
        self.generation = 0
        """Counts changes of ``lag``."""
        self._gaps = 0
        """Gaps reported by the output device's thread (read by the input loop)."""
        self._gaps_seen = 0
        self._doubt_until = 0
        """Microphone sample count until which the delay is in doubt."""

    def push(self, block: np.ndarray) -> None:
        """Add a block the output device was given (any size, output rate); cheap enough
        for the device's callback: the block is only queued here."""
        with self._lock:
            self._blocks.append(block)

    def start(self) -> None:
        """Forget the output pushed so far: count both sides from the next ``take``.

        For the live loop as it starts to read the microphone (its queue cleared too). The
        speaker starts first and the microphone's first chunk comes ~2 s later: counting
        each side from its own first sample, the echo looked 2-3.5 s early (measured
        live), outside the delays looked for, and the canceller never started.
        """
        with self._lock:
            self._blocks.clear()

    def gap(self) -> None:
        """The output device dropped or inserted audio this count does not hold (a
        callback storm, :mod:`~companion.audio.pace`): the delay may have moved by up to
        its limit. Cheap and safe from the device's callback."""
        self._gaps += 1

    def skip_input(self, n: int) -> None:
        """The microphone lost ``n`` samples (its reader fell behind): count them as
        silence, so the two counts stay in step, and doubt the delay for a while."""
        if n > 0:
            self._mic.append(np.zeros(min(n, self._mic.size), dtype=np.float32))
            self._mic.end += max(0, n - self._mic.size)
            self._doubt()

    @property
    def settled(self) -> bool:
        """Whether the delay is known and nothing has put it in doubt lately: only then
        does the canceller's output say more than the microphone about who is talking."""
        return self.lag is not None and self._mic.end >= self._doubt_until

    def _doubt(self) -> None:
        self._doubt_until = self._mic.end + int(self.settings.settle_s * INPUT_RATE)

    def _resample_pushed(self) -> None:
        """Move queued output blocks into the 16 kHz history (the input loop's thread)."""
        with self._lock:
            blocks = list(self._blocks)
            self._blocks.clear()
        for block in blocks:
            self._ref.append(self._resampler.process(block).astype(np.float32))

    def take(self, mic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(what sounded into ``mic``, the newest output played), each as long as ``mic``.

        The first is for the echo canceller: the output lined up with its echo once the
        delay is known, the newest output until then. The second always comes before its
        echo, whatever happened to the streams, so it is what the echo gate must see.
        """
        n = len(mic)
        self._mic.append(np.asarray(mic, dtype=np.float32))
        if self._gaps != self._gaps_seen:
            self._gaps_seen = self._gaps
            self._doubt()
        self._resample_pushed()
        end = self._mic.end
        newest = self._ref.read(self._ref.end - n, n)
        aligned = (newest if self.lag is None
                   else self._ref.read(end - n - self.lag + self._lead, n))
        if end >= self._next_try:
            self._next_try = end + self._every
            self._try_estimate(end)
        return aligned, newest

    def _try_estimate(self, end: int) -> None:
        """Correlate the last ``window_s`` of input with the output; update ``lag``."""
        window = self._mic.size
        span = range(self._min_lag, self._max_lag + 1)
        ref = self._ref.read(end - window - self._max_lag, window + self._max_lag - self._min_lag)
        if float(np.mean(np.square(ref))) < 1e-6:  # the companion was quiet: nothing to learn
            return
        mic = self._mic.read(end - window, window)
        lag, sharpness, distinctness = correlation_lag(mic, ref, span)
        if (sharpness < self.settings.min_sharpness
                or distinctness < self.settings.min_distinctness):
            self._candidate = None
            return
        agrees = (self._candidate is not None
                  and abs(lag - self._candidate) <= self.settings.agree_samples)
        self._candidate = lag
        if self.lag is not None and abs(lag - self.lag) > self.settings.agree_samples:
            self._doubt()  # a sharp echo at another delay: it moved
        elif self.lag is not None:
            self._doubt_until = 0  # confirmed
        if agrees and (self.lag is None or abs(lag - self.lag) > self.settings.agree_samples):
            log.debug("echo delay %.1f ms (was %s)", 1000 * lag / INPUT_RATE,
                      "unknown" if self.lag is None else f"{1000 * self.lag / INPUT_RATE:.1f} ms")
            self.lag = lag
            self.generation += 1
