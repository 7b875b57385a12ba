"""Errors a user can cause or meet; each carries one line that says what to do."""

from __future__ import annotations

from pathlib import Path


class CompanionError(Exception):
    """Base of every error shown to the user as one line (see ``cli.py``)."""

    exit_code = 1


class ConfigError(CompanionError):
    """A user file (routine, voice, settings, commands) has a mistake."""

    exit_code = 2

    def __init__(self, message: str, path: Path | str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.message}"


class ModelError(CompanionError):
    """A speech model is missing, broken or lacks words we need."""

    exit_code = 3


class AudioDeviceError(CompanionError):
    """No usable audio device, or a device went away and did not come back."""

    exit_code = 4


class UnknownNameError(CompanionError):
    """The user asked for a routine or voice that does not exist."""

    exit_code = 2


class WriteError(CompanionError):
    """A file or stream could not be written (a full disk, a closed pipe)."""

    exit_code = 5
