"""WAV files: reading and writing them, and the file source and sink.

``WavSource`` resamples to ``INPUT_RATE`` and cuts 20 ms chunks; ``WavSink`` writes 16-bit
PCM mono on the writer's timeline. The protocols live in ``companion.audio.stream``.
"""

from __future__ import annotations

import logging
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.resample import resample
from companion.audio.stream import CHUNK_BYTES, CHUNK_SAMPLES, INPUT_RATE, OUTPUT_RATE
from companion.errors import CompanionError, WriteError

log = logging.getLogger(__name__)


class WavError(CompanionError):
    """A WAV file is missing, unreadable or in a format we cannot read."""

    exit_code = 2


def to_int16_bytes(x: np.ndarray) -> bytes:
    """Float audio in [-1, 1] to int16 little-endian bytes (clipped)."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


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
    Bound: the whole file, as 16 kHz int16 (115 MB per hour of audio), held from the start.
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
        self._broken = False
        try:
            self._f: Any = open(self.path, "wb")
        except OSError as exc:
            raise WavError(f"{self.path}: cannot write it ({exc.strerror}); "
                           "pick a writable --output path") from None
        try:
            self._f.write(self._header(0))
            self._f.flush()
        except OSError as exc:
            raise self._failed(exc) from None

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
        try:
            self._f.write(to_int16_bytes(block))
            self.frames_written += len(block)
            self._fix_sizes()
        except OSError as exc:
            raise self._failed(exc) from None

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
        f, self._f = self._f, None
        if f is None:
            return
        try:
            if not self._broken:
                self._f = f
                self._fix_sizes()
            f.close()
        except OSError as exc:
            raise self._failed(exc) from None
        finally:
            self._f = None

    def _failed(self, exc: OSError) -> WriteError:
        """The one-line error for a failed write; later writes are not tried."""
        self._broken = True
        if self._f is not None:
            try:
                self._f.close()
            except OSError:  # the same failure again
                pass
            self._f = None
        return WriteError(f"cannot write {self.path} ({exc.strerror or exc}): free some space "
                          "or pick another --output")

    def __enter__(self) -> WavSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_wav(path: str | Path, x: np.ndarray, sample_rate: int) -> None:
    """Write a whole float mono signal as a 16-bit WAV."""
    with WavSink(path, sample_rate) as sink:
        sink.write(x)
