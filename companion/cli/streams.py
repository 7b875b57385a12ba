"""Standard output that fails in one line: a closed pipe (``| head -1``) or a full disk
(``> /dev/full``) becomes a ``WriteError`` naming the stream, never a traceback."""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from companion.errors import WriteError

EXIT_PIPE_CLOSED = 141
"""What a shell reports for a command ended by a closed pipe (128 + SIGPIPE)."""


class PipeClosedError(WriteError):
    """The reader of standard output went away before everything was written."""

    exit_code = EXIT_PIPE_CLOSED


def stream_error(name: str, exc: OSError) -> WriteError:
    """The one-line error for a failed write to the stream ``name``."""
    silence(name)
    if exc.errno == errno.EPIPE:
        return PipeClosedError(f"{name} was closed before everything was written "
                               "(the program reading it ended)")
    return WriteError(f"cannot write to {name} ({exc.strerror or exc}): free some space or "
                      "send it somewhere else")


def silence(name: str) -> None:
    """Point the failed stream at /dev/null, so the interpreter's last flush is quiet."""
    stream = getattr(sys, name, None)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno() if stream is not None else 1)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


class NamedStream:
    """Wraps ``sys.stdout``: its write errors become a ``WriteError`` naming it."""

    def __init__(self, stream: Any, name: str = "stdout") -> None:
        self._stream = stream
        self._name = name

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            raise stream_error(self._name, exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise stream_error(self._name, exc) from None

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._stream, attr)
