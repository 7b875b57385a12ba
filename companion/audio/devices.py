"""Sound devices: persistent sounddevice streams, looked up by name, kept alive by a
supervisor that reopens a stream which died (see DESIGN.md, "When things fail").

The stream callbacks only copy between a bounded queue and PortAudio; nothing is decoded
or synthesised there.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from companion.audio.wav import CHUNK_SAMPLES, INPUT_RATE, OUTPUT_RATE
from companion.errors import AudioDeviceError

log = logging.getLogger(__name__)

def _sd() -> Any:
    """The sounddevice module, imported late (it loads PortAudio)."""
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(f"PortAudio is not available ({exc}): "
                               "install libportaudio2") from None
    _quiet_alsa()
    return sounddevice


_ALSA_ERROR_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                       ctypes.c_int, ctypes.c_char_p)
_alsa_handler: Any = None
"""Kept referenced: ALSA calls it for as long as the process lives."""


def _quiet_alsa() -> None:
    """Stop ALSA printing "underrun occurred" on stderr for every late buffer.

    On a busy machine it printed hundreds of lines a second straight to file descriptor 2:
    it buried the status line, and when stderr was a pipe nobody read, the companion
    blocked on its next log line and could not quit. Underruns are counted by the sink.
    """
    global _alsa_handler
    if _alsa_handler is not None or log.isEnabledFor(logging.DEBUG):
        return
    try:
        alsa = ctypes.CDLL("libasound.so.2")
    except OSError:  # no ALSA: nothing prints
        return
    _alsa_handler = _ALSA_ERROR_HANDLER(lambda *_: None)
    alsa.snd_lib_error_set_handler(_alsa_handler)


def list_devices() -> list[str]:
    """One line per audio device for ``companion devices``."""
    sd = _sd()
    default_in, default_out = _default_indices(sd)
    lines = []
    for i, dev in enumerate(sd.query_devices()):
        marks = [m for m, d in (("default input", default_in), ("default output", default_out))
                 if d == i]
        line = (f"{dev['name']}  (in {dev['max_input_channels']}, "
                f"out {dev['max_output_channels']}, {dev['default_samplerate']:.0f} Hz)")
        lines.append(line + (f"  [{', '.join(marks)}]" if marks else ""))
    return lines


def _default_indices(sd: Any) -> tuple[int, int]:
    dev = sd.default.device
    try:
        return int(dev[0]), int(dev[1])
    except (TypeError, IndexError, ValueError):
        return -1, -1


def find_device(name: str | None, kind: str) -> str:
    """The name of the input/output (``kind``) device matching ``name`` (None: the default).

    Exact names win over substring matches (case-insensitive). Raises ``AudioDeviceError``.
    """
    sd = _sd()
    chan_key = "max_input_channels" if kind == "input" else "max_output_channels"
    what = "microphone" if kind == "input" else "speaker"
    try:
        devices = list(sd.query_devices())
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot list audio devices ({exc}): is the sound server "
                               "running? try `companion doctor`") from None
    usable = [d["name"] for d in devices if d[chan_key] > 0]
    if not usable:
        raise AudioDeviceError(f"no {what} found: plug one in or pick one with "
                               "`companion devices`")
    if name is None:
        idx = _default_indices(sd)[0 if kind == "input" else 1]
        if 0 <= idx < len(devices) and devices[idx][chan_key] > 0:
            return str(devices[idx]["name"])
        return str(usable[0])
    exact = [d for d in usable if d.lower() == name.lower()]
    partial = [d for d in usable if name.lower() in d.lower()]
    if exact or partial:
        return str((exact or partial)[0])
    raise AudioDeviceError(f"no {kind} device matches '{name}': pick one of the names "
                           "shown by `companion devices`")


def _device_index(name: str, kind: str) -> int:
    """Index of the device called ``name`` right now (looked up afresh each time)."""
    sd = _sd()
    chan_key = "max_input_channels" if kind == "input" else "max_output_channels"
    for i, d in enumerate(sd.query_devices()):
        if d["name"] == name and d[chan_key] > 0:
            return i
    raise AudioDeviceError(f"{kind} device '{name}' has gone away: plug it back in or "
                           "pick another with `companion devices`")


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


class SoundDeviceSink(_SupervisedStream):
    """An ``AudioSink`` on a persistent ``sd.OutputStream`` with a small fixed blocksize.

    ``write`` cuts audio into ``blocksize`` blocks and blocks while ``queue_blocks`` are
    queued, so the writer runs on the device clock. The callback only copies a block out
    of the queue (zeros when empty; a gap after audio counts in ``underruns``).
    ``cut`` keeps the next ``fade_ms`` of queued audio, fades it to zero and drops the rest.
    While the device is lost, ``write`` drops audio at the real-time rate (``dropped``).
    ``observer`` is handed every block the device is given, zeros included (the echo
    canceller's reference: what was written can differ from what was played).
    """

    kind = "output"

    def __init__(self, device: str | None = None, sample_rate: int = OUTPUT_RATE,
                 blocksize: int = 220, queue_blocks: int = 6, fade_ms: float = 30.0,
                 latency: float | str | None = None,
                 observer: Callable[[np.ndarray], None] | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.observer = observer
        self.blocksize = int(blocksize)
        self.queue_blocks = int(queue_blocks)
        self.fade_frames = int(round(fade_ms * self.sample_rate / 1000))
        self.latency = latency
        self.frames_written = 0
        self.frames_played = 0
        self.underruns = 0
        self.dropped = 0
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._cond = threading.Condition()
        self._pending = np.zeros(0, dtype=np.float32)
        self._was_playing = False
        self._closed = False
        self._generation = 0
        super().__init__(device)

    def _make_stream(self, index: int) -> Any:
        return _sd().OutputStream(samplerate=self.sample_rate, blocksize=self.blocksize,
                                  device=index, channels=1, dtype="float32",
                                  latency=self.latency, callback=self._callback)

    def _callback(self, outdata: np.ndarray, frames: int, t: Any, status: Any) -> None:
        self._fill(outdata, frames)
        if self.observer is not None:
            self.observer(outdata[:, 0].copy())

    def _fill(self, outdata: np.ndarray, frames: int) -> None:
        if not self._mark_callback(frames, self.sample_rate):  # priming: keep the queue
            outdata.fill(0.0)
            return
        with self._cond:
            block = self._queue.popleft() if self._queue else None
            self._cond.notify()
        if block is None:
            outdata.fill(0.0)
            if self._was_playing:
                self.underruns += 1
                self._was_playing = False
        else:
            outdata[:, 0] = block
            self._was_playing = True
            self.frames_played += frames

    def write(self, block: np.ndarray) -> None:
        """Queue float32 mono audio; blocks while the queue is full."""
        if self._closed:
            raise ValueError("write after close")
        x = np.asarray(block, dtype=np.float32).ravel()
        self.frames_written += len(x)
        gen = self._generation
        data = np.concatenate([self._pending, x]) if len(self._pending) else x
        n_full = len(data) // self.blocksize * self.blocksize
        for i in range(0, n_full, self.blocksize):
            if not self._put(data[i:i + self.blocksize].copy(), gen):
                return  # cut() while we waited: the rest of this block is dropped
        self._pending = data[n_full:].copy()

    def flush(self) -> None:
        """Pad the last partial block with zeros and queue it."""
        if len(self._pending):
            pad = np.zeros(self.blocksize - len(self._pending), dtype=np.float32)
            self._put(np.concatenate([self._pending, pad]), self._generation)
            self._pending = np.zeros(0, dtype=np.float32)

    def _put(self, block: np.ndarray, gen: int) -> bool:
        """Queue one block (waiting for room); False if cut() happened meanwhile."""
        period = self.blocksize / self.sample_rate
        with self._cond:
            while (len(self._queue) >= self.queue_blocks and not self._closed
                   and self.connected and gen == self._generation):
                self._cond.wait(timeout=period * 2)
            if gen != self._generation or self._closed:
                return False
            if self.connected:
                self._queue.append(block)
                return True
        self.dropped += len(block)  # device lost: keep the writer on a real-time clock
        time.sleep(period)
        return True

    def cut(self) -> None:
        """Drop queued audio; fade the next ``fade_ms`` of it to zero; then silence."""
        with self._cond:
            self._generation += 1
            keep: list[np.ndarray] = []
            while self._queue and sum(len(b) for b in keep) < self.fade_frames:
                keep.append(self._queue.popleft())
            self._queue.clear()
            self._pending = np.zeros(0, dtype=np.float32)
            if keep:
                tail = np.concatenate(keep)
                ramp = np.zeros(len(tail), dtype=np.float32)
                n = min(self.fade_frames, len(tail))
                ramp[:n] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)
                tail = tail * ramp
                self._queue.extend(np.split(tail, len(keep)))
            self._cond.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Flush and wait until everything queued has been handed to the device."""
        self.flush()
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue and self.connected:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(timeout=0.05 if left is None else min(left, 0.05))
        return True

    def close(self) -> None:
        """Stop the supervisor and close the stream (queued audio is dropped)."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        self._shutdown()


class SoundDeviceSource(_SupervisedStream):
    """An ``AudioSource`` on a persistent ``sd.RawInputStream`` (16 kHz mono int16, 20 ms).

    The callback copies bytes into a bounded queue; when it is full the oldest chunk is
    dropped and ``overflows`` counts it. Open it once and keep it: the first chunk takes
    ~2 s to arrive (``wait_ready``).
    """

    kind = "input"

    def __init__(self, device: str | None = None, max_chunks: int = 50) -> None:
        self.sample_rate = INPUT_RATE
        self.overflows = 0
        self._queue: collections.deque[bytes] = collections.deque(maxlen=max_chunks)
        self._cond = threading.Condition()
        self._closed = False
        super().__init__(device)

    def _make_stream(self, index: int) -> Any:
        return _sd().RawInputStream(samplerate=INPUT_RATE, blocksize=CHUNK_SAMPLES,
                                    device=index, channels=1, dtype="int16",
                                    callback=self._callback)

    def _callback(self, indata: Any, frames: int, t: Any, status: Any) -> None:
        self._mark_callback(frames, INPUT_RATE)
        data = bytes(indata)
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.overflows += 1
            self._queue.append(data)
            self._cond.notify()
        if status.input_overflow:
            self.overflows += 1

    def read(self, timeout: float | None = None) -> bytes | None:
        """Next 640-byte chunk; b"" if ``timeout`` passed first; None after close()."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue or self._closed, timeout):
                return b""
            if self._closed:
                return None
            return self._queue.popleft()

    @property
    def pending(self) -> int:
        """Chunks captured but not read yet (how far the reader is behind)."""
        with self._cond:
            return len(self._queue)

    def clear(self) -> None:
        """Drop chunks not read yet."""
        with self._cond:
            self._queue.clear()

    def close(self) -> None:
        """Close the stream; pending and later reads return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._shutdown()
