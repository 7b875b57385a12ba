"""The hearing benchmark as figures of ``python -m benchmarks`` (targets of issue 15).

Test split only (the dev split is for tuning). The full suite runs every room of
:data:`benchmarks.hearing.CONDITIONS` with the default recogniser and the plain-JSGF peer;
``--quick`` runs the default recogniser in three rooms on a quarter of the commands. The
per-room table of :func:`benchmarks.hearing.report` is printed as well; each figure's notes
hold its rooms.
"""

from __future__ import annotations

from benchmarks import hearing, hearing_stops
from benchmarks.report import Figure, Target

_STEADY_12 = ("pink 12", "brown 12")
_TALK_12 = ("talk 12",)
_AT_6 = ("pink 6", "brown 6", "talk 6")
_REVERB = ("pink 20 reverb",)
_AT_12 = ("pink 12", "brown 12", "talk 12")


def _commands_right(name: str, rows: list[dict], rooms: tuple[str, ...],
                    target: float | None) -> Figure | None:
    mine = [r for r in rows if r["cond"] in rooms]
    if not mine:
        return None
    groups = {r["cond"]: r["right"] / r["n"] for r in mine}
    value = sum(r["right"] for r in mine) / sum(r["n"] for r in mine)
    return Figure(name, value, min(groups.values()), max(groups.values()),
                  None if target is None else Target(">=", target), len(groups),
                  {"rooms": groups})


def _stop_recall(name: str, rows: list[dict], rooms: tuple[str, ...],
                 target: float) -> Figure | None:
    mine = [r for r in rows if r["cond"] in rooms and r["n_stops"]]
    if not mine:
        return None
    groups = {r["cond"]: r["stops"] / r["n_stops"] for r in mine}
    value = sum(r["stops"] for r in mine) / sum(r["n_stops"] for r in mine)
    return Figure(name, value, min(groups.values()), max(groups.values()),
                  Target(">=", target), len(groups), {"rooms": groups})


def _talk_figures(talk: dict) -> list[Figure]:
    hours = talk["hours"]
    per_hour = {"false_commands": talk["false"] / hours,
                "false_stops": talk["false_stops"] / hours}
    notes = {"minutes_of_talk": round(hours * 60, 2), "room": "pink 12 dB"}
    interj = talk["interj"] / max(talk["n_interj"], 1)
    return [
        Figure("hearing_false_commands_per_hour", per_hour["false_commands"],
               per_hour["false_commands"], per_hour["false_commands"], Target("<=", 0.5), 1,
               {**notes, "count": talk["false"]}),
        Figure("hearing_false_stops_per_hour", per_hour["false_stops"],
               per_hour["false_stops"], per_hour["false_stops"], Target("<=", 1.0), 1,
               {**notes, "count": talk["false_stops"]}),
        Figure("hearing_interjections_taken", interj, interj, interj, Target("<=", 0.05), 1,
               {"taken": talk["interj"], "of": talk["n_interj"]}),
    ]


def _every_voice_stops(name: str, rows: list[dict], rooms: tuple[str, ...],
                      target: float) -> Figure | None:
    """Stop recall of :mod:`benchmarks.hearing_stops` (every stop phrase and safeword in
    every test voice, each followed by another command)."""
    fig = _stop_recall(name, rows, rooms, target)
    if fig is not None:
        fig.notes["false_stops_on_other_commands"] = {
            r["cond"]: f"{r['false']}/{r['n_other']}" for r in rows if r["cond"] in rooms}
    return fig


def stop_figures() -> list[Figure]:
    """Stop recall per room with every test voice saying every stop phrase and safeword
    (the full suite only: it adds two streams per room)."""
    jobs = [("default", "test", c) for c in hearing_stops.ROOMS if c.noise]
    with hearing.hearing_pool() as pool:
        rows = list(pool.map(hearing_stops.score_stops, *zip(*jobs, strict=True)))
    hearing_stops.report(rows, [])
    out = [_every_voice_stops("hearing_stop_recall_every_voice_12db", rows, _AT_12, 1.0),
           _every_voice_stops("hearing_stop_recall_every_voice_6db", rows, _AT_6, 0.97)]
    return [f for f in out if f is not None]


def figures(quick: bool) -> list[Figure]:
    """Commands right per kind of room, stop recall, false commands, interjections."""
    names = ["default"] if quick else ["default", "peer"]
    conds = hearing.QUICK_CONDITIONS if quick else hearing.CONDITIONS
    jobs = [(n, "test", c, quick) for c in conds for n in names]
    with hearing.hearing_pool() as pool:
        talk_f = [pool.submit(hearing.score_talk, n, "test", quick) for n in names]
        rows = list(pool.map(hearing.score, *zip(*jobs, strict=True)))
        talk = [f.result() for f in talk_f]
    hearing.report(rows, talk, names, ["test"])
    mine = [r for r in rows if r["name"] == "default"]
    out = [
        _commands_right("hearing_commands_clean", mine, ("clean",), 0.97),
        _commands_right("hearing_commands_steady_12db", mine, _STEADY_12, 0.92),
        _commands_right("hearing_commands_talk_12db", mine, _TALK_12, 0.92),
        _commands_right("hearing_commands_6db", mine, _AT_6, 0.80),
        _commands_right("hearing_commands_reverb", mine, _REVERB, 0.92),
        _commands_right("hearing_commands_bursts", mine, ("bursts 0",), None),
        _stop_recall("hearing_stop_recall_12db", mine, _AT_12, 1.0),
        _stop_recall("hearing_stop_recall_6db", mine, _AT_6, 0.97),
    ]
    figs = [f for f in out if f is not None]
    for f in figs:
        f.notes["peer"] = {r["cond"]: r["right"] / r["n"] for r in rows if r["name"] == "peer"}
    figs += _talk_figures(next(t for t in talk if t["name"] == "default"))
    return figs if quick else figs + stop_figures()
