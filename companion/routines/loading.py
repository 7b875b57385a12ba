"""Reading routine files: load_routine_file(path) → routine_from_yaml(stream) → routine_from_dict.

Every mistake is a ConfigError at the file, line and column of the offending value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from enum import Enum
from pathlib import Path
from typing import IO, Any

from companion import yamlfile as yf
from companion.routines import rules
from companion.routines.model import (
    Ambient,
    Ask,
    BreathCue,
    Breathe,
    Chime,
    Include,
    Pause,
    Quiet,
    Repeat,
    Routine,
    Say,
    Step,
)
from companion.routines.rules import (
    ALIAS_PATTERN,
    NAME_PATTERN,
    ROUTINE_RULE,
    STEP_KINDS,
    STEP_RULES,
    TOP_KEYS,
)

_SIBLINGS: dict[str, tuple[str, ...]] = {kind: tuple(rule.siblings)
                                         for kind, rule in STEP_RULES.items() if rule.siblings}
"""Keys allowed beside a step's own key (``yes:`` beside ``ask:``)."""


def _fields(kind: str) -> rules.Fields:
    """The mapping rule of a step kind whose value is a mapping (breathe, repeat)."""
    rule = STEP_RULES[kind].value
    assert isinstance(rule, rules.Fields)
    return rule


def routine_from_dict(data: Mapping[str, Any] | yf.Item, path: Path | None = None,
                      voice_names: Collection[str] | None = None) -> Routine:
    """Build a Routine from parsed data; ``voice_names`` (when given) are the known voices."""
    src = yf.Source(Path(path) if path is not None else None)
    top = yf.mapping(src, yf.from_plain(data), "a routine file", TOP_KEYS,
                     required=ROUTINE_RULE.required)
    name = _name(src, top["name"], "name")
    title = yf.text(src, top["title"], "title") if "title" in top else _title_from(name)
    aliases = tuple(_alias(src, a) for a in yf.seq(src, top["aliases"], "aliases")) \
        if "aliases" in top else ()
    description = yf.text(src, top["description"], "description") \
        if "description" in top else ""
    voice = _voice(src, top["voice"], voice_names) if "voice" in top else None
    ambient = _enum(src, top["ambient"], "ambient", Ambient) if "ambient" in top \
        else Ambient.NONE
    steps = _steps(src, top["steps"], "steps", non_empty=_non_empty(ROUTINE_RULE, "steps"))
    return Routine(name=name, title=title, steps=steps, aliases=aliases,
                   description=description, voice=voice, ambient=ambient, source=src.path)

def routine_from_yaml(stream: IO[str] | IO[bytes] | str | bytes, path: Path | None = None,
                      voice_names: Collection[str] | None = None) -> Routine:
    """Parse one routine from YAML text or a stream (e.g. ``io.StringIO``)."""
    item = yf.read_yaml(stream, Path(path) if path is not None else None)
    return routine_from_dict(item, path, voice_names)

def load_routine_file(path: Path, voice_names: Collection[str] | None = None) -> Routine:
    """Load and validate one routine file."""
    path = Path(path)
    return routine_from_yaml(yf.read_bytes(path), path, voice_names)

# --- field checkers -----------------------------------------------------------------------

def _name(src: yf.Source, item: yf.Item, what: str) -> str:
    value = yf.text(src, item, what)
    if not NAME_PATTERN.match(value):
        raise src.error(item, f"{what} '{value}' must be lowercase letters, digits and dashes, "
                              "like wind-down")
    return value

def _title_from(name: str) -> str:
    return name.replace("-", " ").capitalize()

def _alias(src: yf.Source, item: yf.Item) -> str:
    value = " ".join(yf.text(src, item, "an alias").lower().split())
    if not ALIAS_PATTERN.match(value):
        raise src.error(item, f"alias '{value}' must be plain spoken words (letters and spaces, "
                              "no digits or punctuation), like wind down")
    return value

def _voice(src: yf.Source, item: yf.Item, voice_names: Collection[str] | None) -> str:
    value = _name(src, item, "voice")
    if voice_names is not None and value not in voice_names:
        known = ", ".join(sorted(voice_names)) or "none"
        raise src.error(item, f"no voice named '{value}'{yf.suggest(value, voice_names)}; "
                              f"known voices: {known}")
    return value

def _enum(src: yf.Source, item: yf.Item, what: str, enum: type[Enum]) -> Any:
    value = yf.text(src, item, what)
    options = [str(m.value) for m in enum]  # type: ignore[attr-defined]
    if value not in options:
        raise src.error(item, f"{what} '{value}' is not one of {', '.join(options)}"
                              f"{yf.suggest(value, options)}")
    return enum(value)

def _steps(src: yf.Source, item: yf.Item, what: str, *, non_empty: bool = True
           ) -> tuple[Step, ...]:
    return tuple(_step(src, s) for s in yf.seq(src, item, what, non_empty=non_empty))

def _non_empty(rule: rules.Fields | rules.StepRule, key: str) -> bool:
    fields = rule.siblings if isinstance(rule, rules.StepRule) else rule.fields
    steps = fields[key]
    assert isinstance(steps, rules.Steps)
    return steps.non_empty


def _step(src: yf.Source, item: yf.Item) -> Step:
    if not isinstance(item.value, dict) or not item.value:
        raise src.error(item, "a step must be a mapping like 'say: Hello.' or 'pause: 5s', "
                              f"not {yf.type_name(item)}")
    fields: dict[str, yf.Item] = item.value
    kinds = [k for k in fields if k in STEP_KINDS]
    if len(kinds) > 1:
        raise src.key_error(item, kinds[1], f"one step has two kinds ({kinds[0]} and "
                                            f"{kinds[1]}): start a new '- ' item for each")
    if not kinds:
        key = next(iter(fields))
        if any(key in sib for sib in _SIBLINGS.values()):
            owner = next(k for k, sib in _SIBLINGS.items() if key in sib)
            raise src.key_error(item, key, f"'{key}:' belongs to an '{owner}:' step; "
                                           f"add the '{owner}:' line above it")
        raise src.key_error(item, key, f"unknown step kind '{key}'{yf.suggest(key, STEP_KINDS)};"
                                       f" step kinds are {', '.join(STEP_KINDS)}")
    kind = kinds[0]
    allowed = (kind, *_SIBLINGS.get(kind, ()))
    yf.mapping(src, item, f"a '{kind}' step", allowed)
    return _BUILDERS[kind](src, fields[kind], fields)

def _say(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Say:
    if isinstance(item.value, dict):
        inner = yf.mapping(src, item, "'say'", ("any",), required=("any",))
        pool = yf.seq(src, inner["any"], "'any'", non_empty=True)
        return Say(tuple(yf.text(src, t, "a sentence") for t in pool), pick_any=True)
    return Say((yf.text(src, item, "'say'"),))

def _pause(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Pause:
    return Pause(yf.duration(src, item, "'pause'"))

def _breathe(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Breathe:
    if item.value is None:
        return Breathe()
    rule = _fields("breathe")
    spec = yf.mapping(src, item, "'breathe'", tuple(rule.fields))
    default = Breathe()

    def phase(key: str, fallback: float) -> float:
        if key not in spec:
            return fallback
        limit = rule.fields[key]
        assert isinstance(limit, rules.Duration)
        seconds = yf.duration(src, spec[key], f"'{key}'", allow_zero=limit.allow_zero)
        if seconds > limit.maximum:
            raise src.error(spec[key], f"'{key}' of {seconds:g} s is too long for one breath: "
                                       f"keep each phase at {limit.maximum:g} s or less")
        return seconds

    count = rule.fields["cycles"]
    assert isinstance(count, rules.Count)
    cycles = int(yf.number(src, spec["cycles"], "'cycles'", count.minimum, count.maximum,
                           integer=True)) if "cycles" in spec else default.cycles
    cue = _enum(src, spec["cue"], "'cue'", BreathCue) if "cue" in spec else default.cue
    return Breathe(inhale=phase("in", default.inhale), hold=phase("hold", default.hold),
                   exhale=phase("out", default.exhale),
                   hold_out=phase("hold_out", default.hold_out), cycles=cycles, cue=cue)

def _ask(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Ask:
    question = yf.text(src, item, "'ask'")

    def branch(key: str) -> tuple[Step, ...]:
        return _steps(src, fields[key], f"'{key}'",
                      non_empty=_non_empty(STEP_RULES["ask"], key)) if key in fields else ()

    timeout = yf.duration(src, fields["timeout"], "'timeout'") if "timeout" in fields \
        else Ask.timeout
    return Ask(question, yes=branch("yes"), no=branch("no"), silence=branch("silence"),
               timeout=timeout)

def _quiet(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Quiet:
    seconds = yf.duration(src, item, "'quiet'")
    if "check_in" not in fields:
        return Quiet(seconds)
    check_in = STEP_RULES["quiet"].siblings["check_in"]
    assert isinstance(check_in, rules.Fields)
    spec = yf.mapping(src, fields["check_in"], "'check_in'", tuple(check_in.fields),
                      required=check_in.required)
    every = yf.duration(src, spec["every"], "'every'")
    say = spec["say"]
    items = yf.seq(src, say, "'say'", non_empty=True) if isinstance(say.value, list) else [say]
    phrases = tuple(yf.text(src, p, "a check-in sentence") for p in items)
    return Quiet(seconds, check_in_every=every, check_in_phrases=phrases)

def _chime(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Chime:
    if item.value is None:
        return Chime()
    kind = yf.text(src, item, "'chime'")
    kinds = STEP_RULES["chime"].value
    assert isinstance(kinds, rules.Choice)
    if kind not in kinds.options:
        raise src.error(item, f"chime '{kind}' is not one of {', '.join(kinds.options)}"
                              f"{yf.suggest(kind, kinds.options)}")
    return Chime(kind)

def _repeat(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Repeat:
    rule = _fields("repeat")
    spec = yf.mapping(src, item, "'repeat'", tuple(rule.fields), required=rule.required)
    if sum(key in spec for key in rule.exactly_one) != 1:
        raise src.error(item, "'repeat' needs exactly one of 'times:' (a count) or 'for:' "
                              "(a duration)")
    steps = _steps(src, spec["steps"], "'steps'", non_empty=_non_empty(rule, "steps"))
    if "times" in spec:
        count = rule.fields["times"]
        assert isinstance(count, rules.Count)
        times = int(yf.number(src, spec["times"], "'times'", count.minimum, count.maximum,
                              integer=True))
        return Repeat(steps, times=times)
    return Repeat(steps, seconds=yf.duration(src, spec["for"], "'for'"))

def _include(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Include:
    return Include(_name(src, item, "'routine'"), line=item.line, column=item.column)

_BUILDERS: dict[str, Callable[[yf.Source, yf.Item, dict[str, yf.Item]], Step]] = {
    "say": _say, "pause": _pause, "breathe": _breathe, "ask": _ask, "quiet": _quiet,
    "chime": _chime, "repeat": _repeat, "routine": _include,
}
