"""The supervisor of a persistent sounddevice stream: it reopens a stream which died (see
DESIGN.md, "When things fail"), looking its device up again by name.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from companion.audio.devices import _device_index, _sd, find_device
from companion.errors import AudioDeviceError

log = logging.getLogger(__name__)


class _SupervisedStream:
    """A persistent PortAudio stream plus a thread that reopens it when it dies.

    Dead means: no callback for ``stall_s`` while running (after a start-up grace, since
    the first callback takes ~2 s here), ``stream.active`` false, or a PortAudioError.
    Reopening looks the device up again by name, with backoff 0.25, 0.5, 1 ... 5 s.
    """

    kind = "output"
    stall_s = 1.5
    startup_grace_s = 5.0
    ready_run_s = 0.2
    check_every_s = 0.1

    def __init__(self, device: str | None) -> None:
        self.device_query = device
        self.device_name = find_device(device, self.kind)
        self.reconnects = 0
        self._stream: Any = None
        self._last_cb = 0.0
        self._run_start = 0.0
        self._run_frames = 0
        self._started_at = 0.0
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._state_lock = threading.Lock()
        self.connected = False
        self._open_and_start()  # errors here go to the user
        log.info("%s device '%s' opened", self.kind, self.device_name)
        self._thread = threading.Thread(target=self._supervise, daemon=True,
                                        name=f"audio-{self.kind}-supervisor")
        self._thread.start()

    # subclasses build their stream here
    def _make_stream(self, index: int) -> Any:
        raise NotImplementedError

    def _open_and_start(self) -> None:
        sd = _sd()
        index = _device_index(self.device_name, self.kind)
        try:
            stream = self._make_stream(index)
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open {self.kind} device '{self.device_name}' "
                                   f"({exc}): pick another with `companion devices`") from None
        self._ready.clear()
        self._started_at = time.monotonic()
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self._close_quietly(stream)
            raise AudioDeviceError(f"cannot start {self.kind} device '{self.device_name}' "
                                   f"({exc}): pick another with `companion devices`") from None
        with self._state_lock:
            self._stream = stream
            self.connected = True
        log.debug("%s device '%s' opened", self.kind, self.device_name)

    def _mark_callback(self, frames: int, rate: int) -> bool:
        """Called from the stream callback: note the time; True once callbacks flow.

        PortAudio here first runs priming callbacks (at once, or in a fast burst), then
        may run none for ~1.9 s: the stream counts as ready after ``ready_run_s`` of
        callbacks that keep pace with the wall clock (no long gap, no burst).
        """
        now = time.monotonic()
        ahead = self._run_frames / rate - (now - self._run_start)
        if now - self._last_cb > 0.2 or ahead > 0.1:
            self._run_start, self._run_frames = now, 0
        self._run_frames += frames
        self._last_cb = now
        if not self._ready.is_set() and now - self._run_start >= self.ready_run_s:
            self._ready.set()
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until callbacks run steadily (~2 s after start on this machine)."""
        return self._ready.wait(timeout)

    def _why_dead(self) -> str | None:
        stream = self._stream
        if stream is None:
            return "stream closed"
        try:
            if not stream.active:
                return "stream stopped"
        except Exception as exc:  # PortAudio reporting an error
            return f"stream error: {exc}"
        now = time.monotonic()
        if self._ready.is_set():
            if now - self._last_cb > self.stall_s:
                return f"no callback for {now - self._last_cb:.1f} s"
        elif now - self._started_at > self.startup_grace_s:
            return f"no callback {now - self._started_at:.1f} s after start"
        return None

    def _supervise(self) -> None:
        while not self._closing.wait(self.check_every_s):
            why = self._why_dead()
            if why is None:
                continue
            log.warning("%s device '%s' lost (%s); reconnecting", self.kind,
                        self.device_name, why)
            self._drop_stream()
            self._reconnect()

    def _reconnect(self) -> None:
        delay, tries = 0.25, 0
        while not self._closing.wait(delay):
            tries += 1
            try:
                self._open_and_start()
            except AudioDeviceError as exc:
                log.debug("reconnect try %d failed: %s", tries, exc)
                delay = min(delay * 2, 5.0)
                continue
            self.reconnects += 1
            log.info("%s device '%s' reconnected after %d tries", self.kind,
                     self.device_name, tries)
            return

    def _drop_stream(self) -> None:
        with self._state_lock:
            stream, self._stream = self._stream, None
            self.connected = False
        if stream is not None:
            self._close_quietly(stream)

    @staticmethod
    def _close_quietly(stream: Any) -> None:
        for op in (stream.abort, stream.close):
            try:
                op()
            except Exception as exc:  # a dead stream may refuse; it is closed anyway
                log.debug("closing a dead stream: %s", exc)

    def _shutdown(self) -> None:
        self._closing.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._drop_stream()
