"""Voice profiles: which engine and voice, how fast, how high, how loud."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from companion import yamlfile as yf
from companion.audio.sounds import db_to_gain
from companion.errors import ConfigError, UnknownNameError

log = logging.getLogger(__name__)

VOICE_KEYS = ("name", "description", "engine", "voice", "espeak_voice", "rate", "pitch", "volume",
              "volume_db", "loudness", "default")
VOLUME_DB_RANGE = (-30.0, 0.0)
"""``volume_db:`` in a voice file: its level in dB, the same range as the settings' one."""
ENGINE_NAMES = ("espeak", "hibari", "piper")
"""Speech engines a voice file may name (each a pyttsx3 driver in speech/drivers)."""
LOUDNESS_RANGE = (-40.0, -18.0)
"""Sensible speech loudness targets, LUFS (peaks sit at -6 dBFS: louder would need heavy
limiting)."""
RATE_RANGE = (80, 250)
"""Sensible words per minute."""
ESPEAK_ID = re.compile(r"^[A-Za-z0-9_/-]+(\+[A-Za-z0-9_-]+)?$")
"""An espeak-ng voice id with an optional +variant, e.g. ``en-us+f3``."""


@dataclass(frozen=True)
class Voice:
    """One voice profile from ``voices/*.yaml``."""

    name: str
    """Identifier, e.g. ``gentle``."""
    espeak_voice: str = "en-us"
    """espeak-ng voice id, e.g. ``en-us`` or ``en-gb+f3`` (also the neural voice's fallback)."""
    engine: str = "espeak"
    """Speech engine: ``espeak``, ``hibari`` or ``piper``."""
    engine_voice: str = ""
    """The engine's own voice: a bundled hibari voice (``heart``) or a Piper ``.onnx`` path."""
    loudness: float = -20.0
    """Speech loudness (BS.1770, LUFS) each sentence is brought to: what reaches the speakers
    at the default volume under the default cap (-6 dBFS)."""
    rate: int = 140
    """Words per minute."""
    pitch: int = 40
    """espeak-ng pitch, 0-99."""
    volume: float = 0.9
    """Relative loudness 0-1 (always under the output cap)."""
    description: str = ""
    """One line for ``voices list``."""
    default: bool = False
    """True for the profile used when nothing else is asked for."""
    source: Path | None = field(default=None, compare=False)
    """File it came from."""


FALLBACK = Voice(name="default", description="espeak-ng's plain English voice")
"""Used only when no voice profile loaded at all."""


def voice_from_dict(data: Mapping[str, Any] | yf.Item, path: Path | None = None) -> Voice:
    """Build a Voice from parsed data (ConfigError at the offending value)."""
    src = yf.Source(Path(path) if path is not None else None)
    top = yf.mapping(src, yf.from_plain(data), "a voice file", VOICE_KEYS, required=("name",))
    name = yf.text(src, top["name"], "name")
    if not yf.NAME_PATTERN.match(name):
        raise src.error(top["name"], f"name '{name}' must be lowercase letters, digits and "
                                     "dashes, like gentle")
    base = Voice(name=name)
    espeak_voice = base.espeak_voice
    if "espeak_voice" in top:
        espeak_voice = yf.text(src, top["espeak_voice"], "espeak_voice")
        if not ESPEAK_ID.match(espeak_voice):
            raise src.error(top["espeak_voice"], f"espeak_voice '{espeak_voice}' is not an "
                            "espeak-ng voice id like en-us or en-us+f3 (see `espeak-ng --voices`)")
    engine, engine_voice = _engine(src, top)
    return Voice(
        name=name,
        espeak_voice=espeak_voice,
        engine=engine,
        engine_voice=engine_voice,
        loudness=float(yf.number(src, top["loudness"], "loudness (LUFS)", *LOUDNESS_RANGE))
        if "loudness" in top else base.loudness,
        rate=int(yf.number(src, top["rate"], "rate (words per minute)", *RATE_RANGE,
                           integer=True)) if "rate" in top else base.rate,
        pitch=int(yf.number(src, top["pitch"], "pitch", 0, 99, integer=True))
        if "pitch" in top else base.pitch,
        volume=_volume(src, top, base.volume),
        description=yf.text(src, top["description"], "description")
        if "description" in top else "",
        default=yf.boolean(src, top["default"], "default") if "default" in top else False,
        source=src.path,
    )


def _volume(src: yf.Source, top: Mapping[str, Any], default: float) -> float:
    """``volume`` (0-1) or ``volume_db`` (-30..0 dB): the voice's own level, one of the two."""
    if "volume" in top and "volume_db" in top:
        raise src.error(top["volume_db"], "give volume or volume_db, not both "
                                          "(volume_db: -3 is about volume: 0.71)")
    if "volume_db" in top:
        return db_to_gain(yf.number(src, top["volume_db"], "volume_db", *VOLUME_DB_RANGE))
    if "volume" in top:
        return float(yf.number(src, top["volume"], "volume", 0, 1))
    return default


def _engine(src: yf.Source, top: Mapping[str, Any]) -> tuple[str, str]:
    """The ``engine`` and ``voice`` keys (ConfigError at a bad value)."""
    engine = yf.text(src, top["engine"], "engine") if "engine" in top else "espeak"
    if engine not in ENGINE_NAMES:
        raise src.error(top["engine"], f"engine '{engine}' is not one of "
                        f"{', '.join(ENGINE_NAMES)}{yf.suggest(engine, ENGINE_NAMES)}")
    voice = yf.text(src, top["voice"], "voice") if "voice" in top else ""
    if engine == "piper" and not voice:
        raise src.error(top.get("engine"), "a piper voice needs `voice:` with the path of its "
                        ".onnx file")
    if engine == "piper" and src.path is not None and not Path(voice).expanduser().is_absolute():
        voice = str((src.path.parent / voice).resolve())
    if engine == "hibari" and not voice:
        voice = "heart"
    return engine, voice


def voice_from_yaml(stream: IO[str] | IO[bytes] | str | bytes,
                    path: Path | None = None) -> Voice:
    """Parse one voice profile from YAML text or a stream."""
    return voice_from_dict(yf.read_yaml(stream, Path(path) if path is not None else None), path)


def load_voice_file(path: Path) -> Voice:
    """Load and validate one voice file."""
    path = Path(path)
    return voice_from_yaml(yf.read_bytes(path), path)


@dataclass(frozen=True)
class VoiceLibrary:
    """All loaded voice profiles by name, and the mistakes found while loading them."""

    by_name: Mapping[str, Voice]
    """Profiles that loaded, in load order (a later dir overrides by name)."""
    errors: list[ConfigError] = field(default_factory=list)
    """One entry per broken file; the rest still load."""

    @classmethod
    def load(cls, dirs: Sequence[Path]) -> VoiceLibrary:
        """Load every voice in ``dirs`` (shipped first, then the user dir)."""
        found: dict[str, Voice] = {}
        errors: list[ConfigError] = []
        for directory in dirs:
            for path in yf.yaml_files(Path(directory).expanduser()):
                try:
                    voice = load_voice_file(path)
                except ConfigError as exc:
                    log.debug("%s", exc)  # returned in errors; the caller reports it
                    errors.append(exc)
                    continue
                found[voice.name] = voice
        return cls(found, errors)

    def names(self) -> list[str]:
        """Voice names, sorted."""
        return sorted(self.by_name)

    def voices(self) -> list[Voice]:
        """Voices, sorted by name."""
        return [self.by_name[n] for n in self.names()]

    def get(self, name: str) -> Voice:
        """The voice called ``name``; UnknownNameError (with a suggestion) if none."""
        if name in self.by_name:
            return self.by_name[name]
        raise UnknownNameError(f"no voice named '{name}'{yf.suggest(name, self.by_name)}; "
                               "`companion voices list` shows them")

    def default(self) -> Voice:
        """The profile marked ``default: true`` (the last loaded wins), else the first."""
        marked = [v for v in self.by_name.values() if v.default]
        if marked:
            return marked[-1]
        if self.by_name:
            return self.by_name[self.names()[0]]
        log.warning("no voice profiles loaded; using espeak-ng's plain voice")
        return FALLBACK

    def __contains__(self, name: object) -> bool:
        return name in self.by_name
