"""Speech synthesis with the real espeak-ng: PCM in memory, cache, privacy, voices."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from companion.errors import ModelError
from companion.speech.synthesis import Pyttsx3Synthesizer
from companion.speech.voices import Voice

VOICE = Voice("test", espeak_voice="en-us", rate=150, pitch=40)


def test_speech_is_pcm_in_memory_at_full_scale(synth):
    pcm = synth.synthesize("You did so well today.", VOICE)
    assert pcm.dtype == np.float32
    assert 0.8 < len(pcm) / synth.sample_rate < 3.0
    assert np.max(np.abs(pcm)) == pytest.approx(0.99, abs=0.011)


def test_same_text_and_voice_comes_from_the_cache(synth):
    first = synth.synthesize("A sentence for the cache.", VOICE)
    second = synth.synthesize("A sentence for the cache.", VOICE)
    assert second is first
    other_voice = synth.synthesize("A sentence for the cache.", Voice("b", espeak_voice="en+f3"))
    assert other_voice is not first


def median_pitch_hz(x: np.ndarray, rate: int) -> float:
    """Median fundamental frequency of the loud 40 ms frames (autocorrelation peak)."""
    n = int(0.04 * rate)
    pitches = []
    for start in range(0, len(x) - n, n):
        frame = x[start:start + n]
        if np.sqrt(np.mean(frame**2)) < 0.05:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1:]
        lo, hi = rate // 400, rate // 60
        pitches.append(rate / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(pitches))


def test_the_pitch_setting_changes_the_voice_pitch(synth):
    low = synth.synthesize("Hello there, how are you.", Voice("low", pitch=10))
    high = synth.synthesize("Hello there, how are you.", Voice("high", pitch=90))
    assert median_pitch_hz(high, synth.sample_rate) > 1.3 * median_pitch_hz(low, synth.sample_rate)


def test_prefetch_runs_in_the_background_and_fills_the_cache(synth):
    future = synth.prefetch("Coming up next, gently.", VOICE)
    pcm = future.result(timeout=5)
    assert synth.synthesize("Coming up next, gently.", VOICE) is pcm


def test_spoken_text_never_lands_in_a_readable_file(synth, tmp_path):
    """pyttsx3 writes a WAV; ours lives in a 0700 dir and is gone right after reading."""
    private = synth._dir
    mode = stat.S_IMODE(private.stat().st_mode)
    assert mode == 0o700
    seen: list[list[str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(os.listdir(private))

    watcher = threading.Thread(target=watch)
    watcher.start()
    for i in range(20):
        synth.synthesize(f"Private words number {i}.", VOICE)
    stop.set()
    watcher.join()
    assert os.listdir(private) == []
    for path in Path("/tmp").glob("*.wav"):
        assert "Private words" not in path.read_bytes().decode("latin-1")


def test_an_unknown_espeak_voice_is_a_clear_error(synth):
    with pytest.raises(ModelError, match="espeak-ng has no voice 'zz-nothing'"):
        synth.synthesize("Hello.", Voice("broken", espeak_voice="zz-nothing"))
    assert len(synth.synthesize("Still working.", VOICE)) > 0


def test_language_codes_work_like_on_the_espeak_command_line(synth):
    pcm = synth.synthesize("Hello there.", Voice("gb", espeak_voice="en-gb+f3"))
    assert len(pcm) > 0


def test_control_characters_in_text_cannot_change_the_voice(synth):
    plain = synth.synthesize("Rest now.", VOICE)
    injected = synth.synthesize("\x01" + "400S" + "Rest now.", VOICE)
    assert len(injected) > 0.8 * len(plain)


def test_a_closed_synthesizer_removes_its_private_dir():
    synth = Pyttsx3Synthesizer()
    private = synth._dir
    synth.synthesize("Bye.", VOICE)
    synth.close()
    assert not private.exists()
