"""The ``listen`` and ``transcribe`` subcommands (the speech loop's command line)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.cli.common import load_context
from companion.config import ENGINES
from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.recognition.commands import CommandSet


def add_listen_parsers(sub: Any) -> None:
    """Add ``listen`` and ``transcribe`` to the subcommand parser."""
    listen = sub.add_parser("listen", help="listen for spoken commands and do what they say")
    listen.add_argument("--input", type=Path, default=None,
                        help="hear this WAV instead of the microphone (runs on its clock)")
    listen.add_argument("--output", type=Path, default=None,
                        help="with --input: write what would be played, same timeline")
    listen.add_argument("--events", type=Path, default=None,
                        help="write events (heard, say_start, ...) as JSON lines")
    listen.add_argument("--echo-db", type=float, default=None,
                        help="with --input: mix the companion's own output back in, N dB")
    _engine_args(listen)
    listen.add_argument("--voice", default=None, help="voice profile (see `voices list`)")
    listen.set_defaults(handler=cmd_listen)

    transcribe = sub.add_parser("transcribe", help="print the commands heard in a WAV file")
    transcribe.add_argument("input", type=Path)
    _engine_args(transcribe)
    transcribe.add_argument("--json", action="store_true", help="one JSON object per line")
    transcribe.set_defaults(handler=cmd_transcribe)


def _engine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help="recogniser (default: the settings file's, else auto)")
    parser.add_argument("--model", type=Path, default=None, help="Vosk model folder")


def command_set(context: Any) -> CommandSet:
    """Spoken commands for every loaded routine, the safewords and the user's file."""
    # imported here, not at the top: the grammar code (hassil) loads while the sound
    # devices start, not before they are opened
    from companion.recognition.commands import CommandSet, RoutinePhrases

    phrases = [RoutinePhrases(r.name, tuple(dict.fromkeys(
        (r.name.replace("-", " "), r.title.lower(), *r.aliases))))
        for r in context.routines.routines()]
    return CommandSet.load(phrases, context.settings.safewords, context.settings.commands_file)


def build_recognizer(context: Any, engine: str | None,
                     model: Path | None) -> tuple[Any, CommandSet]:
    """The recogniser the user asked for, with its model loaded (before any microphone)."""
    from companion.recognition.factory import make_recognizer

    commands = command_set(context)
    recognizer = make_recognizer(engine or context.settings.engine, commands,
                                 model or context.settings.vosk_model)
    return recognizer, commands


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Print each command heard in a WAV file (start, end, text, intent, slots)."""
    from companion.audio.wav import WavSource

    context = load_context(args)
    from companion.cli.leadin import LeadInRecognizer, lead_in_for

    source = WavSource(args.input)
    recognizer, commands = build_recognizer(context, args.engine, args.model)
    recognizer = LeadInRecognizer(recognizer, lead_in_for(args.input))
    utterances = []
    while (chunk := source.read()) is not None:
        utterances += recognizer.accept(chunk)
    utterances += recognizer.flush()
    for u in utterances:
        record = {"start": round(u.start, 3), "end": round(u.end, 3), "text": u.text,
                  "intent": u.command.intent.value, "slots": dict(u.command.slots)}
        print(json.dumps(record, ensure_ascii=False) if args.json
              else f"{u.start:7.2f} {u.end:7.2f}  {u.text}")
    if not utterances:
        print(f"heard nothing in {source.duration:.1f} s of audio", file=sys.stderr)
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    """Listen on the microphone (or a WAV file) and act on spoken commands."""
    from companion.session.events import EventLog

    if args.input is None and (args.output is not None or args.echo_db is not None):
        raise CompanionError("--output and --echo-db go with --input FILE.wav")
    context = load_context(args)
    context.voice(args.voice)
    events = EventLog(args.events)
    try:
        if args.input is None:
            from companion.cli.listen_live import listen_live

            return listen_live(args, context, events,
                               lambda: build_recognizer(context, args.engine, args.model))
        from companion.speech.synthesis import Pyttsx3Synthesizer

        recognizer, commands = build_recognizer(context, args.engine, args.model)
        synth = Pyttsx3Synthesizer()
        try:
            player = context.player(synth, on_event=events, voice=args.voice)
            return _listen_to_file(args, recognizer, commands, player, context, events)
        finally:
            synth.close()
    finally:
        events.close()


def _listen_to_file(args: argparse.Namespace, recognizer: Any, commands: CommandSet,
                    player: Any, context: Any, events: Any) -> int:
    from companion.audio.wav import WavSink, WavSource
    from companion.cli.leadin import LeadInRecognizer, lead_in_for
    from companion.session.listening import run_on_file
    from companion.session.session import Session

    source = WavSource(args.input)
    session = Session(commands, player, context.routines, on_event=events, voice=args.voice)
    sink = None
    if args.output is not None:
        try:
            sink = WavSink(args.output, sample_rate=player.sample_rate)
        except OSError as exc:
            raise CompanionError(f"cannot write {args.output}: {exc.strerror}") from None
    try:
        heard_from_0 = LeadInRecognizer(recognizer, lead_in_for(args.input))
        run_on_file(source, heard_from_0, session, player, sink, args.echo_db)
    finally:
        if sink is not None:
            sink.close()
    heard = events.count("heard")
    print(f"heard {f'{heard} command(s)' if heard else 'nothing'} in {source.duration:.1f} s "
          "of audio", file=sys.stderr)
    return 0
