"""Sound-device sink and source: persistent sounddevice streams kept alive by the supervisor.

The stream callbacks only copy between a bounded queue and PortAudio; nothing is decoded
or synthesised there.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from companion.audio.devices import _sd
from companion.audio.pace import PaceGuard
from companion.audio.stream import CHUNK_SAMPLES, INPUT_RATE, OUTPUT_RATE
from companion.audio.supervisor import _SupervisedStream

log = logging.getLogger(__name__)


class SoundDeviceSink(_SupervisedStream):
    """An ``AudioSink`` on a persistent ``sd.OutputStream`` with a small fixed blocksize.

    ``write`` cuts audio into ``blocksize`` blocks and blocks while ``queue_blocks`` are
    queued (bound: 6 blocks of 220 frames, 60 ms, 5 KB), so the writer runs on the device
    clock. The callback only copies a block out
    of the queue (zeros when empty; a gap after audio counts in ``underruns``).
    ``cut`` keeps the next ``fade_ms`` of queued audio, fades it to zero and drops the rest.
    While the device is lost, ``write`` drops audio at the real-time rate (``dropped``).
    ``observer`` is handed every block the device is given, zeros included (the echo
    canceller's reference: what was written can differ from what was played). In a
    callback storm (:mod:`~companion.audio.pace`) the blocks past real time get zeros and
    no queued audio (the sound server would drop them unplayed), and ``on_withheld`` is
    called instead.
    """

    kind = "output"
    stall_s = 3.0
    """Opening a microphone stream here holds the speaker's callbacks for up to ~1.6 s: a
    shorter limit took that for a lost speaker and reopened it, over and over."""

    def __init__(self, device: str | None = None, sample_rate: int = OUTPUT_RATE,
                 blocksize: int = 220, queue_blocks: int = 6, fade_ms: float = 30.0,
                 latency: float | str | None = None,
                 observer: Callable[[np.ndarray], None] | None = None,
                 on_withheld: Callable[[], None] | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.observer = observer
        self.on_withheld = on_withheld
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
        self._pace = PaceGuard(self.sample_rate)
        super().__init__(device)

    def _make_stream(self, index: int) -> Any:
        return _sd().OutputStream(samplerate=self.sample_rate, blocksize=self.blocksize,
                                  device=index, channels=1, dtype="float32",
                                  latency=self.latency, callback=self._callback)

    def _callback(self, outdata: np.ndarray, frames: int, t: Any, status: Any) -> None:
        if not self._pace.keeps_pace(frames, time.monotonic()):  # a storm: it is dropped
            outdata.fill(0.0)
            if self.on_withheld is not None:
                self.on_withheld()
            return
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

    The callback copies bytes into a bounded queue of ``max_chunks`` chunks (50: 1 s,
    32 KB); when it is full the oldest chunk is dropped and ``overflows`` counts it. Open
    it once and keep it: the first chunk takes ~2 s to arrive (``wait_ready``).
    A microphone that gives only digital zeros for ``zero_input_s`` counts as lost and is
    reopened (a muted or vanished device; PulseAudio moves a stream whose source went away
    to another, often silent, one). It is said once, at ``fault_level``, and ``notice`` says
    ``SILENT_NOTICE`` until a sample that is not zero arrives. If it is still all zeros
    after a reopen, the wait before the next one doubles, up to ``zero_input_max_s``.
    No such reopen starts while a speaker stream is lost or just back (see
    ``_SupervisedStream.recovering``): a speaker restarting here is starved by a microphone
    stream opening beside it, and the sound server then takes ~1.9 s to run it again.
    """

    kind = "input"
    zero_input_s = 4.0
    zero_input_max_s = 300.0
    SILENT_NOTICE = ("microphone gives only silence, so no command can be heard: switch it "
                     "on or unmute it, or pick another with `companion devices`")

    def __init__(self, device: str | None = None, max_chunks: int = 50) -> None:
        self.sample_rate = INPUT_RATE
        self.overflows = 0
        self.dropped = 0
        """Chunks dropped because the reader fell 1 s behind (the oldest go first)."""
        self._queue: collections.deque[bytes] = collections.deque(maxlen=max_chunks)
        self._cond = threading.Condition()
        self._closed = False
        self._last_sound = time.monotonic()
        self._zero_limit = self.zero_input_s
        self._zero_episode = False
        self._sound_back = False
        self._held_for_speaker = False
        super().__init__(device)

    def _on_open(self) -> None:
        self._last_sound = time.monotonic()

    def _why_unusable(self, now: float) -> str | None:
        if self._sound_back:
            self._sound_back = False
            log.info("microphone '%s' hears sound again", self.device_name)
        if not self._ready.is_set() or now - self._last_sound < self._zero_limit:
            return None
        if self.outputs_recovering():  # reopening now would starve the speaker
            if not self._held_for_speaker:
                log.debug("microphone silent; not reopened while the speaker recovers")
                self._held_for_speaker = True
            return None
        self._held_for_speaker = False
        return f"only digital silence for {now - self._last_sound:.1f} s"

    def _lost(self, why: str) -> None:
        if not why.startswith("only digital silence"):
            if not self._reinit_drop:  # a device really gone: count zeros afresh after it
                self._zero_episode, self._zero_limit = False, self.zero_input_s
            super()._lost(why)
            return
        if self._zero_episode:  # still all zeros after a reopen: wait longer, quietly
            self._zero_limit = min(self._zero_limit * 2, self.zero_input_max_s)
            log.debug("microphone still silent (%s); reopening it", why)
            return
        self._zero_episode = True
        self.notice = self.SILENT_NOTICE
        log.log(self.fault_level, "microphone gives only digital silence (%s), so no "
                "command can be heard: switch it on or unmute it, or pick another with "
                "`companion devices` (it hears again as soon as sound comes in)",
                why.removeprefix("only digital silence "))

    def _notice_when_back(self) -> str | None:
        return self.SILENT_NOTICE if self._zero_episode else None

    def _make_stream(self, index: int) -> Any:
        return _sd().RawInputStream(samplerate=INPUT_RATE, blocksize=CHUNK_SAMPLES,
                                    device=index, channels=1, dtype="int16",
                                    callback=self._callback)

    def _callback(self, indata: Any, frames: int, t: Any, status: Any) -> None:
        ready = self._mark_callback(frames, INPUT_RATE)
        data = bytes(indata)
        sound = bool(data.strip(b"\0"))  # any sample not zero: a working microphone
        if sound or not ready:  # zeros count from the first steady callback
            self._last_sound = time.monotonic()
        if sound and self._zero_episode:
            self._zero_episode, self._zero_limit = False, self.zero_input_s
            self.notice, self._sound_back = None, True
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.overflows += 1
                self.dropped += 1
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
