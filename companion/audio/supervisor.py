"""The supervisor of a persistent sounddevice stream: it notices a lost device, names it
(microphone or speaker), says what it does about it, and reopens the stream when the
device is back (see DESIGN.md, "When things fail"), looking the device up again by name.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from companion.audio.devices import (
    _device_index,
    _sd,
    find_device,
    quiet_stderr,
    reinitialize_portaudio,
)
from companion.audio.pulse_routes import PulseRoute
from companion.errors import AudioDeviceError

log = logging.getLogger(__name__)

ROLE = {"input": "microphone", "output": "speaker"}
WHILE_LOST = {"input": "listening again when it comes back",
              "output": "speaking again when it comes back"}

_registry_lock = threading.Lock()
_registry: list[_SupervisedStream] = []
"""Every open supervised stream (at most one per device stream the program opened)."""
_last_reinit = [0.0]


class _SupervisedStream:
    """A persistent PortAudio stream plus a thread that reopens it when it is lost.

    Lost means: no callback for ``stall_s`` while running (after a start-up grace, since
    the first callback takes ~2 s here), ``stream.active`` false, a PortAudioError, the
    PulseAudio device it was sent to (``PULSE_SINK``/``PULSE_SOURCE``) gone, or (for a
    microphone) only digital zeros for ``zero_input_s``. Reopening looks the device up again
    by name every ``retry_every_s`` at most; when the name is not found PortAudio is
    re-initialised, so a re-plugged device is seen. A loss is kept in ``notice`` until the
    device is back, and logged once at WARNING (at INFO when ``on_status_line``: then the
    status line says it, and the person reads it once).
    """

    kind = "output"
    stall_s = 1.5
    startup_grace_s = 5.0
    ready_run_s = 0.2
    check_every_s = 0.1
    retry_every_s = 0.5
    route_every_s = 1.0
    reinit_alone_s = 2.0
    """Least time between two PortAudio re-initialisations while no other stream works."""
    reinit_busy_s = 30.0
    """The same while another stream works (re-initialising makes it reopen too)."""
    settle_s = 4.0
    """How long after a reopen the stream still counts as recovering (``recovering``): the
    first callback takes ~2 s here, and a speaker just back is the easiest to starve."""

    def __init__(self, device: str | None) -> None:
        self.device_query = device
        self.device_name = find_device(device, self.kind)
        self.role = ROLE[self.kind]
        self.reconnects = 0
        self.notice: str | None = None
        """What is wrong with this device now, for the status line; None when it works."""
        self.on_status_line = False
        """True when a status line shows ``notice`` (``companion listen``): the loss, the
        tries and the return are then logged at INFO, not said a second time."""
        self.lost_at: float | None = None
        self._reopened_at = -1e9
        self._stream: Any = None
        self._last_cb = 0.0
        self._run_start = 0.0
        self._run_frames = 0
        self._started_at = 0.0
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._state_lock = threading.Lock()
        self._route = PulseRoute(self.kind)
        self._next_route_check = 0.0
        self._reinit_drop = False
        self.connected = False
        with quiet_stderr():  # PortAudio's own lines: the error here says it in one
            self._open_and_start()  # errors here go to the user
        log.info("%s '%s' opened", self.role, self.device_name)
        with _registry_lock:
            _registry.append(self)
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
            raise AudioDeviceError(f"cannot open the {self.role} '{self.device_name}' "
                                   f"({exc}): pick another with `companion devices`") from None
        self._ready.clear()
        self._started_at = time.monotonic()
        self._on_open()
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self._close_quietly(stream)
            raise AudioDeviceError(f"cannot start the {self.role} '{self.device_name}' "
                                   f"({exc}): pick another with `companion devices`") from None
        with self._state_lock:
            self._stream = stream
            self.connected = True
        log.debug("%s '%s' opened", self.role, self.device_name)

    def _on_open(self) -> None:
        """Subclasses reset their per-stream watch here."""

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

    def recovering(self) -> bool:
        """True while the device is lost or was reopened less than ``settle_s`` ago."""
        return (not self.connected or self.notice is not None
                or time.monotonic() - self._reopened_at < self.settle_s)

    @staticmethod
    def outputs_recovering() -> bool:
        """Whether any open speaker stream is lost or just back (see ``recovering``)."""
        with _registry_lock:
            return any(s.kind == "output" and s.recovering() for s in _registry)

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
        if now >= self._next_route_check:
            self._next_route_check = now + self.route_every_s
            if self._route.gone():
                return f"its device '{self._route.name}' is gone"
        if self._ready.is_set():
            if now - self._last_cb > self.stall_s:
                return f"no sound for {now - self._last_cb:.1f} s"
        elif now - self._started_at > self.startup_grace_s:
            return f"no sound {now - self._started_at:.1f} s after start"
        return self._why_unusable(now)

    def _why_unusable(self, now: float) -> str | None:
        """Subclasses: a reason to count a running stream as lost (None: it is fine)."""
        return None

    def _supervise(self) -> None:
        while not self._closing.wait(self.check_every_s):
            why = self._why_dead()
            if why is None:
                continue
            self._lost(why)
            self._drop_stream()
            self._reconnect()

    def _lost(self, why: str) -> None:
        """Say once, at WARNING, which device was lost and what happens now."""
        if self._reinit_drop:  # closed by a PortAudio re-initialisation, not lost
            self._reinit_drop = False
            log.info("%s '%s' reopening after PortAudio was re-initialised", self.role,
                     self.device_name)
            return
        self.lost_at = time.monotonic()
        self.notice = f"{self.role} lost, {WHILE_LOST[self.kind]}"
        log.log(self.fault_level, "%s lost (%s), %s", self.role, why, WHILE_LOST[self.kind])

    @property
    def fault_level(self) -> int:
        """Log level of a loss and its return: WARNING, or INFO when a status line says it."""
        return logging.INFO if self.on_status_line else logging.WARNING

    def _reconnect(self) -> None:
        delay, tries, warned = 0.25, 0, False
        while not self._closing.wait(delay):
            tries += 1
            try:
                if self._route.gone():
                    raise AudioDeviceError(f"'{self._route.name}' is not there")
                self._reinit_if_missing()
                with quiet_stderr():
                    self._open_and_start()
            except AudioDeviceError as exc:
                if not warned:
                    log.log(self.fault_level, "%s not back yet (%s); trying again every "
                            "%.1f s", self.role, exc, self.retry_every_s)
                    warned = True
                else:
                    log.debug("%s reconnect try %d failed: %s", self.role, tries, exc)
                delay = min(delay * 2, self.retry_every_s)
                continue
            self.reconnects += 1
            self._reopened_at = time.monotonic()
            if self.lost_at is not None:
                log.log(self.fault_level, "%s '%s' back after %.1f s", self.role,
                        self.device_name, time.monotonic() - self.lost_at)
            self.notice, self.lost_at = self._notice_when_back(), None
            return

    def _notice_when_back(self) -> str | None:
        """What ``notice`` says once the stream is open again (subclasses: still wrong)."""
        return None

    def _reinit_if_missing(self) -> None:
        """Re-initialise PortAudio when the device's name is not in its list (PortAudio
        lists devices once, at start: a re-plugged device is only seen after this)."""
        try:
            _device_index(self.device_name, self.kind)
            return
        except AudioDeviceError:
            pass
        now = time.monotonic()
        with _registry_lock:
            others = [s for s in _registry if s is not self]
            busy = any(s.connected for s in others)
            if now - _last_reinit[0] < (self.reinit_busy_s if busy else self.reinit_alone_s):
                return
            _last_reinit[0] = now
            for other in others:  # their streams must close before PortAudio goes
                if other.connected:
                    other._reinit_drop = True
                other._drop_stream()
            log.info("re-initialising PortAudio to look for the %s '%s'", self.role,
                     self.device_name)
            reinitialize_portaudio()

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
        with _registry_lock:
            if self in _registry:
                _registry.remove(self)
        self._drop_stream()
