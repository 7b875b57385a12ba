"""Real sounddevice streams through the PulseAudio null sink: what we play comes back on
its monitor. Timings are printed, never asserted."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from companion.audio.device_streams import SoundDeviceSink, SoundDeviceSource
from companion.audio.devices import find_device, list_devices
from companion.audio.stream import INPUT_RATE, OUTPUT_RATE, AudioSink, AudioSource
from companion.errors import AudioDeviceError

pytestmark = pytest.mark.audio
DEVICE = "pulse"


def tone(seconds: float, amp: float = 0.5, freq: float = 440.0) -> np.ndarray:
    n = np.arange(int(seconds * OUTPUT_RATE))
    return (amp * np.sin(2 * np.pi * freq * n / OUTPUT_RATE)).astype(np.float32)


def level_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-12))


class Recorder:
    """Reads a source on a thread, keeping (arrival time, samples) per chunk."""

    def __init__(self, source: SoundDeviceSource) -> None:
        self.source = source
        self.chunks: list[tuple[float, np.ndarray]] = []
        self._stop = threading.Event()
        source.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.source.read(timeout=0.2)
            if data:
                self.chunks.append((time.monotonic(), np.frombuffer(data, "<i2") / 32768.0))

    def stop(self) -> np.ndarray:
        self._stop.set()
        self._thread.join(timeout=5)
        return np.concatenate([c for _, c in self.chunks]) if self.chunks else np.zeros(0)


@pytest.fixture(scope="module")
def private_sink(pulse_null_sink: str) -> Iterator[str]:
    """A null sink of our own, so other people's sound on `loop` cannot leak into our
    recordings. The ALSA pulse plugin honours PULSE_SINK/PULSE_SOURCE per stream."""
    name = f"qc_audio_test_{os.getpid()}"
    module = subprocess.run(["pactl", "load-module", "module-null-sink", f"sink_name={name}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PULSE_SINK", name)
        env.setenv("PULSE_SOURCE", f"{name}.monitor")
        try:
            yield name
        finally:
            subprocess.run(["pactl", "unload-module", module], check=False)


@pytest.fixture
def streams(private_sink: str) -> Iterator[tuple[SoundDeviceSource, SoundDeviceSink]]:
    source = SoundDeviceSource(DEVICE)
    sink = SoundDeviceSink(DEVICE)
    try:
        assert source.wait_ready(10) and sink.wait_ready(10)
        yield source, sink
    finally:
        sink.close()
        source.close()


def test_protocols(streams: tuple[SoundDeviceSource, SoundDeviceSink]) -> None:
    source, sink = streams
    assert isinstance(source, AudioSource) and isinstance(sink, AudioSink)


def _heard_and_ended(rec: Recorder) -> bool:
    levels = [level_db(c) for _, c in list(rec.chunks)]
    loud = [i for i, lv in enumerate(levels) if lv > -20]
    return bool(loud) and len(levels) - loud[-1] > 10


def test_played_tone_comes_back_at_the_right_level(
        streams: tuple[SoundDeviceSource, SoundDeviceSink]) -> None:
    source, sink = streams
    rec = Recorder(source)
    sound = np.concatenate([tone(1.0), np.zeros(OUTPUT_RATE // 2, np.float32)])
    t_write = time.monotonic()
    for i in range(0, len(sound), 441):
        sink.write(sound[i:i + 441])
    sink.drain(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not _heard_and_ended(rec):
        time.sleep(0.05)
    x = rec.stop()
    start = int(np.argmax(np.abs(x) > 0.1))  # onset of the tone in the recording
    delay = start / INPUT_RATE
    body = x[start + 1600:start + 14400]  # the steady middle of the tone
    print(f"write -> monitor: first chunk after {rec.chunks[0][0] - t_write:.3f} s, "
          f"recording offset {delay * 1000:.0f} ms, level {level_db(body):.2f} dBFS, "
          f"underruns {sink.underruns}, overflows {source.overflows}")
    assert len(body) == 12800
    assert abs(level_db(body) - level_db(tone(1.0))) < 1.0
    phasor = np.exp(-2j * np.pi * 440 * np.arange(len(body)) / INPUT_RATE)
    at_440 = 2 * abs(np.dot(body, phasor)) ** 2 / len(body) / np.dot(body, body)
    assert at_440 > 0.99  # the same sound (a clean 440 Hz tone), not just the same level
    assert sink.frames_written == len(sound)


def test_cut_fades_to_silence(streams: tuple[SoundDeviceSource, SoundDeviceSink]) -> None:
    source, sink = streams
    rec = Recorder(source)
    stop = threading.Event()

    def writer() -> None:  # the player: keeps writing until it is told to stop
        phase = 0
        while not stop.is_set():
            n = np.arange(phase, phase + 441)
            phase += 441
            sink.write((0.5 * np.sin(2 * np.pi * 440 * n / OUTPUT_RATE)).astype(np.float32))

    th = threading.Thread(target=writer)
    th.start()
    time.sleep(1.0)
    t_cut = time.monotonic()
    sink.cut()  # while the writer is blocked inside write()
    stop.set()
    th.join(timeout=5)
    time.sleep(0.5)
    x = rec.stop()
    win = 32  # 2 ms level windows
    levels = np.array([level_db(x[i:i + win]) for i in range(0, len(x) - win + 1, win)])
    loud = np.nonzero(levels > -50)[0]
    full = np.nonzero(levels > -9.6)[0]  # the tone is at -9 dBFS
    fade_ms = (loud[-1] - full[-1]) * 2
    tail = levels[loud[-1] + 1:]
    # wall clock: capture time of the first chunk that stays silent, minus the cut
    silent_from = next(t for t, c in reversed(rec.chunks) if level_db(c) > -50)
    print(f"cut -> below -50 dBFS: fade {fade_ms} ms in the recording; "
          f"~{(silent_from - t_cut) * 1000:.0f} ms wall clock incl. monitor latency; "
          f"silence after it {len(tail) * 2} ms")
    assert len(tail) * 2 >= 300  # silent afterwards: nothing queued came back
    assert fade_ms <= 40  # a fade, not a click and not the rest of the queue
    assert fade_ms >= 10


def test_device_not_found(pulse_null_sink: str) -> None:
    for make in (lambda: SoundDeviceSink("no-such-speaker-xyz"),
                 lambda: SoundDeviceSource("no-such-mic-xyz")):
        with pytest.raises(AudioDeviceError) as info:
            make()
        msg = str(info.value)
        assert "\n" not in msg and "companion devices" in msg and "xyz" in msg


def test_find_and_list_devices(pulse_null_sink: str) -> None:
    assert find_device(None, "output")
    assert find_device("PULSE", "input") == "pulse"
    lines = list_devices()
    assert any(line.startswith("pulse") for line in lines)
    assert any("default output" in line for line in lines)


def _our_pulse_streams(kind: str) -> list[str]:
    """Ids of this process's PulseAudio sink inputs or source outputs."""
    out = subprocess.run(["pactl", "list", kind], capture_output=True, text=True,
                         check=True).stdout
    head = {"sink-inputs": "Sink Input #", "source-outputs": "Source Output #"}[kind]
    mine = f'application.process.id = "{os.getpid()}"'
    return [b.split("\n", 1)[0].strip() for b in out.split(head)[1:] if mine in b]


def _kill_ours(kind: str, command: str) -> int:
    """Kill this process's streams of ``kind``; how many were killed. A stream listed a
    moment before may be gone (pacmd then says "No ... found" and exits 0): list again."""
    for _ in range(5):
        ours = _our_pulse_streams(kind)
        said = [subprocess.run(["pacmd", command, ident], capture_output=True, text=True,
                               check=True).stdout for ident in ours]
        if ours and not any("No " in out for out in said):
            return len(ours)
        time.sleep(0.2)
    return 0


def test_reconnects_after_the_stream_is_killed(
        streams: tuple[SoundDeviceSource, SoundDeviceSink]) -> None:
    """Kill our own streams in PulseAudio (others' streams and sinks are untouched)."""
    if shutil.which("pacmd") is None:
        pytest.fail("pacmd not found: install pulseaudio-utils")
    source, sink = streams
    killed = _kill_ours("sink-inputs", "kill-sink-input") + _kill_ours(
        "source-outputs", "kill-source-output")
    assert killed >= 2
    t_kill = time.monotonic()
    sink.write(tone(1.0, amp=0.3))  # the player goes on; audio is dropped while lost
    deadline = time.monotonic() + 20
    while (sink.reconnects < 1 or source.reconnects < 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.reconnects >= 1 and source.reconnects >= 1
    assert source.wait_ready(10) and sink.wait_ready(10)
    print(f"reconnected and ready {time.monotonic() - t_kill:.2f} s after the kill; "
          f"dropped {sink.dropped} frames while lost")
    rec = Recorder(source)
    for i in range(0, OUTPUT_RATE * 2, 441):
        sink.write(tone(2.0)[i:i + 441])
    time.sleep(0.3)
    sink.cut()  # stop works after a reconnect
    time.sleep(0.5)
    x = rec.stop()
    assert level_db(x) > -20  # the tone came back through the new streams
    assert level_db(x[-INPUT_RATE // 5:]) < -50  # and cut() silenced it
