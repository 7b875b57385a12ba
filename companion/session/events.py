"""Typed events on the session timeline and the JSON-lines writer for ``--events``.

Each kind of event is a small frozen dataclass; its JSON line is derived from its fields:
``{"t": ..., "type": kind, <the other fields in declaration order>}``.
"""

from __future__ import annotations

import collections
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
    """Keeps the latest events in memory and, if asked, writes every one as JSON lines.

    Bound: the newest ``max_events`` events (``MAX_EVENTS``, 1,000: about 0.3 MB; an 8 h
    soak made 2,099), oldest dropped first (``dropped`` counts them); what reads them
    (``of_type``: the last routine's end, the sentences of a test) looks at recent ones.
    ``count`` keeps how many of each kind were recorded all along (one int per kind). The
    JSON-lines file gets every event.
    """

    MAX_EVENTS = 1000

    def __init__(self, path: Path | None = None, max_events: int = MAX_EVENTS) -> None:
        self.events: collections.deque[Event] = collections.deque(maxlen=max_events)
        self.dropped = 0
        """Events pushed out of ``events`` by newer ones."""
        self._counts: collections.Counter[str] = collections.Counter()
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
            if len(self.events) == self.events.maxlen:
                self.dropped += 1
            self.events.append(event)
            self._counts[event.type] += 1
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
        """The kept events of one type (``"say_start"``, ...), in order."""
        with self._lock:
            return [e for e in self.events if e.type == kind]

    def count(self, kind: str) -> int:
        """How many events of one type were recorded since the start, kept or not."""
        with self._lock:
            return self._counts[kind]
