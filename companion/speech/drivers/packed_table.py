"""A read-only string-keyed table in a few flat arrays instead of a dict of Python objects.

hibari's G2P holds ~270k dictionary entries (two pronunciation lexicons and the tagger's
weights) as Python dicts: 77 MB of resident memory, and more while its JSON is parsed. A
PackedTable keeps the same entries as two UTF-8 blobs (sorted keys, JSON values) and their
offsets, ~11 MB, and answers ``get`` by binary search, decoding one value at a time.
"""

from __future__ import annotations

import functools
import json
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def pack(table: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``table`` as four arrays (keys, their offsets, values, theirs) for :class:`PackedTable`."""
    keys = sorted(table, key=lambda k: k.encode("utf-8"))
    return {
        **_blob("keys", (k.encode("utf-8") for k in keys)),
        **_blob("values", (json.dumps(table[k], ensure_ascii=False).encode("utf-8")
                           for k in keys)),
    }


def _blob(name: str, items: Iterable[bytes]) -> dict[str, np.ndarray]:
    parts = list(items)
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return {name: np.frombuffer(b"".join(parts), dtype=np.uint8),
            f"{name}_at": offsets.astype(np.int32)}


CACHED = 4096
"""Decoded values kept per table (the tagger asks for the same few features all the time)."""


class PackedTable:
    """The mapping :func:`pack` stored; ``get`` gives what the original dict's ``get`` gave."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._keys = arrays["keys"].tobytes()
        self._key_at = array("i", arrays["keys_at"].astype("<i4").tobytes())
        self._values = arrays["values"].tobytes()
        self._value_at = array("i", arrays["values_at"].astype("<i4").tobytes())
        self._value = functools.lru_cache(maxsize=CACHED)(self._decode)

    def __len__(self) -> int:
        return len(self._key_at) - 1

    def _index(self, key: str) -> int:
        """Position of ``key`` among the sorted keys, or -1."""
        want = key.encode("utf-8", "surrogatepass")
        keys, at = self._keys, self._key_at
        lo, hi = 0, len(at) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if keys[at[mid]:at[mid + 1]] < want:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(at) - 1 and keys[at[lo]:at[lo + 1]] == want:
            return lo
        return -1

    def _decode(self, i: int) -> Any:
        return json.loads(self._values[self._value_at[i]:self._value_at[i + 1]])

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored for ``key``, or ``default``. Values are shared: never change one."""
        i = self._index(key)
        return default if i < 0 else self._value(i)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._index(key) >= 0

    def __getitem__(self, key: str) -> Any:
        i = self._index(key)
        if i < 0:
            raise KeyError(key)
        return self._value(i)

    def keys(self) -> list[str]:
        """Every key, in UTF-8 byte order (for checks; a lookup never needs this)."""
        at = self._key_at
        return [self._keys[at[i]:at[i + 1]].decode("utf-8") for i in range(len(self))]
