"""Progress of a long render to a file (``play --output``): a rich bar on stderr, shown only
on a terminal and only once the render has taken more than :data:`SHOW_AFTER_S`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

import numpy as np

SHOW_AFTER_S = 1.5
"""Renders shorter than this show nothing (most take well under a second)."""


class ProgressSink:
    """Wraps an audio sink: counts the seconds written and draws a bar for long renders."""

    def __init__(self, sink: Any, sample_rate: int, seconds_left: Callable[[], float],
                 title: str, stream: IO[str] | None = None) -> None:
        self._sink = sink
        self._rate = sample_rate
        self._seconds_left = seconds_left
        """The player's estimate of what is left (read when the bar starts: a player
        starts its routine on its first render)."""
        self._total = 1.0
        self._title = title
        self._stream = stream or sys.stderr
        self._began = time.monotonic()
        self._written = 0
        self._progress: Any = None
        self._task: Any = None
        self._tty = self._stream.isatty()

    def write(self, block: np.ndarray) -> None:
        """Write ``block`` through, and move the bar."""
        self._sink.write(block)
        self._written += len(block)
        if not self._tty:
            return
        if self._progress is None:
            if time.monotonic() - self._began < SHOW_AFTER_S:
                return
            self._start()
        self._progress.update(self._task, completed=min(self._written / self._rate,
                                                        self._total))

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        done = self._written / self._rate
        self._total = max(done + 1.0, done + self._seconds_left())
        console = Console(file=self._stream)
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  TextColumn("{task.percentage:>3.0f}%"),
                                  TimeRemainingColumn(), console=console, transient=True)
        self._task = self._progress.add_task(f"writing {self._title}", total=self._total)
        self._progress.start()

    def close(self) -> None:
        """Close the bar (it disappears) and the sink."""
        if self._progress is not None:
            self._progress.stop()
        self._sink.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)
