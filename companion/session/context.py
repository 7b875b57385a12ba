"""Everything a command needs from disk: settings, voice profiles and routines."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from companion.audio.sounds import db_to_gain
from companion.config import Settings, load_settings, shipped_dir
from companion.errors import ConfigError
from companion.routines.library import RoutineLibrary
from companion.session.events import EventHandler
from companion.session.player import RoutinePlayer
from companion.speech.synthesis import Synthesizer
from companion.speech.voices import Voice, VoiceLibrary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """Loaded settings, voices and routines (broken files are in ``errors``)."""

    settings: Settings
    """The user's settings (defaults where the file is silent)."""
    voices: VoiceLibrary
    """Shipped and user voice profiles."""
    routines: RoutineLibrary
    """Shipped and user routines (user ones override by name)."""

    @classmethod
    def load(cls, config: Path | None = None) -> Context:
        """Load settings, then voices, then routines (which may name voices)."""
        settings = load_settings(config)
        voices = VoiceLibrary.load([shipped_dir("voices"), settings.user_voices_dir])
        routines = RoutineLibrary.load([shipped_dir("routines"), settings.user_routines_dir],
                                       voice_names=voices.names())
        return cls(settings, voices, routines)

    @property
    def errors(self) -> list[ConfigError]:
        """Every mistake found in the user's and shipped files."""
        return [*self.voices.errors, *self.routines.errors]

    def voice(self, name: str | None = None) -> Voice:
        """The named voice, else the configured one, else the default profile."""
        chosen = name or self.settings.voice
        return self.voices.get(chosen) if chosen else self.voices.default()

    def player(self, synth: Synthesizer, on_event: EventHandler | None = None,
               voice: str | None = None) -> RoutinePlayer:
        """A player using these voices and routines under the configured volume cap."""
        default = self.voice(voice)
        level = db_to_gain(self.settings.volume_db)  # the settings' volume_db

        def voice_for(name: str | None) -> Voice:
            chosen = self.voices.get(name) if name else default
            return dataclasses.replace(chosen, volume=chosen.volume * level)

        return RoutinePlayer(synth, voice_for, self.routines.lookup,
                             cap_db=self.settings.volume_cap_db, on_event=on_event)
