"""hibari's G2P on the packed tables: the same entries, phonemes and audio as hibari's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from companion.speech.drivers import hibari_driver
from companion.speech.drivers.hibari_g2p import SOURCES, TABLES, load_tables, packed_g2p
from tests.fresh_process import printed_by

hibari_g2p_module = pytest.importorskip("hibari.g2p")
REPO = Path(__file__).resolve().parent.parent
HARD = [
    "Dr. Smith paid $9.99 on the 3rd of March 2024, at 7:30 pm.",
    "I read it yesterday; I'll read it again. Record it: the record is yours.",
    "AA, ABS, USED, used to. Xylophonic quizzaciousness!",
    "It's 100% okay — really… “quoted” (in brackets) & more.",
    "Live, live, lived. The U.S.A. and J. K. Rowling; e-mail@home.",
]


def shipped_lines() -> list[str]:
    """Every string in the shipped routines (what the companion says, and more)."""
    lines: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            lines.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted((REPO / "routines").glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return lines


def test_the_packed_tables_hold_exactly_the_wheels_entries():
    tables = load_tables()
    assert tables is not None, f"{TABLES} is missing or stale: run " \
        "`python -m companion.speech.drivers.hibari_g2p`"
    load = hibari_g2p_module._load_json
    tagger = load(SOURCES["tagger"])
    sources = {"gold": load(SOURCES["gold"]), "silver": load(SOURCES["silver"]),
               "tagdict": tagger["tagdict"], "weights": tagger["weights"]}
    for name, source in sources.items():
        packed = tables[name]
        assert len(packed) == len(source), name
        assert all(packed.get(key) == value for key, value in source.items()), name
        assert packed.get("no such entry, ever") is None
    assert tables["tags"] == tagger["tags"] and tables["vocab"] == tagger["vocab"]


def test_every_shipped_line_gets_hibaris_own_phonemes():
    packed, own = packed_g2p(british=False), hibari_g2p_module.G2P()
    lines = shipped_lines() + HARD
    assert len(lines) > 200
    different = [(line, own(line), packed(line)) for line in lines if own(line) != packed(line)]
    assert different == []


def test_the_voice_sounds_exactly_as_hibaris_own(tmp_path):
    """Packed G2P and the arena-free session: the same samples as a plain ``Hibari()``."""
    from hibari import Hibari
    from hibari.voices import voice_path

    own = Hibari(voice="heart", model=voice_path("heart", download_missing=False), threads=1)
    ours = hibari_driver._model("heart")
    assert type(ours.g2p).__name__ == "PackedG2P"
    for text in ["Let the floor hold you.", HARD[0], shipped_lines()[-1]]:
        for speed in (0.6, 1.0):
            a = np.concatenate(list(own.stream(text, speed=speed, seed=0)))
            b = np.concatenate(list(ours.stream(text, speed=speed, seed=0)))
            assert np.array_equal(a, b), text


def test_tables_from_another_hibari_are_refused(tmp_path):
    with np.load(TABLES) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["stamp"] = np.frombuffer(b'{"hibari": "0.0.1", "sizes": {}}', dtype=np.uint8)
    stale = tmp_path / "stale.npz"
    np.savez(stale, **arrays)
    assert load_tables(stale) is None
    assert load_tables(tmp_path / "missing.npz") is None


def test_a_british_voice_keeps_hibaris_own_g2p():
    assert packed_g2p(british=True) is None


def test_the_voice_speaks_without_scipy_in_the_process():
    """scipy's import cost ~26 MB of resident memory and ~0.7 s in `listen`; hibari's numpy
    FFT gives the same samples to within -130 dB (measured -138 dB on two sentences)."""
    code = ("import sys, numpy as np\n"
            "from companion.speech.drivers import hibari_driver\n"
            "model = hibari_driver._model('heart')\n"
            "pcm = np.concatenate(list(model.stream('Let the floor hold you.', seed=0)))\n"
            "print(bool(np.max(np.abs(pcm)) > 0.05), "
            "any(m.startswith('scipy') for m in sys.modules))\n")
    out = printed_by(code)
    assert out == ["True", "False"]
