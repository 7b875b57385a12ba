"""The one-line status shown while listening: state, routine and step, time left, and the
last thing heard with what it did ("heard 'softer' -> volume -3 dB").

Never stored: the words heard are drawn only on a terminal, where the line is redrawn in
place; when stderr is a file or a pipe (a service's journal, a log) the line says what was
done but not the words.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from companion.recognition.intents import Command, Intent
from companion.session.player import RATE_STEP, VOLUME_STEP_DB, RoutinePlayer
from companion.session.session import Session

_DONE: dict[Intent, str] = {
    Intent.STOP: "stopped",
    Intent.PAUSE: "paused",
    Intent.RESUME: "resumed",
    Intent.SKIP: "skipped to the next step",
    Intent.REPEAT: "said it again",
    Intent.SLOWER: f"pace x{1 / RATE_STEP:.2f}",
    Intent.FASTER: f"pace x{RATE_STEP:.2f}",
    Intent.SOFTER: f"volume -{VOLUME_STEP_DB:g} dB",
    Intent.LOUDER: f"volume +{VOLUME_STEP_DB:g} dB (never above the cap)",
    Intent.GOODNIGHT: "goodnight, fading out",
    Intent.YES: "answered yes",
    Intent.NO: "answered no",
    Intent.HELP: "said what you can say",
    Intent.LIST: "listed the routines",
    Intent.TIME_LEFT: "said the time left",
}


def what_it_did(command: Command) -> str:
    """What acting on ``command`` did, in a few words."""
    if command.intent is Intent.PLAY:
        routine = command.slots.get("routine")
        minutes = command.slots.get("minutes")
        return (f"playing {routine}" if routine else "no such routine") + \
            (f" for {minutes} min" if routine and minutes else "")
    return _DONE.get(command.intent, command.intent.value)


class StatusLine:
    """Redraws one terminal line (or prints changes, when the stream is not a terminal)."""

    def __init__(self, player: RoutinePlayer, session: Session, stream: IO[str] | None = None,
                 every: float = 0.5) -> None:
        self.player = player
        self.session = session
        self.stream = stream or sys.stderr
        self.every = every
        self._input_problem = ""
        self._last_text = ""
        self._last_time = 0.0
        self._tty = self.stream.isatty()
        self._notice = ""

    def notice(self, text: str | None) -> None:
        """Show a device fault at once, on a line of its own, and keep it on the status line
        until ``None`` says it is over ("sound devices working again")."""
        if not text and not self._notice:
            return
        line = f"companion: {text}" if text else "companion: sound devices working again"
        self.stream.write(("\r\033[K" if self._tty else "") + line + "\n")
        self.stream.flush()
        self._notice = text or ""
        self._last_time = 0.0  # redraw at the next update

    def text(self) -> str:
        """The status as one short line."""
        status = self.player.status()
        parts = [status.state.value]
        if status.routine:
            step = f"saying \"{status.saying[:40]}\"" if status.saying else "quiet"
            minutes, seconds = divmod(int(status.seconds_left), 60)
            parts += [status.routine, step, f"{minutes}:{seconds:02d} left"]
        last = self.session.last_command
        if last is not None:
            heard = f"heard '{last.text}'" if self._tty else "heard a command"
            parts.append(f"{heard} -> {what_it_did(last)}")
        if self._notice:
            parts.append(self._notice)
        if self._input_problem:
            parts.append(self._input_problem)
        return " | ".join(parts)

    def input_problem(self, text: str | None) -> None:
        """What is wrong with the microphone ("too noisy to hear you well"), kept on the
        line while it lasts; None when it is over."""
        self._input_problem = text or ""
        self._last_time = 0.0  # redraw at the next update
        self._last_text = ""  # and print the line again when not on a terminal

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
            return
        status = self.player.status()
        last = self.session.last_command
        key = f"{status.state.value} {status.routine} {id(last)}"  # a notice has its own line
        if key != self._last_text:
            self.stream.write(text + "\n")
            self.stream.flush()
        self._last_text = key

    def close(self) -> None:
        """End the status line."""
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
