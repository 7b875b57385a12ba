"""Command and stop latency, measured on the output audio of `companion listen --input`.

Command latency: end of the spoken command → first 10 ms output frame above -50 dBFS
(searched from the command's start, so an early answer counts as negative latency).
Stop latency: end of "stop", spoken while the companion is mid-sentence in aftercare →
the output stays below -50 dBFS for good. To be sure "stop" lands mid-sentence, a probe
session (the same input without "stop") is rendered first and the stop is placed inside
its speech; the stop sessions share the probe's noise floor, so their output is the
probe's up to the moment stop is heard. If the probe's "play aftercare" goes unheard it
is said a second time (noted in the figure's problems), so stop can still be timed.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from benchmarks import onsets, sessions
from benchmarks.report import Figure, Target, percentile

COMMANDS = ("play breathing", "what can i say", "play aftercare", "how long is left",
            "list routines")
"""Commands whose answer starts from silence."""
LEAD_S = 1.0
"""Silence before the first command."""
STOP_WINDOW_S = (3.0, 12.0)
"""Stops are placed this long after "play aftercare" ends."""


@dataclass(frozen=True)
class Plan:
    """How many sessions to run."""

    voices: tuple[tuple[str, int], ...]
    """(espeak-ng voice, words per minute): one group of sessions each."""
    commands: tuple[str, ...]
    """Commands timed per voice."""
    stops_per_voice: int
    """Stop sessions per voice."""


@dataclass
class Samples:
    """Latencies in ms per voice, and what went wrong."""

    by_voice: dict[str, list[float]]
    """Voice → latencies (inf when it never happened)."""
    problems: list[str]
    """Sessions that were not answered, or not stopped."""

    def all(self) -> list[float]:
        """Every latency."""
        return [x for v in self.by_voice.values() for x in v]


def _voice_key(voice: str, rate: int) -> str:
    return f"{voice}@{rate}"


def command_latencies(plan: Plan, child_env: dict[str, str], pool: ThreadPoolExecutor) -> Samples:
    """One session per (voice, command): silence, the command, three seconds of silence."""
    jobs = {}
    for voice, rate in plan.voices:
        for cmd in plan.commands:
            name = f"cmd-{voice}-{rate}-{cmd.replace(' ', '_')}"
            jobs[(voice, rate, cmd)] = pool.submit(
                sessions.run, [LEAD_S, cmd, 3.0], voice, rate, name, child_env)
    out = Samples({}, [])
    for (voice, rate, cmd), job in jobs.items():
        res = job.result()
        said = res.spoken[0]
        onset = onsets.first_sound(res.output, res.rate, after=said.start)
        latency = (onset - said.end) * 1000
        if math.isinf(latency):
            out.problems.append(f"{cmd!r} ({voice}@{rate}): no answer; events "
                                f"{[e['type'] for e in res.events]}")
        out.by_voice.setdefault(_voice_key(voice, rate), []).append(latency)
    return out


def _stop_points(probe: sessions.Result, count: int) -> list[float]:
    """Times inside the probe's speech where "stop" can end mid-sentence."""
    play_end = probe.spoken[-1].end
    lo, hi = play_end + STOP_WINDOW_S[0], play_end + STOP_WINDOW_S[1]
    spans = [(a, b) for a, b in onsets.loud_spans(probe.output, probe.rate)
             if b - a >= 0.8 and lo <= a and b <= hi + 2]
    points = [a + f * (b - a) for a, b in spans for f in (0.3, 0.6) if b - (a + f * (b - a)) >= 0.3]
    if not points:
        return []
    picks = np.unique(np.linspace(0, len(points) - 1, count).round().astype(int))
    return [round(points[i], 2) for i in picks]


def _probe_scripts() -> tuple[list[sessions.Step], list[sessions.Step]]:
    """"play aftercare" once; and said again 2 s later, as a person does when unheard."""
    once: list[sessions.Step] = [LEAD_S, "play aftercare"]
    return once, [*once, 2.0, "play aftercare"]


def _probe(voice: str, rate: int,
           child_env: dict[str, str]) -> tuple[list[sessions.Step], sessions.Result]:
    """The first probe script whose "play aftercare" is heard (else the last one tried)."""
    for script in _probe_scripts():
        res = sessions.run([*script, STOP_WINDOW_S[1] + 3], voice, rate,
                           f"probe-{voice}-{rate}-{len(script)}", child_env, 1234)
        if res.heard("play"):
            break
    return script, res


def stop_latencies(plan: Plan, child_env: dict[str, str], pool: ThreadPoolExecutor) -> Samples:
    """Per voice: a probe, then sessions with "stop" ending inside the probe's speech."""
    probes = {(v, r): pool.submit(_probe, v, r, child_env) for v, r in plan.voices}
    jobs = {}
    problems: list[str] = []
    for (voice, rate), probe_job in probes.items():
        prefix, probe = probe_job.result()
        points = _stop_points(probe, plan.stops_per_voice) if probe.heard("play") else []
        if len(prefix) > 2:
            problems.append(f"probe {voice}@{rate}: first 'play aftercare' unheard; said twice")
        if not points:
            heard = [e["intent"] for e in probe.events if e["type"] == "heard"]
            problems.append(f"probe {voice}@{rate}: 'play aftercare' not answered with speech "
                            f"(heard: {heard})")
        for t in points:
            script = [*prefix, sessions.EndAt("stop", t), 2.5]
            jobs[(voice, rate, t)] = (probe, pool.submit(
                sessions.run, script, voice, rate, f"stop-{voice}-{rate}-{t}", child_env, 1234))
    out = Samples({}, problems)
    for (voice, rate, t), (probe, job) in jobs.items():
        res = job.result()
        stop_end = res.spoken[-1].end
        level = np.abs(res.output[int((stop_end - 0.05) * res.rate):int(stop_end * res.rate)])
        if res.heard("play") != probe.heard("play") or level.max() < 10 ** (-30 / 20):
            out.problems.append(f"stop at {t} s ({voice}@{rate}): not mid-sentence, skipped")
            continue
        silent = onsets.silent_for_good(res.output, res.rate, after=stop_end)
        latency = (silent - stop_end) * 1000
        if not res.heard("stop"):
            out.problems.append(f"stop at {t} s ({voice}@{rate}): not heard; sound went on "
                                f"{latency:.0f} ms (to the end of the session)")
            latency = math.inf
        out.by_voice.setdefault(_voice_key(voice, rate), []).append(latency)
    return out


def figures(prefix: str, samples: Samples, target_p50: float) -> list[Figure]:
    """``{prefix}_p50`` and ``_p95`` over all sessions; min/max are per-voice percentiles."""
    result = []
    for q in (50, 95):
        per_voice = {v: percentile(xs, q) for v, xs in samples.by_voice.items() if xs}
        if not per_voice:  # nothing was answered: the figure is a miss, not a broken suite
            per_voice = {"none": math.inf}
        target = Target("<=", target_p50) if q == 50 else None
        p = percentile(samples.all(), q) if samples.all() else math.inf
        result.append(Figure(f"{prefix}_p{q}", p,
                             min(per_voice.values()), max(per_voice.values()), target,
                             len(per_voice), {"samples": len(samples.all()),
                                              "answered_ms": sorted(round(x) for x in samples.all()
                                                                    if not math.isinf(x)),
                                              "per_voice": per_voice,
                                              "problems": samples.problems}))
    return result
