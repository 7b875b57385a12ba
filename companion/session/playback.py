"""Drivers that move the player's audio into a sink: real time, or as fast as possible."""

from __future__ import annotations

import logging
import threading

from companion.audio.stream import AudioSink
from companion.session.player import PlayerState, RoutinePlayer

log = logging.getLogger(__name__)

class RealtimeOutput:
    """Renders the player into a device sink on its own thread, at the device's clock.

    The sink's small queue sets the pace; ``stop_now`` stops the player and cuts what the
    device has queued, so the room is quiet within a block plus a short fade.
    """

    def __init__(self, player: RoutinePlayer, sink: AudioSink, block_frames: int = 220) -> None:
        self.player = player
        self.sink = sink
        self.block_frames = block_frames
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="output", daemon=True)
        self.error: BaseException | None = None

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
        try:
            while self._running.is_set():
                self.sink.write(self.player.render(self.block_frames))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            log.error("output stopped: %s", exc)
            self.error = exc


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
