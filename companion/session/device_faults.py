"""What is wrong with the sound devices right now, for the status line.

The supervisors of the microphone and the speaker keep a ``notice`` while their device is
lost; the output thread keeps ``error`` while writing fails. This joins them into one
line and hands it on only when it changes (``None`` when all is well again), and tells the
supervisors so, so that they do not log the same fault a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class DeviceFaults:
    """Polled once per input chunk (cheap); calls ``show`` when the faults change."""

    def __init__(self, source: Any, sink: Any, output: Any,
                 show: Callable[[str | None], None]) -> None:
        self.source = source
        self.sink = sink
        for stream in (source, sink):  # the status line says their faults: they need not
            if hasattr(stream, "on_status_line"):
                stream.on_status_line = True
        self.output = output
        self._show = show
        self._last: str | None = None

    def text(self) -> str | None:
        """Every current fault in one line, or None."""
        notices = [getattr(self.source, "notice", None), getattr(self.sink, "notice", None)]
        if getattr(self.output, "error", None) is not None and not notices[1]:
            notices.append("speaker output failed, trying again")
        found = [n for n in notices if n]
        return "; ".join(found) if found else None

    def check(self) -> None:
        """Show the faults if they changed since the last check."""
        text = self.text()
        if text != self._last:
            self._last = text
            self._show(text)
