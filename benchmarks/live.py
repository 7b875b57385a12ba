"""Live-process metrics of `companion listen` on the default devices (the null sink).

startup_s: launch → "Listening." on stderr. idle_cpu_pct: utime+stime from
/proc/PID/stat over wall time while it listens to silence, in percent of one core.
rss_mb: VmHWM (peak resident set) from /proc/PID/status after it has listened.
Launched with ``-v``, the companion logs its start-up phases (devices opened, recogniser
loaded, microphone steady, seconds into start-up): ``device_wait_s`` is how long it then
waited for the microphone alone. On the PulseAudio null sink that is 0-2 s (a null sink
not in use re-arms its timer every 2 s; a real card's sink answers a new stream at once):
``python -m benchmarks.live --awake-sink`` keeps a quiet low-latency stream playing into
the sink while it measures, as a room with sound in it would, to show startup without it.
The suite measures startup and idle CPU with :class:`RoomFloor` playing (``--room`` here):
a quiet room's noise, which a real microphone always hears (a silent one is an idle null
sink's, not a room's), and a sink that runs; then idle CPU once more on the silent null
sink.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks import env

READY = "Listening."
"""What `companion listen` prints on stderr when it is ready."""
_TICKS = os.sysconf("SC_CLK_TCK")
_PHASES = re.compile(r"start-up: devices opened ([\d.]+) s, recogniser loaded ([\d.]+) s, "
                     r"microphone \w+(?: yet)? ([\d.]+) s")
"""The ``-v`` line of ``companion listen`` with its start-up phases."""


@dataclass
class Run:
    """One live `companion listen` process and what was measured on it."""

    startup_s: float
    """Launch to "Listening."."""
    cpu_windows: list[float] = field(default_factory=list)
    """Percent of one core in each idle window."""
    rss_mb: float = 0.0
    """VmHWM when it was stopped."""
    exit_code: int | None = None
    """How it ended (130: interrupted, as Ctrl-C)."""
    problems: list[str] = field(default_factory=list)
    """Anything unexpected (slow shutdown, a traceback on stderr)."""
    phases: tuple[float, float, float] | None = None
    """Seconds into its start-up when the devices were open, the recogniser loaded and the
    microphone steady (None if it did not say)."""

    @property
    def device_wait_s(self) -> float | None:
        """How long it waited for the microphone after everything else was ready."""
        if self.phases is None:
            return None
        opened, loaded, steady = self.phases
        return max(0.0, steady - max(opened, loaded))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def listen(child_env: dict[str, str], *args: str, listen_s: float = 2.0,
           windows: int = 0, window_s: float = 10.0, timeout: float = 30.0,
           during: Callable[[], None] | None = None) -> Run:
    """Start `companion [ARGS] listen` live, wait for "Listening.", measure, then Ctrl-C it.

    ``args`` go before ``listen`` (``--config FILE``) or after it (after a literal
    ``listen``); with no ``listen`` among them it is appended. ``during`` runs after
    ``listen_s`` (e.g. speaking to it through the sound server), before the idle windows.
    """
    cmd = env.companion("-v", *(args if "listen" in args else (*args, "listen")))
    ready = threading.Event()
    lines: list[str] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=child_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_usual)
    ready_at: list[float] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip())
            if READY in line and not ready_at:
                ready_at.append(time.perf_counter())
                ready.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout) or proc.poll() is not None:
            raise RuntimeError(f"`{' '.join(cmd[2:])}` did not start listening within "
                               f"{timeout} s (exit {proc.poll()}): {' / '.join(lines[-5:])}")
        run = Run(ready_at[0] - t0)
        time.sleep(listen_s)
        if during is not None:
            during()
        for _ in range(windows):
            c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(window_s)
            c1, w1 = cpu_seconds(proc.pid), time.perf_counter()
            run.cpu_windows.append(100 * (c1 - c0) / (w1 - w0))
        run.rss_mb = peak_rss_mb(proc.pid)
        found = next((m for m in map(_PHASES.search, lines) if m), None)
        if found is not None:
            run.phases = (float(found[1]), float(found[2]), float(found[3]))
        run.exit_code, late = _interrupt(proc)
        if late:
            run.problems.append(f"did not exit within 5 s of SIGINT ({late})")
        reader.join(timeout=2)
        if any("Traceback" in line or "internal error" in line for line in lines):
            run.problems.append("stderr: " + " / ".join(lines[-8:]))
        return run
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _ctrl_c_as_usual() -> None:
    """In the child, before exec: SIGINT back to its default.

    A shell without job control starts background commands with SIGINT ignored, and
    children inherit that: run as ``python -m benchmarks &``, every launch ignored the
    SIGINT below and was counted as "killed".
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen) -> tuple[int, str]:
    """Ctrl-C the process; kill it if it hangs. Returns (exit code, problem or "")."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=5), ""
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(), "killed"


ROOM_DBFS = -60.0
"""A quiet bedroom's noise floor through a real microphone (pink noise)."""


class RoomFloor:
    """A quiet room's own noise (pink, ``dbfs``; None: digital silence) played into the
    default sink all along, at 20 ms latency (``pacat``): what a real microphone hears
    between words, and a sink that runs as a sound card's does (see the module). A context
    manager."""

    def __init__(self, child_env: dict[str, str], dbfs: float | None = ROOM_DBFS) -> None:
        from tests.clips import pink_noise

        noise = (np.zeros(16000 * 10) if dbfs is None
                 else pink_noise(16000 * 10, seed=11) * 32767 * 10 ** (dbfs / 20))
        self._pcm = np.clip(np.round(noise), -32768, 32767).astype("<i2").tobytes()
        self._proc = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", "--rate=16000",
             "--channels=1", "--latency-msec=20"], env=child_env, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        assert self._proc.stdin is not None
        try:
            while self._proc.poll() is None:
                self._proc.stdin.write(self._pcm)  # blocks while pacat's buffer is full
        except (BrokenPipeError, ValueError, OSError):
            pass

    def __enter__(self) -> RoomFloor:
        time.sleep(1.0)  # the sink wakes and the noise reaches the monitor
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.wait()


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.live``: startup_s, idle_cpu_pct and rss_mb alone, as JSON."""
    import argparse
    import json
    import statistics

    parser = argparse.ArgumentParser(prog="python -m benchmarks.live", description=main.__doc__)
    parser.add_argument("--launches", type=int, default=3, help="launches timed (default 3)")
    parser.add_argument("--windows", type=int, default=2,
                        help="idle CPU windows on the last launch (default 2)")
    parser.add_argument("--window-s", type=float, default=5.0,
                        help="seconds per idle window (default 5)")
    parser.add_argument("--awake-sink", action="store_true",
                        help="keep a silent low-latency stream playing into the sink")
    parser.add_argument("--room", action="store_true",
                        help=f"play a quiet room's noise ({ROOM_DBFS:g} dBFS) into the sink")
    args = parser.parse_args(argv)
    child_env = env.isolate()
    played = (RoomFloor(child_env, ROOM_DBFS if args.room else None)
              if args.room or args.awake_sink else contextlib.nullcontext())
    with played:
        runs = [listen(child_env, listen_s=2.0) for _ in range(max(args.launches - 1, 0))]
        runs.append(listen(child_env, listen_s=2.0, windows=args.windows,
                           window_s=args.window_s))
    startups = [round(r.startup_s, 3) for r in runs]
    print(json.dumps({
        "startup_s": startups, "startup_s_median": statistics.median(startups),
        "device_wait_s": [None if r.device_wait_s is None else round(r.device_wait_s, 3)
                          for r in runs],
        "phases": [r.phases for r in runs],
        "idle_cpu_pct": [round(c, 2) for c in runs[-1].cpu_windows],
        "rss_mb": [round(r.rss_mb, 1) for r in runs],
        "problems": [p for r in runs for p in r.problems]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
