"""Measuring on rendered audio: when the companion's sound starts, and when it ends for good."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

THRESHOLD_DBFS = -50.0
"""A frame is "sound" when its peak is above this level."""


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV file as float32 in [-1, 1) and its sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono")
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        return pcm, w.getframerate()


def frame_peaks(x: np.ndarray, rate: int, frame_s: float) -> np.ndarray:
    """Peak magnitude of each whole ``frame_s`` frame."""
    n = max(1, round(rate * frame_s))
    frames = len(x) // n
    return np.abs(x[:frames * n]).reshape(frames, n).max(axis=1)


def first_sound(x: np.ndarray, rate: int, after: float, frame_s: float = 0.01,
                threshold_db: float = THRESHOLD_DBFS) -> float:
    """Start (s) of the first ``frame_s`` frame at or after ``after`` above the threshold.

    inf when there is none. Frames are aligned to t=0, as in the input's timeline.
    """
    peaks = frame_peaks(x, rate, frame_s)
    first = max(0, math.floor(after / frame_s))
    loud = np.flatnonzero(peaks[first:] > 10 ** (threshold_db / 20))
    return math.inf if loud.size == 0 else (first + int(loud[0])) * frame_s


def silent_for_good(x: np.ndarray, rate: int, after: float, frame_s: float = 0.001,
                    threshold_db: float = THRESHOLD_DBFS) -> float:
    """End (s) of the last frame above the threshold, or ``after`` if all is quiet after it."""
    peaks = frame_peaks(x, rate, frame_s)
    first = max(0, math.floor(after / frame_s))
    loud = np.flatnonzero(peaks[first:] > 10 ** (threshold_db / 20))
    return after if loud.size == 0 else (first + int(loud[-1]) + 1) * frame_s


def loud_spans(x: np.ndarray, rate: int, min_gap_s: float = 0.15, frame_s: float = 0.01,
               threshold_db: float = -30.0) -> list[tuple[float, float]]:
    """(start, end) seconds of loud stretches (speech), joining gaps under ``min_gap_s``."""
    peaks = frame_peaks(x, rate, frame_s)
    spans: list[tuple[float, float]] = []
    for i in np.flatnonzero(peaks > 10 ** (threshold_db / 20)):
        t = float(i) * frame_s
        if spans and t - spans[-1][1] <= min_gap_s:
            spans[-1] = (spans[-1][0], t + frame_s)
        else:
            spans.append((t, t + frame_s))
    return spans
