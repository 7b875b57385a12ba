"""Drivers that move the player's audio into a sink: real time, or as fast as possible."""

from __future__ import annotations

import logging
import threading
import time

from companion.audio.stream import AudioSink
from companion.session.player import PlayerState, RoutinePlayer

log = logging.getLogger(__name__)

class RealtimeOutput:
    """Renders the player into a device sink on its own thread, at the device's clock.

    The sink's small queue sets the pace; ``stop_now`` stops the player and cuts what the
    device has queued, so the room is quiet within a block plus a short fade.
    When rendering or writing fails, ``error`` holds why (the live loop shows it), the
    failure is logged once at WARNING and the block is tried again after a pause that
    doubles up to ``retry_max_s``; ``error`` goes back to None once a block is written.
    """

    retry_first_s = 0.1
    retry_max_s = 2.0

    def __init__(self, player: RoutinePlayer, sink: AudioSink, block_frames: int = 220) -> None:
        self.player = player
        self.sink = sink
        self.block_frames = block_frames
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="output", daemon=True)
        self.error: BaseException | None = None
        self.failures = 0

    def start(self) -> None:
        """Start rendering (silence while the player is idle)."""
        self._running.set()
        self._thread.start()

    def stop_now(self) -> None:
        """Stop the routine and silence the device at once."""
        self.player.stop()
        self.sink.cut()

    def close(self) -> None:
        """Stop the thread (the sink stays open; the caller closes it)."""
        self._running.clear()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        pause = self.retry_first_s
        while self._running.is_set():
            try:
                self.sink.write(self.player.render(self.block_frames))
            except Exception as exc:  # noqa: BLE001 - shown by the live loop, then retried
                self.failures += 1
                if self.error is None:
                    log.warning("speaker output failed (%s: %s); trying again",
                                exc.__class__.__name__, exc)
                self.error = exc
                time.sleep(pause)
                pause = min(pause * 2, self.retry_max_s)
                continue
            if self.error is not None:
                log.warning("speaker output going again after %d failed tries", self.failures)
                self.error, pause = None, self.retry_first_s


def render_until_idle(player: RoutinePlayer, sink: AudioSink, block_frames: int = 2205,
                      max_seconds: float = 6 * 3600.0) -> float:
    """Render as fast as possible until the player is idle; returns seconds rendered."""
    limit = int(max_seconds * player.sample_rate)
    rendered = 0
    while rendered < limit:
        sink.write(player.render(block_frames))
        rendered += block_frames
        if not player.busy and player.state is PlayerState.IDLE:
            break
    return rendered / player.sample_rate
