"""Quiet Companion benchmarks: ``python -m benchmarks [--quick] [--json PATH]``.

Runs real processes and real engines on this machine and prints one row per figure:
``figure | min | median | max | target | ok``. Timing figures are the median of several
runs (min/max beside it); latency percentiles pool every session (min/max are the
per-voice percentiles); rates pool every clip (min/max are the worst/best voice or source).

Figures (in table order, :data:`FIGURES`):

- ``command_latency_ms_p50/_p95``: end of a spoken command → first output frame above
  -50 dBFS, on the output WAV of ``companion listen --input`` (see :mod:`.latency`).
- ``stop_latency_ms_p50/_p95``: end of "stop" said mid-sentence → output silent for good.
- ``intent_accuracy_clean/_noisy``, ``stop_recall``, ``false_commands_per_hour``,
  ``interjection_commands``: the recogniser in process on generated and real speech
  (see :mod:`.accuracy`).
- ``startup_s``, ``idle_cpu_pct``, ``rss_mb``, ``rss_mb_vosk``: live ``companion listen``
  on the default devices (see :mod:`.live`).
- ``self_heard_per_min``, ``live_stop_recall``: live ``companion listen`` on the null-sink
  loop, its own voice coming back at 0 dB, "stop" said over it (see :mod:`.room`).
- ``tts_rtf``, ``render_speedup``, ``recognizer_rtf_pocketsphinx/_vosk`` (see
  :mod:`.throughput`).
- ``voice_*_<engine>``: per speech engine RTF, first sound, words a minute, loudness and
  its spread (see :mod:`.voice`).
- ``hearing_*``: commands right per kind of room, stop recall at 12 and 6 dB, false
  commands and stops per hour of noisy talk, interjections taken, on the held-out test split
  of voices the recogniser was not tuned on, one long stream per room (see :mod:`.hearing`;
  the per-room table is printed before the figures). ``--quick``: three rooms.

``--quick`` runs fewer sessions, clips and seconds (under 2 minutes, for CI). The exit
code is 0 whenever every figure was measured, whether or not it meets its target; it is
1 when a part of the suite raised or a figure is missing.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks import (
    accuracy,
    env,
    fuzz,
    hearing_figures,
    korean,
    latency,
    live,
    report,
    room,
    soak,
    throughput,
    voice,
)
from benchmarks.report import Figure, Target
from tests import clips

FIGURES = ("command_latency_ms_p50", "command_latency_ms_p95", "stop_latency_ms_p50",
           "stop_latency_ms_p95", "intent_accuracy_clean", "intent_accuracy_noisy",
           "stop_recall", "false_commands_per_hour", "interjection_commands",
           "self_heard_per_min", "live_stop_recall", "startup_s", "idle_cpu_pct", "rss_mb",
           "rss_mb_vosk", "tts_rtf", "render_speedup", "recognizer_rtf_pocketsphinx",
           "recognizer_rtf_vosk", "fuzz_unhandled", "soak_rss_growth_mb_per_h",
           "soak_fds_leaked", "soak_false_commands", "hearing_commands_clean",
           "hearing_commands_steady_12db",
           "hearing_commands_talk_12db", "hearing_commands_6db", "hearing_commands_reverb",
           "hearing_commands_bursts", "hearing_stop_recall_12db", "hearing_stop_recall_6db",
           "hearing_false_commands_per_hour", "hearing_false_stops_per_hour",
           "hearing_interjections_taken")
"""Every figure the suite must produce, in table order."""
FULL_ONLY = frozenset(("hearing_commands_6db", "hearing_commands_reverb",
                       "hearing_commands_bursts", "hearing_stop_recall_6db"))
"""Figures of rooms ``--quick`` leaves out."""


@dataclass(frozen=True)
class Mode:
    """How much of everything to run."""

    latency: latency.Plan
    """Listen sessions."""
    accuracy_variants: int
    """Voice/rate variants of each command clip."""
    chatter_voices: tuple[str, ...]
    """Voices for generated chatter."""
    real_chatter_s: float
    """Seconds each group of real recordings is looped to."""
    launches: int
    """Live `companion listen` launches (startup, RSS)."""
    idle_windows: tuple[int, float]
    """Idle-CPU windows on the last launch: (count, seconds)."""
    vosk_launches: int
    """Live launches with the Vosk engine."""
    runs: int
    """Runs of each throughput figure."""
    room_runs: int
    """Live runs with "stop" said over the companion's voice."""
    fuzz_files: int = 10_000
    """Broken files through the loaders (:mod:`.fuzz`)."""
    soak_hours: float = 8.0
    """Session hours of the soak (:mod:`.soak`)."""


_RATES = (140, 160, 180)
FULL = Mode(
    latency=latency.Plan(tuple((v, _RATES[i % 3]) for i, v in enumerate(clips.VOICES)),
                         latency.COMMANDS, 3),
    accuracy_variants=3, chatter_voices=clips.VOICES, real_chatter_s=300.0,
    launches=5, idle_windows=(6, 10.0), vosk_launches=3, runs=3, room_runs=8)
QUICK = Mode(
    latency=latency.Plan((("en-us", 160), ("en-gb+f2", 140)),
                         ("play breathing", "what can i say", "play aftercare"), 2),
    accuracy_variants=1, chatter_voices=("en-us", "en-gb+f3"), real_chatter_s=30.0,
    launches=3, idle_windows=(2, 5.0), vosk_launches=1, runs=2, room_runs=2,
    fuzz_files=300, soak_hours=0.05)


def fault_figures(mode: Mode, child_env: dict[str, str]) -> list[Figure]:
    """fuzz_unhandled and the soak's memory growth, leaked fds and false commands (the soak
    in a process of its own: this one holds every earlier benchmark's memory)."""
    fuzzed = fuzz.run(mode.fuzz_files, seed=17)
    every = 300.0 if mode.soak_hours >= 1 else 20.0
    soaked = soak.run_in_child(mode.soak_hours, every, child_env)
    notes = {k: round(v, 3) if isinstance(v, float) else v for k, v in soaked.items()}
    return [
        report.timing("fuzz_unhandled", [fuzzed["unhandled"]], Target("<=", 0),
                      files=fuzzed["files"], slowest_load_s=round(fuzzed["slowest_load_s"], 3),
                      peak_rss_growth_mb=round(fuzzed["peak_rss_growth_mb"], 1)),
        report.timing("soak_rss_growth_mb_per_h", [soaked["rss_growth_mb_per_h"]],
                      Target("<=", 5.0), **notes),
        report.timing("soak_fds_leaked", [soaked["fds_leaked"]], Target("<=", 0)),
        report.timing("soak_false_commands", [soaked["false_commands"]], Target("<=", 0)),
    ]


def live_figures(mode: Mode, child_env: dict[str, str]) -> list[Figure]:
    """startup_s, idle_cpu_pct, rss_mb (default engine) and rss_mb_vosk."""
    count, seconds = mode.idle_windows
    # a quiet room's noise in the microphone and a sink that runs as a card's does
    # (see benchmarks.live); then the silent microphone of an idle null sink
    with live.RoomFloor(child_env):
        runs = [live.listen(child_env, listen_s=2.0) for _ in range(mode.launches - 1)]
        runs.append(live.listen(child_env, listen_s=2.0, windows=count, window_s=seconds))
    silent = live.listen(child_env, listen_s=2.0, windows=count, window_s=seconds)
    config = korean.config_file()
    vosk = [live.listen(child_env, "--config", str(config), "listen", "--engine", "vosk",
                        "--model", str(korean.model_dir()), listen_s=2.0)
            for _ in range(mode.vosk_launches)]
    problems = [p for r in runs + [silent] + vosk for p in r.problems]
    return [
        report.timing("startup_s", [r.startup_s for r in runs], Target("<=", 1.5),
                      vosk_startup_s=[round(r.startup_s, 3) for r in vosk], problems=problems,
                      # of which waiting for the microphone's stream (see benchmarks.live)
                      device_wait_s=[None if r.device_wait_s is None
                                     else round(r.device_wait_s, 3) for r in runs]),
        report.timing("idle_cpu_pct", runs[-1].cpu_windows, Target("<=", 10.0),
                      window_s=seconds, room_dbfs=live.ROOM_DBFS,
                      silent_microphone=[round(c, 2) for c in silent.cpu_windows],
                      silent_startup_s=round(silent.startup_s, 3)),
        # issues 15 and 16: <= 200 MB with every default model (pocketsphinx, hama, Silero,
        # the hibari voice) loaded
        report.timing("rss_mb", [r.rss_mb for r in runs + [silent]], Target("<=", 200.0)),
        report.timing("rss_mb_vosk", [r.rss_mb for r in vosk], Target("<=", 150.0),
                      model=str(korean.model_dir())),
    ]


def throughput_figures(mode: Mode, child_env: dict[str, str]) -> list[Figure]:
    """tts_rtf, render_speedup, recognizer_rtf for each engine."""
    from companion.cli.listen import command_set
    from companion.config import shipped_dir
    from companion.recognition.factory import make_recognizer
    from companion.session.context import Context

    context = Context.load(None)
    sentences = throughput.routine_sentences(shipped_dir("routines") / "aftercare.yaml")
    voice = context.voices.get(context.routines.get("aftercare").voice or "gentle")
    figures = [
        report.timing("tts_rtf", [throughput.tts_rtf_run(sentences, voice)
                                  for _ in range(mode.runs)], None,
                      sentences=len(sentences)),
        report.timing("render_speedup", [throughput.render_speedup_run("aftercare", child_env)
                                         for _ in range(mode.runs)], None),
    ]
    english = throughput.rtf_corpus()
    ps = make_recognizer("pocketsphinx", command_set(context), None)
    figures.append(report.timing(
        "recognizer_rtf_pocketsphinx",
        [throughput.recognizer_rtf_run(ps, english) for _ in range(mode.runs)], None,
        audio_s=round(len(english) / clips.RATE, 1)))
    ko_context = Context.load(korean.config_file())
    vosk = make_recognizer("vosk", command_set(ko_context), korean.model_dir())
    mixed = throughput.rtf_corpus(korean.PHRASES, extra_voice="ko")
    figures.append(report.timing(
        "recognizer_rtf_vosk",
        [throughput.recognizer_rtf_run(vosk, mixed) for _ in range(mode.runs)], None,
        audio_s=round(len(mixed) / clips.RATE, 1)))
    return figures


def latency_figures(mode: Mode, child_env: dict[str, str]) -> list[Figure]:
    """Command and stop latency from `companion listen --input` sessions (two at a time)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        commands = latency.command_latencies(mode.latency, child_env, pool)
        stops = latency.stop_latencies(mode.latency, child_env, pool)
    return (latency.figures("command_latency_ms", commands, 300.0)
            + latency.figures("stop_latency_ms", stops, 150.0))


def accuracy_figures(mode: Mode) -> list[Figure]:
    """Intent accuracy (clean, noisy), stop recall, false commands per hour, interjections."""
    from companion.cli.listen import command_set
    from companion.recognition.factory import make_recognizer
    from companion.session.context import Context

    context = Context.load(None)
    commands = command_set(context)
    recognizer = make_recognizer(context.settings.engine, commands, context.settings.vosk_model)
    parser_disagrees = [f"{text!r} parses as {commands.parse(text)}"
                        for text, intent, slots in accuracy.TRUTH
                        if (c := commands.parse(text)) is None
                        or (c.intent.value, dict(c.slots)) != (intent, slots)]
    engine = type(recognizer).__name__

    def run(clips: list[accuracy.Clip]) -> list[accuracy.Outcome]:
        return accuracy.recognise(recognizer, commands, clips)

    clean = run(accuracy.command_clips(mode.accuracy_variants, noisy=False))
    noisy = run(accuracy.command_clips(mode.accuracy_variants, noisy=True))
    stops = run(accuracy.stop_clips(False) + accuracy.stop_clips(True))
    chatter = run(accuracy.chatter(mode.real_chatter_s, mode.chatter_voices))
    interjections = run(accuracy.interjection_clips(mode.chatter_voices))
    clean_fig = accuracy.accuracy_figure("intent_accuracy_clean", clean, 0.97)
    clean_fig.notes.update(engine=engine, parser_disagrees_with_truth=parser_disagrees)
    return [clean_fig,
            accuracy.accuracy_figure("intent_accuracy_noisy", noisy, 0.90),
            accuracy.stop_recall_figure(clean + noisy + stops),
            accuracy.false_commands_figure(chatter),
            accuracy.interjection_figure(interjections)]


def _section(name: str, fn: Callable[[], list[Figure]], broken: list[str]) -> list[Figure]:
    """Run one part of the suite; a crash is reported and counted, the rest still runs."""
    t0 = time.perf_counter()
    print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
    try:
        figures = fn()
    except Exception:  # noqa: BLE001 - reported, and the suite exits 1
        traceback.print_exc()
        broken.append(name)
        figures = []
    print(f"[benchmarks] {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the suite; print the table; write JSON if asked. 0 unless the suite broke."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced suite (CI), under 2 min")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated sessions and outputs (the path is printed)")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    child_env = env.isolate()
    broken: list[str] = []
    t0 = time.perf_counter()
    # Live and throughput figures first, on a quiet machine; then the CPU-heavy parts.
    figures = _section("live", lambda: live_figures(mode, child_env), broken)
    figures += _section("room", lambda: room.room_figures(child_env, mode.room_runs), broken)
    figures += _section("throughput", lambda: throughput_figures(mode, child_env), broken)
    figures += _section("voice", lambda: voice.voice_figures(args.quick), broken)
    figures += _section("latency", lambda: latency_figures(mode, child_env), broken)
    figures += _section("accuracy", lambda: accuracy_figures(mode), broken)
    figures += _section("faults", lambda: fault_figures(mode, child_env), broken)
    figures += _section("hearing", lambda: hearing_figures.figures(args.quick), broken)
    wall = time.perf_counter() - t0
    order = {name: i for i, name in enumerate(FIGURES)}
    figures.sort(key=lambda f: order.get(f.name, len(order)))
    missing = [name for name in FIGURES if name not in {f.name for f in figures}
               and not (args.quick and name in FULL_ONLY)]
    print(report.table(figures))
    print(f"\n{'quick' if args.quick else 'full'} suite: {wall:.0f} s wall; "
          f"{sum(not f.ok for f in figures)} target(s) missed", flush=True)
    if args.json is not None:
        report.write_json(figures, args.json, {
            "mode": "quick" if args.quick else "full", "wall_s": round(wall, 1),
            "machine": platform.platform(), "python": platform.python_version(),
            "broken_sections": broken, "missing_figures": missing})
    if args.keep:
        print(f"generated audio kept in {env.workdir()}", file=sys.stderr)
    else:
        shutil.rmtree(env.workdir(), ignore_errors=True)
    if broken or missing:
        print(f"suite broken: sections {broken}, missing figures {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
