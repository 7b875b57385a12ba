"""Devices that vanish and come back, for real: the microphone and the speaker on separate
PulseAudio null sinks of their own (PULSE_SOURCE / PULSE_SINK), whose modules are unloaded
and loaded again. Waits are generous; times are printed, never asserted."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.audio.device_streams import SoundDeviceSink, SoundDeviceSource
from companion.audio.echo_path import AlignedReference
from companion.audio.stream import OUTPUT_RATE

pytestmark = pytest.mark.audio


class NullSinks:
    """Null sinks made and unmade by name (each a module of the running server)."""

    def __init__(self) -> None:
        self.modules: dict[str, str] = {}

    def load(self, name: str) -> None:
        self.modules[name] = subprocess.run(
            ["pactl", "load-module", "module-null-sink", f"sink_name={name}"],
            capture_output=True, text=True, check=True).stdout.strip()

    def unload(self, name: str) -> None:
        subprocess.run(["pactl", "unload-module", self.modules.pop(name)], check=True)

    def close(self) -> None:
        for name in list(self.modules):
            self.unload(name)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def tone_wav(path: Path, seconds: float = 1.5, rate: int = 16000) -> Path:
    n = np.arange(int(seconds * rate))
    pcm = (0.4 * 32767 * np.sin(2 * np.pi * 440 * n / rate)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def level_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-12)) if len(x) else -200.0


def heard_by(source: SoundDeviceSource, play: Callable[[], None], seconds: float) -> float:
    """Loudest 20 ms chunk (dBFS) the source hears while ``play`` runs."""
    source.clear()
    chunks: list[np.ndarray] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = source.read(timeout=0.2)
            if data:
                chunks.append(np.frombuffer(data, "<i2") / 32768.0)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    play()
    time.sleep(seconds)
    stop.set()
    reader.join(timeout=5)
    return max((level_db(c) for c in chunks), default=-200.0)


@pytest.fixture
def separate_devices(pulse_null_sink: str) -> Iterator[tuple[NullSinks, str, str]]:
    """A speaker sink and a microphone sink of our own; the streams are sent to them."""
    if shutil.which("parec") is None:
        pytest.fail("parec not found: install pulseaudio-utils")
    sinks = NullSinks()
    spk, mic = f"qc_fault_spk_{os.getpid()}", f"qc_fault_mic_{os.getpid()}"
    sinks.load(spk)
    sinks.load(mic)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PULSE_SINK", spk)
        env.setenv("PULSE_SOURCE", f"{mic}.monitor")
        try:
            yield sinks, spk, mic
        finally:
            sinks.close()


@pytest.fixture
def streams(separate_devices) -> Iterator[tuple[SoundDeviceSource, SoundDeviceSink]]:
    source, sink = SoundDeviceSource(None), SoundDeviceSink(None)
    try:
        assert source.wait_ready(10) and sink.wait_ready(10)
        yield source, sink
    finally:
        sink.close()
        source.close()


class ToneWriter:
    """Writes a tone into the sink without a pause until stopped (a routine speaking)."""

    def __init__(self, sink: SoundDeviceSink) -> None:
        self.sink = sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = np.arange(OUTPUT_RATE)
        tone = (0.4 * np.sin(2 * np.pi * 440 * n / OUTPUT_RATE)).astype(np.float32)
        while not self._stop.is_set():
            for i in range(0, len(tone), 441):
                self.sink.write(tone[i:i + 441])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class MonitorRecording:
    """What reaches a sink's monitor from now on (16 kHz mono), as a person would hear,
    read as it comes (20 ms latency) so its last sample is known to be about now."""

    def __init__(self, monitor: str) -> None:
        self._proc = subprocess.Popen(["parec", "-d", monitor, "--format=s16le",
                                       "--rate=16000", "--channels=1", "--raw",
                                       "--latency-msec=20"], stdout=subprocess.PIPE)
        self._data = bytearray()
        self.last_read = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read1(640):
            self._data += chunk
            self.last_read = time.monotonic()

    def stop(self) -> tuple[np.ndarray, float]:
        """(the samples, the monotonic time their first one was played)."""
        end = self.last_read
        data = bytes(self._data)
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._thread.join(timeout=5)
        x = np.frombuffer(data[: len(data) // 2 * 2], "<i2") / 32768.0
        return x, end - len(x) / 16000


def loud_windows(x: np.ndarray, rate: int = 16000) -> np.ndarray:
    """Whether each 10 ms window of ``x`` has sound in it (above -40 dBFS)."""
    win = rate // 100
    return np.array([level_db(x[i:i + win]) > -40 for i in range(0, len(x) - win + 1, win)])


def speaking_from(loud: np.ndarray, steady_s: float = 1.0) -> float | None:
    """Seconds into the recording where the first ``steady_s`` with sound in at least 90%
    of its 10 ms windows begins (the speaker speaking again); None if there is none."""
    n = int(steady_s * 100)
    for i in range(0, len(loud) - n + 1):
        if loud[i] and loud[i:i + n].mean() >= 0.9:
            return i / 100
    return None


def dropouts(loud: np.ndarray, after_s: float, least_s: float = 0.05) -> list[float]:
    """Lengths (s) of the silent gaps of ``least_s`` or more after ``after_s``."""
    gaps, run = [], 0
    for flag in list(loud[int(after_s * 100):]) + [True]:
        if not flag:
            run += 1
        elif run:
            if run >= least_s * 100:
                gaps.append(run / 100)
            run = 0
    return gaps


class HeardTimes:
    """Arrival times of the loud chunks the source delivers, read on a thread."""

    def __init__(self, source: SoundDeviceSource) -> None:
        self.source = source
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.source.read(timeout=0.2)
            if data and level_db(np.frombuffer(data, "<i2") / 32768.0) > -20:
                self.times.append(time.monotonic())

    def steady_from(self, steady_s: float = 1.0, gap_s: float = 0.3) -> float | None:
        """When it first heard for ``steady_s`` with no gap over ``gap_s`` (the microphone
        hearing again), or None."""
        self._stop.set()
        self._thread.join(timeout=5)
        times = self.times
        for i, start in enumerate(times):
            run = [t for t in times[i:] if t <= start + steady_s]
            if run[-1] - start >= steady_s - gap_s and all(
                    b - a <= gap_s for a, b in zip(run, run[1:], strict=False)):
                return start
        return None


def lost_shown(stream: SoundDeviceSource | SoundDeviceSink) -> bool:
    """Whether the stream says its device is lost (not: a microphone giving only zeros)."""
    return bool(stream.notice) and " lost" in str(stream.notice)


@pytest.mark.parametrize("lost", [("mic",), ("spk",), ("mic", "spk")],
                         ids=["microphone", "speaker", "both"])
def test_a_lost_device_is_named_and_works_again_when_it_returns(
        lost, separate_devices, streams, tmp_path, caplog) -> None:
    """A routine speaks throughout; the microphone's sink stays silent (a digital-zero
    microphone, reopened now and then) until its own hearing is measured. Printed: when
    the speaker spoke steadily again, its dropouts after that (this shared machine has
    some even when nothing was lost), and when the microphone heard steadily again."""
    sinks, spk, mic = separate_devices
    source, sink = streams
    names = {"mic": mic, "spk": spk}
    caplog.set_level(logging.WARNING, logger="companion")
    writer = ToneWriter(sink)  # the player goes on while the speaker is lost
    try:
        t0 = time.monotonic()
        for key in lost:
            sinks.unload(names[key])
        mic_lost, spk_lost = "mic" in lost, "spk" in lost
        assert wait_until(lambda: lost_shown(source) == mic_lost
                          and lost_shown(sink) == spk_lost, 15), (source.notice, sink.notice)
        print(f"lost {lost} noticed after {time.monotonic() - t0:.2f} s")
        if mic_lost:
            assert source.notice == "microphone lost, listening again when it comes back"
        if spk_lost:
            assert sink.notice == "speaker lost, speaking again when it comes back"
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(w.startswith("microphone lost") for w in warnings) == mic_lost, warnings
        assert any(w.startswith("speaker lost") for w in warnings) == spk_lost, warnings
        time.sleep(2.0)
        retries = [w for w in warnings if "not back yet" in w]
        assert len(retries) <= len(lost)  # a failed retry is said once, not every second
        for key in lost:
            sinks.load(names[key])
        t_back = time.monotonic()
        played = MonitorRecording(f"{spk}.monitor")
        heard = HeardTimes(source) if mic_lost else None
        talker = subprocess.Popen(["paplay", f"--device={mic}", str(tone_wav(
            tmp_path / "long.wav", seconds=9.0))]) if mic_lost else None
        assert wait_until(lambda: not lost_shown(source) and not lost_shown(sink), 15)
        assert source.wait_ready(10) and sink.wait_ready(10)
        print(f"back and ready {time.monotonic() - t_back:.2f} s after the device returned")
        time.sleep(max(0.0, t_back + 8.0 - time.monotonic()))
        rec, rec_start = played.stop()
        loud = loud_windows(rec)
        spoke = speaking_from(loud)
        assert spoke is not None, "the speaker never speaks steadily after the device returned"
        gaps = dropouts(loud, spoke)
        hear_at = heard.steady_from() if heard else None
        hear = "(not lost)" if heard is None else (
            "never steady" if hear_at is None else f"{hear_at - t_back:.2f} s")
        print(f"after the return: speaking again {spoke + rec_start - t_back:.2f} s (recorded "
              f"from {rec_start - t_back:.2f} s), then {len(gaps)} dropouts, longest "
              f"{max(gaps, default=0):.2f} s; hearing again {hear}")
        if talker is not None:
            talker.wait(timeout=20)
        assert heard is None or heard.times, "the microphone hears nothing after its return"
    finally:
        writer.stop()
    wav = tone_wav(tmp_path / "tone.wav")
    level = -200.0
    for _ in range(4):  # a silent microphone is reopened now and then: try a few times
        level = max(level, heard_by(source, lambda: subprocess.run(
            ["paplay", f"--device={mic}", str(wav)], check=True, timeout=20), 0.5))
        if level > -20:
            break
    assert level > -20, f"the microphone hears nothing after its return ({level:.1f} dBFS)"


def test_a_silent_microphone_says_what_to_do_until_sound_comes(
        separate_devices, streams, tmp_path, caplog) -> None:
    """The microphone's sink plays nothing: only digital zeros come in."""
    sinks, spk, mic = separate_devices
    source, sink = streams
    caplog.set_level(logging.INFO, logger="companion")
    assert wait_until(lambda: source.notice is not None, 15)
    assert source.notice == SoundDeviceSource.SILENT_NOTICE
    assert "no command can be heard" in source.notice and "companion devices" in source.notice
    reopened = source.reconnects
    assert wait_until(lambda: source.reconnects > reopened, 20)  # reopened: still zeros
    time.sleep(0.5)
    assert source.notice == SoundDeviceSource.SILENT_NOTICE  # so it still says so
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # said once, not at every reopen; never "back"
    assert warnings[0].startswith("microphone gives only digital silence (for ")
    assert "unmute it, or pick another with `companion devices`" in warnings[0]
    wav = tone_wav(tmp_path / "tone.wav", seconds=3.0)
    talker = subprocess.Popen(["paplay", f"--device={mic}", str(wav)])
    try:
        assert wait_until(lambda: source.notice is None, 15), source.notice
    finally:
        talker.wait(timeout=20)
    assert any("hears sound again" in r.getMessage() for r in caplog.records)


def test_a_silent_microphone_is_not_reopened_while_the_speaker_is_lost(
        separate_devices, streams) -> None:
    """Opening a microphone stream beside a speaker being restored starves the speaker."""
    sinks, spk, mic = separate_devices
    source, sink = streams
    sinks.unload(spk)
    assert wait_until(lambda: lost_shown(sink), 15)
    before = source.reconnects
    time.sleep(SoundDeviceSource.zero_input_s + 2.0)  # all zeros for longer than the limit
    assert source.reconnects == before
    sinks.load(spk)
    assert wait_until(lambda: not lost_shown(sink), 15)
    back = time.monotonic()
    assert wait_until(lambda: source.reconnects > before, 20)  # once the speaker settled
    print(f"silent microphone reopened {time.monotonic() - back:.2f} s after the speaker")


def test_the_echo_reference_does_not_grow_while_nobody_takes_it() -> None:
    """While the microphone is lost the loop takes nothing; the speaker keeps pushing."""
    reference = AlignedReference(OUTPUT_RATE)
    block = np.ones(220, np.float32)
    for _ in range(100 * 60):  # a minute of the speaker's callbacks
        reference.push(block)
    assert len(reference._blocks) <= AlignedReference.MAX_PENDING_BLOCKS
    played, newest = reference.take(np.zeros(320, np.float32))
    assert float(np.max(newest)) > 0.5  # and what it holds is the newest output
