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


def speaker_level(sink: SoundDeviceSink, monitor: str) -> float:
    """dBFS of what reaches ``monitor`` while a tone is written to ``sink``."""
    rec = subprocess.Popen(["parec", "-d", monitor, "--format=s16le", "--rate=16000",
                            "--channels=1", "--raw"], stdout=subprocess.PIPE)
    n = np.arange(OUTPUT_RATE)
    tone = (0.4 * np.sin(2 * np.pi * 440 * n / OUTPUT_RATE)).astype(np.float32)
    time.sleep(0.5)
    for _ in range(2):
        for i in range(0, len(tone), 441):
            sink.write(tone[i:i + 441])
    time.sleep(0.3)
    rec.terminate()
    raw, _ = rec.communicate(timeout=5)
    x = np.frombuffer(raw[: len(raw) // 2 * 2], "<i2") / 32768.0
    return max((level_db(x[i:i + 320]) for i in range(0, len(x) - 320, 320)), default=-200.0)


@pytest.fixture
def separate_devices(pulse_null_sink: str) -> Iterator[tuple[NullSinks, str, str]]:
    """A speaker sink and a microphone sink of our own; the streams are sent to them."""
    if shutil.which("parec") is None:
        pytest.fail("parec not found: install pulseaudio-utils")
    sinks = NullSinks()
    spk, mic = f"qc_fault_spk_{os.getpid()}", f"qc_fault_mic_{os.getpid()}"
    sinks.load(spk)
    sinks.load(mic)
    saved = {k: os.environ.get(k) for k in ("PULSE_SINK", "PULSE_SOURCE")}
    os.environ["PULSE_SINK"], os.environ["PULSE_SOURCE"] = spk, f"{mic}.monitor"
    try:
        yield sinks, spk, mic
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
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


@pytest.mark.parametrize("lost", [("mic",), ("spk",), ("mic", "spk")],
                         ids=["microphone", "speaker", "both"])
def test_a_lost_device_is_named_and_works_again_when_it_returns(
        lost, separate_devices, streams, tmp_path, caplog) -> None:
    sinks, spk, mic = separate_devices
    source, sink = streams
    names = {"mic": mic, "spk": spk}
    caplog.set_level(logging.WARNING, logger="companion")
    t0 = time.monotonic()
    for key in lost:
        sinks.unload(names[key])
    mic_lost, spk_lost = "mic" in lost, "spk" in lost
    assert wait_until(lambda: bool(source.notice) == mic_lost and bool(sink.notice) == spk_lost,
                      15), (source.notice, sink.notice)
    print(f"lost {lost} noticed after {time.monotonic() - t0:.2f} s")
    if mic_lost:
        assert source.notice == "microphone lost, listening again when it comes back"
    if spk_lost:
        assert sink.notice == "speaker lost, speaking again when it comes back"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("microphone lost") for w in warnings) == mic_lost, warnings
    assert any(w.startswith("speaker lost") for w in warnings) == spk_lost, warnings
    sink.write(np.zeros(OUTPUT_RATE, np.float32))  # the player goes on while it is lost
    time.sleep(2.0)
    retries = [w for w in warnings if "not back yet" in w]
    assert len(retries) <= len(lost)  # a failed retry is said once, not every second
    t_back = time.monotonic()
    for key in lost:
        sinks.load(names[key])
    assert wait_until(lambda: source.notice is None and sink.notice is None, 15)
    assert source.wait_ready(10) and sink.wait_ready(10)
    print(f"back and ready {time.monotonic() - t_back:.2f} s after the device returned")
    wav = tone_wav(tmp_path / "tone.wav")
    heard = -200.0
    for _ in range(4):  # a silent microphone is reopened now and then: try a few times
        heard = max(heard, heard_by(source, lambda: subprocess.run(
            ["paplay", f"--device={mic}", str(wav)], check=True, timeout=20), 0.5))
        if heard > -20:
            break
    assert heard > -20, f"the microphone hears nothing after its return ({heard:.1f} dBFS)"
    played = speaker_level(sink, f"{spk}.monitor")
    assert played > -20, f"the speaker plays nothing after its return ({played:.1f} dBFS)"


def test_the_echo_reference_does_not_grow_while_nobody_takes_it() -> None:
    """While the microphone is lost the loop takes nothing; the speaker keeps pushing."""
    reference = AlignedReference(OUTPUT_RATE)
    block = np.ones(220, np.float32)
    for _ in range(100 * 60):  # a minute of the speaker's callbacks
        reference.push(block)
    assert len(reference._blocks) <= AlignedReference.MAX_PENDING_BLOCKS
    played, newest = reference.take(np.zeros(320, np.float32))
    assert float(np.max(newest)) > 0.5  # and what it holds is the newest output
