"""Spoken command templates → grammars (JSGF, sentence lists) and a parser → Command.

Templates use hassil's syntax and hassil does the matching. The shipped English templates
are ``commands_en.yaml`` (package data); a user file may add or replace phrases.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO

from hassil import Intents, recognize
from hassil.expression import (
    Alternative,
    Expression,
    Group,
    ListReference,
    Permutation,
    RuleReference,
    Sentence,
    TextChunk,
)
from hassil.parse_expression import parse_sentence

from companion import yamlfile as yf
from companion.recognition.commands_file import _read_intents, _shipped_yaml, _walk_lists
from companion.recognition.intents import Command, Intent, RoutinePhrases

_LOGGER = logging.getLogger(__name__)

_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
MAX_MINUTES = 120
"""Largest ``{minutes}`` value the grammar holds."""


def _below_100(n: int) -> str:
    if n < 10:
        return _UNITS[n - 1]
    if n < 20:
        return _TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return _TENS[tens - 2] + ("" if unit == 0 else " " + _UNITS[unit - 1])


@functools.cache
def minute_words() -> tuple[tuple[str, int], ...]:
    """Every spelling of 1..120 the grammar accepts, with its value."""
    out = [(_below_100(n), n) for n in range(1, 100)]
    for head in ("one hundred", "a hundred"):
        out.append((head, 100))
        for n in range(1, MAX_MINUTES - 99):
            out += [(f"{head} {_below_100(n)}", 100 + n), (f"{head} and {_below_100(n)}", 100 + n)]
    return tuple(out)


def _minutes_jsgf() -> list[str]:
    """JSGF rules for ``<minutes>`` (the same set as :func:`minute_words`)."""
    last = _below_100(MAX_MINUTES - 100)
    small = [w for w, n in minute_words() if n < 100 and n <= MAX_MINUTES - 100]
    assert small[-1] == last
    return [
        "<units> = " + " | ".join(_UNITS) + ";",
        "<below100> = <units> | " + " | ".join(_TEENS) + " | ("
        + " | ".join(_TENS) + ") [<units>];",
        "<minutes> = <below100> | (one | a) hundred [[and] (" + " | ".join(small) + ")];",
    ]


# ---------------------------------------------------------------- text helpers

_PUNCT = re.compile(r"[^\w\s']+")


def normalize(text: str) -> str:
    """Lower case, punctuation (not apostrophes) and extra spaces removed."""
    text = _PUNCT.sub(" ", text.lower().replace("’", "'"))
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


# ---------------------------------------------------------------- grammar walking

def _chunk_words(text: str) -> list[str]:
    return normalize(text).split()


def _expand(expr: Expression, lists: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every word sequence an expression can produce."""
    if isinstance(expr, TextChunk):
        return [_chunk_words(expr.text)]
    if isinstance(expr, ListReference):
        return [v.split() for v in lists[expr.list_name]]
    if isinstance(expr, Alternative):
        return [seq for item in expr.items for seq in _expand(item, lists)]
    if isinstance(expr, Permutation):
        raise ValueError("permutations are not supported in command templates")
    if isinstance(expr, Group):
        seqs: list[list[str]] = [[]]
        for item in expr.items:
            tails = _expand(item, lists)
            seqs = [s + t for s in seqs for t in tails]
        return seqs
    if isinstance(expr, RuleReference):
        raise ValueError("rule references are not supported in command templates")
    raise ValueError(f"unsupported template part {expr!r}")


def _to_jsgf(expr: Expression) -> str:
    """One hassil expression as a JSGF expansion (empty string for nothing)."""
    if isinstance(expr, TextChunk):
        return " ".join(_chunk_words(expr.text))
    if isinstance(expr, ListReference):
        return f"<{expr.list_name}>"
    if isinstance(expr, Alternative):
        parts = [_to_jsgf(i) for i in expr.items]
        filled = [p for p in parts if p]
        if not filled:
            return ""
        body = " | ".join(dict.fromkeys(filled))
        return f"[{body}]" if len(filled) < len(parts) else f"({body})"
    if isinstance(expr, Group):
        return " ".join(p for p in (_to_jsgf(i) for i in expr.items) if p)
    raise ValueError(f"unsupported template part {expr!r}")


# ---------------------------------------------------------------- CommandSet

class CommandSet:
    """The commands a person can say, as a parser and as recogniser grammars."""

    def __init__(self, templates: Mapping[Intent, Sequence[tuple[str, str]]],
                 routines: Sequence[RoutinePhrases], safewords: Sequence[str]) -> None:
        self._templates = {i: tuple(t) for i, t in templates.items() if t}
        self._routines = tuple(routines)
        self._safewords = tuple(normalize(s) for s in safewords if normalize(s))
        self._routine_values = self._routine_map()
        self._sentences = {i: [parse_sentence(t) for t, _ in ts]
                           for i, ts in self._templates.items()}
        self._intents = Intents.from_dict(self._hassil_dict())

    # -- loading

    @classmethod
    def load(cls, routines: Sequence[RoutinePhrases], safewords: Sequence[str] = ("red",),
             user_file: Path | None = None) -> CommandSet:
        """Shipped templates, plus or replaced by a user commands file."""
        shipped, _ = _read_intents(io.StringIO(_shipped_yaml()), "commands_en.yaml")
        templates = {i: [(t, f"template {i.value}") for t, _ in p] for i, (_, p) in shipped.items()}
        if user_file is not None:
            data = yf.read_bytes(Path(user_file))
            templates = cls._merge(templates, io.BytesIO(data), user_file)
        return cls(templates, routines, safewords)

    @staticmethod
    def _merge(templates: dict[Intent, list[tuple[str, str]]], stream: IO[str] | IO[bytes],
               path: Path | str) -> dict[Intent, list[tuple[str, str]]]:
        user, replace_all = _read_intents(stream, path)
        merged = {} if replace_all else {i: list(t) for i, t in templates.items()}
        for intent, (replace, phrases) in user.items():
            origin = f"user file {Path(path).name} {intent.value}"
            new = [(t, origin) for t, _ in phrases]
            merged[intent] = new if replace else merged.get(intent, []) + new
        return merged

    def _routine_map(self) -> dict[str, str]:
        """Spoken routine phrase → routine name (first routine wins a shared phrase)."""
        out: dict[str, str] = {}
        for r in self._routines:
            for phrase in r.phrases:
                spoken = normalize(phrase.replace("-", " "))
                if spoken and out.setdefault(spoken, r.name) != r.name:
                    _LOGGER.warning("phrase %r names both %s and %s", spoken, out[spoken], r.name)
        return out

    def _hassil_dict(self) -> dict:
        intents = {i.value: {"data": [{"sentences": [t for t, _ in ts]}]}
                   for i, ts in self._templates.items()}
        if self._safewords:
            stop = intents.setdefault(Intent.STOP.value, {"data": [{"sentences": []}]})
            stop["data"][0]["sentences"].extend(self._safewords)
        return {
            "language": "en",
            "intents": intents,
            "lists": {
                "routine": {"values": [{"in": k, "out": v}
                                       for k, v in self._routine_values.items()]},
                "minutes": {"values": [{"in": w, "out": n} for w, n in minute_words()]},
            },
        }

    def _lists(self) -> dict[str, list[str]]:
        return {"routine": list(self._routine_values), "minutes": [w for w, _ in minute_words()]}

    def _usable(self, sentence: Sentence) -> bool:
        return "routine" not in _walk_lists(sentence.expression) or bool(self._routine_values)

    # -- public

    @property
    def intents(self) -> frozenset[Intent]:
        """Intents that have at least one phrase."""
        return frozenset(self._templates) | ({Intent.STOP} if self._safewords else frozenset())

    def parse(self, text: str) -> Command | None:
        """The command a whole utterance says exactly, or None."""
        words = normalize(text.replace("-", " "))
        if not words:
            return None
        result = recognize(words, self._intents)
        if result is None:
            return None
        slots: dict[str, object] = {k: e.value for k, e in result.entities.items()}
        if "minutes" in slots:
            slots["minutes"] = int(slots["minutes"])  # type: ignore[call-overload]
        return Command(Intent(result.intent.name), slots, words)

    def only(self, intents: Collection[Intent]) -> CommandSet:
        """The same commands, restricted to ``intents`` (safewords go with stop, routine
        names with play)."""
        keep = set(intents)
        return CommandSet({i: t for i, t in self._templates.items() if i in keep},
                          self._routines if Intent.PLAY in keep else (),
                          self._safewords if Intent.STOP in keep else ())

    @property
    def safewords(self) -> tuple[str, ...]:
        """The safewords (normalised), each heard as stop."""
        return self._safewords

    def is_stop(self, text: str) -> bool:
        """True when ``text`` is a stop command (including a safeword)."""
        cmd = self.parse(text)
        return cmd is not None and cmd.intent is Intent.STOP

    def stop_sentences(self) -> list[str]:
        """Every way to say stop (short; used for fast decisions)."""
        lists = self._lists()
        out = [" ".join(seq) for s in self._sentences.get(Intent.STOP, [])
               for seq in _expand(s.expression, lists)]
        return list(dict.fromkeys(out + list(self._safewords)))

    def sentences(self, minutes: Sequence[str] | None = None) -> list[str]:
        """Every phrase fully expanded (finite: minutes 1..120 in words, or only the
        ``minutes`` words given), no duplicates."""
        lists = self._lists()
        if minutes is not None:
            lists["minutes"] = [w for w in lists["minutes"] if w in minutes]
        out: list[str] = []
        for sents in self._sentences.values():
            for s in sents:
                if self._usable(s):
                    out += [" ".join(seq) for seq in _expand(s.expression, lists)]
        out += list(self._safewords)
        return list(dict.fromkeys(x for x in out if x))

    def jsgf(self) -> str:
        """A compact JSGF grammar (public rule ``<command>``) for pocketsphinx."""
        rules: list[str] = []
        alts: list[str] = []
        for intent, sents in self._sentences.items():
            bodies = [_to_jsgf(s.expression) for s in sents if self._usable(s)]
            if intent is Intent.STOP:
                bodies += self._safewords
            bodies = [b for b in dict.fromkeys(bodies) if b]
            if bodies:
                rules.append(f"<{intent.value}> = " + " | ".join(f"({b})" for b in bodies) + ";")
                alts.append(f"<{intent.value}>")
        if Intent.STOP not in self._sentences and self._safewords:
            rules.append("<stop> = " + " | ".join(self._safewords) + ";")
            alts.append("<stop>")
        if self._routine_values:
            rules.append("<routine> = " + " | ".join(self._routine_values) + ";")
        rules += _minutes_jsgf()
        head = ["#JSGF V1.0;", "grammar companion;", "public <command> = " + " | ".join(alts) + ";"]
        return "\n".join(head + rules) + "\n"

    def words(self) -> dict[str, str]:
        """Every grammar word → where it first came from (for missing-word reports)."""
        out: dict[str, str] = {}
        for ts in self._templates.values():
            for template, origin in ts:
                sentence = parse_sentence(template)
                for seq in _expand(sentence.expression, {"routine": [""], "minutes": [""]}):
                    for w in seq:
                        out.setdefault(w, origin)
                names = set(_walk_lists(sentence.expression))
                if "minutes" in names:
                    for spelled, _ in minute_words():
                        for w in spelled.split():
                            out.setdefault(w, "minutes (spoken numbers)")
        for r in self._routines:
            for phrase in r.phrases:
                for w in normalize(phrase.replace("-", " ")).split():
                    out.setdefault(w, f"routine {r.name} alias {phrase!r}")
        for s in self._safewords:
            for w in s.split():
                out.setdefault(w, f"safeword {s!r}")
        return out
