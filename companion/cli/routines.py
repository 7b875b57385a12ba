"""The ``routines`` (list, check, show) and ``schema`` subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from companion.cli.common import load_context
from companion.errors import CompanionError, ConfigError


def add_parsers(sub: Any) -> None:
    """Add ``routines`` and its actions to the subcommand parser."""
    routines = sub.add_parser("routines", help="list, check or show routines")
    rsub = routines.add_subparsers(dest="action", metavar="ACTION", required=True)
    rsub.add_parser("list", help="every routine with its aliases").set_defaults(
        handler=_cmd_routines_list)
    check = rsub.add_parser("check", help="check routine files (default: all loaded ones)")
    check.add_argument("files", nargs="*", type=Path)
    check.set_defaults(handler=_cmd_routines_check)
    show = rsub.add_parser("show", help="print a routine's file")
    show.add_argument("name")
    show.set_defaults(handler=_cmd_routines_show)


def add_schema_parser(sub: Any) -> None:
    """Add ``schema`` to the subcommand parser (listed last in ``--help``)."""
    schema = sub.add_parser("schema", help="print the JSON Schema of routine files")
    schema.add_argument("--path", action="store_true",
                        help="print the path of the installed schema file instead (for "
                             "an editor: `# yaml-language-server: $schema=PATH`)")
    schema.set_defaults(handler=_cmd_schema)


def _cmd_routines_list(args: argparse.Namespace) -> int:
    context = load_context(args)
    for routine in context.routines.routines():
        aliases = ", ".join(routine.aliases)
        print(f"{routine.name:<18} {routine.title}: {routine.description}"
              + (f" (say: {aliases})" if aliases else ""))
    return 0


def _cmd_routines_check(args: argparse.Namespace) -> int:
    from companion.config import shipped_dir
    from companion.routines.library import RoutineLibrary

    context = load_context(args, quiet_errors=True)
    errors: list[ConfigError] = []
    if args.files:
        dirs = [shipped_dir("routines"), context.settings.user_routines_dir]
        errors = RoutineLibrary.check_files(dirs, args.files, context.voices.names())
        broken_paths = {e.path.resolve() for e in errors if e.path is not None}
        for path in args.files:
            if Path(path).resolve() not in broken_paths:
                print(f"{path}: ok")
    else:
        errors = context.errors
        broken = f", {len(errors)} broken file(s) skipped" if errors else ""
        print(f"{len(context.routines)} routines and {len(context.voices.names())} voices "
              f"loaded{broken}")
    for error in errors:
        print(error, file=sys.stderr)
    return 2 if errors else 0


def _cmd_routines_show(args: argparse.Namespace) -> int:
    context = load_context(args)
    routine = context.routines.get(args.name)
    if routine.source is None:
        raise CompanionError(f"routine '{routine.name}' has no file to show")
    print(routine.source.read_text(encoding="utf-8"), end="")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from companion.routines.schema import installed_schema_path, routine_schema

    if args.path:
        print(installed_schema_path())
    else:
        print(json.dumps(routine_schema(), indent=2, ensure_ascii=False))
    return 0
