"""What the player is doing: its state and a status snapshot for status lines and answers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PlayerState(str, Enum):
    """What the player is doing."""

    IDLE = "idle"
    PLAYING = "playing"
    PAUSED = "paused"
    ASKING = "asking"


@dataclass(frozen=True)
class PlayerStatus:
    """A snapshot for status lines and spoken answers."""

    state: PlayerState
    """Current state."""
    routine: str | None
    """Name of the routine playing, if any."""
    saying: str | None
    """Sentence being spoken, if any."""
    seconds_left: float
    """Estimated seconds until the routine ends (0 when idle)."""
