"""Reading command template files (the shipped one and the user's), through yamlfile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

from hassil.expression import (
    Expression,
    Group,
    ListReference,
)
from hassil.parse_expression import parse_sentence

from companion import yamlfile as yf
from companion.errors import ConfigError
from companion.recognition.intents import Intent

# ---------------------------------------------------------------- the user file

@dataclass(frozen=True)
class _Phrases:
    """Template strings of one intent and where each came from."""

    templates: tuple[tuple[str, str], ...]
    """(template, origin) pairs."""


def _error(msg: str, path: Path | str | None, item: yf.Item | None) -> ConfigError:
    return yf.Source(Path(path) if path is not None else None).error(item, msg)


def _key_error(msg: str, path: Path | str | None, item: yf.Item, key: str) -> ConfigError:
    return yf.Source(Path(path) if path is not None else None).key_error(item, key, msg)


def _is_scalar(item: yf.Item) -> bool:
    return not isinstance(item.value, (dict, list))


def _scalar_list(item: yf.Item, path: Path | str | None) -> list[tuple[str, yf.Item]]:
    if not isinstance(item.value, list):
        raise _error("expected a list of phrases", path, item)
    out: list[tuple[str, yf.Item]] = []
    for phrase in item.value:
        if not _is_scalar(phrase) or not str(phrase.text or "").strip():
            raise _error("a phrase must be a non-empty string", path, phrase)
        out.append((str(phrase.text), phrase))
    return out


def _check_template(text: str, path: Path | str | None, node: yf.Item) -> None:
    try:
        sentence = parse_sentence(text)
    except Exception as exc:  # hassil raises several kinds of parse errors
        raise _error(f"bad template {text!r}: {exc}", path, node) from None
    for ref in _walk_lists(sentence.expression):
        if ref not in ("routine", "minutes"):
            raise _error(f"unknown slot {{{ref}}} (use {{routine}} or {{minutes}})", path, node)


def _walk_lists(expr: Expression) -> Iterator[str]:
    if isinstance(expr, ListReference):
        yield expr.list_name
    elif isinstance(expr, Group):
        for item in expr.items:
            yield from _walk_lists(item)


def _read_intents(stream: IO[str] | IO[bytes], path: Path | str | None
                  ) -> tuple[dict[Intent, tuple[bool, list[tuple[str, yf.Item]]]], bool]:
    """Parse a commands YAML: {intent: (replace, [(template, item)])}, replace_all."""
    root = yf.read_yaml(stream, Path(path) if path is not None else None, allow_empty=True)
    if root.value is None:
        return {}, False
    if not isinstance(root.value, dict):
        raise _error("expected a mapping with an 'intents' key", path, root)
    result: dict[Intent, tuple[bool, list[tuple[str, yf.Item]]]] = {}
    replace_all = False
    for key, value in root.value.items():
        if key == "intents":
            result = _read_intent_map(value, path)
        elif key == "replace":
            replace_all = _read_bool(value, path)
        elif key != "language":
            raise _key_error(f"unknown key {key!r} (expected intents, replace)", path, root, key)
    return result, replace_all


def _read_bool(item: yf.Item, path: Path | str | None) -> bool:
    if not _is_scalar(item) or str(item.text).lower() not in ("true", "false"):
        raise _error("expected true or false", path, item)
    return str(item.text).lower() == "true"


def _read_intent_map(item: yf.Item, path: Path | str | None
                     ) -> dict[Intent, tuple[bool, list[tuple[str, yf.Item]]]]:
    if not isinstance(item.value, dict):
        raise _error("'intents' must map intent names to phrases", path, item)
    known = ", ".join(i.value for i in Intent)
    out: dict[Intent, tuple[bool, list[tuple[str, yf.Item]]]] = {}
    for key, value in item.value.items():
        try:
            intent = Intent(key)
        except ValueError:
            raise _key_error(f"unknown intent {key!r} (known: {known})", path, item,
                             key) from None
        replace = False
        if isinstance(value.value, dict):
            phrases_item: yf.Item | None = None
            for k, v in value.value.items():
                if k == "replace":
                    replace = _read_bool(v, path)
                elif k == "phrases":
                    phrases_item = v
                else:
                    raise _key_error(f"unknown key {k!r} (expected phrases, replace)", path,
                                     value, k)
            phrases = [] if phrases_item is None else _scalar_list(phrases_item, path)
        else:
            phrases = _scalar_list(value, path)
        for text, phrase in phrases:
            _check_template(text, path, phrase)
        out[intent] = (replace, phrases)
    return out


def _shipped_yaml() -> str:
    return resources.files("companion.recognition").joinpath("commands_en.yaml").read_text("utf-8")
