"""Choosing and building a recogniser by engine name."""

from __future__ import annotations

from pathlib import Path

from companion.errors import ModelError
from companion.recognition.commands import CommandSet
from companion.recognition.pocketsphinx_engine import PocketsphinxRecognizer
from companion.recognition.utterance import Recognizer
from companion.recognition.vosk_engine import VOSK_MODEL_DIRS, VoskRecognizer, find_vosk_model


def make_recognizer(engine: str, commands: CommandSet, model: Path | None) -> Recognizer:
    """"auto" (Vosk when a model is found, else pocketsphinx), "pocketsphinx" or "vosk"."""
    if engine == "pocketsphinx":
        return PocketsphinxRecognizer(commands)
    found = find_vosk_model(model, None)
    if engine == "vosk":
        if found is None:
            raise ModelError("no Vosk model found (searched $VOSK_MODEL_PATH, "
                             + ", ".join(VOSK_MODEL_DIRS) + "); pass --model DIR")
        return VoskRecognizer(commands, found)
    if engine == "auto":
        return VoskRecognizer(commands, found) if found else PocketsphinxRecognizer(commands)
    raise ValueError(f"unknown engine {engine!r} (auto, pocketsphinx, vosk)")
