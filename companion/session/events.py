"""Events on the session timeline and the JSON-lines writer for ``--events``."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from companion.errors import CompanionError


@dataclass(frozen=True)
class Event:
    """Something that happened at time ``t`` on the session timeline."""

    t: float
    """Seconds from the start of the timeline (t=0 of the input / output)."""
    type: str
    """heard, say_start, say_end, routine_start, routine_end, paused, resumed, state."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Extra fields: text, intent, slots, routine, reason, state."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written for this event."""
        return {"t": round(self.t, 3), "type": self.type, **self.data}


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
                self._file.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
                self._file.flush()

    def close(self) -> None:
        """Close the JSON-lines file, if any."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def of_type(self, kind: str) -> list[Event]:
        """All recorded events of one type, in order."""
        with self._lock:
            return [e for e in self.events if e.type == kind]
