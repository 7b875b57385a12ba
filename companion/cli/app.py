"""Command line: subcommands, and the one place that turns errors into one line + exit code."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn, Sequence

from companion import __version__
from companion.errors import CompanionError, ConfigError

if TYPE_CHECKING:
    from companion.audio.wav import WavSink
    from companion.session.context import Context
    from companion.session.player import RoutinePlayer

log = logging.getLogger("companion")

EXIT_INTERRUPTED = 130


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
    try:
        return int(args.handler(args) or 0)
    except CompanionError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        log.debug("internal error", exc_info=True)
        print(f"companion: internal error: {exc.__class__.__name__}: {exc} "
              "(run with -vv for details)", file=sys.stderr)
        return 1


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line that says where to look."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
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

    play = sub.add_parser("play", help="play a routine on the speakers or into a WAV file")
    play.add_argument("routine", help="routine name, title or alias (see `routines list`)")
    play.add_argument("--minutes", type=_positive_minutes, default=None,
                      help="stretch the quiet parts so the routine lasts about N minutes")
    play.add_argument("--voice", default=None, help="voice profile (see `voices list`)")
    play.add_argument("--output", type=Path, default=None,
                      help="render into this WAV file, faster than real time")
    play.set_defaults(handler=_cmd_play)

    _add_listen_parsers(sub)

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

    voices = sub.add_parser("voices", help="list or try voice profiles")
    vsub = voices.add_subparsers(dest="action", metavar="ACTION", required=True)
    vsub.add_parser("list", help="every voice profile").set_defaults(handler=_cmd_voices_list)
    try_ = vsub.add_parser("try", help="hear a voice say a sentence")
    try_.add_argument("name")
    try_.add_argument("--output", type=Path, default=None, help="write a WAV instead")
    try_.set_defaults(handler=_cmd_voices_try)

    sub.add_parser("devices", help="list audio devices").set_defaults(handler=_cmd_devices)
    sub.add_parser("doctor", help="check speech, models, devices and files").set_defaults(
        handler=_cmd_doctor)
    schema = sub.add_parser("schema", help="print the JSON Schema of routine files")
    schema.add_argument("--path", action="store_true",
                        help="print the path of the schema file (for editors) instead")
    schema.set_defaults(handler=_cmd_schema)
    return parser


def _add_listen_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``listen`` and ``transcribe`` (the speech loop)."""
    from companion.cli.listen import add_listen_parsers

    add_listen_parsers(sub)


def _positive_minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of minutes") from None
    if not 0 < minutes <= 24 * 60:
        raise argparse.ArgumentTypeError("minutes must be more than 0 and at most 1440")
    return minutes


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="companion: %(message)s", stream=sys.stderr)


def load_context(args: argparse.Namespace, quiet_errors: bool = False) -> "Context":
    """Settings, voices and routines; broken files are warned about, one line each."""
    from companion.session.context import Context

    context = Context.load(args.config)
    if not quiet_errors:
        for error in context.errors:
            print(f"companion: warning: {error} (skipped)", file=sys.stderr)
    return context


# ----- play --------------------------------------------------------------------------
def _cmd_play(args: argparse.Namespace) -> int:
    from companion.speech.synthesis import Pyttsx3Synthesizer

    context = load_context(args)
    routine = context.routines.get(args.routine)
    context.voice(args.voice)  # unknown voice: fail before any sound
    synth = Pyttsx3Synthesizer()
    try:
        player = context.player(synth, voice=args.voice)
        player.start(routine, args.minutes, args.voice)
        if args.output is not None:
            return _render_to_file(player, args.output, routine.title)
        return _play_live(player, context.settings.output_device, routine.title)
    finally:
        synth.close()


def _render_to_file(player: "RoutinePlayer", path: Path, title: str) -> int:
    from companion.session.playback import render_until_idle

    began = time.perf_counter()
    sink = _open_wav_sink(path, player.sample_rate)
    try:
        seconds = render_until_idle(player, sink)
    finally:
        sink.close()
    wall = time.perf_counter() - began
    print(f"wrote {path}: {title}, {_clock(seconds)} of audio in {wall:.1f} s")
    return 0


def _open_wav_sink(path: Path, rate: int) -> "WavSink":
    from companion.audio.wav import WavSink

    try:
        return WavSink(path, sample_rate=rate)
    except OSError as exc:
        raise CompanionError(f"cannot write {path}: {exc.strerror}: pick a folder you "
                             "can write to") from None


def _play_live(player: "RoutinePlayer", device: str | None, title: str) -> int:
    from companion.audio.device_streams import SoundDeviceSink
    from companion.session.player import PlayerState
    from companion.session.playback import RealtimeOutput

    sink = SoundDeviceSink(device, sample_rate=player.sample_rate)
    output = RealtimeOutput(player, sink)
    print(f"Playing {title}. Press Ctrl-C to stop.", file=sys.stderr)
    interrupted = False
    with _sigterm_as_interrupt():
        try:
            output.start()
            while (player.busy or player.state is not PlayerState.IDLE) and output.error is None:
                time.sleep(0.05)
        except KeyboardInterrupt:
            interrupted = True
            output.stop_now()
            time.sleep(0.1)
        finally:
            output.close()
            if not interrupted:
                sink.drain(timeout=2)
            sink.close()
    if output.error is not None:
        raise output.error
    return EXIT_INTERRUPTED if interrupted else 0


class _sigterm_as_interrupt:
    """Treat SIGTERM like Ctrl-C while playing, so the fade still happens."""

    def __enter__(self) -> None:
        self._old = signal.signal(signal.SIGTERM, self._raise)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self._old)

    @staticmethod
    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


# ----- routines, voices, schema, devices, doctor ------------------------------------
def _cmd_routines_list(args: argparse.Namespace) -> int:
    context = load_context(args)
    for routine in context.routines.routines():
        aliases = ", ".join(routine.aliases)
        print(f"{routine.name:<18} {routine.title}: {routine.description}"
              + (f" (say: {aliases})" if aliases else ""))
    return 0


def _cmd_routines_check(args: argparse.Namespace) -> int:
    from companion.routines.model import load_routine_file

    context = load_context(args, quiet_errors=True)
    errors: list[ConfigError] = []
    if args.files:
        for path in args.files:
            try:
                load_routine_file(path, context.voices.names())
                print(f"{path}: ok")
            except ConfigError as exc:
                errors.append(exc)
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


def _cmd_voices_list(args: argparse.Namespace) -> int:
    context = load_context(args)
    default = context.voice(None).name
    for voice in context.voices.voices():
        mark = "*" if voice.name == default else " "
        print(f"{mark} {voice.name:<10} {voice.espeak_voice:<12} {voice.rate} wpm  "
              f"{voice.description}")
    return 0


def _cmd_voices_try(args: argparse.Namespace) -> int:
    from companion.routines.model import Routine, Say

    context = load_context(args)
    voice = context.voices.get(args.name)
    sample = Routine(name="voice-sample", title=f"voice {voice.name}", steps=(
        Say((f"Hello. This is the {voice.name} voice. I'm right here with you.",)),))
    from companion.speech.synthesis import Pyttsx3Synthesizer

    synth = Pyttsx3Synthesizer()
    try:
        player = context.player(synth, voice=voice.name)
        player.start(sample, voice=voice.name)
        if args.output is not None:
            return _render_to_file(player, args.output, sample.title)
        return _play_live(player, context.settings.output_device, sample.title)
    finally:
        synth.close()


def _cmd_schema(args: argparse.Namespace) -> int:
    from companion.routines.schema import routine_schema, schema_path

    if args.path:
        print(schema_path())
    else:
        print(json.dumps(routine_schema(), indent=2, ensure_ascii=False))
    return 0


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
