"""The JSON Schema of routine files, for editors (``companion schema``).

Written from ``rules``, the same table the loader reads, so the two cannot drift apart.
The loader still does what JSON Schema cannot (``tests/test_routine_schema_agrees.py``
lists these): that included routines and voices exist, names an alias shares, bounds on a
duration written as text (25s as a breath phase), and YAML details (anchors, duplicate keys).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import string
import sys
from pathlib import Path
from typing import Any

import platformdirs

from companion import yamlfile as yf
from companion.routines import rules

log = logging.getLogger(__name__)

SCHEMA_ID = "https://quiet-companion.invalid/routine.schema.json"
DURATION_PATTERN = re.sub(r"\(\?P<\w+>", "(", yf.DURATION_PATTERN.pattern)
"""The loader's duration pattern without Python-only named groups."""
_DURATION_TEXT = ' Seconds, or text like "30s", "2m", "1m30s".'


@functools.cache
def _letters() -> str:
    """A character class for what lowercases to a spoken letter (A-Z, the Kelvin sign...)."""
    spoken = frozenset(c for c in string.ascii_lowercase if re.fullmatch(rules.SPOKEN_LETTER, c))
    extra = "".join(chr(c) for c in range(128, sys.maxunicode + 1) if chr(c).lower() in spoken)
    return "[" + rules.SPOKEN_LETTER[1:-1] + "A-Z" + re.escape(extra) + "]"


def _alias_pattern() -> str:
    """ALIAS_PATTERN as the loader applies it: after lowercasing and joining words."""
    word = rules.SPOKEN_WORD.replace(rules.SPOKEN_LETTER, _letters())
    return rf"^\s*{word}(?:\s+{word})*\s*$"


def _rule(rule: rules.Rule) -> dict[str, Any]:
    """The JSON Schema for one rule."""
    if isinstance(rule, rules.Text):
        # The loader takes a bare number or true/false as the text written (say: 42).
        return {"description": rule.description,
                "anyOf": [{"type": "string", "pattern": r"\S"},
                          {"type": ["number", "boolean"]}]}
    if isinstance(rule, rules.Name):
        return {"description": rule.description, "type": "string",
                "pattern": rules.NAME_PATTERN.pattern}
    if isinstance(rule, rules.Alias):
        return {"description": rule.description, "type": "string",
                "pattern": _alias_pattern()}
    if isinstance(rule, rules.Duration):
        number: dict[str, Any] = {"type": "number", "maximum": rule.maximum}
        number["minimum" if rule.allow_zero else "exclusiveMinimum"] = 0
        text: list[dict[str, Any]] = [{"pattern": DURATION_PATTERN}, {"pattern": r"\d"}]
        if not rule.allow_zero:
            text.append({"pattern": "[1-9]"})  # some part is not zero
        return {"description": rule.description + _DURATION_TEXT,
                "anyOf": [number, {"type": "string", "allOf": text}]}
    if isinstance(rule, rules.Count):
        return {"description": rule.description, "type": "integer",
                "minimum": rule.minimum, "maximum": rule.maximum}
    if isinstance(rule, rules.Choice):
        options: list[Any] = [*rule.options, *([None] if rule.allow_empty else [])]
        return {"description": rule.description, "enum": options}
    if isinstance(rule, rules.Steps):
        return {"description": rule.description, "type": "array",
                "items": {"$ref": "#/$defs/step"}, **({"minItems": 1} if rule.non_empty else {})}
    if isinstance(rule, rules.ListOf):
        return {"description": rule.description, "type": "array", "items": _rule(rule.item),
                **({"minItems": 1} if rule.non_empty else {})}
    if isinstance(rule, rules.AnyOf):
        return {"anyOf": [_rule(option) for option in rule.options]}
    return _object(rule.description, rule.fields, rule.required, rule.exactly_one,
                   rule.allow_empty)


def _object(description: str, fields: Any, required: Any = (), exactly_one: Any = (),
            allow_empty: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "type": ["object", "null"] if allow_empty else "object",
                           "additionalProperties": False,
                           "properties": {key: _rule(r) for key, r in fields.items()}}
    if required:
        out["required"] = list(required)
    if exactly_one:
        out["oneOf"] = [{"required": [key]} for key in exactly_one]
    return out


def _step_def(kind: str, rule: rules.StepRule) -> dict[str, Any]:
    return _object(rule.description, {kind: rule.value, **rule.siblings}, required=(kind,))


def routine_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for routine files."""
    top = _rule(rules.ROUTINE_RULE)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Quiet Companion routine",
        **top,
        "$defs": {
            "step": {"description": "One step: " + ", ".join(rules.STEP_KINDS) + ".",
                     "oneOf": [{"$ref": f"#/$defs/{kind}"} for kind in rules.STEP_RULES]},
            **{kind: _step_def(kind, rule) for kind, rule in rules.STEP_RULES.items()},
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


def installed_schema_path() -> Path:
    """The schema installed beside the shipped routines (what their first line names), or,
    if it is missing or out of date, :func:`schema_path`'s fresh copy."""
    from companion.config import shipped_dir

    text = json.dumps(routine_schema(), indent=2, ensure_ascii=False) + "\n"
    shipped = shipped_dir("routines") / "routine.schema.json"
    try:
        if shipped.read_text(encoding="utf-8") == text:
            return shipped
    except (OSError, UnicodeDecodeError):
        log.debug("no up-to-date shipped schema at %s", shipped)
    return schema_path()
