"""Typed events on the session timeline and the JSON-lines writer for ``--events``.

Each kind of event is a small frozen dataclass; its JSON line is derived from its fields:
``{"t": ..., "type": kind, <the other fields in declaration order>}``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, ClassVar

from companion.errors import CompanionError


@dataclass(frozen=True)
class Event:
    """Something that happened at time ``t`` on the session timeline (base of every kind)."""

    type: ClassVar[str] = "event"
    """The kind, written as ``"type"`` in the JSON line."""

    t: float
    """Seconds from the start of the timeline (t=0 of the input / output)."""

    @property
    def data(self) -> dict[str, Any]:
        """The fields after ``t``, in declaration order (as the JSON line carries them)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "t"}

    def to_json(self) -> dict[str, Any]:
        """The JSON object written for this event: ``t`` (to the ms), ``type``, the fields."""
        return {"t": round(self.t, 3), "type": self.type, **self.data}


@dataclass(frozen=True)
class Heard(Event):
    """A spoken command was recognised."""

    type: ClassVar[str] = "heard"

    text: str
    """The words heard."""
    intent: str
    """The intent's name (play, stop, pause, ...)."""
    slots: Mapping[str, object] = field(default_factory=dict)
    """What the command named: routine, minutes, ..."""


@dataclass(frozen=True)
class SayStart(Event):
    """The player began to voice a sentence."""

    type: ClassVar[str] = "say_start"

    text: str
    """The sentence."""


@dataclass(frozen=True)
class SayEnd(Event):
    """The last sample of a sentence was rendered."""

    type: ClassVar[str] = "say_end"

    text: str
    """The sentence."""


@dataclass(frozen=True)
class RoutineStart(Event):
    """A routine began."""

    type: ClassVar[str] = "routine_start"

    routine: str
    """The routine's name."""


@dataclass(frozen=True)
class RoutineEnd(Event):
    """A routine ended."""

    type: ClassVar[str] = "routine_end"

    routine: str
    """The routine's name."""
    reason: str
    """done, stopped or goodnight."""


@dataclass(frozen=True)
class Paused(Event):
    """Playback faded out and holds."""

    type: ClassVar[str] = "paused"


@dataclass(frozen=True)
class Resumed(Event):
    """Playback continues after a pause."""

    type: ClassVar[str] = "resumed"


@dataclass(frozen=True)
class StateChanged(Event):
    """The player's state changed."""

    type: ClassVar[str] = "state"

    state: str
    """The new state: idle, playing, paused or asking."""


EVENT_KINDS: tuple[type[Event], ...] = (Heard, SayStart, SayEnd, RoutineStart, RoutineEnd,
                                         Paused, Resumed, StateChanged)
"""Every kind of event written to ``--events``."""

EventHandler = Callable[[Event], None]


class EventLog:
    """Collects events in memory and, if asked, writes them as JSON lines."""

    def __init__(self, path: Path | None = None) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            try:
                self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise CompanionError(f"cannot write events to {path}: {exc.strerror}") from exc

    def __call__(self, event: Event) -> None:
        """Record one event (thread-safe)."""
        with self._lock:
            self.events.append(event)
            if self._file is not None:
                self._file.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
                self._file.flush()

    def close(self) -> None:
        """Close the JSON-lines file, if any."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def of_type(self, kind: str) -> list[Event]:
        """All recorded events of one type (``"say_start"``, ...), in order."""
        with self._lock:
            return [e for e in self.events if e.type == kind]
