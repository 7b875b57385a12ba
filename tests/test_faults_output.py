"""The output thread when writing fails: it says so once, keeps trying, and the fault
shows in the status line's notice until writing works again."""

from __future__ import annotations

import threading
import time

import numpy as np

from companion.session.device_faults import DeviceFaults
from companion.session.playback import RealtimeOutput
from tests.test_faults_devices import wait_until
from tests.test_player import make_player


class FlakyFakeSink:
    """A fake device sink (a device that fails on cue cannot be made here): writes raise
    while ``broken`` is set, else pace like a device and count frames."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.frames_written = 0
        self.broken = threading.Event()
        self.notice = None

    def write(self, block: np.ndarray) -> None:
        if self.broken.is_set():
            raise OSError(5, "Input/output error")
        self.frames_written += len(block)
        time.sleep(len(block) / self.sample_rate)

    def cut(self) -> None:
        """Nothing queued."""

    def close(self) -> None:
        """Nothing to release."""


def test_a_failing_output_is_retried_and_shown_fake_sink(synth, caplog) -> None:
    player, _ = make_player(synth)
    sink = FlakyFakeSink(player.sample_rate)
    output = RealtimeOutput(player, sink)
    shown: list[str | None] = []
    faults = DeviceFaults(None, sink, output, shown.append)
    output.start()
    try:
        assert wait_until(lambda: sink.frames_written > 0, 10)
        sink.broken.set()
        assert wait_until(lambda: output.error is not None, 10)
        faults.check()
        assert shown == ["speaker output failed, trying again"]
        assert wait_until(lambda: output.failures >= 3, 10)  # it keeps trying
        warned = [r for r in caplog.records if "speaker output failed" in r.getMessage()]
        assert len(warned) == 1  # said once, not at every try
        before = sink.frames_written
        sink.broken.clear()
        assert wait_until(lambda: output.error is None and sink.frames_written > before, 10)
        faults.check()
        assert shown == ["speaker output failed, trying again", None]
    finally:
        output.close()
