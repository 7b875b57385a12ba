"""The one-line status shown while listening: state, last command, what is said, time left."""

from __future__ import annotations

import sys
import time
from typing import IO

from companion.session.player import RoutinePlayer
from companion.session.session import Session


class StatusLine:
    """Redraws one terminal line (or prints changes, when stderr is not a terminal)."""

    def __init__(self, player: RoutinePlayer, session: Session, stream: IO[str] | None = None,
                 every: float = 0.5) -> None:
        self.player = player
        self.session = session
        self.stream = stream or sys.stderr
        self.every = every
        self._last_text = ""
        self._last_time = 0.0
        self._tty = self.stream.isatty()

    def text(self) -> str:
        """The status as one short line."""
        status = self.player.status()
        parts = [status.state.value]
        if status.routine:
            parts.append(status.routine)
            minutes, seconds = divmod(int(status.seconds_left), 60)
            parts.append(f"{minutes}:{seconds:02d} left")
        if status.saying:
            parts.append(f"saying \"{status.saying[:40]}\"")
        if self.session.last_command is not None:
            parts.append(f"last: {self.session.last_command.intent.value}")
        return " | ".join(parts)

    def update(self) -> None:
        """Redraw if due (cheap; called once per input chunk)."""
        now = time.monotonic()
        if now - self._last_time < self.every:
            return
        self._last_time = now
        text = self.text()
        if self._tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        else:
            status = self.player.status()
            last = self.session.last_command
            key = f"{status.state.value} {status.routine} {last.intent.value if last else ''}"
            if key != self._last_text:
                self.stream.write(text + "\n")
                self.stream.flush()
            self._last_text = key

    def notice(self, text: str | None) -> None:
        """Show a device fault (or its end, ``None``) at once, on a line of its own."""
        line = f"companion: {text}" if text else "companion: sound devices working again"
        self.stream.write(("\r\033[K" if self._tty else "") + line + "\n")
        self.stream.flush()
        self._last_time = 0.0

    def close(self) -> None:
        """End the status line."""
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
