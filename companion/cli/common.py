"""What the subcommands share: loading the context, exit codes, SIGTERM, minutes, clocks."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.session.context import Context

EXIT_INTERRUPTED = 130


def load_context(args: argparse.Namespace, quiet_errors: bool = False) -> Context:
    """Settings, voices and routines; broken files are warned about, one line each."""
    from companion.session.context import Context

    context = Context.load(args.config)
    if not quiet_errors:
        for error in context.errors:
            print(f"companion: warning: {error} (skipped)", file=sys.stderr)
    return context


class sigterm_as_interrupt:
    """Treat SIGTERM and SIGHUP (the terminal closed) like Ctrl-C while playing, so the
    fade still happens and an output file is closed with a valid header."""

    _signals = tuple(s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s)

    def __enter__(self) -> None:
        self._old = {s: signal.signal(s, self._raise) for s in self._signals}

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)

    @staticmethod
    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt


def positive_minutes(value: str) -> float:
    """``--minutes``: a number of minutes, more than 0 and at most a day."""
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of minutes") from None
    if not 0 < minutes <= 24 * 60:
        raise argparse.ArgumentTypeError("minutes must be more than 0 and at most 1440")
    return minutes


def clock(seconds: float) -> str:
    """``m:ss`` for a length in seconds."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"
