"""The ``devices`` and ``doctor`` subcommands (what this machine has, and what is wrong)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from companion.cli.common import load_context
from companion.errors import CompanionError


def add_parsers(sub: Any) -> None:
    """Add ``devices`` and ``doctor`` to the subcommand parser."""
    sub.add_parser("devices", help="list audio devices").set_defaults(handler=_cmd_devices)
    sub.add_parser("doctor", help="check speech, models, devices and files").set_defaults(
        handler=_cmd_doctor)


def _cmd_devices(args: argparse.Namespace) -> int:
    from companion.audio.devices import list_devices

    for line in list_devices():
        print(line)
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    """Check each part a session needs and say what to fix; exit 1 if anything is wrong."""
    checks: list[tuple[str, Callable[[], str]]] = [
        ("settings and files", lambda: _doctor_files(args)),
        ("speech (espeak-ng)", _doctor_speech),
        ("recogniser", lambda: _doctor_recognizer(args)),
        ("speakers", lambda: _doctor_device("output")),
        ("microphone", lambda: _doctor_device("input")),
    ]
    failed = 0
    for name, check in checks:
        try:
            print(f"ok    {name}: {check()}")
        except CompanionError as exc:
            failed += 1
            print(f"FAIL  {name}: {exc}")
    return 1 if failed else 0


def _doctor_files(args: argparse.Namespace) -> str:
    context = load_context(args, quiet_errors=True)
    if context.errors:
        raise CompanionError(f"{len(context.errors)} broken file(s), first: "
                             f"{context.errors[0]}")
    return f"{len(context.routines)} routines, {len(context.voices.names())} voices"


def _doctor_speech() -> str:
    from companion.speech.synthesis import Pyttsx3Synthesizer
    from companion.speech.voices import Voice

    synth = Pyttsx3Synthesizer()
    try:
        pcm = synth.synthesize("hello", Voice("check"))
    finally:
        synth.close()
    return f"{len(pcm) / synth.sample_rate:.2f} s of speech for 'hello'"


def _doctor_recognizer(args: argparse.Namespace) -> str:
    from companion.cli.listen import build_recognizer

    context = load_context(args, quiet_errors=True)
    recognizer, _ = build_recognizer(context, None, None)
    return type(recognizer).__name__


def _doctor_device(kind: str) -> str:
    from companion.audio.devices import find_device

    return find_device(None, kind)
