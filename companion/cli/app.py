"""Command line: the parser, logging, and the one place that turns errors into one line +
exit code. Each subcommand group lives in its own module and adds its own parsers."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from companion import __version__
from companion.cli import devices, play, routines, service, voices
from companion.cli.common import EXIT_INTERRUPTED, sigterm_as_interrupt
from companion.cli.streams import NamedStream
from companion.errors import CompanionError, WriteError

log = logging.getLogger("companion")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``companion`` command; returns the process exit code."""
    from companion.privacy import forbid_network

    forbid_network()
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    stdout = sys.stdout
    sys.stdout = NamedStream(stdout)  # type: ignore[assignment]
    try:
        with sigterm_as_interrupt():
            code = int(args.handler(args) or 0)
            sys.stdout.flush()
        return code
    except CompanionError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:  # a write the handler did not expect to fail: still one line
        where = f" {exc.filename}" if exc.filename else ""
        print(f"companion: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return WriteError.exit_code
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        log.debug("internal error", exc_info=True)
        print(f"companion: internal error: {exc.__class__.__name__}: {exc} "
              "(run with -vv for details)", file=sys.stderr)
        return 1
    finally:
        sys.stdout = stdout


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line that says where to look."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    # listen loads the recogniser's grammar code (hassil, yaml): only once main() has
    # installed the network guard, and not for a bare ``import companion.cli.app``
    from companion.cli.listen import add_listen_parsers

    parser = OneLineParser(
        prog="companion",
        description="Quiet Companion: an offline voice for aftercare, winding down and "
                    "quiet presence. Nothing leaves this machine.")
    parser.add_argument("--version", action="version", version=f"companion {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more detail on stderr (-vv for debug)")
    parser.add_argument("--config", type=Path, default=None,
                        help="settings file (default: the user config dir's config.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    play.add_parsers(sub)
    add_listen_parsers(sub)
    routines.add_parsers(sub)
    voices.add_parsers(sub)
    devices.add_parsers(sub)
    service.add_parsers(sub)
    routines.add_schema_parser(sub)
    return parser


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="companion: %(message)s", stream=sys.stderr)
