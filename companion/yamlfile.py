"""Reading user YAML files safely, keeping the line and column of every value.

Routines, voices and settings all go through here:
``read_yaml`` (bytes or text → ``Item`` tree with marks) or ``from_plain`` (a Python dict
→ the same tree without marks), then small checkers (``mapping``, ``text``, ``number``,
``duration`` ...) that raise ``ConfigError`` at the offending value.

Safety: only SafeLoader-level constructors are used; anchors and aliases are refused
(no alias bombs); nesting deeper than ``MAX_DEPTH`` and files over ``MAX_BYTES`` are
refused; text must be UTF-8.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

from companion.errors import ConfigError
from companion.yaml_errors import plain_yaml_problem

MAX_BYTES = 256 * 1024
"""Largest user file we read."""
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings we accept."""

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
"""What a routine or voice name looks like: lowercase letters, digits and dashes."""

_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass(frozen=True)
class Item:
    """One value from a user file, with where it was written (1-based; None if unknown)."""

    value: Any
    """``dict[str, Item]``, ``list[Item]``, or a constructed scalar (str, int, float, bool,
    None)."""
    line: int | None = None
    """Line of the value."""
    column: int | None = None
    """Column of the value."""
    text: str | None = None
    """A scalar exactly as written (so ``say: no`` stays the word "no")."""
    key_marks: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)
    """For a mapping: where each key was written."""


@dataclass(frozen=True)
class Source:
    """The file being read; turns an ``Item`` into a ``ConfigError`` at its place."""

    path: Path | None = None
    """File name shown in messages (None for in-memory data)."""

    def error(self, item: Item | None, message: str) -> ConfigError:
        """A ConfigError at ``item``'s line and column."""
        if item is None:
            return ConfigError(message, self.path)
        return ConfigError(message, self.path, item.line, item.column)

    def key_error(self, item: Item, key: str, message: str) -> ConfigError:
        """A ConfigError at the place where ``key`` was written in mapping ``item``."""
        line, column = item.key_marks.get(key, (item.line, item.column))
        return ConfigError(message, self.path, line, column)


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise _refuse(event, "anchors and aliases (& and *) are not supported here: "
                                 "write the value out in full")
        nested = isinstance(event, CollectionStartEvent)
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _refuse(event, f"nested more than {MAX_DEPTH} levels deep: "
                                     "flatten this part")
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1


def _refuse(event: Any, problem: str) -> yaml.MarkedYAMLError:
    """A YAML error at ``event``'s start (turned into a ConfigError by ``read_yaml``)."""
    return yaml.MarkedYAMLError(problem=problem, problem_mark=event.start_mark)


def decode(data: bytes, path: Path | None) -> str:
    """UTF-8 text of ``data``, or a ConfigError at the first bad byte."""
    if len(data) > MAX_BYTES:
        raise ConfigError(f"file is larger than {MAX_BYTES // 1024} KiB: split it into "
                          "smaller files", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError("file is not UTF-8 text: save it as UTF-8", path, line,
                          column) from None


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path`` (never more than ``MAX_BYTES`` + 1 are read)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", path) from None
    except IsADirectoryError:
        raise ConfigError("this is a folder, not a file", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path) from None
    return data


def read_yaml(stream: IO[str] | IO[bytes] | str | bytes, path: Path | None = None, *,
              allow_empty: bool = False) -> Item:
    """Parse one YAML document into an ``Item`` tree with marks (ConfigError on any problem).

    An empty file (nothing but comments) is a ConfigError, or ``Item(None)`` with
    ``allow_empty``.
    """
    raw = stream if isinstance(stream, (str, bytes)) else stream.read(MAX_BYTES + 1)
    if isinstance(raw, bytes):
        text = decode(raw, path)
    else:
        if len(raw.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise ConfigError(f"file is larger than {MAX_BYTES // 1024} KiB: split it into "
                              "smaller files", path)
        text = raw
    try:
        loader = _GuardedLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character
        before = text[:exc.position]
        raise ConfigError(f"unexpected control character {exc.character!r}: remove it", path,
                          before.count("\n") + 1,
                          exc.position - (before.rfind("\n") + 1) + 1) from None
    try:
        node = loader.get_single_node()
        if node is None:
            if allow_empty:
                return Item(None, 1, 1)
            raise ConfigError("file is empty", path, 1, 1)
        return _to_item(node, loader, Source(path))
    except yaml.MarkedYAMLError as exc:
        message, mark = plain_yaml_problem(exc, text)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise ConfigError(message, path, line, column) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path) from None
    finally:
        loader.dispose()


def _to_item(node: yaml.Node, loader: yaml.SafeLoader, src: Source) -> Item:
    """Turn a composed node into an Item, constructing scalars with safe constructors."""
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if not isinstance(node, yaml.ScalarNode) and node.tag not in (_MAP_TAG, _SEQ_TAG):
        raise ConfigError(f"unsupported tag {node.tag}: remove it", src.path, line, column)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        values: dict[str, Item] = {}
        marks: dict[str, tuple[int | None, int | None]] = {}
        for key_node, value_node in node.value:
            key_line, key_col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("a key must be a plain word", src.path, key_line, key_col)
            key = key_node.value
            if key in values:
                raise ConfigError(f"key '{key}' appears twice: keep one", src.path,
                                  key_line, key_col)
            values[key] = _to_item(value_node, loader, src)
            marks[key] = (key_line, key_col)
        return Item(values, line, column, key_marks=marks)
    if isinstance(node, yaml.SequenceNode):
        return Item([_to_item(child, loader, src) for child in node.value], line, column)
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError:
        raise ConfigError(f"unsupported tag {node.tag}: remove it", src.path, line,
                          column) from None
    except (ValueError, OverflowError):  # Python refuses ints of over 4300 digits
        raise ConfigError("this number is too long: use a shorter one", src.path, line,
                          column) from None
    if node.tag not in (_STR_TAG, _NULL_TAG, _BOOL_TAG, _INT_TAG, _FLOAT_TAG):
        raise ConfigError(f"unsupported value type {node.tag}: use plain text or a number",
                          src.path, line, column)
    return Item(value, line, column, text=node.value)


def from_plain(data: Any) -> Item:
    """Wrap plain Python data (dicts, lists, scalars) as an Item tree without marks."""
    if isinstance(data, Item):
        return data
    if isinstance(data, Mapping):
        return Item({str(k): from_plain(v) for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        return Item([from_plain(v) for v in data])
    if isinstance(data, Path):
        return Item(str(data), text=str(data))
    return Item(data, text=data if isinstance(data, str) else None)


def yaml_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files in ``directory`` (sorted; hidden ones skipped)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
                  and p.is_file())


# --- checkers ---------------------------------------------------------------------------

def suggest(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest option, or ''."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def type_name(item: Item) -> str:
    """A plain name for what the user wrote."""
    v = item.value
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "a number"
    return "text"


def mapping(src: Source, item: Item, what: str, allowed: Collection[str],
            required: Collection[str] = ()) -> dict[str, Item]:
    """``item`` as a mapping whose keys are all in ``allowed`` and include ``required``."""
    if not isinstance(item.value, dict):
        raise src.error(item, f"{what} must be a mapping of 'key: value' lines, "
                              f"not {type_name(item)}")
    fields: dict[str, Item] = item.value
    for key in fields:
        if key not in allowed:
            raise src.key_error(item, key, f"unknown key '{key}' in {what}{suggest(key, allowed)};"
                                           f" allowed keys: {', '.join(allowed)}")
    for key in required:
        if key not in fields:
            raise src.error(item, f"{what} needs a '{key}:' key")
    return fields


def seq(src: Source, item: Item, what: str, *, non_empty: bool = False) -> list[Item]:
    """``item`` as a list (a single value is not accepted)."""
    if not isinstance(item.value, list):
        raise src.error(item, f"{what} must be a list (lines starting with '- ', or [a, b]), "
                              f"not {type_name(item)}")
    if non_empty and not item.value:
        raise src.error(item, f"{what} is empty: add at least one")
    return list(item.value)


def text(src: Source, item: Item, what: str) -> str:
    """A non-empty piece of text; plain scalars such as ``no`` or ``42`` stay as written."""
    if isinstance(item.value, (dict, list)):
        raise src.error(item, f"{what} must be text, not {type_name(item)}")
    written = item.text if item.text is not None else item.value
    if item.value is None or not isinstance(written, str) or not written.strip():
        raise src.error(item, f"{what} is empty: write some text")
    return written.strip()


def boolean(src: Source, item: Item, what: str) -> bool:
    """true or false."""
    if not isinstance(item.value, bool):
        raise src.error(item, f"{what} must be true or false, not {type_name(item)}")
    return item.value


def number(src: Source, item: Item, what: str, lo: float | None = None,
           hi: float | None = None, *, integer: bool = False) -> float:
    """A finite number within [lo, hi]."""
    v = item.value
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok:
        kind = "a whole number" if integer else "a number"
        raise src.error(item, f"{what} must be {kind}, not {type_name(item)}")
    if not math.isfinite(_as_float(v)):
        raise src.error(item, f"{what} must be a finite number")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise src.error(item, f"{what} must be between {_fmt(lo)} and {_fmt(hi)}, not {_fmt(v)}")
    return v


_DURATION = re.compile(
    r"^\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m)?"
    r"\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s?)?\s*$")
MAX_DURATION = 24 * 3600.0
"""Longest duration any file may ask for (seconds)."""
DURATION_PATTERN = _DURATION
"""What a duration written as text looks like (at least one of the h, m, s parts present)."""


def _as_float(v: float) -> float:
    """``float(v)``, infinite for an int too large for a float (not an OverflowError)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def parse_duration(value: str) -> float | None:
    """Seconds in "30s", "2m", "1m30s", "1.5m", "1h", "45"; None if not a duration."""
    match = _DURATION.match(value)
    if not match or not any(match.group(g) for g in "hms"):
        return None
    h, m, s = (float(match.group(g) or 0) for g in "hms")
    return h * 3600 + m * 60 + s


def duration(src: Source, item: Item, what: str, *, allow_zero: bool = False) -> float:
    """Seconds from a number or a string like "30s", "2m", "1m30s"; must be > 0 (or >= 0)."""
    v = item.value
    if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
        raise src.error(item, f"{what} must be a duration like 30s, 2m or 1m30s, "
                              f"not {type_name(item)}")
    if isinstance(v, (int, float)):
        seconds = _as_float(v)
    else:
        parsed = parse_duration(str(v))
        if parsed is None:
            raise src.error(item, f"{what}: '{v}' is not a duration; write it like 30s, 2m, "
                                  "1m30s or a number of seconds")
        seconds = parsed
    if not math.isfinite(seconds) or seconds > MAX_DURATION:
        raise src.error(item, f"{what} is too long: keep it under 24 hours")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise src.error(item, f"{what} must be {bound}, not {_fmt(seconds)}")
    return seconds


def _fmt(v: float | None) -> str:
    """A number without a useless '.0'."""
    if v is None:
        return "any"
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
