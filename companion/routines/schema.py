"""The JSON Schema of routine files, for editors (``companion schema``).

The loader in ``routines.py`` is what actually checks files (with plain messages and
line numbers); this schema mirrors it so an editor can underline mistakes while typing.
``tests/test_shipped_content.py`` checks every shipped routine against it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import platformdirs

from companion.routines.model import CHIME_KINDS, Ambient, BreathCue

log = logging.getLogger(__name__)

SCHEMA_ID = "https://quiet-companion.invalid/routine.schema.json"
DURATION_PATTERN = (r"^\s*(\d+(\.\d+)?\s*h)?\s*(\d+(\.\d+)?\s*m)?\s*(\d+(\.\d+)?\s*s?)?\s*$")


def _duration(description: str, minimum_exclusive: bool = True) -> dict[str, Any]:
    number: dict[str, Any] = {"type": "number"}
    number["exclusiveMinimum" if minimum_exclusive else "minimum"] = 0
    return {"description": description + ' Seconds, or text like "30s", "2m", "1m30s".',
            "anyOf": [number, {"type": "string", "pattern": DURATION_PATTERN,
                               "minLength": 1}]}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "type": "string", "minLength": 1}


def _step_defs() -> dict[str, Any]:
    steps_ref = {"$ref": "#/$defs/steps"}
    one = {"type": "object", "additionalProperties": False}
    return {
        "say": {**one, "description": "Speak one sentence, or one picked from a list.",
                "required": ["say"],
                "properties": {"say": {"anyOf": [
                    _text("The sentence."),
                    {"type": "object", "additionalProperties": False, "required": ["any"],
                     "properties": {"any": {"description": "Sentences to pick from (10 or "
                                                           "more so it rarely repeats).",
                                            "type": "array", "minItems": 1,
                                            "items": _text("A sentence.")}}}]}}},
        "pause": {**one, "required": ["pause"], "description": "Fixed silence.",
                  "properties": {"pause": _duration("Length of the silence.")}},
        "breathe": {**one, "required": ["breathe"], "description": "Paced breathing.",
                    "properties": {"breathe": {
                        "type": ["object", "null"], "additionalProperties": False,
                        "properties": {
                            "in": _duration("Breathing in."),
                            "hold": _duration("Holding after breathing in (7 s or less "
                                              "is kind).", minimum_exclusive=False),
                            "out": _duration("Breathing out."),
                            "hold_out": _duration("Resting after breathing out.",
                                                  minimum_exclusive=False),
                            "cycles": {"description": "How many breaths.", "type": "integer",
                                       "minimum": 1, "maximum": 100},
                            "cue": {"description": "How each phase is announced.",
                                    "enum": [c.value for c in BreathCue]}}}}},
        "ask": {**one, "required": ["ask"],
                "description": "A yes/no question; silence is an answer too.",
                "properties": {"ask": _text("The question."),
                               "yes": {**steps_ref, "description": "Steps after a yes."},
                               "no": {**steps_ref, "description": "Steps after a no."},
                               "silence": {**steps_ref,
                                           "description": "Steps when nothing is said."},
                               "timeout": _duration("How long to wait for an answer "
                                                    "(default 8 s).")}},
        "quiet": {**one, "required": ["quiet"],
                  "description": "Quiet presence; --minutes stretches it.",
                  "properties": {"quiet": _duration("Length of the quiet stretch."),
                                 "check_in": {
                                     "type": "object", "additionalProperties": False,
                                     "required": ["every", "say"],
                                     "description": "A soft sign of presence now and then.",
                                     "properties": {
                                         "every": _duration("Time between check-ins "
                                                            "(2 minutes or more is kind)."),
                                         "say": {"anyOf": [_text("What is said."), {
                                             "type": "array", "minItems": 1,
                                             "items": _text("What is said.")}]}}}}},
        "chime": {**one, "required": ["chime"], "description": "A soft generated chime.",
                  "properties": {"chime": {"enum": [*CHIME_KINDS, None]}}},
        "repeat": {**one, "required": ["repeat"], "description": "Repeat some steps.",
                   "properties": {"repeat": {
                       "type": "object", "additionalProperties": False,
                       "required": ["steps"],
                       "oneOf": [{"required": ["times"]}, {"required": ["for"]}],
                       "properties": {
                           "times": {"type": "integer", "minimum": 1, "maximum": 1000,
                                     "description": "How many times."},
                           "for": _duration("For how long (the last round finishes)."),
                           "steps": {**steps_ref, "minItems": 1}}}}},
        "routine": {**one, "required": ["routine"],
                    "description": "Run another routine's steps here.",
                    "properties": {"routine": {"type": "string",
                                               "pattern": r"^[a-z0-9][a-z0-9-]*$",
                                               "description": "Name of the routine."}}},
    }


def routine_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for routine files."""
    defs = _step_defs()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Quiet Companion routine",
        "description": "A calm spoken routine: steps said, breathed and kept quiet, in order.",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "steps"],
        "properties": {
            "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$",
                     "description": "Identifier: lowercase letters, digits and dashes."},
            "title": _text("Human title, e.g. Wind down."),
            "aliases": {"type": "array", "description": "How a person says it aloud: "
                                                        "lowercase words only.",
                        "items": {"type": "string",
                                  "pattern": r"^[a-z]+('[a-z]+)?( [a-z]+('[a-z]+)?)*$"}},
            "description": _text("One sentence for `companion routines list`."),
            "voice": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$",
                      "description": "Voice profile name (see `companion voices list`)."},
            "ambient": {"enum": [a.value for a in Ambient],
                        "description": "A very low background sound."},
            "steps": {"$ref": "#/$defs/steps", "minItems": 1},
        },
        "$defs": {
            "steps": {"type": "array", "description": "Steps, in order.",
                      "items": {"$ref": "#/$defs/step"}},
            "step": {"description": "One step: say, pause, breathe, ask, quiet, chime, "
                                    "repeat or routine.",
                     "oneOf": [{"$ref": f"#/$defs/{kind}"} for kind in defs]},
            **defs,
        },
    }


def schema_path() -> Path:
    """Write the schema into the user cache dir (if missing or changed) and return its path."""
    path = Path(platformdirs.user_cache_dir("quiet-companion")) / "routine.schema.json"
    text = json.dumps(routine_schema(), indent=2, ensure_ascii=False) + "\n"
    try:
        current = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        current = None
    if current != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        log.debug("wrote %s", path)
    return path
