"""Audio sources and sinks (devices and WAV files), resampling and device lookup.

Audio in is 20 ms chunks of int16 mono bytes at ``INPUT_RATE``; audio out is float32 mono
numpy in [-1, 1] at the sink's rate. Device streams are persistent: their callbacks only
copy between a bounded queue and PortAudio, and a supervisor thread reopens a stream that
died (see DESIGN.md, "When things fail").
"""

from __future__ import annotations

import collections
import logging
import math
import struct
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from companion.errors import AudioDeviceError, CompanionError

log = logging.getLogger(__name__)

INPUT_RATE = 16000
"""Sample rate of everything a recogniser hears."""
CHUNK_SAMPLES = 320
"""Samples in one 20 ms input chunk."""
CHUNK_BYTES = CHUNK_SAMPLES * 2
"""Bytes in one int16 input chunk."""
OUTPUT_RATE = 22050
"""espeak-ng's native rate; the default rate of sinks."""


class WavError(CompanionError):
    """A WAV file is missing, unreadable or in a format we cannot read."""

    exit_code = 2


# --------------------------------------------------------------------------- protocols


@runtime_checkable
class AudioSource(Protocol):
    """Where 20 ms chunks of int16 mono 16 kHz audio come from."""

    sample_rate: int
    overflows: int

    def read(self, timeout: float | None = None) -> bytes | None:
        """Next chunk (640 bytes); None at end or after close; b"" on a live timeout."""
        ...

    def close(self) -> None:
        """Release the source; later reads return None."""
        ...


@runtime_checkable
class AudioSink(Protocol):
    """Where float32 mono audio goes; ``frames_written`` is the timeline position."""

    sample_rate: int
    frames_written: int

    def write(self, block: np.ndarray) -> None:
        """Queue ``block``; a device blocks while its queue is full."""
        ...

    def cut(self) -> None:
        """Drop what is queued and fade what is playing to silence (~30 ms)."""
        ...

    def close(self) -> None:
        """Finish and release the sink."""
        ...


# --------------------------------------------------------------------------- resampling


class Resampler:
    """Streaming band-limited resampler (Kaiser-windowed sinc, polyphase table).

    On downsampling the kernel's cutoff sits a little under the new Nyquist frequency, so
    aliasing stays below about -70 dB. ``process`` may be called with pieces of any size;
    ``flush`` returns the tail so the total length is ``round(n_in * dst / src)``.
    """

    _MAX_PHASES = 4096
    _CHUNK = 8192

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


def to_int16_bytes(x: np.ndarray) -> bytes:
    """Float audio in [-1, 1] to int16 little-endian bytes (clipped)."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


# --------------------------------------------------------------------------- WAV files

_FMT_PCM, _FMT_FLOAT, _FMT_EXTENSIBLE = 1, 3, 0xFFFE
_CONVERT_HINT = "convert it with `sox {name} -r 16000 -c 1 -b 16 out.wav`"


def _wav_error(path: Path, what: str) -> WavError:
    return WavError(f"{path}: {what}; " + _CONVERT_HINT.format(name=path.name))


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a WAV (8/16/24/32-bit int, 32/64-bit float, any channels) as mono float64.

    Raises ``WavError`` (one line naming the file and what to do) when it cannot.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WavError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise WavError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from None
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise _wav_error(path, "not a WAV file")
    if data[:4] == b"RIFX":
        raise _wav_error(path, "big-endian WAV is not supported")
    fmt, payload = _wav_chunks(path, data)
    samples = _decode(path, fmt, payload)
    return samples, fmt["rate"]


def _wav_chunks(path: Path, data: bytes) -> tuple[dict[str, int], bytes]:
    """The parsed ``fmt `` chunk and the ``data`` payload."""
    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = _parse_fmt(path, body)
        elif cid == b"data":
            payload = body  # a truncated file just gives fewer frames
            if size in (0, 0xFFFFFFFF):  # streamed writer never fixed the size
                payload = data[pos + 8:]
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise _wav_error(path, "no 'fmt ' chunk (damaged WAV)")
    if payload is None:
        raise _wav_error(path, "no 'data' chunk (damaged WAV)")
    return fmt, payload


def _parse_fmt(path: Path, body: bytes) -> dict[str, int]:
    if len(body) < 16:
        raise _wav_error(path, "damaged 'fmt ' chunk")
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _FMT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the SubFormat GUID
    if channels < 1 or rate < 1 or bits < 1:
        raise _wav_error(path, "damaged 'fmt ' chunk")
    return {"tag": tag, "channels": channels, "rate": rate, "bits": bits,
            "align": align or channels * ((bits + 7) // 8)}


def _decode(path: Path, fmt: dict[str, int], payload: bytes) -> np.ndarray:
    """Interleaved sample bytes to mono float64 in [-1, 1]."""
    tag, bits, channels = fmt["tag"], fmt["bits"], fmt["channels"]
    width = fmt["align"] // channels
    usable = len(payload) - len(payload) % fmt["align"]
    raw = payload[:usable]
    if tag == _FMT_FLOAT and width in (4, 8):
        x = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
    elif tag == _FMT_PCM and width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif tag == _FMT_PCM and width in (2, 4):
        x = np.frombuffer(raw, dtype="<i2" if width == 2 else "<i4").astype(np.float64)
        x /= 2.0 ** (8 * width - 1)
    elif tag == _FMT_PCM and width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v)).astype(np.float64) / float(1 << 23)
    else:
        kind = {_FMT_PCM: "integer", _FMT_FLOAT: "float"}.get(tag, f"format tag 0x{tag:04x}")
        raise _wav_error(path, f"unsupported encoding ({kind}, {bits}-bit)")
    return x.reshape(-1, channels).mean(axis=1)


class WavSource:
    """An ``AudioSource`` over a WAV file: resampled to 16 kHz, 20 ms chunks, last one padded.

    With ``realtime=True`` ``read`` paces chunks at 20 ms of wall-clock time each.
    """

    def __init__(self, path: str | Path, realtime: bool = False) -> None:
        self.path = Path(path)
        self.sample_rate = INPUT_RATE
        self.overflows = 0
        self.realtime = realtime
        x, rate = read_wav(self.path)
        x16 = resample(x, rate, INPUT_RATE) if rate != INPUT_RATE else x
        pad = (-len(x16)) % CHUNK_SAMPLES
        self._pcm = to_int16_bytes(np.concatenate([x16, np.zeros(pad)]))
        self._pos = 0
        self._t0: float | None = None
        self._closed = False
        log.debug("opened %s: %d Hz -> %d chunks", self.path, rate, self.chunks)

    @property
    def chunks(self) -> int:
        """Number of 20 ms chunks in the file."""
        return len(self._pcm) // CHUNK_BYTES

    @property
    def duration(self) -> float:
        """Length in seconds (after padding)."""
        return self.chunks * CHUNK_SAMPLES / INPUT_RATE

    def read(self, timeout: float | None = None) -> bytes | None:
        """Next 640-byte chunk, or None at the end of the file or after close()."""
        if self._closed or self._pos >= len(self._pcm):
            return None
        if self.realtime:
            self._pace()
        chunk = self._pcm[self._pos:self._pos + CHUNK_BYTES]
        self._pos += CHUNK_BYTES
        return chunk

    def _pace(self) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + (self._pos // CHUNK_BYTES) * CHUNK_SAMPLES / INPUT_RATE
        if due > now:
            time.sleep(due - now)

    def close(self) -> None:
        """Stop reading; later reads return None."""
        self._closed = True


class WavSink:
    """An ``AudioSink`` that appends 16-bit PCM mono to a WAV file on the writer's timeline.

    The header's sizes are rewritten after every write, so the file is valid even if the
    process is killed. ``cut`` is a no-op: on a file the player renders its fade itself.
    """

    def __init__(self, path: str | Path, sample_rate: int = OUTPUT_RATE) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.frames_written = 0
        try:
            self._f: Any = open(self.path, "wb")
        except OSError as exc:
            raise WavError(f"{self.path}: cannot write it ({exc.strerror}); "
                           "pick a writable --output path") from None
        self._f.write(self._header(0))

    def _header(self, frames: int) -> bytes:
        n = frames * 2
        return (b"RIFF" + struct.pack("<I", 36 + n) + b"WAVE"
                + b"fmt " + struct.pack("<IHHIIHH", 16, _FMT_PCM, 1, self.sample_rate,
                                        self.sample_rate * 2, 2, 16)
                + b"data" + struct.pack("<I", n))

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (float mono in [-1, 1]) at once."""
        if self._f is None:
            raise ValueError(f"{self.path}: write after close")
        block = np.asarray(block, dtype=np.float32).ravel()
        if not len(block):
            return
        self._f.write(to_int16_bytes(block))
        self.frames_written += len(block)
        self._fix_sizes()

    def _fix_sizes(self) -> None:
        n = self.frames_written * 2
        self._f.seek(4)
        self._f.write(struct.pack("<I", 36 + n))
        self._f.seek(40)
        self._f.write(struct.pack("<I", n))
        self._f.seek(0, 2)

    def cut(self) -> None:
        """No-op on a file (its timeline is exact)."""

    def close(self) -> None:
        """Write the final header and close the file."""
        if self._f is not None:
            self._fix_sizes()
            self._f.close()
            self._f = None

    def __enter__(self) -> WavSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_wav(path: str | Path, x: np.ndarray, sample_rate: int) -> None:
    """Write a whole float mono signal as a 16-bit WAV."""
    with WavSink(path, sample_rate) as sink:
        sink.write(x)


# --------------------------------------------------------------------------- devices


def _sd() -> Any:
    """The sounddevice module, imported late (it loads PortAudio)."""
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(f"PortAudio is not available ({exc}): "
                               "install libportaudio2") from None
    return sounddevice


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
    """

    kind = "output"

    def __init__(self, device: str | None = None, sample_rate: int = OUTPUT_RATE,
                 blocksize: int = 220, queue_blocks: int = 6, fade_ms: float = 30.0,
                 latency: float | str | None = None) -> None:
        self.sample_rate = int(sample_rate)
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
