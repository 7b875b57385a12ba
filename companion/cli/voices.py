"""The ``voices`` subcommand (list, try)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from companion.cli.common import load_context
from companion.cli.play import play_live, render_to_file


def add_parsers(sub: Any) -> None:
    """Add ``voices`` and its actions to the subcommand parser."""
    voices = sub.add_parser("voices", help="list or try voice profiles")
    vsub = voices.add_subparsers(dest="action", metavar="ACTION", required=True)
    vsub.add_parser("list", help="every voice profile").set_defaults(handler=_cmd_voices_list)
    try_ = vsub.add_parser("try", help="hear a voice say a sentence")
    try_.add_argument("name")
    try_.add_argument("--output", type=Path, default=None, help="write a WAV instead")
    try_.set_defaults(handler=_cmd_voices_try)


def _cmd_voices_list(args: argparse.Namespace) -> int:
    """One line per voice: default mark, engine and voice, rate; a voice that cannot speak
    here says why and that espeak-ng stands in."""
    from companion.speech.engines import engine_problem

    context = load_context(args)
    default = context.voice(None).name
    for voice in context.voices.voices():
        mark = "*" if voice.name == default else " "
        engine_voice = Path(voice.engine_voice).name if voice.engine == "piper" else (
            voice.engine_voice or voice.espeak_voice)
        print(f"{mark} {voice.name:<10} {voice.engine:<7} {engine_voice:<12} {voice.rate} wpm  "
              f"{voice.description}")
        problem = engine_problem(voice)
        if problem is not None:
            print(f"  {'':<10} ! not available: {problem}; espeak-ng "
                  f"({voice.espeak_voice}) speaks instead")
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
            return render_to_file(player, args.output, sample.title)
        return play_live(player, context.settings.output_device, sample.title)
    finally:
        synth.close()
