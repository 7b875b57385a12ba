"""Figures, their targets, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """A bound a figure should respect, e.g. ``Target("<=", 300)``."""

    op: str
    """``"<="`` or ``">="``."""
    bound: float
    """The value on the other side."""

    def met(self, value: float) -> bool:
        """True when ``value`` is on the right side of the bound (NaN never is)."""
        if math.isnan(value):
            return False
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"


@dataclass(frozen=True)
class Figure:
    """One named result: its value and the spread of the runs behind it.

    Timing figures: ``value`` is the median of the runs, ``low``/``high`` their min/max.
    Latency percentiles pool every session into ``value``; ``low``/``high`` are the
    smallest and largest per-voice percentile. Rates and counts (accuracy, recall, false
    commands) pool every clip into ``value``; ``low``/``high`` are the worst and best group
    (voice, or source of speech).
    """

    name: str
    """Key in the JSON file and first column of the table."""
    value: float
    """The figure (inf when an event never happened, e.g. a command never answered)."""
    low: float
    """Smallest run or group."""
    high: float
    """Largest run or group."""
    target: Target | None
    """What it should be (None: reported for information, no target)."""
    runs: int
    """How many runs or groups."""
    notes: dict[str, object] = field(default_factory=dict)
    """Anything that explains the number (sample counts, misses, per-group values)."""

    @property
    def ok(self) -> bool:
        """Whether the target is met (always, when there is none)."""
        return self.target is None or self.target.met(self.value)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (works with inf; NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def timing(name: str, runs: list[float], target: Target | None, **notes: object) -> Figure:
    """A timing figure: median of the runs, with their min and max."""
    if not runs:
        raise ValueError(f"{name}: no runs")
    return Figure(name, statistics.median(runs), min(runs), max(runs), target, len(runs),
                  dict(notes))


def pooled(name: str, value: float, groups: dict[str, float], target: Target,
           **notes: object) -> Figure:
    """A rate or count over all clips, with the worst and best group beside it."""
    if not groups:
        raise ValueError(f"{name}: no groups")
    return Figure(name, value, min(groups.values()), max(groups.values()), target,
                  len(groups), {"groups": groups, **notes})


def _fmt(x: float) -> str:
    if math.isinf(x) or math.isnan(x):
        return str(x)
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:.0f}"


def table(figures: list[Figure]) -> str:
    """The figures as an aligned text table: figure | min | median | max | target | ok."""
    rows = [("figure", "min", "median", "max", "target", "ok")]
    rows += [(f.name, _fmt(f.low), _fmt(f.value), _fmt(f.high),
              "-" if f.target is None else str(f.target),
              "-" if f.target is None else "pass" if f.ok else "MISS") for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _json_number(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x


def _clean(x: object) -> object:
    """JSON-safe copy: inf/NaN become null, tuples become lists."""
    if isinstance(x, float):
        return _json_number(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def write_json(figures: list[Figure], path: Path, meta: dict[str, object]) -> None:
    """Every figure under its name: value (the median), min, max, target, ok, notes."""
    data: dict[str, object] = {
        f.name: {"value": _json_number(f.value), "min": _json_number(f.low),
                 "max": _json_number(f.high), "runs": f.runs,
                 "target": None if f.target is None else str(f.target),
                 "ok": f.ok, "notes": _clean(f.notes)}
        for f in figures}
    data["_meta"] = _clean(meta)
    path.write_text(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")
