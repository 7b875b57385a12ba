"""The routines found on disk: by name, title or alias; user folders override shipped ones."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from companion import yamlfile as yf
from companion.errors import ConfigError, UnknownNameError
from companion.routines.loading import load_routine_file
from companion.routines.model import Include, Routine, includes

log = logging.getLogger(__name__)


def _normal(spoken: str) -> str:
    return " ".join(spoken.lower().replace("-", " ").replace("_", " ").split())


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
        found, errors = _load_dirs(dirs, voice_names)
        errors.extend(_drop_broken_includes(found))
        errors.extend(_alias_clashes(found))
        return cls(dict(sorted(found.items())), errors)

    @classmethod
    def check_files(cls, dirs: Sequence[Path], paths: Sequence[Path],
                    voice_names: Collection[str] | None = None) -> list[ConfigError]:
        """Mistakes in the routine files ``paths``, includes resolved against ``dirs``.

        Each file is loaded as if it were in the user folder (over a routine of its name),
        so an include of a routine that does not exist, or a circle of includes, is found
        before the routine is played.
        """
        found, _ = _load_dirs(dirs, voice_names)
        errors: list[ConfigError] = []
        checked: set[Path] = set()
        for path in paths:
            try:
                routine = load_routine_file(path, voice_names)
            except ConfigError as exc:
                errors.append(exc)
                continue
            found[routine.name] = routine
            checked.add(Path(path).resolve())
        errors.extend(e for e in _drop_broken_includes(found)
                      if e.path is not None and e.path.resolve() in checked)
        return errors

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



def _load_dirs(dirs: Sequence[Path], voice_names: Collection[str] | None
               ) -> tuple[dict[str, Routine], list[ConfigError]]:
    """Every routine file that loads, by name (later dirs override), and the broken ones."""
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
    return found, errors


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
