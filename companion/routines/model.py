"""Routine and Step models, loading and validation (errors carry file:line:col)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Any, Union

from companion import yamlfile as yf
from companion.errors import ConfigError, UnknownNameError

log = logging.getLogger(__name__)


class BreathCue(str, Enum):
    """How a breathing phase is announced."""

    WORDS = "words"
    CHIME = "chime"
    SILENT = "silent"


class Ambient(str, Enum):
    """A very low background sound under the whole routine."""

    NONE = "none"
    BROWN_NOISE = "brown-noise"
    PINK_NOISE = "pink-noise"


@dataclass(frozen=True)
class Say:
    """Speak one sentence; with ``pick_any`` pick one of ``texts`` (never the last pick twice)."""

    texts: tuple[str, ...]
    """The sentence, or the sentences to pick from."""
    pick_any: bool = False
    """True for ``say: {any: [...]}``."""


@dataclass(frozen=True)
class Pause:
    """Silence for a fixed time (not stretched by ``--minutes``)."""

    seconds: float
    """Length of the silence."""


@dataclass(frozen=True)
class Breathe:
    """Paced breathing: in, hold, out, hold, repeated ``cycles`` times."""

    inhale: float = 4.0
    """Seconds breathing in."""
    hold: float = 0.0
    """Seconds holding after breathing in."""
    exhale: float = 6.0
    """Seconds breathing out."""
    hold_out: float = 0.0
    """Seconds resting after breathing out."""
    cycles: int = 4
    """How many breaths."""
    cue: BreathCue = BreathCue.WORDS
    """How each phase is announced."""


@dataclass(frozen=True)
class Ask:
    """A yes/no question; the answer (or silence) chooses the branch."""

    question: str
    """What is asked."""
    yes: tuple["Step", ...] = ()
    """Steps after a yes."""
    no: tuple["Step", ...] = ()
    """Steps after a no."""
    silence: tuple["Step", ...] = ()
    """Steps when nothing is answered before ``timeout``."""
    timeout: float = 8.0
    """Seconds to wait for an answer."""


@dataclass(frozen=True)
class Quiet:
    """A stretch of quiet presence; stretched by ``--minutes``."""

    seconds: float
    """Length of the quiet stretch."""
    check_in_every: float | None = None
    """Seconds between soft check-ins, or None for none."""
    check_in_phrases: tuple[str, ...] = ()
    """What a check-in says (one picked each time)."""


@dataclass(frozen=True)
class Chime:
    """A soft generated chime."""

    kind: str = "soft"
    """Chime sound: soft, bell or low."""


@dataclass(frozen=True)
class Repeat:
    """Repeat some steps a number of times or for a duration."""

    steps: tuple["Step", ...]
    """The steps to repeat."""
    times: int | None = None
    """How many times (or None)."""
    seconds: float | None = None
    """For how long (or None); the current round always finishes."""


@dataclass(frozen=True)
class Include:
    """Run another routine's steps here."""

    routine: str
    """Name of the included routine."""
    line: int | None = field(default=None, compare=False)
    """Line of the ``routine:`` value in its file (for include errors)."""
    column: int | None = field(default=None, compare=False)
    """Column of the ``routine:`` value."""


Step = Union[Say, Pause, Breathe, Ask, Quiet, Chime, Repeat, Include]

CHIME_KINDS = ("soft", "bell", "low")


@dataclass(frozen=True)
class Routine:
    """A named sequence of steps, as loaded from one YAML file."""

    name: str
    """Identifier, e.g. ``wind-down``."""
    title: str
    """Human title, e.g. ``Wind down``."""
    steps: tuple[Step, ...]
    """What the routine does, in order."""
    aliases: tuple[str, ...] = ()
    """Other ways a person says it."""
    description: str = ""
    """One sentence for ``routines list``."""
    voice: str | None = None
    """Voice profile name, or None for the configured default."""
    ambient: Ambient = Ambient.NONE
    """Background sound."""
    source: Path | None = field(default=None, compare=False)
    """File it came from."""


# --- loading ------------------------------------------------------------------------------
# Layers: load_routine_file(path) → routine_from_yaml(stream) → routine_from_dict(data).
# Every mistake is a ConfigError at the file, line and column of the offending value.

NAME_PATTERN = yf.NAME_PATTERN
ALIAS_PATTERN = re.compile(r"^[a-z]+(?:'[a-z]+)?(?: [a-z]+(?:'[a-z]+)?)*$")
"""Aliases are spoken words: lowercase letters, single spaces, an apostrophe inside a word."""
STEP_KINDS = ("say", "pause", "breathe", "ask", "quiet", "chime", "repeat", "routine")
"""The key that names each kind of step."""
TOP_KEYS = ("name", "title", "aliases", "description", "voice", "ambient", "steps")
_SIBLINGS: dict[str, tuple[str, ...]] = {"ask": ("yes", "no", "silence", "timeout"),
                                         "quiet": ("check_in",)}
_BREATHE_KEYS = ("in", "hold", "out", "hold_out", "cycles", "cue")
MAX_BREATH_PHASE = 20.0
"""Longest single breathing phase (seconds) a file may ask for."""


def routine_from_dict(data: Mapping[str, Any] | yf.Item, path: Path | None = None,
                      voice_names: Collection[str] | None = None) -> Routine:
    """Build a Routine from parsed data; ``voice_names`` (when given) are the known voices."""
    src = yf.Source(Path(path) if path is not None else None)
    top = yf.mapping(src, yf.from_plain(data), "a routine file", TOP_KEYS,
                     required=("name", "steps"))
    name = _name(src, top["name"], "name")
    title = yf.text(src, top["title"], "title") if "title" in top else _title_from(name)
    aliases = tuple(_alias(src, a) for a in yf.seq(src, top["aliases"], "aliases")) \
        if "aliases" in top else ()
    description = yf.text(src, top["description"], "description") \
        if "description" in top else ""
    voice = _voice(src, top["voice"], voice_names) if "voice" in top else None
    ambient = _enum(src, top["ambient"], "ambient", Ambient) if "ambient" in top \
        else Ambient.NONE
    steps = _steps(src, top["steps"], "steps")
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
    spec = yf.mapping(src, item, "'breathe'", _BREATHE_KEYS)
    default = Breathe()

    def phase(key: str, fallback: float, allow_zero: bool) -> float:
        if key not in spec:
            return fallback
        seconds = yf.duration(src, spec[key], f"'{key}'", allow_zero=allow_zero)
        if seconds > MAX_BREATH_PHASE:
            raise src.error(spec[key], f"'{key}' of {seconds:g} s is too long for one breath: "
                                       f"keep each phase at {MAX_BREATH_PHASE:g} s or less")
        return seconds

    cycles = int(yf.number(src, spec["cycles"], "'cycles'", 1, 100, integer=True)) \
        if "cycles" in spec else default.cycles
    cue = _enum(src, spec["cue"], "'cue'", BreathCue) if "cue" in spec else default.cue
    return Breathe(inhale=phase("in", default.inhale, False),
                   hold=phase("hold", default.hold, True),
                   exhale=phase("out", default.exhale, False),
                   hold_out=phase("hold_out", default.hold_out, True),
                   cycles=cycles, cue=cue)


def _ask(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Ask:
    question = yf.text(src, item, "'ask'")

    def branch(key: str) -> tuple[Step, ...]:
        return _steps(src, fields[key], f"'{key}'", non_empty=False) if key in fields else ()

    timeout = yf.duration(src, fields["timeout"], "'timeout'") if "timeout" in fields \
        else Ask.timeout
    return Ask(question, yes=branch("yes"), no=branch("no"), silence=branch("silence"),
               timeout=timeout)


def _quiet(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Quiet:
    seconds = yf.duration(src, item, "'quiet'")
    if "check_in" not in fields:
        return Quiet(seconds)
    spec = yf.mapping(src, fields["check_in"], "'check_in'", ("every", "say"),
                      required=("every", "say"))
    every = yf.duration(src, spec["every"], "'every'")
    say = spec["say"]
    items = yf.seq(src, say, "'say'", non_empty=True) if isinstance(say.value, list) else [say]
    phrases = tuple(yf.text(src, p, "a check-in sentence") for p in items)
    return Quiet(seconds, check_in_every=every, check_in_phrases=phrases)


def _chime(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Chime:
    if item.value is None:
        return Chime()
    kind = yf.text(src, item, "'chime'")
    if kind not in CHIME_KINDS:
        raise src.error(item, f"chime '{kind}' is not one of {', '.join(CHIME_KINDS)}"
                              f"{yf.suggest(kind, CHIME_KINDS)}")
    return Chime(kind)


def _repeat(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Repeat:
    spec = yf.mapping(src, item, "'repeat'", ("times", "for", "steps"), required=("steps",))
    if ("times" in spec) == ("for" in spec):
        raise src.error(item, "'repeat' needs exactly one of 'times:' (a count) or 'for:' "
                              "(a duration)")
    steps = _steps(src, spec["steps"], "'steps'")
    if "times" in spec:
        times = int(yf.number(src, spec["times"], "'times'", 1, 1000, integer=True))
        return Repeat(steps, times=times)
    return Repeat(steps, seconds=yf.duration(src, spec["for"], "'for'"))


def _include(src: yf.Source, item: yf.Item, fields: dict[str, yf.Item]) -> Include:
    return Include(_name(src, item, "'routine'"), line=item.line, column=item.column)


_BUILDERS: dict[str, Callable[[yf.Source, yf.Item, dict[str, yf.Item]], Step]] = {
    "say": _say, "pause": _pause, "breathe": _breathe, "ask": _ask, "quiet": _quiet,
    "chime": _chime, "repeat": _repeat, "routine": _include,
}


# --- walking steps ------------------------------------------------------------------------

def child_steps(step: Step) -> tuple[Step, ...]:
    """The steps nested directly inside ``step`` (ask branches, repeat body)."""
    if isinstance(step, Ask):
        return step.yes + step.no + step.silence
    if isinstance(step, Repeat):
        return step.steps
    return ()


def walk(steps: Sequence[Step]) -> Iterator[Step]:
    """Every step, depth first, including nested ones (includes are not followed)."""
    for step in steps:
        yield step
        yield from walk(child_steps(step))


def includes(routine: Routine) -> list[Include]:
    """Every include step in ``routine``, nested ones too."""
    return [s for s in walk(routine.steps) if isinstance(s, Include)]


def _normal(spoken: str) -> str:
    return " ".join(spoken.lower().replace("-", " ").replace("_", " ").split())


# --- the library --------------------------------------------------------------------------

@dataclass(frozen=True)
class RoutineLibrary:
    """All loaded routines by name, and the mistakes found while loading them."""

    by_name: Mapping[str, Routine]
    """Routines that loaded and whose includes resolve."""
    errors: list[ConfigError] = field(default_factory=list)
    """One entry per broken file or broken include; the rest still load."""

    @classmethod
    def load(cls, dirs: Sequence[Path], voice_names: Collection[str] | None = None
             ) -> RoutineLibrary:
        """Load every routine in ``dirs`` (shipped first; a later dir overrides by name)."""
        found: dict[str, Routine] = {}
        errors: list[ConfigError] = []
        for directory in dirs:
            seen_here: dict[str, Path] = {}
            for path in yf.yaml_files(Path(directory).expanduser()):
                try:
                    routine = load_routine_file(path, voice_names)
                except ConfigError as exc:
                    log.debug("%s", exc)  # returned in errors; the caller reports it
                    errors.append(exc)
                    continue
                if routine.name in seen_here:
                    errors.append(ConfigError(
                        f"routine name '{routine.name}' is also used by "
                        f"{seen_here[routine.name].name}: give one of them another name", path))
                    continue
                seen_here[routine.name] = path
                if routine.name in found:
                    log.info("%s overrides routine %s", path, routine.name)
                found[routine.name] = routine
        errors.extend(_drop_broken_includes(found))
        errors.extend(_alias_clashes(found))
        return cls(dict(sorted(found.items())), errors)

    def names(self) -> list[str]:
        """Routine names, sorted."""
        return sorted(self.by_name)

    def routines(self) -> list[Routine]:
        """Routines, sorted by name."""
        return [self.by_name[n] for n in self.names()]

    def get(self, name: str) -> Routine:
        """The routine called ``name`` (or with that title or alias); UnknownNameError if none."""
        if name in self.by_name:
            return self.by_name[name]
        wanted = _normal(name)
        for routine in self.routines():
            spoken = {_normal(routine.name), _normal(routine.title), *routine.aliases}
            if wanted in spoken:
                return routine
        hint = yf.suggest(name, self.by_name)
        raise UnknownNameError(f"no routine named '{name}'{hint}; "
                               "`companion routines list` shows them")

    def lookup(self, name: str) -> Routine:
        """The routine an include step names (exact name only)."""
        if name in self.by_name:
            return self.by_name[name]
        raise UnknownNameError(f"no routine named '{name}'{yf.suggest(name, self.by_name)}; "
                               "`companion routines list` shows them")

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __len__(self) -> int:
        return len(self.by_name)


def _include_error(routine: Routine, step: Include, message: str) -> ConfigError:
    return ConfigError(message, routine.source, step.line, step.column)


def _find_cycle(start: str, found: Mapping[str, Routine]) -> list[str] | None:
    """A chain of names start → … → start through includes, or None."""
    stack: list[list[str]] = [[start]]
    visited: set[str] = set()
    while stack:
        chain = stack.pop()
        current = found.get(chain[-1])
        for inc in includes(current) if current else []:
            if inc.routine == start:
                return chain + [start]
            if inc.routine not in visited:
                visited.add(inc.routine)
                stack.append(chain + [inc.routine])
    return None


def _drop_broken_includes(found: dict[str, Routine]) -> list[ConfigError]:
    """Remove routines whose includes are unknown, circular or broken; return the errors."""
    errors: list[ConfigError] = []
    removed: set[str] = set()
    for name in sorted(found):
        cycle = _find_cycle(name, found)
        if cycle:
            step = next(s for s in includes(found[name]) if s.routine == cycle[1])
            errors.append(_include_error(found[name], step, "includes go round in a circle ("
                                         + " -> ".join(cycle) + "): remove one of them"))
            removed.add(name)
    for name in removed:
        del found[name]
    changed = True
    while changed:
        changed = False
        for name in sorted(found):
            bad = next((s for s in includes(found[name]) if s.routine not in found), None)
            if bad is None:
                continue
            if bad.routine in removed:
                message = (f"includes routine '{bad.routine}', which has a mistake: "
                           "fix that one first")
            else:
                message = (f"no routine named '{bad.routine}' to include"
                           f"{yf.suggest(bad.routine, found)}; "
                           "`companion routines list` shows them")
            errors.append(_include_error(found[name], bad, message))
            removed.add(name)
            del found[name]
            changed = True
    return errors


def _alias_clashes(found: Mapping[str, Routine]) -> list[ConfigError]:
    """An alias (or name) that two routines share makes a spoken request ambiguous."""
    owner: dict[str, str] = {}
    errors: list[ConfigError] = []
    for routine in sorted(found.values(), key=lambda r: r.name):
        for spoken in (_normal(routine.name), *routine.aliases):
            other = owner.setdefault(spoken, routine.name)
            if other != routine.name:
                errors.append(ConfigError(
                    f"alias '{spoken}' is also used by routine '{other}': saying it would "
                    "start that one; pick another alias", routine.source))
    return errors
