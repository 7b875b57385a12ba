"""Broken files for the loaders' fuzz test and benchmark: mutated shipped files, binary,
wrong encodings, alias bombs, deep nesting, huge numbers. Plain ``random`` so the
benchmark can make thousands without hypothesis; the test draws the seed with it."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from companion.errors import CompanionError

REPO = Path(__file__).resolve().parent.parent


def _load_routine(path: Path) -> object:
    from companion.routines.loading import load_routine_file

    return load_routine_file(path)


def _load_voice(path: Path) -> object:
    from companion.speech.voices import load_voice_file

    return load_voice_file(path)


def _load_settings(path: Path) -> object:
    from companion.config import load_settings

    return load_settings(path)


def _load_commands(path: Path) -> object:
    from companion.recognition.commands_file import _read_intents

    with open(path, "rb") as fh:
        return _read_intents(fh, path)


LOADERS: dict[str, Callable[[Path], object]] = {
    "routine": _load_routine, "voice": _load_voice, "settings": _load_settings,
    "commands": _load_commands}
"""Every loader of a user file, by kind."""


def seeds() -> dict[str, list[str]]:
    """Valid files of each kind to mutate."""
    from companion.recognition.commands_file import _shipped_yaml

    routines = [p.read_text() for p in sorted((REPO / "routines").glob("*.yaml"))]
    voices = [p.read_text() for p in sorted((REPO / "voices").glob("*.yaml"))]
    settings = ["engine: pocketsphinx\nsafewords: [red, banana]\nvolume_cap_db: -3\n"
                "input_device: pulse\noutput_device: null\n"]
    return {"routine": routines, "voice": voices, "settings": settings,
            "commands": [_shipped_yaml()]}


def _bomb(rng: random.Random) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, rng.randint(3, 12)):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _special(rng: random.Random) -> bytes:
    depth = rng.choice([50, 500, 5000, 50000])
    indent = min(depth, 3000)  # indented nesting grows as depth squared
    choices: list[Callable[[], bytes]] = [
        lambda: _bomb(rng).encode(),
        lambda: ("[" * depth + "]" * depth).encode(),
        lambda: ("{a: " * depth + "1" + "}" * depth).encode(),
        lambda: "\n".join(" " * i + "- x:" for i in range(0, indent, 2)).encode(),
        lambda: f"name: x\nsteps:\n  - pause: {'9' * rng.randint(20, 5000)}\n".encode(),
        lambda: f"rate: 1e{rng.randint(300, 100000)}\n".encode(),
        lambda: f"volume_cap_db: -.inf\nrate: .nan\nsteps: [{{pause: {rng.random()}e999}}]\n"
        .encode(),
        lambda: "name: ünïcode\nsteps:\n  - say: héllo\n".encode(
            rng.choice(["utf-16", "latin-1", "utf-32", "cp1252"])),
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 400))),
        lambda: b"\xef\xbb\xbf" + b"\x00" * rng.randint(1, 50),
        lambda: b"! !!python/object/apply:os.system ['true']\n",
        lambda: b"steps: !!binary aGVsbG8=\nname: !!timestamp 2001-12-14\n",
        lambda: b"? [a, b]\n: c\n? {x: 1}\n: d\n",
        lambda: ("name: x\n" * rng.randint(2, 50)).encode(),
        lambda: b"\t- tab\n  indented: [\n",
    ]
    return rng.choice(choices)()


def _mutate(rng: random.Random, text: str) -> bytes:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 8)):
        if not data:
            break
        pos = rng.randrange(len(data))
        op = rng.randrange(6)
        if op == 0:
            del data[pos:pos + rng.randint(1, 40)]
        elif op == 1:
            data[pos:pos] = rng.choice([b":", b"-", b" ", b"\n", b"[", b"{", b"&a", b"*a",
                                        b"!!", b"'", b'"', b"#", b"|", b">", b"\t", b"%",
                                        b"\xff", b"\x00", b"1e999", b"-1", b"nan", b"~"])
        elif op == 2:
            data[pos] = rng.getrandbits(8)
        elif op == 3:
            end = min(len(data), pos + rng.randint(1, 200))
            data[pos:pos] = data[pos:end] * rng.randint(1, 5)
        elif op == 4:
            line_start = data.rfind(b"\n", 0, pos) + 1
            data[line_start:line_start] = b" " * rng.randint(1, 6)
        else:
            data[pos:pos] = rng.choice([b"12345678901234567890", b"0x1F", b"0o17", b"1_000",
                                        b"yes", b"on", b"null", b"2020-01-01", b"''"])
    return bytes(data)


def broken_file(rng: random.Random, kind: str, seed_texts: list[str]) -> bytes:
    """One broken (or sometimes still valid) file of ``kind``."""
    if rng.random() < 0.25:
        return _special(rng)
    return _mutate(rng, rng.choice(seed_texts))


def check_one(kind: str, path: Path) -> str | None:
    """None when the loader accepts the file or refuses it in the project's own words with
    file:line:col on one line; else what went wrong."""
    try:
        LOADERS[kind](path)
    except CompanionError as exc:
        msg = str(exc)
        line = getattr(exc, "line", None)
        if "\n" in msg or not msg.startswith(str(path)):
            return f"{kind}: not one line naming the file: {msg!r}"
        if line is None and "larger than" not in msg:
            return f"{kind}: no line:col: {msg!r}"
        return None
    except RecursionError:
        return f"{kind}: RecursionError"
    except Exception as exc:  # noqa: BLE001 - what the fuzzing looks for
        return f"{kind}: {exc.__class__.__name__}: {exc}"
    return None
