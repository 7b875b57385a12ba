"""hibari's English G2P on packed tables shipped with the companion (no 100 MB of dicts).

hibari 0.2.1 reads its lexicons and tagger from gzipped JSON into Python dicts: 77 MB of
resident memory for the life of the process, and a 100 MB peak while parsing. The same
entries, packed once from the installed wheel by ``python -m
companion.speech.drivers.hibari_g2p`` into ``companion/speech/data/hibari_g2p_us.npz``
(3 MB), load in milliseconds and take ~11 MB. :class:`PackedG2P` is hibari's own ``G2P``
(every rule is hibari's) with those tables behind the same lookups; it is handed to
``Hibari(g2p=...)``. The file names the hibari version and asset sizes it was packed from;
any other install uses hibari's own G2P. ``tests/test_speech_hibari_g2p.py`` checks the
file against the wheel's JSON, entry by entry, and the phonemes of every shipped line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from companion.speech.drivers.packed_table import PackedTable, pack

log = logging.getLogger(__name__)

TABLES = Path(__file__).resolve().parent.parent / "data" / "hibari_g2p_us.npz"
"""The packed American-English tables (the bundled heart voice is American)."""
SOURCES = {"gold": "lexicon_us_gold.json.gz", "silver": "lexicon_us_silver.json.gz",
           "tagger": "tagger.json.gz"}
"""Table -> the hibari asset it is packed from."""
PARTS = ("keys", "keys_at", "values", "values_at")
"""The arrays of one packed table (see ``packed_table.pack``)."""


def _assets() -> Path:
    import hibari.g2p

    return Path(hibari.g2p.ASSETS)


def source_stamp() -> dict[str, Any]:
    """What the tables must have been packed from: hibari's version and its assets' sizes."""
    import hibari

    sizes = {name: (_assets() / name).stat().st_size for name in SOURCES.values()}
    return {"hibari": hibari.__version__, "sizes": sizes}


def _json_array(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def write_tables(path: Path = TABLES) -> None:
    """Pack the installed hibari's US lexicons and tagger into ``path``."""
    from hibari.g2p import _load_json

    arrays: dict[str, np.ndarray] = {"stamp": _json_array(source_stamp())}
    for table in ("gold", "silver"):
        arrays.update({f"{table}.{k}": v for k, v in pack(_load_json(SOURCES[table])).items()})
    tagger = _load_json(SOURCES["tagger"])
    for table in ("tagdict", "weights"):
        arrays.update({f"{table}.{k}": v for k, v in pack(tagger[table]).items()})
    arrays["tags"] = _json_array(tagger["tags"])
    arrays["vocab"] = _json_array(tagger["vocab"])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_tables(path: Path = TABLES) -> dict[str, Any] | None:
    """The packed tables, or None when the file is missing or was packed from other assets."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            stamp = json.loads(npz["stamp"].tobytes())
            if stamp != source_stamp():
                log.info("packed hibari G2P tables are for hibari %s, not this install: "
                         "using hibari's own", stamp.get("hibari"))
                return None
            # One table at a time: its arrays are freed as soon as it is built.
            tables: dict[str, Any] = {
                name: PackedTable({part: npz[f"{name}.{part}"] for part in PARTS})
                for name in ("gold", "silver", "tagdict", "weights")}
            tables["tags"] = json.loads(npz["tags"].tobytes())
            tables["vocab"] = json.loads(npz["vocab"].tobytes())
    except (OSError, ValueError, KeyError) as exc:
        log.info("no packed hibari G2P tables (%s): using hibari's own", exc)
        return None
    return tables


def packed_g2p(british: bool) -> Any | None:
    """hibari's G2P on the packed tables, or None (British, or no matching tables)."""
    if british:
        return None
    tables = load_tables()
    if tables is None:
        return None
    return _packed_class()(tables)


def _packed_class() -> type:
    from hibari.g2p import G2P, Lexicon, Tagger, Tokenizer, _load_json

    class PackedG2P(G2P):  # type: ignore[misc, valid-type]
        """hibari's G2P; only where its tables come from differs (American English)."""

        def __init__(self, tables: dict[str, Any]) -> None:
            # Not G2P.__init__: it parses the JSON this class exists to avoid. The attributes
            # are the ones it sets (hibari 0.2.1, pinned; the stamp check guards the tables).
            self.lexicon = Lexicon(tables["gold"], tables["silver"], False)
            self.tokenizer = Tokenizer(_load_json("tokenizer_exceptions.json"))
            self.tagger = Tagger({key: tables[key]
                                  for key in ("tags", "tagdict", "vocab", "weights")})
            self._oov = None
            self.unk = ""
            self.british = False

    return PackedG2P


if __name__ == "__main__":  # pragma: no cover - run by hand after a hibari upgrade
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TABLES
    write_tables(target)
    print(f"wrote {target} ({os.path.getsize(target) / 1e6:.1f} MB)")
