"""Which output blocks a device will really play: a callback storm's blocks are not.

After an underrun, PortAudio (ALSA, through PulseAudio's plugin) may call the output
callback in a storm, far faster than real time, and the sound server drops what it is
handed for a moment already past. Measured on the null sink under load: 8.1 s of audio
handed over in 0.5 s of wall clock (862 callbacks), and 1.9 s in another 0.5 s; the echo
then came back 1.5 s "earlier" than the handed count said, so the echo canceller's
alignment (which looks up to 1 s either way) was lost for the rest of the session, and
that audio, speech included, was never heard.
"""

from __future__ import annotations

import collections


class PaceGuard:
    """Tells a device callback whether its block will be played (False: hand it zeros).

    It keeps the audio handed over within ``limit_s`` of real time, measured from the
    lowest point of the last ``memory_s`` (so a device clock a few percent off the wall
    clock never counts as a storm). A gap of ``restart_s`` without callbacks starts afresh
    (a stream reopened or stalled: the sound server plays silence meanwhile).
    Bounds: one (time, lead) pair per callback of the last ``memory_s`` at most.
    """

    def __init__(self, rate: int, limit_s: float = 0.3, memory_s: float = 2.0,
                 restart_s: float = 0.5) -> None:
        self.rate = rate
        self.limit_s = limit_s
        self.memory_s = memory_s
        self.restart_s = restart_s
        self.withheld = 0
        """Frames not handed to the device so far (callback storms)."""
        self._start = self._last = -1e9
        self._handed = 0
        self._lows: collections.deque[tuple[float, float]] = collections.deque()
        """(time, lead) with rising leads: the front is the lowest of the last ``memory_s``."""

    def keeps_pace(self, frames: int, now: float) -> bool:
        """Whether ``frames`` more, handed over at ``now`` (monotonic s), will be played."""
        if now - self._last > self.restart_s:
            self._start, self._handed = now, 0
            self._lows.clear()
        self._last = now
        lead = (self._handed + frames) / self.rate - (now - self._start)
        while self._lows and now - self._lows[0][0] > self.memory_s:
            self._lows.popleft()
        floor = self._lows[0][1] if self._lows else lead
        if lead - floor > self.limit_s:
            self.withheld += frames
            return False
        self._handed += frames
        while self._lows and self._lows[-1][1] >= lead:
            self._lows.pop()
        self._lows.append((now, lead))
        return True
