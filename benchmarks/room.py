"""The live room: the companion's own voice and a person's on one PulseAudio null-sink loop.

Each run starts `companion listen` on the default devices (the null sink, whose monitor is
the microphone: its voice comes back at 0 dB, as loud as a person's), says "play
aftercare" into the sink (as a :class:`~tests.live_room.Person`, whose stream is open all
along), waits until the companion is some way into one of its first sentences, and says
"stop" over it. Two figures:

- ``self_heard_per_min``: commands it heard while nobody spoke (its own voice or start
  tone taken for a command), per minute from the routine's start to the spoken stop.
- ``live_stop_recall``: share of runs in which that "stop", said over its voice, was heard
  as a stop (what was heard instead is in the figure's ``runs``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import env, live
from benchmarks.report import Figure, Target, pooled
from tests.live_room import Person, events_of, wait_for, write_command

SENTENCE_AND_DELAY = ((1, 0.8), (2, 1.2), (3, 1.0), (1, 1.6))
"""Where the stop goes in run k: after the Nth ``say_start`` of the routine, this many
seconds in (aftercare's opening sentences last 2.5 s and more, so it lands mid-sentence)."""


@dataclass
class RoomRun:
    """What one live run heard."""

    heard: list[tuple[float, str]]
    """(t, intent) of every ``heard`` event."""
    self_heard: list[str]
    """Commands heard before the stop was said, when nobody spoke."""
    stop_heard: bool
    """Whether the spoken stop was heard."""
    seconds: float
    """From the routine's start to the spoken stop."""


def room_run(child_env: dict[str, str], k: int, play: Path, stop: Path) -> RoomRun:
    """One live run (see the module docstring); the stop's place is chosen by ``k``;
    ``play`` and ``stop`` are the spoken commands' WAVs."""
    events = play.parent / f"events-{k}.jsonl"
    sentence, delay = SENTENCE_AND_DELAY[k % len(SENTENCE_AND_DELAY)]
    marks: dict[str, float] = {}

    def speak_to_it() -> None:
        person.say(play)
        wait_for(lambda ev: any(e["type"] == "routine_start" for e in ev), events, 10)
        marks["start"] = time.monotonic()
        wait_for(lambda ev: sum(e["type"] == "say_start" for e in ev) >= sentence, events, 30)
        time.sleep(delay)
        marks["stop"] = time.monotonic()
        marks["before"] = len(events_of(events))
        person.say(stop)
        wait_for(lambda ev: any(e["type"] == "routine_end" for e in ev), events, 5)

    with Person() as person:  # its stream open before the companion's (see Person)
        live.listen(child_env, "listen", "--events", str(events), listen_s=0.0,
                    during=speak_to_it)
    found = events_of(events)
    before = int(marks.get("before", len(found)))
    heard = [(e["t"], e["intent"]) for e in found if e["type"] == "heard"]
    early = [e["intent"] for e in found[:before] if e["type"] == "heard"]
    if early[:1] == ["play"]:
        early = early[1:]  # what was said: "play aftercare"
    late = [e["intent"] for e in found[before:] if e["type"] == "heard"]
    seconds = marks["stop"] - marks["start"] if "stop" in marks and "start" in marks else 0.0
    return RoomRun(heard, early, bool(late) and late[0] == "stop", seconds)


def room_figures(child_env: dict[str, str], runs: int) -> list[Figure]:
    """self_heard_per_min and live_stop_recall over ``runs`` live runs."""
    folder = env.workdir() / "room"
    folder.mkdir(exist_ok=True)
    play = write_command(folder / "play.wav", "play aftercare")
    stop = write_command(folder / "stop.wav", "stop")
    results = [room_run(child_env, k, play, stop) for k in range(runs)]
    minutes = sum(r.seconds for r in results) / 60
    groups = {f"run{k}": len(r.self_heard) / (r.seconds / 60) if r.seconds else float("inf")
              for k, r in enumerate(results)}
    per_min = sum(len(r.self_heard) for r in results) / minutes if minutes else float("inf")
    heard = [{"run": k, "heard": r.heard} for k, r in enumerate(results)]
    return [
        pooled("self_heard_per_min", per_min, groups, Target("<=", 0.0),
               minutes=round(minutes, 2), self_heard=[r.self_heard for r in results], runs=heard),
        pooled("live_stop_recall", sum(r.stop_heard for r in results) / len(results),
               {f"run{k}": float(r.stop_heard) for k, r in enumerate(results)},
               Target(">=", 1.0), runs=heard),
    ]
