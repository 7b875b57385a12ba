"""The running `companion listen` when its microphone vanishes and comes back (microphone
and speaker on separate null sinks), and the sound server killed and started again.
Everything real; waits are generous, times are printed, never asserted."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from companion.audio.device_streams import SoundDeviceSink, SoundDeviceSource
from companion.audio.stream import OUTPUT_RATE
from tests.live_room import events_of, interrupt, write_command
from tests.test_faults_devices import NullSinks, tone_wav, wait_until

pytestmark = pytest.mark.audio
REPO = Path(__file__).resolve().parent.parent


class Stderr:
    """Reads a child's stderr on a thread (a full pipe would block it) and keeps it."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))


@dataclass
class Listening:
    """A running `companion listen` with its speaker and microphone on null sinks of their own."""

    proc: subprocess.Popen
    err: Stderr
    sinks: NullSinks
    mic: str
    """The microphone's null sink (the companion hears its monitor)."""
    env: dict[str, str]


@contextlib.contextmanager
def listening(companion_env: dict[str, str], *args: str) -> Iterator[Listening]:
    """Start `companion listen ARGS` on sinks of its own; stop it as Ctrl-C does, and
    remove the sinks, at the end."""
    sinks = NullSinks()
    spk, mic = f"qc_live_spk_{os.getpid()}", f"qc_live_mic_{os.getpid()}"
    try:
        sinks.load(spk)
        sinks.load(mic)
        env = dict(companion_env, PULSE_SINK=spk, PULSE_SOURCE=f"{mic}.monitor")
        proc = subprocess.Popen([sys.executable, "-m", "companion", "listen", *args], env=env,
                                stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    except BaseException:
        sinks.close()
        raise
    try:
        yield Listening(proc, Stderr(proc), sinks, mic, env)
    finally:
        try:
            interrupt(proc, timeout=15)
        finally:
            sinks.close()


def test_listen_names_a_lost_microphone_and_hears_again_when_it_returns(
        pulse_null_sink, companion_env, tmp_path) -> None:
    events = tmp_path / "events.jsonl"
    with listening(companion_env, "--events", str(events)) as live:
        err, mic = live.err, live.mic
        assert wait_until(lambda: err.has("Listening"), 60), err.lines
        t0 = time.monotonic()
        live.sinks.unload(mic)
        assert wait_until(lambda: err.has("microphone lost, listening again when it comes "
                                          "back"), 15), err.lines
        print(f"microphone loss shown after {time.monotonic() - t0:.2f} s")
        assert not err.has("speaker lost")  # the right device is named
        time.sleep(3.0)
        assert live.proc.poll() is None
        live.sinks.load(mic)
        t_back = time.monotonic()
        play = write_command(tmp_path / "play.wav", "play aftercare")
        heard = False
        deadline = time.monotonic() + 40
        while not heard and time.monotonic() < deadline:
            subprocess.run(["paplay", f"--device={mic}", str(play)], env=live.env, check=True,
                           timeout=20)
            heard = wait_until(lambda: any(e["type"] == "heard" and e["intent"] == "play"
                                           for e in events_of(events)), 4)
        assert heard, err.lines
        print(f"a command heard {time.monotonic() - t_back:.2f} s after the microphone "
              "returned (including the command itself)")
        assert live.proc.poll() is None
        lost = [line for line in err.lines if "microphone lost" in line]
        assert len(lost) == 1, err.lines  # said once: not by a log line and the status too
        assert sum("working again" in line for line in err.lines) == 1, err.lines


def test_listen_says_once_that_the_microphone_is_silent_and_once_that_it_hears_again(
        pulse_null_sink, companion_env, tmp_path) -> None:
    """The microphone's sink plays nothing (a muted microphone: digital zeros), then a tone."""
    with listening(companion_env) as live:
        err = live.err
        assert wait_until(lambda: err.has("microphone gives only silence"), 60), err.lines
        time.sleep(10.0)  # long enough for a reopen that still finds zeros
        silent = [line for line in err.lines if "silence" in line]
        assert len(silent) == 1, err.lines
        assert silent[0].startswith("companion: ") and "`companion devices`" in silent[0]
        tone = tone_wav(tmp_path / "tone.wav", seconds=3.0)
        for _ in range(4):  # a reopen may be under way when the tone starts: try again
            subprocess.run(["paplay", f"--device={live.mic}", str(tone)], env=live.env,
                           check=True, timeout=20)
            if err.has("working again"):
                break
        assert sum("working again" in line for line in err.lines) == 1, err.lines
        assert live.proc.poll() is None


def test_listen_says_once_that_the_room_is_too_noisy(
        pulse_null_sink, companion_env, tmp_path) -> None:
    """White noise at -11 dBFS RMS fills the microphone (a vacuum cleaner beside it)."""
    noise = tmp_path / "noise.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(noise), "synth",
                    "30", "whitenoise", "vol", "0.9"], check=True)
    with listening(companion_env) as live:
        err = live.err
        roar = subprocess.Popen(["paplay", f"--device={live.mic}", str(noise)], env=live.env)
        try:
            assert wait_until(lambda: err.has("too noisy to hear you well"), 25), err.lines
            time.sleep(4.0)
            assert sum("too noisy" in line for line in err.lines) == 1, err.lines
            assert live.proc.poll() is None
        finally:
            roar.terminate()
            roar.wait(timeout=10)


def _pulse_pid() -> int | None:
    runtime = os.environ.get("PULSE_RUNTIME_PATH")
    if not runtime or not (Path(runtime) / "pid").is_file():
        return None
    return int((Path(runtime) / "pid").read_text().split()[0])


def test_streams_come_back_after_the_sound_server_is_killed_and_restarted(
        pulse_null_sink) -> None:
    pid = _pulse_pid()
    if pid is None:
        pytest.skip("no PULSE_RUNTIME_PATH with a pid file: this test kills only a sound "
                    "server of its own (see scripts/audio)")
    source, sink = SoundDeviceSource("pulse"), SoundDeviceSink("pulse")
    try:
        assert source.wait_ready(10) and sink.wait_ready(10)
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        assert wait_until(lambda: bool(source.notice) and bool(sink.notice), 20), \
            (source.notice, sink.notice)
        print(f"both lost {time.monotonic() - t0:.2f} s after the kill")
        time.sleep(1.0)
        assert _start_sound_server(), "scripts/audio could not start the sound server again"
        t_back = time.monotonic()
        assert wait_until(lambda: source.notice is None and sink.notice is None, 30)
        assert source.wait_ready(10) and sink.wait_ready(10)
        print(f"both back {time.monotonic() - t_back:.2f} s after the restart")
        tone = (0.4 * np.sin(2 * np.pi * 440 * np.arange(OUTPUT_RATE) / OUTPUT_RATE)
                ).astype(np.float32)
        loudest = -200.0
        for _ in range(4):  # the loop sink's monitor hears what the new speaker stream plays
            source.clear()
            for i in range(0, len(tone), 441):
                sink.write(tone[i:i + 441])
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                data = source.read(timeout=0.2)
                if data:
                    x = np.frombuffer(data, "<i2") / 32768.0
                    loudest = max(loudest, 20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12))
            if loudest > -20:
                break
        assert loudest > -20, loudest
    finally:
        sink.close()
        source.close()
        _start_sound_server()


def _start_sound_server() -> bool:
    """Run scripts/audio until the server answers with its null sink (a reconnecting client
    may autospawn a server at the same moment: then a second try finds it)."""
    for _ in range(5):
        done = subprocess.run([str(REPO / "scripts" / "audio")], capture_output=True,
                              timeout=60).returncode == 0
        if done:
            return True
        time.sleep(1.0)
    return False


def test_play_rides_out_a_lost_speaker_and_finishes_the_routine(
        pulse_null_sink, companion_env, tmp_path) -> None:
    """`companion play` on the speakers: the speaker vanishes mid-routine and comes back; the
    routine goes on to its end (exit 0) instead of ending in the speaker's error."""
    from tests.userfiles import write_user_routine

    write_user_routine(companion_env, "long-enough", """\
name: long-enough
title: Long enough
steps:
  - say: Hello. Saying stop ends everything.
  - pause: 6s
  - say: Still here.
  - pause: 2s
  - say: This is the end. Goodbye.
""")
    sinks = NullSinks()
    spk = f"qc_play_spk_{os.getpid()}"
    sinks.load(spk)
    env = dict(companion_env, PULSE_SINK=spk)
    proc = subprocess.Popen([sys.executable, "-m", "companion", "play", "long-enough"], env=env,
                            stderr=subprocess.PIPE, text=True)
    err = Stderr(proc)
    try:
        assert wait_until(lambda: err.has("Playing"), 60), err.lines
        time.sleep(2.0)
        sinks.unload(spk)
        assert wait_until(lambda: err.has("speaker lost"), 15), err.lines
        assert proc.poll() is None, err.lines  # still going, waiting for its speaker
        time.sleep(2.0)
        sinks.load(spk)
        assert proc.wait(timeout=120) == 0, err.lines
    finally:
        if proc.poll() is None:
            proc.kill()
        sinks.close()
