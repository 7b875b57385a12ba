"""Where a phrase sits in hama's phoneme posteriors, and how many of its phonemes were heard.

A phrase's score (mean log-likelihood ratio per phoneme against hama's best path) can be
fair while hama heard only one or two of its sounds: a murmured "mm" scored -2.9 as
"banana" (six phonemes), a clear "ouch" -0.3 as "red". :func:`matched_phones` counts the
phrase's phonemes that hama's own best path (its most likely token in each frame, repeats
and blanks dropped) holds in order, over the phrase's placement: "mm" gives "banana" one
at most, a spoken "banana" five or six.
"""

from __future__ import annotations

import numpy as np

Phones = tuple[frozenset[int], ...]
"""A phrase as the model's token sets, one per phoneme."""


def placements_of(llr: np.ndarray, seq: Phones, blank: int,
                n: int = 3) -> list[tuple[float, int, int]]:
    """Up to ``n`` non-overlapping placements of ``seq`` in ``llr``, best first: (score per
    phoneme, first frame, last frame), by a CTC Viterbi that may start and end anywhere,
    keeping where each path started."""
    ends, starts = viterbi(llr, seq, blank)
    out: list[tuple[float, int, int]] = []
    for t in np.argsort(-ends, kind="stable"):
        if len(out) >= n or not np.isfinite(ends[t]):
            break
        first, last = int(starts[t]), int(t)
        if all(last < a or first > b for _, a, b in out):
            out.append((float(ends[t]) / max(1, len(seq)), first, last))
    return out


def viterbi(llr: np.ndarray, seq: Phones,
             blank: int) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the best score of ``seq`` ending there and the frame it started."""
    states = [frozenset((blank,))]
    for ph in seq:
        states += [ph, frozenset((blank,))]
    n = len(states)
    emit = np.stack([llr[:, sorted(st)].max(axis=1) for st in states], axis=1)
    skip = np.array([i % 2 == 1 and i >= 3 and states[i] != states[i - 2] for i in range(n)])
    alpha = np.full(n, -np.inf)
    born = np.zeros(n, dtype=int)
    ends = np.full(emit.shape[0], -np.inf)
    starts = np.zeros(emit.shape[0], dtype=int)
    for t in range(emit.shape[0]):
        cand = np.full((3, n), -np.inf)
        cand[0] = alpha
        cand[0, :2] = np.maximum(alpha[:2], 0.0)  # a fresh start costs nothing
        cand[1, 1:] = alpha[:-1]
        cand[2, 2:] = np.where(skip[2:], alpha[:-2], -np.inf)
        origin = np.stack([born, np.roll(born, 1), np.roll(born, 2)])
        fresh = alpha[:2] <= 0.0  # on a tie, the later start (not the silence before)
        origin[0, :2] = np.where(fresh, t, born[:2])
        pick = np.argmax(cand, axis=0)
        alpha = cand[pick, np.arange(n)] + emit[t]
        born = origin[pick, np.arange(n)]
        end = int(np.argmax(alpha[-2:])) + n - 2
        ends[t], starts[t] = alpha[end], born[end]
    return ends, starts


def heard_tokens(llr: np.ndarray, blank: int) -> list[int]:
    """hama's best path over ``llr`` (frames, tokens): each frame's most likely token,
    repeats merged, blanks dropped."""
    if llr.shape[0] == 0:
        return []
    best = np.argmax(llr, axis=1)
    out: list[int] = []
    previous = -1
    for token in best.tolist():
        if token != previous and token != blank:
            out.append(token)
        previous = token
    return out


def matched_phones(llr: np.ndarray, seq: Phones, blank: int, first: int = 0,
                   last: int | None = None, margin: int = 2) -> int:
    """How many of ``seq``'s phonemes hama's best path holds in order (a longest common
    subsequence) over frames ``first``..``last`` (``margin`` frames either side)."""
    end = llr.shape[0] if last is None else min(llr.shape[0], last + 1 + margin)
    heard = heard_tokens(llr[max(0, first - margin):end], blank)
    row = [0] * (len(heard) + 1)
    for phone in seq:
        prev_diag = 0
        for j, token in enumerate(heard, start=1):
            keep = row[j]
            row[j] = prev_diag + 1 if token in phone else max(row[j], row[j - 1])
            prev_diag = keep
    return row[-1]


def best_matched(llr: np.ndarray, seq: Phones, blank: int) -> tuple[float, int]:
    """``seq``'s best placement score in ``llr`` and its phonemes heard there
    (see :func:`matched_phones`); (-inf, 0) when it cannot be placed."""
    found = placements_of(llr, seq, blank, 1)
    if not found:
        return -float("inf"), 0
    score, first, last = found[0]
    return score, matched_phones(llr, seq, blank, first, last)
