"""The settings file (``config.yaml`` in the user config dir) and the user's folders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import platformdirs

from companion import yamlfile as yf
from companion.errors import ConfigError

log = logging.getLogger(__name__)

APP = "quiet-companion"
ENGINES = ("auto", "pocketsphinx", "vosk")
COMMAND_WORDS = frozenset({"stop", "pause", "wait", "resume", "continue", "skip", "next",
                           "repeat", "slower", "faster", "softer", "louder", "yes", "no",
                           "help", "goodnight"})
"""Single spoken command words; a safeword or a routine alias must not be one of these."""


def user_data_dir() -> Path:
    """Where the user's own routines and voices live."""
    return Path(platformdirs.user_data_dir(APP))


def default_config_path() -> Path:
    """``config.yaml`` in the user config dir."""
    return Path(platformdirs.user_config_dir(APP)) / "config.yaml"


def _default_routines_dir() -> Path:
    return user_data_dir() / "routines"


def _default_voices_dir() -> Path:
    return user_data_dir() / "voices"


@dataclass(frozen=True)
class Settings:
    """What the user chose in ``config.yaml``; every field has a safe default."""

    voice: str | None = None
    """Voice profile name, or None for the default profile."""
    volume_cap_db: float = -6.0
    """Loudest output level in dBFS (0 or below)."""
    volume_db: float = 0.0
    """How loud the voice is, in dB from its own level (-30 to 0); softer and louder move
    from here, and it is always under ``volume_cap_db``."""
    output_device: str | None = None
    """Output device name (matched by name, never by index), or None for the default."""
    input_device: str | None = None
    """Input device name, or None for the default microphone."""
    user_routines_dir: Path = field(default_factory=_default_routines_dir)
    """The user's routines; they override shipped ones of the same name."""
    user_voices_dir: Path = field(default_factory=_default_voices_dir)
    """The user's voice profiles."""
    engine: str = "auto"
    """Recogniser: auto, pocketsphinx or vosk."""
    vosk_model: Path | None = None
    """Folder of a Vosk model, or None."""
    safewords: tuple[str, ...] = ("red",)
    """Extra words that stop everything at once, like "stop" does."""
    commands_file: Path | None = None
    """A user commands file (same shape as the shipped one), or None."""


_KEYS = ("voice", "volume_cap_db", "volume_db", "output_device", "input_device",
         "user_routines_dir", "user_voices_dir", "engine", "vosk_model", "safewords",
         "commands_file")


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (or the default file; a missing default file gives defaults)."""
    if path is None:
        path = default_config_path()
        if not path.exists():
            log.debug("no settings file at %s; using defaults", path)
            return Settings()
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError("settings file not found: check the path, or leave it out to use "
                          "the defaults", path)
    return settings_from_yaml(yf.read_bytes(path), path)


def settings_from_yaml(stream: IO[str] | IO[bytes] | str | bytes,
                       path: Path | None = None) -> Settings:
    """Settings from YAML text or a stream; an empty file gives defaults."""
    raw = stream if isinstance(stream, (str, bytes)) else stream.read()
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not any(line.strip() and not line.lstrip().startswith("#")
               for line in text.splitlines()):
        return Settings()
    return settings_from_dict(yf.read_yaml(raw, path), path)


def settings_from_dict(data: dict[str, Any] | yf.Item, path: Path | None = None) -> Settings:
    """Settings from parsed data (ConfigError at the offending value)."""
    src = yf.Source(Path(path) if path is not None else None)
    top = yf.mapping(src, yf.from_plain(data), "the settings file", _KEYS)
    base = Path(path).expanduser().resolve().parent if path is not None else Path.cwd()
    values: dict[str, Any] = {}
    for key in ("voice", "output_device", "input_device"):
        if key in top and top[key].value is not None:
            values[key] = yf.text(src, top[key], key)
    if "volume_cap_db" in top:
        values["volume_cap_db"] = float(yf.number(src, top["volume_cap_db"], "volume_cap_db",
                                                  -60, 0))
    if "volume_db" in top:
        values["volume_db"] = float(yf.number(src, top["volume_db"], "volume_db", -30, 0))
    for key in ("user_routines_dir", "user_voices_dir", "vosk_model", "commands_file"):
        if key in top and top[key].value is not None:
            values[key] = _path(src, top[key], key, base)
    if "engine" in top:
        engine = yf.text(src, top["engine"], "engine")
        if engine not in ENGINES:
            raise src.error(top["engine"], f"engine '{engine}' is not one of "
                                           f"{', '.join(ENGINES)}{yf.suggest(engine, ENGINES)}")
        values["engine"] = engine
    if "safewords" in top:
        values["safewords"] = _safewords(src, top["safewords"])
    return Settings(**values)


def _path(src: yf.Source, item: yf.Item, what: str, base: Path) -> Path:
    """A path; ``~`` expands, a relative path is relative to the settings file."""
    p = Path(yf.text(src, item, what)).expanduser()
    return p if p.is_absolute() else base / p


def _safewords(src: yf.Source, item: yf.Item) -> tuple[str, ...]:
    """Lowercase single words."""
    items = yf.seq(src, item, "safewords") if isinstance(item.value, list) else [item]
    words = []
    for word_item in items:
        word = yf.text(src, word_item, "a safeword").lower()
        if not word.replace("'", "").isalpha() or not word.isascii():
            raise src.error(word_item, f"safeword '{word}' must be one plain word "
                                       "(letters only), like red")
        if word in COMMAND_WORDS - {"stop"}:
            raise src.error(word_item, f"safeword '{word}' is already a spoken command: "
                                       "pick a word you would not say otherwise")
        words.append(word)
    return tuple(words)


def shipped_dir(kind: str) -> Path:
    """Folder of shipped ``routines`` or ``voices``: package data first, then the source tree."""
    if kind not in ("routines", "voices"):
        raise ValueError(f"kind must be 'routines' or 'voices', not {kind!r}")
    package = Path(__file__).resolve().parent
    for candidate in (package / "data" / kind, package.parent / kind):
        if candidate.is_dir():
            return candidate
    return package / "data" / kind
