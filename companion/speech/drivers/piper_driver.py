"""A pyttsx3 driver for ``piper-tts``: any Piper voice by path (``.onnx`` plus ``.json``).

The voice is a file the user installed (as Vosk models are found): nothing is ever
downloaded. ``voice`` is the path of the ``.onnx`` file; its ``.onnx.json`` sits beside it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from companion.speech.drivers.base import PcmDriver, join_sentences

NATIVE_WPM = 258.0
"""Words a minute within sentences at length scale 1.0 (joe medium, measured)."""
_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()


def buildDriver(proxy: Any) -> PiperDriver:  # noqa: N802 - pyttsx3's entry point
    """pyttsx3 calls this to make the driver."""
    return PiperDriver(proxy)


def voice_files(value: str | Path) -> tuple[Path, Path]:
    """The ``.onnx`` model and its ``.json`` config; ValueError if either is missing."""
    model = Path(value).expanduser()
    config = model.with_name(model.name + ".json")
    if model.suffix != ".onnx" or not model.is_file():
        raise ValueError(f"no Piper voice model at {model} (give the path of its .onnx file)")
    if not config.is_file():
        raise ValueError(f"Piper voice {model.name} has no config {config.name} beside it")
    return model, config


def _model(value: str) -> Any:
    """The loaded voice at path ``value`` (loaded once per process)."""
    with _LOCK:
        if value not in _MODELS:
            from piper import PiperVoice

            model, config = voice_files(value)
            _MODELS[value] = PiperVoice.load(model, config_path=config)
        return _MODELS[value]


class PiperDriver(PcmDriver):
    """One Piper voice; ``rate`` (words a minute) becomes its length scale."""

    def __init__(self, proxy: Any) -> None:
        super().__init__(proxy)
        self.properties.update(voice=None, rate=NATIVE_WPM)

    def check_voice(self, value: Any) -> None:
        """ValueError unless ``value`` is a Piper ``.onnx`` with its ``.json``."""
        voice_files(str(value))

    def render(self, text: str) -> np.ndarray:
        """``text`` at the length scale that gives the requested words a minute."""
        from piper.config import SynthesisConfig

        if self.properties["voice"] is None:
            raise ValueError("no Piper voice chosen: give the path of its .onnx file")
        voice = _model(str(self.properties["voice"]))
        self.sample_rate = int(voice.config.sample_rate)
        scale = min(3.0, max(0.3, NATIVE_WPM / float(self.properties["rate"])))
        config = SynthesisConfig(length_scale=scale, noise_scale=0.5, noise_w_scale=0.6)
        with _RUN_LOCK:  # one model, shared by every engine in the process
            chunks = [c.audio_float_array for c in voice.synthesize(text, syn_config=config)]
        return join_sentences([np.asarray(c, dtype=np.float32) for c in chunks],
                              self.sample_rate)
