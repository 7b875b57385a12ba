"""Measurements on rendered audio that tests share (levels over time, loud stretches)."""

from __future__ import annotations

import numpy as np


def frame_levels(x: np.ndarray, rate: int, frame_s: float = 0.01) -> np.ndarray:
    """Peak level (linear) of each ``frame_s`` frame."""
    n = int(rate * frame_s)
    frames = len(x) // n
    return np.abs(x[:frames * n]).reshape(frames, n).max(axis=1)


def loud_spans(x: np.ndarray, rate: int, threshold: float = 0.01,
               min_gap_s: float = 0.3) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches above ``threshold``, merging gaps under ``min_gap_s``."""
    levels = frame_levels(x, rate)
    loud = np.flatnonzero(levels > threshold)
    spans: list[tuple[float, float]] = []
    for i in loud:
        t = i * 0.01
        if spans and t - spans[-1][1] <= min_gap_s:
            spans[-1] = (spans[-1][0], t + 0.01)
        else:
            spans.append((t, t + 0.01))
    return spans


def silent_after(x: np.ndarray, rate: int, t: float, threshold_db: float = -50.0) -> float:
    """Seconds after ``t`` until the audio stays below ``threshold_db`` dBFS for good."""
    levels = frame_levels(x[int(t * rate):], rate, 0.001)
    loud = np.flatnonzero(levels > 10 ** (threshold_db / 20))
    return 0.0 if loud.size == 0 else (loud[-1] + 1) * 0.001
