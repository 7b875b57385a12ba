"""The ``devices`` and ``doctor`` subcommands (what this machine has, and what is wrong)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.cli.common import load_context
from companion.cli.soundcheck import NO_SPEAKERS_HINT, START_SERVER_HINT, sound_report
from companion.errors import AudioDeviceError, CompanionError


def add_parsers(sub: Any) -> None:
    """Add ``devices`` and ``doctor`` to the subcommand parser."""
    sub.add_parser("devices", help="list audio devices, or say why there are none"
                   ).set_defaults(handler=_cmd_devices)
    sub.add_parser("doctor", help="check sound, speech, voices, recogniser, safewords and "
                                  "settings, with a fix for each failure").set_defaults(
        handler=_cmd_doctor)


def _cmd_devices(args: argparse.Namespace) -> int:
    """Devices and defaults, or why there are none and what to do; exit 4 if none."""
    from companion.cli.soundcheck import describe

    report = sound_report()
    for line in describe(report):
        print(line)
    return AudioDeviceError.exit_code if report.problem("both") is not None else 0


@dataclass(frozen=True)
class _Check:
    name: str
    run: Callable[[], str]
    fix: str


def _cmd_doctor(args: argparse.Namespace) -> int:
    """Check each part a session needs and say what to fix; exit 1 if anything is wrong."""
    state: dict[str, Any] = {}
    checks = [
        _Check("settings", lambda: _doctor_settings(args, state),
               "correct the value named above, or move the settings file away to use the "
               "defaults"),
        _Check("routines and voices", lambda: _doctor_files(state),
               "run `companion routines check` and correct the file named above"),
        _Check("sound server", _doctor_server, START_SERVER_HINT),
        _Check("speakers", lambda: _doctor_device("output", state),
               "plug speakers in, or name one as output_device in the settings (`companion "
               f"devices` lists them); {NO_SPEAKERS_HINT}"),
        _Check("microphone", lambda: _doctor_device("input", state),
               "plug a microphone in, or name one as input_device in the settings "
               "(`companion devices` lists them)"),
        _Check("speech (espeak-ng)", lambda: _doctor_speech(state),
               "install espeak-ng and libespeak-ng1 (`scripts/setup` does)"),
        _Check("voices", lambda: _doctor_voices(state),
               "set espeak_voice in that voice file to one `espeak-ng --voices` lists"),
        _Check("recogniser and model", lambda: _doctor_recognizer(state),
               "set engine: pocketsphinx in the settings, or point vosk_model at an "
               "unpacked Vosk model folder"),
        _Check("safewords", lambda: _doctor_safewords(state),
               "pick a plain word the recogniser knows as safewords: in the settings"),
    ]
    failed = 0
    try:
        for check in checks:
            try:
                print(f"ok    {check.name}: {check.run()}", flush=True)
            except CompanionError as exc:
                failed += 1
                print(f"FAIL  {check.name}: {exc}\n      fix: {check.fix}", flush=True)
    finally:
        if "synth" in state:
            state["synth"].close()
    print(f"{failed} problem(s) found" if failed else "everything is ready")
    return 1 if failed else 0


def _doctor_settings(args: argparse.Namespace, state: dict[str, Any]) -> str:
    from companion.config import default_config_path, load_settings

    state["config_path"] = args.config
    path = args.config or default_config_path()
    settings = load_settings(args.config)
    state["settings"] = settings
    where = str(path) if path.exists() else f"defaults (no {path})"
    return (f"{where}; voice {settings.voice or 'default'}, engine {settings.engine}, "
            f"volume_db {settings.volume_db:g}, volume_cap_db {settings.volume_cap_db:g}")


def _doctor_files(state: dict[str, Any]) -> str:
    if "settings" not in state:
        raise CompanionError("skipped: the settings file did not load")
    context = load_context(argparse.Namespace(config=_config_arg(state)), quiet_errors=True)
    state["context"] = context
    if context.errors:
        raise CompanionError(f"{len(context.errors)} broken file(s), first: "
                             f"{context.errors[0]}")
    return f"{len(context.routines)} routines, {len(context.voices.names())} voices"


def _config_arg(state: dict[str, Any]) -> Any:
    return state.get("config_path")


def _doctor_server() -> str:
    report = sound_report()
    if report.portaudio_error is not None:
        raise AudioDeviceError(report.portaudio_error)
    if report.server is None:
        raise AudioDeviceError(f"no PulseAudio or PipeWire server answers "
                               f"({report.server_tried})")
    return report.server


def _doctor_device(kind: str, state: dict[str, Any]) -> str:
    from companion.audio.devices import find_device

    report = sound_report()
    problem = report.problem(kind)
    what = "speaker" if kind == "output" else "microphone"
    if problem is not None and report.server is None:
        raise AudioDeviceError(f"no {what} found: no sound server answers (see above)")
    if problem is not None:
        raise AudioDeviceError(problem)
    settings = state.get("settings")
    wanted = None if settings is None else (
        settings.output_device if kind == "output" else settings.input_device)
    return find_device(wanted, kind)


def _doctor_speech(state: dict[str, Any]) -> str:
    from companion.speech.synthesis import Pyttsx3Synthesizer
    from companion.speech.voices import Voice

    try:
        synth = Pyttsx3Synthesizer()
    except CompanionError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyttsx3/espeak-ng load errors vary
        raise CompanionError(f"espeak-ng did not load ({exc.__class__.__name__}: {exc})"
                             ) from None
    state["synth"] = synth
    pcm = synth.synthesize("hello", Voice("check"))
    if len(pcm) == 0:
        raise CompanionError("espeak-ng made no sound for 'hello'")
    return f"{len(pcm) / synth.sample_rate:.2f} s of speech for 'hello'"


def _doctor_voices(state: dict[str, Any]) -> str:
    context, synth = state.get("context"), state.get("synth")
    if context is None or synth is None:
        raise CompanionError("skipped: the files or espeak-ng did not load")
    silent = []
    for voice in context.voices.voices():
        if len(synth.synthesize("hello", voice)) == 0:
            silent.append(f"{voice.name} ({voice.espeak_voice})")
    if silent:
        raise CompanionError("no sound from voice(s): " + ", ".join(silent))
    from companion.audio.sounds import gain_to_db

    levels = ", ".join(f"{v.name} {gain_to_db(v.volume):+.1f} dB"
                       for v in context.voices.voices())
    return f"{len(context.voices.names())} speak, default {context.voice().name}; {levels}"


def _doctor_recognizer(state: dict[str, Any]) -> str:
    from companion.cli.listen import build_recognizer

    context = state.get("context")
    if context is None:
        raise CompanionError("skipped: the files did not load")
    recognizer, _ = build_recognizer(context, None, None)
    state["recognizer"] = recognizer
    model = context.settings.vosk_model
    return type(recognizer).__name__ + (f" with {model}" if model else "")


def _doctor_safewords(state: dict[str, Any]) -> str:
    from companion.recognition.safewords import safeword_report

    recognizer, context = state.get("recognizer"), state.get("context")
    if recognizer is None or context is None:
        raise CompanionError("skipped: no recogniser to check them with")
    report = safeword_report(recognizer, context.settings.safewords)
    bad = [f"'{word}': {reason}" for word, ok, reason in report if not ok]
    if bad:
        raise CompanionError("; ".join(bad))
    return "; ".join(f"'{word}' ({reason})" for word, _, reason in report) or "none set"
