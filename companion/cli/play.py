"""The ``play`` subcommand, and playing or rendering a started player (``voices try`` too)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.cli.common import (
    EXIT_INTERRUPTED,
    clock,
    load_context,
    sigterm_as_interrupt,
)
from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.audio.wav import WavSink
    from companion.session.player import RoutinePlayer


def add_parsers(sub: Any) -> None:
    """Add ``play`` to the subcommand parser."""
    play = sub.add_parser("play", help="play a routine on the speakers or into a WAV file")
    play.add_argument("routine", help="routine name, title or alias (see `routines list`)")
    play.add_argument("--minutes", type=_minutes, default=None, metavar="N",
                      help="make the routine last N minutes, within 10%% (quiet stretches "
                           "and repeats grow or shrink; speech never does); at most "
                           f"{MAX_MINUTES // 60} hours ({MAX_MINUTES} minutes)")
    play.add_argument("--voice", default=None, help="voice profile (see `voices list`)")
    play.add_argument("--output", type=Path, default=None,
                      help="render into this WAV file, faster than real time")
    play.set_defaults(handler=_cmd_play)


MAX_MINUTES = 360
"""``--minutes`` is at most six hours (what a render to a file is allowed to take)."""


def _minutes(value: str) -> float:
    """``--minutes``: more than 0 and at most :data:`MAX_MINUTES`."""
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of minutes") from None
    if not minutes > 0:
        raise argparse.ArgumentTypeError("minutes must be more than 0")
    if minutes > MAX_MINUTES:
        raise argparse.ArgumentTypeError(f"--minutes is at most {MAX_MINUTES} (six hours)")
    return minutes


def _cmd_play(args: argparse.Namespace) -> int:
    from companion.cli.minutes import fit
    from companion.speech.synthesis import Pyttsx3Synthesizer

    context = load_context(args)
    routine = context.routines.get(args.routine)
    context.voice(args.voice)  # unknown voice: fail before any sound
    synth = Pyttsx3Synthesizer()
    try:
        if args.minutes is not None:  # fitted here, by real speech lengths
            routine = fit(context, synth, routine, args.minutes, args.voice)
        player = context.player(synth, voice=args.voice)
        player.start(routine, None, args.voice)
        if args.output is not None:
            return render_to_file(player, args.output, routine.title)
        return play_live(player, context.settings.output_device, routine.title)
    finally:
        synth.close()


def render_to_file(player: RoutinePlayer, path: Path, title: str) -> int:
    """Render the started ``player`` into a WAV file, faster than real time."""
    from companion.cli.progress import ProgressSink
    from companion.session.playback import render_until_idle

    began = time.perf_counter()
    sink = ProgressSink(_open_wav_sink(path, player.sample_rate), player.sample_rate,
                        lambda: player.status().seconds_left, title)
    try:
        seconds = render_until_idle(player, sink)
    finally:
        sink.close()
    wall = time.perf_counter() - began
    print(f"wrote {path}: {title}, {clock(seconds)} of audio in {wall:.1f} s")
    return 0


def _open_wav_sink(path: Path, rate: int) -> WavSink:
    from companion.audio.wav import WavSink

    try:
        return WavSink(path, sample_rate=rate)
    except OSError as exc:
        raise CompanionError(f"cannot write {path}: {exc.strerror}: pick a folder you "
                             "can write to") from None


SPEAKER_GIVE_UP_S = 60.0
"""A speaker that stays lost this long ends ``play`` with its error (a shorter outage is
ridden out: the stream's supervisor reopens it and the routine goes on)."""


def play_live(player: RoutinePlayer, device: str | None, title: str) -> int:
    """Play the started ``player`` on the speakers until it is done or Ctrl-C/SIGTERM."""
    from companion.audio.device_streams import SoundDeviceSink
    from companion.cli.soundcheck import explained_device_errors
    from companion.session.playback import RealtimeOutput
    from companion.session.player import PlayerState

    with explained_device_errors("output"):
        sink = SoundDeviceSink(device, sample_rate=player.sample_rate)
    output = RealtimeOutput(player, sink)
    print(f"Playing {title}. Press Ctrl-C to stop.", file=sys.stderr)
    interrupted = False
    with sigterm_as_interrupt():
        try:
            output.start()
            failing_since: float | None = None
            while player.busy or player.state is not PlayerState.IDLE:
                if output.error is None:
                    failing_since = None
                elif failing_since is None:
                    failing_since = time.monotonic()  # the supervisor reopens the speaker
                elif time.monotonic() - failing_since > SPEAKER_GIVE_UP_S:
                    break
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
