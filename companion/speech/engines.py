"""The speech engines behind one synthesis thread: pyttsx3 engines on our PCM drivers.

A voice names its engine (espeak, hibari, piper). An engine that cannot load or a voice it
does not have is said once (one WARNING line) and espeak-ng speaks instead. Only the
synthesis thread uses an EngineSet (pyttsx3 engines are not thread-safe).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from companion.errors import ModelError
from companion.speech.drivers import engine_for
from companion.speech.drivers.base import PCM_TOPIC
from companion.speech.voices import Voice

log = logging.getLogger(__name__)


def engine_problem(voice: Voice) -> str | None:
    """Why ``voice``'s engine or voice cannot speak here, or None if it can (no loading)."""
    try:
        if voice.engine == "hibari":
            from companion.speech.drivers.hibari_driver import bundled_voices

            if voice.engine_voice not in bundled_voices():
                return f"hibari voice '{voice.engine_voice}' is not inside the package"
        elif voice.engine == "piper":
            import piper  # noqa: F401

            from companion.speech.drivers.piper_driver import voice_files

            voice_files(voice.engine_voice)
    except ImportError as exc:
        return f"engine {voice.engine} is not installed ({exc.name})"
    except ValueError as exc:
        return str(exc)
    return None


class EngineSet:
    """pyttsx3 engines by name, each loaded on first use."""

    def __init__(self) -> None:
        self._engines: dict[str, Any] = {}
        self._broken: dict[str, str] = {}
        self._warned: set[tuple[str, str]] = set()

    def speak(self, text: str, voice: Voice, rate: int) -> tuple[np.ndarray, int]:
        """PCM and its sample rate for ``text`` in ``voice`` at ``rate`` words a minute."""
        if voice.engine != "espeak":
            try:
                engine = self._engine(voice.engine)
                return _render(engine, text, voice.engine_voice, rate, voice.pitch)
            except Exception as exc:  # noqa: BLE001 - any failure: espeak-ng speaks instead
                key = (voice.engine, voice.engine_voice)
                if key not in self._warned:
                    self._warned.add(key)
                    log.warning("voice '%s' (%s %s) cannot speak here (%s): using espeak-ng "
                                "instead", voice.name, voice.engine, voice.engine_voice, exc)
        try:
            engine = self._engine("espeak")
            return _render(engine, text, voice.espeak_voice, rate, voice.pitch)
        except ValueError as exc:
            raise ModelError(f"{exc} (voice profile '{voice.name}'): pick another espeak_voice "
                             "in voices/*.yaml, see `espeak-ng --voices`") from exc
        except (ImportError, OSError, RuntimeError) as exc:
            raise ModelError(f"cannot start espeak-ng speech ({exc}): install it with "
                             "`sudo apt install espeak-ng`") from exc

    def _engine(self, name: str) -> Any:
        if name in self._broken:
            raise RuntimeError(self._broken[name])
        if name not in self._engines:
            try:
                self._engines[name] = engine_for(name)
            except Exception as exc:
                self._broken[name] = f"engine {name} did not load: {exc}"
                raise RuntimeError(self._broken[name]) from exc
        return self._engines[name]


def _render(engine: Any, text: str, voice_id: str, rate: int,
            pitch: int) -> tuple[np.ndarray, int]:
    """One utterance through pyttsx3: set the properties, say, collect the ``pcm`` topic."""
    got: dict[str, Any] = {}
    errors: list[BaseException] = []

    def on_pcm(pcm: np.ndarray, sample_rate: int, **_: Any) -> None:
        got["pcm"], got["rate"] = pcm, sample_rate

    def on_error(exception: BaseException, **_: Any) -> None:
        errors.append(exception)

    tokens = [engine.connect(PCM_TOPIC, on_pcm), engine.connect("error", on_error)]
    try:
        engine.setProperty("voice", voice_id)
        engine.setProperty("rate", rate)
        engine.setProperty("pitch", pitch)
        engine.say(text)
        engine.runAndWait()
    finally:
        for token in tokens:
            engine.disconnect(token)
    if errors:
        raise errors[0]
    if "pcm" not in got:
        raise RuntimeError("the engine handed back no audio")
    return got["pcm"], int(got["rate"])
